"""People, identities, areas and who may see which township."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area, Assignment, Identity, Person, Role, Township


async def person_by_identity(session: AsyncSession, channel: str, external_id: str) -> Person | None:
    stmt = (
        select(Person)
        .join(Identity, col(Identity.person_id) == col(Person.id))
        .where(Identity.channel == channel, Identity.external_id == external_id)
    )
    return (await session.exec(stmt)).first()


async def identities_of(session: AsyncSession, person_id: int) -> Sequence[Identity]:
    return (await session.exec(select(Identity).where(Identity.person_id == person_id))).all()


async def area_and_below(session: AsyncSession, area_id: int) -> set[int]:
    """The area and every area nested under it."""
    areas = (await session.exec(select(Area.id, Area.parent_id))).all()
    children: dict[int | None, list[int]] = {}
    for aid, parent in areas:
        children.setdefault(parent, []).append(aid)  # type: ignore[arg-type]
    found, todo = {area_id}, [area_id]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


async def visible_townships(session: AsyncSession, person: Person) -> Sequence[Township]:
    """The townships a person may see: all for an admin, the area's for a supervisor, the
    assigned ones for an inspector."""
    stmt = select(Township).order_by(Township.name)
    if person.role == Role.admin and person.area_id is None:
        return (await session.exec(stmt)).all()
    if person.role in (Role.admin, Role.supervisor):
        if person.area_id is None:
            return []
        areas = await area_and_below(session, person.area_id)
        return (await session.exec(stmt.where(col(Township.area_id).in_(areas)))).all()
    stmt = stmt.join(Assignment, col(Assignment.township_id) == col(Township.id)).where(
        Assignment.person_id == person.id
    )
    return (await session.exec(stmt)).all()


async def can_see_township(session: AsyncSession, person: Person, township_id: int) -> bool:
    return any(t.id == township_id for t in await visible_townships(session, person))
