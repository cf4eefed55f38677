"""Deduplication of delivered updates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedUpdate, table
from storage.types import utcnow


async def claim_update(session: AsyncSession, channel: str, update_id: str) -> bool:
    """Record an update as processed; False when it was already. As the transaction's first
    write it also takes SQLite's write lock, so the work that follows is serialised."""
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(table(ProcessedUpdate))
        .values(channel=channel, update_id=update_id, processed_at=utcnow())
        .on_conflict_do_nothing()
    )
    result = await (await session.connection()).execute(stmt)
    return bool(result.rowcount)


async def prune_updates(session: AsyncSession, before: datetime) -> int:
    result = await session.exec(delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before))  # type: ignore[arg-type]
    return int(result.rowcount)
