"""Deduplication of delivered updates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import writable
from storage.models import ProcessedUpdate, table
from storage.types import utcnow

_CLAIM = {  # built once; changes no row for an update applied before
    "sqlite": sqlite_insert(table(ProcessedUpdate)).on_conflict_do_nothing(),
    "postgresql": pg_insert(table(ProcessedUpdate)).on_conflict_do_nothing(),
}


async def claim_update(session: AsyncSession, channel: str, update_id: str) -> bool:
    """Record an update as applied; False when it was already (by this process or another)."""
    conn = await writable(session)
    params = {"channel": channel, "update_id": update_id, "processed_at": utcnow()}
    return bool((await conn.execute(_CLAIM[conn.dialect.name], params)).rowcount)


async def prune_updates(session: AsyncSession, before: datetime) -> int:
    await writable(session)
    result = await session.exec(delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before))  # type: ignore[arg-type]
    return int(result.rowcount)
