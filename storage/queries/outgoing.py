"""Notices to others, kept from the turn that made them until they are sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import writable
from storage.models import OutgoingMessage, table
from storage.types import utcnow


async def keep_outgoing(
    session: AsyncSession, messages: Sequence[tuple[str, str, dict[str, Any]]]
) -> list[int]:
    """Keep (channel, account, reply) in the turn's transaction; their ids, in order."""
    rows = [OutgoingMessage(channel=c, external_id=e, reply=r, created_at=utcnow()) for c, e, r in messages]
    await writable(session)
    session.add_all(rows)
    await session.flush()
    return [r.id or 0 for r in rows]


async def sent(session: AsyncSession, ids: Sequence[int]) -> None:
    if ids:
        out = table(OutgoingMessage)
        await (await writable(session)).execute(delete(out).where(out.c.id.in_(list(ids))))


async def unsent(session: AsyncSession, before: datetime, limit: int = 500) -> list[OutgoingMessage]:
    """Messages kept before ``before`` and not sent yet (a crash came between), oldest first."""
    stmt = (
        select(OutgoingMessage)
        .where(col(OutgoingMessage.created_at) < before)
        .order_by(col(OutgoingMessage.id))
        .limit(limit)
    )
    return list((await session.exec(stmt)).all())
