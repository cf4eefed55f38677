"""One-time invitation codes: made by an administrator, redeemed by ``/start <code>``.

A code is 128 random bits (``secrets.token_urlsafe``: letters, digits, ``-`` and ``_``, as a
Telegram deep link allows); only its SHA-256 is stored, so a copy of the database gives
nobody a working code."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import delete, update
from sqlalchemy import select as sa_select
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import writable
from storage.models import Assignment, Identity, Invite, InviteTownship, Person, Role, table
from storage.types import utcnow

DEFAULT_DAYS = 7
CODE_BYTES = 16


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


async def create_invite(
    session: AsyncSession,
    role: str,
    *,
    area_id: int | None = None,
    township_ids: Sequence[int] = (),
    name: str | None = None,
    created_by: int | None = None,
    days: float = DEFAULT_DAYS,
) -> tuple[str, Invite]:
    """A new invite; the code is returned once and never stored."""
    code = new_code()
    now = utcnow()
    invite = Invite(
        code_hash=hash_code(code),
        role=role,
        area_id=area_id,
        name=name or None,
        created_by=created_by,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    await writable(session)
    session.add(invite)
    await session.flush()
    assert invite.id is not None
    for township_id in dict.fromkeys(township_ids):
        session.add(InviteTownship(invite_id=invite.id, township_id=township_id))
    await session.flush()
    return code, invite


class Redeemed(StrEnum):
    ok = "ok"
    unknown = "unknown"
    used = "used"
    expired = "expired"


@dataclass(frozen=True)
class Redemption:
    outcome: Redeemed
    person: Person | None = None


async def redeem_invite(
    session: AsyncSession,
    code: str,
    channel: str,
    external_id: str,
    name: str,
    locale: str | None = None,
) -> Redemption:
    """Bind the account to a new person made from the invite. Single use holds under
    concurrency: the invite is claimed by a conditional update before anything else."""
    invite = (await session.exec(select(Invite).where(Invite.code_hash == hash_code(code)))).first()
    if invite is None:
        return Redemption(Redeemed.unknown)
    if invite.used_at is not None:
        return Redemption(Redeemed.used)
    now = utcnow()
    if invite.expires_at <= now:
        return Redemption(Redeemed.expired)
    t = table(Invite)
    claimed = await (await writable(session)).execute(
        update(t).where(t.c.id == invite.id, t.c.used_at.is_(None)).values(used_at=now)
    )
    if not claimed.rowcount:
        return Redemption(Redeemed.used)
    # An account left behind by a removed person may be bound afresh.
    i, p = table(Identity), table(Person)
    inactive = sa_select(p.c.id).where(p.c.active.is_(False)).scalar_subquery()
    await (await session.connection()).execute(
        delete(i).where(i.c.channel == channel, i.c.external_id == external_id, i.c.person_id.in_(inactive))
    )
    townships = (
        await session.exec(select(InviteTownship.township_id).where(InviteTownship.invite_id == invite.id))
    ).all()
    contact = invite.role == Role.contact  # bound to their one township, not assigned to inspect it
    person = Person(
        name=(invite.name or name or external_id)[:64],
        role=invite.role,
        area_id=invite.area_id,
        locale=locale,
        township_id=townships[0] if contact and townships else None,
    )
    session.add(person)
    await session.flush()
    assert person.id is not None
    session.add(Identity(person_id=person.id, channel=channel, external_id=external_id))
    for township_id in [] if contact else townships:
        session.add(Assignment(person_id=person.id, township_id=township_id))
    await session.flush()
    await (await session.connection()).execute(update(t).where(t.c.id == invite.id).values(used_by=person.id))
    return Redemption(Redeemed.ok, person)


async def invite_townships(session: AsyncSession, invite_id: int) -> list[int]:
    stmt = select(InviteTownship.township_id).where(InviteTownship.invite_id == invite_id)
    return list((await session.exec(stmt)).all())
