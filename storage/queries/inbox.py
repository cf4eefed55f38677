"""The inbox: callbacks stored before they are acknowledged, processed from there."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import writable
from storage.models import InboxMessage, table
from storage.types import utcnow


async def store_message(session: AsyncSession, channel: str, update_id: str, body: str) -> bool:
    """Keep a received message; whether it is to be processed: False when it was kept and
    processed before (the channel sent it again)."""
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    inbox = table(InboxMessage)
    conn = await writable(session)
    stmt = insert(inbox).on_conflict_do_nothing()
    params = {"channel": channel, "update_id": update_id, "body": body, "received_at": utcnow()}
    if (await conn.execute(stmt, params)).rowcount:
        return True
    done = await conn.execute(
        select(inbox.c.processed_at).where(inbox.c.channel == channel, inbox.c.update_id == update_id)
    )
    return done.scalar() is None


async def prune_inbox(session: AsyncSession, before: datetime) -> int:
    """Forget processed messages older than ``before``."""
    inbox = table(InboxMessage)
    gone = await (await writable(session)).execute(
        delete(inbox).where(inbox.c.processed_at.is_not(None), inbox.c.processed_at < before)
    )
    return int(gone.rowcount)


async def mark_processed(session: AsyncSession, channel: str, update_id: str) -> None:
    inbox = table(InboxMessage)
    await (await writable(session)).execute(
        update(inbox)
        .where(inbox.c.channel == channel, inbox.c.update_id == update_id)
        .values(processed_at=utcnow())
    )


async def unprocessed(session: AsyncSession, channel: str) -> Sequence[tuple[str, str]]:
    """(update id, body) of the messages not processed yet, oldest first."""
    inbox = table(InboxMessage)
    rows = await (await session.connection()).execute(
        select(inbox.c.update_id, inbox.c.body)
        .where(inbox.c.channel == channel, inbox.c.processed_at.is_(None))
        .order_by(inbox.c.received_at)
    )
    return [(r[0], r[1]) for r in rows]
