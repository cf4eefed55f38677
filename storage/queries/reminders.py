"""The reminder log: one row per (rule, recipient, occasion), claimed before sending."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ReminderLog, table
from storage.types import utcnow

Claim = Literal["new", "resume", "done"]


async def claim_reminder(
    session: AsyncSession, rule: str, recipient_id: int, occasion: str, *, stale_after: timedelta
) -> Claim:
    """Claim a reminder for sending. "new": claimed now; "resume": claimed by a run that died
    before it was sent (older than ``stale_after``), taken over now; "done": not to be sent."""
    log = table(ReminderLog)
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    conn = await session.connection()
    stmt = (
        insert(log)
        .values(rule=rule, recipient_id=recipient_id, occasion=occasion, status="claimed", created_at=now)
        .on_conflict_do_nothing()
    )
    if (await conn.execute(stmt)).rowcount:
        return "new"
    # Take over a stale claim atomically: only one run's UPDATE matches the old timestamp.
    row = (
        await conn.execute(
            select(log.c.status, log.c.created_at).where(
                log.c.rule == rule, log.c.recipient_id == recipient_id, log.c.occasion == occasion
            )
        )
    ).one()
    status, claimed_at = row
    if status != "claimed" or _aware(claimed_at) > now - stale_after:
        return "done"
    taken = await conn.execute(
        update(log)
        .where(
            log.c.rule == rule,
            log.c.recipient_id == recipient_id,
            log.c.occasion == occasion,
            log.c.status == "claimed",
            log.c.created_at == claimed_at,
        )
        .values(created_at=now)
    )
    return "resume" if taken.rowcount else "done"


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


async def finish_reminder(
    session: AsyncSession, rule: str, recipient_id: int, occasion: str, status: str, error: str | None = None
) -> None:
    log = table(ReminderLog)
    await (await session.connection()).execute(
        update(log)
        .where(log.c.rule == rule, log.c.recipient_id == recipient_id, log.c.occasion == occasion)
        .values(status=status, sent_at=utcnow() if status == "sent" else None, error=error)
    )


async def reminder_log(session: AsyncSession) -> Sequence[ReminderLog]:
    from sqlmodel import col
    from sqlmodel import select as sm_select

    return (await session.exec(sm_select(ReminderLog).order_by(col(ReminderLog.id)))).all()
