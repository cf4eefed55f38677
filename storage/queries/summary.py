"""Reads for the status card, the summary, the report and the export.

The summary of a whole country (tens of thousands of townships) is one plain read: each
township in scope with its inspection of the year and the facts kept for it
(``InspectionFact``: a short row of JSON the checklist engine wrote when it was
submitted). Nothing here knows the checklist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Select,
    Text,
    and_,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import writable
from storage.models import (
    Answer,
    AnswerChange,
    Area,
    Assignment,
    Inspection,
    InspectionFact,
    Person,
    Role,
    StatusChange,
    Township,
    Village,
    table,
)
from storage.queries.people import area_and_below


@dataclass(frozen=True)
class Scope:
    """Which townships a read covers: everything, the townships of some areas, or some
    townships by id (an inspector's assignments). The same rule as ``visible_townships``."""

    area_ids: frozenset[int] | None = None
    township_ids: frozenset[int] | None = None

    @property
    def everything(self) -> bool:
        return self.area_ids is None and self.township_ids is None


async def scope_of(session: AsyncSession, person: Person) -> Scope:
    """The townships a person may see: all for an administrator without an area, the area's
    (and nested areas') for a supervisor or an administrator of an area, the assigned ones
    for an inspector."""
    if person.role in (Role.admin, Role.supervisor):
        if person.area_id is None:
            return Scope() if person.role == Role.admin else Scope(township_ids=frozenset())
        return Scope(area_ids=frozenset(await area_and_below(session, person.area_id)))
    a = table(Assignment)
    rows = await (await session.connection()).execute(
        select(a.c.township_id).where(a.c.person_id == person.id)
    )
    return Scope(township_ids=frozenset(r[0] for r in rows))


def _in_scope(stmt: Select[Any], scope: Scope, township: Any) -> Select[Any]:
    """Restrict ``stmt`` (which selects from the township table ``township``) to ``scope``."""
    if scope.area_ids is not None:
        stmt = stmt.where(township.c.area_id.in_(sorted(scope.area_ids)))
    if scope.township_ids is not None:
        stmt = stmt.where(township.c.id.in_(sorted(scope.township_ids)))
    return stmt


class TownshipRow(NamedTuple):
    id: int
    name: str
    area_id: int
    area_name: str
    villages: int


def _township_columns() -> tuple[Any, ...]:
    t, ar = table(Township), table(Area)
    return (t.c.id, t.c.name, t.c.area_id, ar.c.name.label("area_name"), t.c.villages)


def _registry_order() -> tuple[Any, ...]:
    """Townships as the registry lists them: by county (in the order the areas were
    created), then in the order the townships were."""
    t = table(Township)
    return (t.c.area_id, t.c.id)


async def scope_townships(session: AsyncSession, scope: Scope) -> list[TownshipRow]:
    """The townships in scope with their area's name, in registry order."""
    t, ar = table(Township), table(Area)
    stmt = select(*_township_columns()).select_from(t.join(ar, ar.c.id == t.c.area_id))
    stmt = _in_scope(stmt, scope, t).order_by(*_registry_order())
    rows = (await (await session.connection()).execute(stmt)).all()
    return [TownshipRow(*r) for r in rows]


class YearRow(NamedTuple):
    """A township in scope, its inspection of the year if any, and the facts kept for it
    (their JSON as stored: the caller reads only what it needs)."""

    id: int  # the township's first, named as in TownshipRow: the row can stand for one
    name: str
    area_id: int
    area_name: str
    villages: int
    inspection_id: int | None
    status: str | None
    checklist_version_id: int | None
    fresh: bool | None  # the kept facts were computed at the inspection's ``updated_at``
    rules: str | None
    groups: str | None  # JSON
    unknown: str | None  # JSON
    numbers: str | None  # JSON
    score: int | None


async def year_rows(session: AsyncSession, scope: Scope, year: int) -> Sequence[YearRow]:
    """Every township in scope (registry order) with its inspection of ``year`` and, for a
    submitted one, its kept facts: one statement."""
    t, i, f = table(Township), table(Inspection), table(InspectionFact)
    submitted = and_(f.c.inspection_id == i.c.id, i.c.status == "submitted")
    source = (
        t.join(table(Area), table(Area).c.id == t.c.area_id)
        .outerjoin(i, and_(i.c.township_id == t.c.id, i.c.year == year, i.c.village_id.is_(None)))
        .outerjoin(f, submitted)
    )
    stmt = select(
        *_township_columns(),
        i.c.id.label("inspection_id"),
        i.c.status,
        i.c.checklist_version_id,
        (f.c.stamp == i.c.updated_at).label("fresh"),
        f.c.rules,
        # As text: the caller parses them all in one go (PostgreSQL's driver would parse each).
        *(cast(f.c[name], Text).label(name) for name in ("groups", "unknown", "numbers")),
        f.c.score,
    ).select_from(source)
    stmt = _in_scope(stmt, scope, t).order_by(*_registry_order())
    result = await (await session.connection()).execute(stmt)
    return result.all()  # type: ignore[return-value]  # rows of YearRow's fields (by name and position)


async def updated_at(session: AsyncSession, inspection_ids: Sequence[int]) -> dict[int, datetime]:
    """The inspections' ``updated_at`` (what facts computed now are stamped with)."""
    i = table(Inspection)
    out: dict[int, datetime] = {}
    conn = await session.connection()
    ids = sorted(inspection_ids)
    for start in range(0, len(ids), 5000):
        stmt = select(i.c.id, i.c.updated_at).where(i.c.id.in_(ids[start : start + 5000]))
        out.update((await conn.execute(stmt)).tuples().all())
    return out


async def area_names(session: AsyncSession) -> dict[int, str]:
    ar = table(Area)
    return dict((await (await session.connection()).execute(select(ar.c.id, ar.c.name))).tuples().all())


async def keep_facts(session: AsyncSession, rows: Sequence[Mapping[str, Any]], chunk: int = 2000) -> None:
    """Store (or replace) inspections' facts (``InspectionFact`` rows as mappings)."""
    if not rows:
        return
    f = table(InspectionFact)
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(f)
    names = ("stamp", "rules", "groups", "unknown", "numbers", "score")
    stmt = stmt.on_conflict_do_update(
        index_elements=["inspection_id"], set_={name: stmt.excluded[name] for name in names}
    )
    conn = await writable(session)
    for start in range(0, len(rows), chunk):
        await conn.execute(stmt, list(rows[start : start + chunk]))


async def area_tree(session: AsyncSession) -> dict[int, tuple[str, int | None]]:
    """Every area: id → (name, parent id)."""
    ar = table(Area)
    rows = await (await session.connection()).execute(select(ar.c.id, ar.c.name, ar.c.parent_id))
    return {aid: (name, parent) for aid, name, parent in rows}


async def scope_root_name(session: AsyncSession, scope: Scope) -> str | None:
    """The name of the one area all of the scope lies in (the top of ``area_ids``; for
    everything, the registry's one top area — the city — if there is one)."""
    ar = table(Area)
    stmt = select(ar.c.id, ar.c.name, ar.c.parent_id)
    if scope.area_ids is not None:
        stmt = stmt.where(ar.c.id.in_(sorted(scope.area_ids)))
    elif scope.township_ids is not None:
        return None
    rows = (await (await session.connection()).execute(stmt)).all()
    inside = scope.area_ids if scope.area_ids is not None else {r.id for r in rows}
    tops = [r for r in rows if r.parent_id not in inside]
    return tops[0].name if len(tops) == 1 else None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def find_townships(
    session: AsyncSession, scope: Scope, wanted: str, limit: int = 25
) -> list[TownshipRow]:
    """Townships in scope named ``wanted``; else whose name contains it; else whose name the
    text contains ("东县太平乡"); at most ``limit``, shortest names first."""
    wanted = wanted.strip()
    if not wanted or scope.township_ids == frozenset():
        return []
    t, ar = table(Township), table(Area)
    base = _in_scope(select(*_township_columns()).select_from(t.join(ar, ar.c.id == t.c.area_id)), scope, t)
    order = (func.length(t.c.name), t.c.name, t.c.id)
    conn = await session.connection()
    tries = (
        t.c.name == wanted,
        t.c.name.like(f"%{_escape_like(wanted)}%", escape="\\"),
        # The text holds a whole name; at least two characters, so "乡" alone finds nothing.
        and_(func.length(t.c.name) >= 2, literal(wanted, Text).contains(t.c.name)),
    )
    for condition in tries:
        rows = (await conn.execute(base.where(condition).order_by(*order).limit(limit))).all()
        if rows:
            return [TownshipRow(*r) for r in rows]
    return []


async def township_row(session: AsyncSession, township_id: int) -> TownshipRow | None:
    t, ar = table(Township), table(Area)
    stmt = select(*_township_columns()).select_from(t.join(ar, ar.c.id == t.c.area_id))
    row = (await (await session.connection()).execute(stmt.where(t.c.id == township_id))).first()
    return TownshipRow(*row) if row else None


class InspectionRow(NamedTuple):
    id: int
    township_id: int
    year: int
    status: str
    checklist_version_id: int
    inspector_id: int | None
    inspector_name: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    return_comment: str | None


def _inspection_columns() -> tuple[Any, ...]:
    i, p = table(Inspection), table(Person)
    return (
        i.c.id,
        i.c.township_id,
        i.c.year,
        i.c.status,
        i.c.checklist_version_id,
        i.c.inspector_id,
        p.c.name.label("inspector_name"),
        i.c.created_at,
        i.c.updated_at,
        i.c.submitted_at,
        i.c.return_comment,
    )


async def inspections_of_township(session: AsyncSession, township_id: int) -> list[InspectionRow]:
    """Every inspection of the township (one per year), the latest year first."""
    i, p = table(Inspection), table(Person)
    stmt = (
        select(*_inspection_columns())
        .select_from(i.outerjoin(p, p.c.id == i.c.inspector_id))
        .where(i.c.township_id == township_id, i.c.village_id.is_(None))
        .order_by(i.c.year.desc())
    )
    return [InspectionRow(*r) for r in await (await session.connection()).execute(stmt)]


async def village_statuses(session: AsyncSession, township_id: int, year: int) -> list[tuple[str, str]]:
    """(village, status) of the township's village inspections of ``year``, in registry order."""
    i, v = table(Inspection), table(Village)
    stmt = (
        select(v.c.name, i.c.status)
        .select_from(i.join(v, v.c.id == i.c.village_id))
        .where(i.c.township_id == township_id, i.c.year == year)
        .order_by(v.c.id)
    )
    return [(name, status) for name, status in await (await session.connection()).execute(stmt)]


async def inspections_in_year(session: AsyncSession, scope: Scope, year: int) -> list[InspectionRow]:
    """The year's inspections of the townships in scope."""
    i, p, t = table(Inspection), table(Person), table(Township)
    stmt = (
        select(*_inspection_columns())
        .select_from(i.join(t, t.c.id == i.c.township_id).outerjoin(p, p.c.id == i.c.inspector_id))
        .where(i.c.year == year, i.c.village_id.is_(None))
        .order_by(*_registry_order())
    )
    stmt = _in_scope(stmt, scope, t)
    return [InspectionRow(*r) for r in await (await session.connection()).execute(stmt)]


@dataclass(frozen=True)
class Team:
    """Who inspected in a year and when: the inspectors' names, the first start and the
    last submission (or change)."""

    inspectors: list[str] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None


async def team_of_year(session: AsyncSession, scope: Scope, year: int) -> Team:
    i, t, p = table(Inspection), table(Township), table(Person)
    conn = await session.connection()
    base = select().select_from(i.join(t, t.c.id == i.c.township_id)).where(i.c.year == year)
    base = _in_scope(base, scope, t)
    names_stmt = base.join(p, p.c.id == i.c.inspector_id).with_only_columns(p.c.name).distinct()
    names = sorted({r[0] for r in await conn.execute(names_stmt) if r[0]})
    # The type of the columns carries the time zone: read them through the column types.
    first = (
        await conn.execute(base.with_only_columns(func.min(i.c.created_at, type_=i.c.created_at.type)))
    ).scalar()
    last_stamp = func.coalesce(i.c.submitted_at, i.c.updated_at)
    last = (
        await conn.execute(base.with_only_columns(func.max(last_stamp, type_=i.c.updated_at.type)))
    ).scalar()
    return Team(names, first, last)


# Answers and their history, for the export -------------------------------------------------


class VillageInspectionRow(NamedTuple):
    inspection_id: int
    township_id: int
    village: str
    checklist_version_id: int


class VillageYearRow(NamedTuple):
    inspection: InspectionRow
    township: str
    village: str


async def village_inspections_in_year(session: AsyncSession, scope: Scope, year: int) -> list[VillageYearRow]:
    """The year's village inspections of the townships in scope, whatever their status, in
    registry order (township, then village)."""
    i, p, t, v = table(Inspection), table(Person), table(Township), table(Village)
    stmt = (
        select(*_inspection_columns(), t.c.name, v.c.name)
        .select_from(
            i.join(v, v.c.id == i.c.village_id)
            .join(t, t.c.id == i.c.township_id)
            .outerjoin(p, p.c.id == i.c.inspector_id)
        )
        .where(i.c.year == year)
        .order_by(*_registry_order(), v.c.id)
    )
    stmt = _in_scope(stmt, scope, t)
    rows = await (await session.connection()).execute(stmt)
    return [VillageYearRow(InspectionRow(*r[:-2]), r[-2], r[-1]) for r in rows]


async def village_inspections(session: AsyncSession, scope: Scope, year: int) -> list[VillageInspectionRow]:
    """The year's submitted village inspections of the townships in scope, villages in the
    registry's order."""
    i, t, v = table(Inspection), table(Township), table(Village)
    stmt = (
        select(i.c.id, i.c.township_id, v.c.name, i.c.checklist_version_id)
        .select_from(i.join(v, v.c.id == i.c.village_id).join(t, t.c.id == i.c.township_id))
        .where(i.c.year == year, i.c.status == "submitted")
        .order_by(t.c.id, v.c.id)
    )
    stmt = _in_scope(stmt, scope, t)
    return [VillageInspectionRow(*r) for r in await (await session.connection()).execute(stmt)]


async def answers_of_inspections(
    session: AsyncSession, inspection_ids: Iterable[int], chunk: int = 5000
) -> dict[int, dict[str, Any]]:
    """Inspection id → question key → value (skipped answers left out)."""
    a = table(Answer)
    ids = sorted(set(inspection_ids))
    out: dict[int, dict[str, Any]] = {i: {} for i in ids}
    conn = await session.connection()
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        stmt = select(a.c.inspection_id, a.c.question_key, a.c.value).where(
            a.c.inspection_id.in_(part), a.c.skipped.is_(False)
        )
        for inspection_id, key, value in await conn.execute(stmt):
            if value is not None:
                out[inspection_id][key] = value
    return out


class ChangeRow(NamedTuple):
    inspection_id: int
    question_key: str
    old_value: Any
    new_value: Any
    changed_by: str | None
    changed_at: datetime


async def history_of_inspections(
    session: AsyncSession, inspection_ids: Iterable[int], chunk: int = 5000
) -> list[ChangeRow]:
    """Every change to the answers of the inspections, oldest first within each."""
    c, p = table(AnswerChange), table(Person)
    ids = sorted(set(inspection_ids))
    out: list[ChangeRow] = []
    conn = await session.connection()
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        stmt = (
            select(
                c.c.inspection_id,
                c.c.question_key,
                c.c.old_value,
                c.c.new_value,
                p.c.name,
                c.c.changed_at,
            )
            .select_from(c.outerjoin(p, p.c.id == c.c.changed_by))
            .where(c.c.inspection_id.in_(part))
            .order_by(c.c.inspection_id, c.c.changed_at, c.c.id)
        )
        out.extend(ChangeRow(*r) for r in await conn.execute(stmt))
    return out


class StatusRow(NamedTuple):
    inspection_id: int
    status: str
    changed_by: str | None
    changed_at: datetime
    comment: str | None


async def status_history_of_inspections(
    session: AsyncSession, inspection_ids: Iterable[int], chunk: int = 5000
) -> list[StatusRow]:
    """Every submission, return (with its comment) and reopening, oldest first within each."""
    c, p = table(StatusChange), table(Person)
    ids = sorted(set(inspection_ids))
    out: list[StatusRow] = []
    conn = await session.connection()
    for start in range(0, len(ids), chunk):
        stmt = (
            select(c.c.inspection_id, c.c.status, p.c.name, c.c.changed_at, c.c.comment)
            .select_from(c.outerjoin(p, p.c.id == c.c.changed_by))
            .where(c.c.inspection_id.in_(ids[start : start + chunk]))
            .order_by(c.c.inspection_id, c.c.changed_at, c.c.id)
        )
        out.extend(StatusRow(*r) for r in await conn.execute(stmt))
    return out
