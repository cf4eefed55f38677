"""Who can be reached, and on which channel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Assignment, Identity, Person, table

CHANNEL_PREFERENCE = ("telegram", "wecom")


@dataclass(frozen=True)
class Recipient:
    person_id: int
    name: str
    role: str
    area_id: int | None
    locale: str | None
    muted: bool
    channel: str
    external_id: str


async def reachable_people(
    session: AsyncSession, channels: Sequence[str] = CHANNEL_PREFERENCE
) -> list[Recipient]:
    """Active people with an identity on one of ``channels`` (in order of preference) that has
    not blocked the bot, one channel each."""
    p, i = table(Person), table(Identity)
    stmt = (
        select(p.c.id, p.c.name, p.c.role, p.c.area_id, p.c.locale, p.c.muted, i.c.channel, i.c.external_id)
        .join(i, i.c.person_id == p.c.id)
        .where(p.c.active.is_(True), i.c.blocked.is_(False), i.c.channel.in_(list(channels)))
    )
    best: dict[int, Recipient] = {}
    for row in (await (await session.connection()).execute(stmt)).all():
        found = Recipient(*row)
        held = best.get(found.person_id)
        if held is None or channels.index(found.channel) < channels.index(held.channel):
            best[found.person_id] = found
    return sorted(best.values(), key=lambda r: r.person_id)


async def assignments(session: AsyncSession) -> dict[int, set[int]]:
    """Person id → the townships assigned to them."""
    a = table(Assignment)
    out: dict[int, set[int]] = {}
    for person_id, township_id in (
        await (await session.connection()).execute(select(a.c.person_id, a.c.township_id))
    ).all():
        out.setdefault(person_id, set()).add(township_id)
    return out
