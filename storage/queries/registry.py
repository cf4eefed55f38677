"""Areas, townships, people and assignments: the registry administrators keep."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sqlalchemy import and_, bindparam, delete, func, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Area, Assignment, DialogState, Identity, Invite, Person, Township, Village, table
from storage.types import utcnow

T = TypeVar("T")


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
    contact_of: Township | None = None,
) -> Person:
    person = Person(
        name=name,
        role=role,
        area_id=area.id if area else None,
        locale=locale,
        township_id=contact_of.id if contact_of else None,
    )
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


# The township registry file ----------------------------------------------------------------------


class RegistryRow(Protocol):
    @property
    def line(self) -> int: ...
    @property
    def area(self) -> str: ...
    @property
    def township(self) -> str: ...
    @property
    def villages(self) -> int: ...
    @property
    def city(self) -> str | None: ...
    @property
    def village_names(self) -> tuple[str, ...]: ...


@dataclass
class ImportResult:
    areas_added: list[str] = field(default_factory=list)
    added: int = 0
    updated: list[tuple[str, str, int, int]] = field(default_factory=list)  # area, township, old, new
    unchanged: int = 0
    villages_added: int = 0  # villages named in the file that the registry did not have
    # Rows whose county already belongs to another city: (line, county, city in file, city on record)
    conflicts: list[tuple[int, str, str, str]] = field(default_factory=list)


CHUNK = 500


async def import_townships(
    session: AsyncSession,
    rows: Sequence[RegistryRow],
    *,
    city: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Add new townships and update changed village counts; townships missing from the file
    are kept, and nothing is deleted. On a conflict nothing is written."""
    result = ImportResult()
    areas = {a.name: a for a in (await session.exec(select(Area))).all()}
    names = {a.id: a.name for a in areas.values()}
    wanted_city: dict[str, tuple[str | None, int]] = {}
    for row in rows:
        wanted_city.setdefault(row.area, (row.city or city, row.line))
    for area_name, (city_name, line) in wanted_city.items():
        existing = areas.get(area_name)
        if existing is None or city_name is None or existing.parent_id is None:
            continue
        recorded = names.get(existing.parent_id, "")
        if recorded != city_name:
            result.conflicts.append((line, area_name, city_name, recorded))
        parent = areas.get(city_name)
        if parent is not None and parent.kind != "city" and parent.id != existing.parent_id:
            result.conflicts.append((line, area_name, city_name, recorded))
    if result.conflicts:
        return result
    for area_name, (city_name, _line) in wanted_city.items():
        parent_id = None
        if city_name is not None:
            parent = areas.get(city_name)
            if parent is None:
                parent = Area(name=city_name, kind="city")
                session.add(parent)
                await session.flush()
                areas[city_name] = parent
                result.areas_added.append(city_name)
            parent_id = parent.id
        area = areas.get(area_name)
        if area is None:
            area = Area(name=area_name, kind="county", parent_id=parent_id)
            session.add(area)
            await session.flush()
            areas[area_name] = area
            result.areas_added.append(area_name)
        elif area.parent_id is None and parent_id is not None and parent_id != area.id:
            area.parent_id = parent_id
            session.add(area)
            await session.flush()
    area_ids = {areas[name].id for name in wanted_city}
    t = table(Township)
    conn = await session.connection()
    known: dict[tuple[int, str], tuple[int, int]] = {}
    for ids in _chunks(sorted(i for i in area_ids if i is not None), CHUNK):
        query = sa_select(t.c.id, t.c.area_id, t.c.name, t.c.villages).where(t.c.area_id.in_(ids))
        for tid, aid, name, villages in (await conn.execute(query)).all():
            known[(aid, name)] = (tid, villages)
    new_rows: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for row in rows:
        area_id = areas[row.area].id
        assert area_id is not None
        found = known.get((area_id, row.township))
        if found is None:
            new_rows.append({"area_id": area_id, "name": row.township, "villages": row.villages})
        elif found[1] != row.villages:
            changes.append({"tid": found[0], "v": row.villages})
            result.updated.append((row.area, row.township, found[1], row.villages))
        else:
            result.unchanged += 1
    if progress is not None and result.unchanged:
        progress(result.unchanged)
    for batch in _chunks(new_rows, CHUNK):
        await conn.execute(insert(t), list(batch))
        result.added += len(batch)
        if progress is not None:
            progress(len(batch))
    change = update(t).where(t.c.id == bindparam("tid")).values(villages=bindparam("v"))
    for batch in _chunks(changes, CHUNK):
        await conn.execute(change, list(batch))
        if progress is not None:
            progress(len(batch))
    named = [row for row in rows if row.village_names]
    if named:
        result.villages_added = await _add_villages(session, named, {a: areas[a].id for a in wanted_city})
    return result


async def _add_villages(
    session: AsyncSession, rows: Sequence[RegistryRow], area_ids: dict[str, int | None]
) -> int:
    """Add the villages the rows name that their township does not have yet (none is removed:
    a village's inspections keep pointing at it)."""
    t, v = table(Township), table(Village)
    conn = await session.connection()
    ids: dict[tuple[int, str], int] = {}
    for chunk in _chunks(sorted({i for i in area_ids.values() if i is not None}), CHUNK):
        query = sa_select(t.c.id, t.c.area_id, t.c.name).where(t.c.area_id.in_(chunk))
        for tid, aid, name in (await conn.execute(query)).all():
            ids[(aid, name)] = tid
    township_ids = sorted({ids[(area_ids[r.area], r.township)] for r in rows if area_ids[r.area] is not None})  # type: ignore[index]
    have: set[tuple[int, str]] = set()
    for chunk in _chunks(township_ids, CHUNK):
        query = sa_select(v.c.township_id, v.c.name).where(v.c.township_id.in_(chunk))
        have.update((tid, name) for tid, name in (await conn.execute(query)).all())
    new = []
    for row in rows:
        tid = ids[(area_ids[row.area], row.township)]  # type: ignore[index]
        for name in row.village_names:
            if (tid, name) not in have:
                have.add((tid, name))
                new.append({"township_id": tid, "name": name})
    for batch in _chunks(new, CHUNK):
        await conn.execute(insert(v), list(batch))
    return len(new)


async def villages_of(session: AsyncSession, township_id: int) -> list[Village]:
    """The township's villages in the registry, in the order they were added."""
    stmt = select(Village).where(Village.township_id == township_id).order_by(col(Village.id))
    return list((await session.exec(stmt)).all())


async def village_by_id(session: AsyncSession, village_id: int) -> Village | None:
    return await session.get(Village, village_id)


async def add_village(session: AsyncSession, township: Township, name: str) -> Village:
    assert township.id is not None
    village = Village(township_id=township.id, name=name)
    session.add(village)
    await session.flush()
    return village


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Finding things by name --------------------------------------------------------------------------


async def area_by_name(session: AsyncSession, name: str) -> Area | None:
    return (await session.exec(select(Area).where(Area.name == name.strip()))).first()


async def area_by_id(session: AsyncSession, area_id: int) -> Area | None:
    return await session.get(Area, area_id)


async def areas(session: AsyncSession) -> Sequence[Area]:
    return (await session.exec(select(Area).order_by(Area.name))).all()


async def townships_named(session: AsyncSession, spec: str) -> list[tuple[Township, Area]]:
    """Townships called ``spec``, or ``county/township`` (also ``county township`` with a
    full-width slash) when the name alone is ambiguous."""
    spec = spec.strip().replace("／", "/")
    area_name, _, name = spec.rpartition("/")
    stmt = select(Township, Area).join(Area, col(Area.id) == col(Township.area_id))
    stmt = stmt.where(Township.name == name.strip())
    if area_name:
        stmt = stmt.where(Area.name == area_name.strip())
    return [(t, a) for t, a in (await session.exec(stmt.order_by(Area.name))).all()]


async def registry_listing(
    session: AsyncSession, area_ids: set[int] | None = None
) -> list[tuple[str, Township, int]]:
    """Every township with its county's name and the number of inspectors assigned."""
    assigned = (
        select(Assignment.township_id, func.count().label("n"))
        .join(Person, col(Person.id) == col(Assignment.person_id))
        .where(col(Person.active).is_(True))
        .group_by(col(Assignment.township_id))
        .subquery()
    )
    stmt = (
        select(Area.name, Township, func.coalesce(assigned.c.n, 0))
        .join(Area, col(Area.id) == col(Township.area_id))
        .outerjoin(assigned, assigned.c.township_id == col(Township.id))
        .order_by(Area.name, Township.name)
    )
    if area_ids is not None:
        stmt = stmt.where(col(Township.area_id).in_(area_ids))
    return [(a, t, int(n)) for a, t, n in (await session.exec(stmt)).all()]


# People --------------------------------------------------------------------------------------


async def people_named(session: AsyncSession, spec: str) -> Sequence[Person]:
    """People by id (``12`` or ``#12``) or exact name."""
    spec = spec.strip()
    if spec.lstrip("#").isdigit():
        person = await session.get(Person, int(spec.lstrip("#")))
        return [person] if person is not None else []
    return (await session.exec(select(Person).where(Person.name == spec).order_by(col(Person.id)))).all()


async def person_by_account(session: AsyncSession, channel: str, external_id: str) -> Person | None:
    stmt = select(Person).join(Identity, col(Identity.person_id) == col(Person.id))
    stmt = stmt.where(Identity.channel == channel, Identity.external_id == external_id)
    return (await session.exec(stmt)).first()


async def remove_person(session: AsyncSession, person: Person) -> None:
    """Access ends at once: the person is inactive, their accounts unbound (so the same
    account can be invited again) and their assignments and dialog state dropped. Their
    inspections and answers stay, attributed to them."""
    assert person.id is not None
    person.active = False
    session.add(person)
    conn = await session.connection()
    for model in (Identity, Assignment, DialogState):
        t = table(model)
        await conn.execute(delete(t).where(t.c.person_id == person.id))
    # Codes they handed out and nobody used yet die with their access.
    invites = table(Invite)
    unused = and_(invites.c.created_by == person.id, invites.c.used_at.is_(None))
    await conn.execute(update(invites).where(unused).values(expires_at=utcnow()))
    await session.flush()


async def assign(session: AsyncSession, person: Person, townships: Sequence[Township]) -> int:
    """Assign townships; returns how many were new."""
    assert person.id is not None
    have = set(await assigned_township_ids(session, person.id))
    added = 0
    for township in townships:
        if township.id not in have and township.id is not None:
            session.add(Assignment(person_id=person.id, township_id=township.id))
            have.add(township.id)
            added += 1
    await session.flush()
    return added


async def unassign(session: AsyncSession, person: Person, townships: Sequence[Township]) -> int:
    assert person.id is not None
    ids = [t.id for t in townships if t.id is not None]
    if not ids:
        return 0
    t = table(Assignment)
    result = await (await session.connection()).execute(
        delete(t).where(t.c.person_id == person.id, t.c.township_id.in_(ids))
    )
    return int(result.rowcount)


async def assigned_township_ids(session: AsyncSession, person_id: int) -> list[int]:
    stmt = select(Assignment.township_id).where(Assignment.person_id == person_id)
    return list((await session.exec(stmt)).all())


@dataclass
class PersonRow:
    person: Person
    area: str | None
    townships: list[str]
    accounts: list[str]


async def people_listing(session: AsyncSession, *, include_removed: bool = False) -> list[PersonRow]:
    stmt = select(Person).order_by(col(Person.id))
    if not include_removed:
        stmt = stmt.where(col(Person.active).is_(True))
    everyone = (await session.exec(stmt)).all()
    area_names = {a.id: a.name for a in (await session.exec(select(Area))).all()}
    townships: dict[int, list[str]] = {}
    stmt2 = select(Assignment.person_id, Township.name).join(
        Township, col(Township.id) == col(Assignment.township_id)
    )
    for pid, name in (await session.exec(stmt2.order_by(Township.name))).all():
        townships.setdefault(pid, []).append(name)
    accounts: dict[int, list[str]] = {}
    for ident in (await session.exec(select(Identity).order_by(col(Identity.id)))).all():
        accounts.setdefault(ident.person_id, []).append(f"{ident.channel}:{ident.external_id}")
    return [
        PersonRow(
            p,
            area_names.get(p.area_id) if p.area_id is not None else None,
            townships.get(p.id or 0, []),
            accounts.get(p.id or 0, []),
        )
        for p in everyone
    ]
