"""People, identities, areas and who may see which township."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import writable
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


async def set_blocked(session: AsyncSession, channel: str, external_id: str, blocked: bool) -> None:
    """Record that the person blocked the bot on a channel (or wrote again)."""
    t = table(Identity)
    stmt = update(t).where(t.c.channel == channel, t.c.external_id == external_id).values(blocked=blocked)
    await (await writable(session)).execute(stmt)


async def set_muted(session: AsyncSession, person_id: int, muted: bool) -> None:
    t = table(Person)
    await (await writable(session)).execute(update(t).where(t.c.id == person_id).values(muted=muted))


async def unblock(session: AsyncSession, identity_id: int) -> None:
    t = table(Identity)
    await (await writable(session)).execute(update(t).where(t.c.id == identity_id).values(blocked=False))


async def area_parents(session: AsyncSession) -> dict[int, int | None]:
    """Area id → its parent's id (the table is small: a city and its counties)."""
    a = table(Area)
    return dict((await (await session.connection()).execute(sa_select(a.c.id, a.c.parent_id))).tuples().all())


def nested_areas(parents: dict[int, int | None], area_id: int) -> set[int]:
    """The area and every area nested under it."""
    children: dict[int | None, list[int]] = {}
    for aid, parent in parents.items():
        children.setdefault(parent, []).append(aid)
    found, todo = {area_id}, [area_id]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


async def area_and_below(session: AsyncSession, area_id: int) -> set[int]:
    """The area and every area nested under it."""
    return nested_areas(await area_parents(session), area_id)


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


async def may_see(session: AsyncSession, person: Person, township: Township) -> bool:
    """The one rule of who sees a township: an administrator without an area everything;
    an administrator or supervisor their area's (nested areas included); an inspector the
    townships assigned to them."""
    if person.role in (Role.admin, Role.supervisor):
        if person.area_id is None:
            return person.role == Role.admin
        return township.area_id in await area_and_below(session, person.area_id)
    a = table(Assignment)
    stmt = sa_select(a.c.person_id).where(a.c.person_id == person.id, a.c.township_id == township.id)
    return (await (await session.connection()).execute(stmt)).first() is not None


async def township_by_id(session: AsyncSession, township_id: int) -> Township | None:
    t = table(Township)
    row = (await (await session.connection()).execute(sa_select(t).where(t.c.id == township_id))).first()
    return Township(**row._mapping) if row is not None else None


async def visible_township(session: AsyncSession, person: Person, township_id: int) -> Township | None:
    """The township, if the person may see it (the same rule as ``visible_townships``)."""
    township = await township_by_id(session, township_id)
    return township if township is not None and await may_see(session, person, township) else None


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
    if person.role in (Role.admin, Role.supervisor) and not await may_see(session, person, township):
        return None
    return inspection, township


async def search_visible_townships(
    session: AsyncSession, person: Person, text: str, limit: int = 25
) -> list[Township]:
    """Townships the person may see whose name is ``text`` exactly, else contains it; with no
    text, the first ``limit`` by name (filtered in SQL: an administrator of a whole country
    has tens of thousands)."""
    wanted = text.strip()
    stmt = select(Township)
    if person.role in (Role.admin, Role.supervisor):
        if person.area_id is not None:
            stmt = stmt.where(col(Township.area_id).in_(await area_and_below(session, person.area_id)))
        elif person.role != Role.admin:
            return []
    else:
        stmt = stmt.join(Assignment, col(Assignment.township_id) == col(Township.id)).where(
            Assignment.person_id == person.id
        )
    if not wanted:
        return list((await session.exec(stmt.order_by(Township.name).limit(limit))).all())
    exact = (await session.exec(stmt.where(Township.name == wanted).order_by(col(Township.id)))).all()
    if exact:
        return list(exact)
    pattern = "%" + wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    like = stmt.where(col(Township.name).like(pattern, escape="\\")).order_by(Township.name).limit(limit)
    return list((await session.exec(like)).all())


async def area_with_parents(session: AsyncSession, area_id: int) -> list[int]:
    """The area and the areas it is nested in, nearest first."""
    parents = dict((await session.exec(select(Area.id, Area.parent_id))).all())
    chain = [area_id]
    while (parent := parents.get(chain[-1])) is not None and parent not in chain:
        chain.append(parent)
    return chain


async def supervisors_over(session: AsyncSession, township: Township) -> Sequence[Person]:
    """Active supervisors whose area holds the township."""
    chain = await area_with_parents(session, township.area_id)
    stmt = select(Person).where(
        Person.role == Role.supervisor, col(Person.active).is_(True), col(Person.area_id).in_(chain)
    )
    return (await session.exec(stmt.order_by(col(Person.id)))).all()


async def accounts_of(session: AsyncSession, person_ids: Iterable[int]) -> list[tuple[Person, Identity]]:
    """The accounts messages to these people go to: active people, accounts not blocked."""
    ids = sorted(set(person_ids))
    if not ids:
        return []
    stmt = (
        select(Person, Identity)
        .join(Identity, col(Identity.person_id) == col(Person.id))
        .where(col(Person.id).in_(ids), col(Person.active).is_(True), col(Identity.blocked).is_(False))
        .order_by(col(Person.id), col(Identity.id))
    )
    return [(p, i) for p, i in (await session.exec(stmt)).all()]


async def names_of(session: AsyncSession, person_ids: Iterable[int | None]) -> dict[int, str]:
    ids = sorted({i for i in person_ids if i is not None})
    if not ids:
        return {}
    rows = (await session.exec(select(Person.id, Person.name).where(col(Person.id).in_(ids)))).all()
    return {pid: name for pid, name in rows if pid is not None}


async def assignees_of(session: AsyncSession, township_id: int) -> list[int]:
    """The active people assigned to the township."""
    stmt = (
        select(Person.id)
        .join(Assignment, col(Assignment.person_id) == col(Person.id))
        .where(Assignment.township_id == township_id, col(Person.active).is_(True))
        .order_by(col(Person.id))
    )
    return [pid for pid in (await session.exec(stmt)).all() if pid is not None]


async def channel_people(session: AsyncSession, channel: str) -> list[tuple[str, str, str | None]]:
    """(account id, role, locale) of every active person with an account on ``channel``."""
    p, i = table(Person), table(Identity)
    stmt = (
        sa_select(i.c.external_id, p.c.role, p.c.locale)
        .join(p, p.c.id == i.c.person_id)
        .where(i.c.channel == channel, p.c.active.is_(True))
        .order_by(i.c.id)
    )
    return [(r[0], r[1], r[2]) for r in (await (await session.connection()).execute(stmt)).all()]
