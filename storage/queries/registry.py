"""Areas, townships, people and assignments: the registry administrators keep."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area, Assignment, Identity, Person, Township


async def get_or_create_area(
    session: AsyncSession, name: str, kind: str = "county", parent_id: int | None = None
) -> Area:
    area = (await session.exec(select(Area).where(Area.name == name))).first()
    if area is None:
        area = Area(name=name, kind=kind, parent_id=parent_id)
        session.add(area)
        await session.flush()
    return area


async def upsert_township(session: AsyncSession, area: Area, name: str, villages: int) -> Township:
    township = (
        await session.exec(select(Township).where(Township.area_id == area.id, Township.name == name))
    ).first()
    if township is None:
        assert area.id is not None
        township = Township(area_id=area.id, name=name, villages=villages)
    township.villages = villages
    session.add(township)
    await session.flush()
    return township


async def add_person(
    session: AsyncSession,
    name: str,
    role: str,
    *,
    area: Area | None = None,
    identities: Sequence[tuple[str, str]] = (),
    townships: Sequence[Township] = (),
    locale: str | None = None,
) -> Person:
    person = Person(name=name, role=role, area_id=area.id if area else None, locale=locale)
    session.add(person)
    await session.flush()
    assert person.id is not None
    for channel, external_id in identities:
        session.add(Identity(person_id=person.id, channel=channel, external_id=external_id))
    for township in townships:
        assert township.id is not None
        session.add(Assignment(person_id=person.id, township_id=township.id))
    await session.flush()
    return person


async def people(session: AsyncSession) -> Sequence[Person]:
    return (await session.exec(select(Person).order_by(Person.id))).all()  # type: ignore[arg-type]


async def ensure_identity(session: AsyncSession, person: Person, channel: str, external_id: str) -> None:
    found = (
        await session.exec(
            select(Identity).where(Identity.channel == channel, Identity.external_id == external_id)
        )
    ).first()
    if found is None:
        assert person.id is not None
        session.add(Identity(person_id=person.id, channel=channel, external_id=external_id))
        await session.flush()
