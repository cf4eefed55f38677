"""The reminder log: one row per (rule, recipient, occasion), claimed before sending."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import writable
from storage.models import ReminderLog, table
from storage.types import utcnow

Claim = Literal["new", "resume", "done"]


async def claim_reminder(
    session: AsyncSession, rule: str, recipient_id: int, occasion: str, *, stale_after: timedelta
) -> Claim:
    """Claim a reminder for sending. "new": claimed now; "resume": a send that failed, or a
    claim by a run that died before sending (older than ``stale_after``), taken over now;
    "done": sent already, or being sent by another run."""
    log = table(ReminderLog)
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    conn = await writable(session)
    stmt = (
        insert(log)
        .values(rule=rule, recipient_id=recipient_id, occasion=occasion, status="claimed", created_at=now)
        .on_conflict_do_nothing()
    )
    if (await conn.execute(stmt)).rowcount:
        return "new"
    # Take over a failed send, or a stale claim, atomically: only one run's UPDATE matches.
    row = (
        await conn.execute(
            select(log.c.status, log.c.created_at).where(
                log.c.rule == rule, log.c.recipient_id == recipient_id, log.c.occasion == occasion
            )
        )
    ).one()
    status, claimed_at = row
    if status == "claimed" and claimed_at > now - stale_after:
        return "done"  # another run is sending it right now
    if status not in ("claimed", "failed"):
        return "done"
    taken = await conn.execute(
        update(log)
        .where(
            log.c.rule == rule,
            log.c.recipient_id == recipient_id,
            log.c.occasion == occasion,
            log.c.status == status,
            log.c.created_at == claimed_at,
        )
        .values(status="claimed", created_at=now, error=None)
    )
    return "resume" if taken.rowcount else "done"


async def finish_reminder(
    session: AsyncSession, rule: str, recipient_id: int, occasion: str, status: str, error: str | None = None
) -> None:
    log = table(ReminderLog)
    await (await writable(session)).execute(
        update(log)
        .where(log.c.rule == rule, log.c.recipient_id == recipient_id, log.c.occasion == occasion)
        .values(status=status, sent_at=utcnow() if status == "sent" else None, error=error)
    )
