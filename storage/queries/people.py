"""People, identities, areas and who may see which township."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area, Assignment, Identity, Inspection, Person, Role, Township, table


async def person_by_identity(
    session: AsyncSession, channel: str, external_id: str
) -> tuple[Person, Identity] | None:
    """The person behind a channel account (one statement: this runs for every input)."""
    p, i = table(Person), table(Identity)
    stmt = (
        sa_select(p, i.c.id.label("identity_id"), i.c.blocked)
        .join(i, i.c.person_id == p.c.id)
        .where(i.c.channel == channel, i.c.external_id == external_id)
    )
    row = (await (await session.connection()).execute(stmt)).first()
    if row is None:
        return None
    fields = dict(row._mapping)
    identity = Identity(
        id=fields.pop("identity_id"),
        person_id=fields["id"],
        channel=channel,
        external_id=external_id,
        blocked=fields.pop("blocked"),
    )
    return Person(**fields), identity


async def unblock(session: AsyncSession, identity_id: int) -> None:
    t = table(Identity)
    await (await session.connection()).execute(update(t).where(t.c.id == identity_id).values(blocked=False))


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


async def visible_township(session: AsyncSession, person: Person, township_id: int) -> Township | None:
    """The township, if the person may see it (the same rule as ``visible_townships``)."""
    township = await session.get(Township, township_id)
    if township is None:
        return None
    if person.role in (Role.admin, Role.supervisor):
        if person.area_id is None:
            return township if person.role == Role.admin else None
        return township if township.area_id in await area_and_below(session, person.area_id) else None
    assigned = await session.get(Assignment, (person.id, township_id))
    return township if assigned is not None else None


async def visible_inspection(
    session: AsyncSession, person: Person, inspection_id: int
) -> tuple[Inspection, Township] | None:
    """An inspection and its township, if the person may see it; one statement for an inspector."""
    i, t, a = table(Inspection), table(Township), table(Assignment)
    stmt = sa_select(i, *(c.label(f"t_{c.name}") for c in t.c)).join(t, t.c.id == i.c.township_id)
    stmt = stmt.where(i.c.id == inspection_id)
    if person.role not in (Role.admin, Role.supervisor):
        stmt = stmt.join(a, and_(a.c.township_id == t.c.id, a.c.person_id == person.id))
    row = (await (await session.connection()).execute(stmt)).first()
    if row is None:
        return None
    fields = dict(row._mapping)
    township = Township(**{c.name: fields.pop(f"t_{c.name}") for c in t.c})
    inspection = Inspection(**fields)
    if (
        person.role in (Role.admin, Role.supervisor)
        and await visible_township(session, person, township.id or 0) is None
    ):
        return None
    return inspection, township
