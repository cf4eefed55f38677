"""The reminder log: one row per (rule, recipient, occasion), claimed before sending."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.advisory import NAMESPACE
from storage.db import writable
from storage.models import ReminderLog, table
from storage.types import utcnow

Claim = Literal["new", "resume", "done"]


async def owner_alive(session: AsyncSession, owner: int) -> bool:
    """Whether the run that wrote ``owner`` into a claim still lives: its advisory lock is held
    (PostgreSQL; see storage/advisory.py)."""
    held = await (await session.connection()).execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND classid::bigint = :ns AND objid::bigint = :key AND objsubid = 2 AND granted)"
        ),
        {"ns": NAMESPACE, "key": owner},
    )
    return bool(held.scalar())


async def claim_reminder(
    session: AsyncSession,
    rule: str,
    recipient_id: int,
    occasion: str,
    *,
    stale_after: timedelta,
    owner: int | None = None,
) -> Claim:
    """Claim a reminder for sending. "new": claimed now; "resume": a send that failed, or a
    claim by a run that died before sending, taken over now; "done": sent already, or being
    sent by another run. A run is known dead when its claim is older than ``stale_after``, or
    at once on PostgreSQL when the claim names an ``owner`` whose lock is free."""
    log = table(ReminderLog)
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    conn = await writable(session)
    stmt = (
        insert(log)
        .values(
            rule=rule,
            recipient_id=recipient_id,
            occasion=occasion,
            status="claimed",
            created_at=now,
            claimed_by=owner,
        )
        .on_conflict_do_nothing()
    )
    if (await conn.execute(stmt)).rowcount:
        return "new"
    # Take over a failed send, or a stale claim, atomically: only one run's UPDATE matches.
    row = (
        await conn.execute(
            select(log.c.status, log.c.created_at, log.c.claimed_by).where(
                log.c.rule == rule, log.c.recipient_id == recipient_id, log.c.occasion == occasion
            )
        )
    ).one()
    status, claimed_at, claimed_by = row
    if status == "claimed" and claimed_at > now - stale_after:
        dead = (
            claimed_by is not None
            and claimed_by != owner
            and session.bind.dialect.name == "postgresql"
            and not await owner_alive(session, claimed_by)
        )
        if not dead:
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
        .values(status="claimed", created_at=now, error=None, claimed_by=owner)
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
