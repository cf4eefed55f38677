"""Reads for the status card, the summary, the report and the export.

The summary of a whole country (tens of thousands of townships) is read in one statement
per checklist version: the answers a summary needs are pivoted in SQL (one text column
per question, the answer's JSON text) and the caller computes its groups from those
columns in SQL too (see ``bot.reports.sqlcond``), so only one short row per township
comes back. Nothing here knows the checklist: the caller names the question keys and
builds the expressions.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import (
    Row,
    Select,
    String,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    select,
    text,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Answer,
    AnswerChange,
    Area,
    Assignment,
    Inspection,
    InspectionFact,
    Person,
    Role,
    Township,
    table,
)
from storage.queries.people import area_and_below

# How the answers are pivoted, per database (see ``inspection_facts``).
PIVOT = {"sqlite": "join", "postgresql": "group"}

# The answer's JSON text when it was skipped or is empty: treated as no answer.
JSON_NULL = "null"


# ``new_tuple(SomeNamedTuple, values)``: a named tuple from a sequence of its fields, in C
# (the named tuple's own constructor is a Python function: a third of a summary's reads).
new_tuple = tuple.__new__


@contextmanager
def many_objects() -> Iterator[None]:
    """Build tens of thousands of small objects without the cyclic garbage collector
    walking every live object each few hundred allocations (it doubled a national summary)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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


def _by_name(session: AsyncSession) -> tuple[Any, ...]:
    """Order by name in code point order on every database (PostgreSQL's locale would not)."""
    t = table(Township)
    name = t.c.name.collate("C") if session.bind.dialect.name == "postgresql" else t.c.name
    return (name, t.c.id)


async def scope_townships(session: AsyncSession, scope: Scope) -> list[TownshipRow]:
    """The townships in scope with their area's name, by name."""
    t, ar = table(Township), table(Area)
    stmt = select(*_township_columns()).select_from(t.join(ar, ar.c.id == t.c.area_id))
    stmt = _in_scope(stmt, scope, t).order_by(*_by_name(session))
    rows = (await (await session.connection()).execute(stmt)).all()
    return [TownshipRow(*r) for r in rows]


async def townships_and_heads(
    session: AsyncSession, scope: Scope, year: int, rules: str | None = None
) -> list[tuple[TownshipRow, InspectionHead | None]]:
    """The townships in scope by name (code point order), each with its inspection of the
    year if any: the summary's first read. Sorted here: a database sorting forty thousand
    wide rows takes longer than the read itself. With ``rules``, each head carries the
    inspection's kept facts where they are still valid (see ``InspectionHead``)."""
    t, ar, i = table(Township), table(Area), table(Inspection)
    conn = await session.connection()
    source: Any = t.outerjoin(i, and_(i.c.township_id == t.c.id, i.c.year == year))
    source, kept = _with_kept_facts(source, rules)
    stmt = select(t.c.id, t.c.name, t.c.area_id, t.c.villages, *_head_columns(), *kept).select_from(source)
    with many_objects():  # across the read too: the driver builds the rows meanwhile
        rows = list((await conn.execute(_in_scope(stmt, scope, t))).all())
        area_names = dict((await conn.execute(select(ar.c.id, ar.c.name))).tuples().all())
        rows.sort(key=itemgetter(1, 0))  # name, then id
        return [
            (
                TownshipRow(tid, name, area_id, area_names.get(area_id, ""), villages),
                new_tuple(InspectionHead, head) if head[0] is not None else None,
            )
            for tid, name, area_id, villages, *head in rows
        ]


# The facts kept per inspection (``InspectionFact``), in the order ``InspectionHead`` holds them.
KEPT_FACTS = (
    "mask",
    "filed_up_to",
    "villages_total",
    "villages_established",
    "progress",
    "funding",
    "work_state",
)


def _head_columns() -> tuple[Any, ...]:
    i = table(Inspection)
    stamp = type_coerce(i.c.updated_at, String)  # no conversion: only compared for equality
    return (i.c.id, i.c.township_id, i.c.status, i.c.checklist_version_id, stamp)


def _with_kept_facts(source: Any, rules: str | None) -> tuple[Any, list[Any]]:
    """Join the kept facts that are still valid: computed at the inspection's current
    ``updated_at`` under the same rules."""
    if rules is None:  # none read: NULL in their places (the heads are built by position)
        return source, [null().label(name) for name in KEPT_FACTS]
    i, f = table(Inspection), table(InspectionFact)
    valid = and_(f.c.inspection_id == i.c.id, f.c.stamp == i.c.updated_at, f.c.rules == rules)
    return source.outerjoin(f, valid), [f.c[name] for name in KEPT_FACTS]


async def keep_facts(session: AsyncSession, rows: Sequence[Mapping[str, Any]], chunk: int = 2000) -> None:
    """Store (or replace) inspections' facts: each row has ``inspection_id``, ``stamp``,
    ``rules`` and the ``KEPT_FACTS``. The caller holds the right to write."""
    if not rows:
        return
    f = table(InspectionFact)
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(f)
    stmt = stmt.on_conflict_do_update(
        index_elements=["inspection_id"],
        set_={name: stmt.excluded[name] for name in ("stamp", "rules", *KEPT_FACTS)},
    )
    conn = await session.connection()
    for start in range(0, len(rows), chunk):
        await conn.execute(stmt, list(rows[start : start + chunk]))


async def area_tree(session: AsyncSession) -> dict[int, tuple[str, int | None]]:
    """Every area: id → (name, parent id)."""
    ar = table(Area)
    rows = await (await session.connection()).execute(select(ar.c.id, ar.c.name, ar.c.parent_id))
    return {aid: (name, parent) for aid, name, parent in rows}


async def scope_root_name(session: AsyncSession, scope: Scope) -> str | None:
    """The name of the one area all of the scope lies in (the top of ``area_ids``), if any."""
    if scope.area_ids is None:
        return None
    ar = table(Area)
    rows = (
        await (await session.connection()).execute(
            select(ar.c.id, ar.c.name, ar.c.parent_id).where(ar.c.id.in_(sorted(scope.area_ids)))
        )
    ).all()
    tops = [r for r in rows if r.parent_id not in scope.area_ids]
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
    )


async def inspections_of_township(session: AsyncSession, township_id: int) -> list[InspectionRow]:
    """Every inspection of the township (one per year), the latest year first."""
    i, p = table(Inspection), table(Person)
    stmt = (
        select(*_inspection_columns())
        .select_from(i.outerjoin(p, p.c.id == i.c.inspector_id))
        .where(i.c.township_id == township_id)
        .order_by(i.c.year.desc())
    )
    return [InspectionRow(*r) for r in await (await session.connection()).execute(stmt)]


async def inspections_in_year(session: AsyncSession, scope: Scope, year: int) -> list[InspectionRow]:
    """The year's inspections of the townships in scope."""
    i, p, t = table(Inspection), table(Person), table(Township)
    stmt = (
        select(*_inspection_columns())
        .select_from(i.join(t, t.c.id == i.c.township_id).outerjoin(p, p.c.id == i.c.inspector_id))
        .where(i.c.year == year)
        .order_by(t.c.name, i.c.id)
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


# One row per inspection, computed in SQL -----------------------------------------------------

# Given the pivoted answer columns (question key → the answer's JSON text, NULL when not
# answered) and the inspection's year column: the named expressions to select.
Columns = Callable[[Mapping[str, ColumnElement[Any]], ColumnElement[int]], Mapping[str, ColumnElement[Any]]]


async def inspection_facts(
    session: AsyncSession,
    scope: Scope,
    year: int,
    checklist_version_id: int,
    keys: Sequence[str],
    columns: Columns,
    ids: Sequence[int] | None = None,
    effective: Columns | None = None,
) -> Sequence[Row[Any]]:
    """For each of the year's inspections in scope answered with the checklist version: its
    ``id``, ``township_id``, ``status`` and ``updated_at`` and the caller's ``columns``, built on the
    answers to ``keys``. One statement; ``ids`` restricts it to those inspections.

    With ``effective`` (the value of each question once it is known to apply), those values
    are computed once per inspection in a materialized first step and ``columns`` is built
    on them: an answer several groups read is not worked out again for each.

    The answers are pivoted the way each database does fastest: SQLite looks each answer
    up by its unique (inspection, question) index, one outer join per question;
    PostgreSQL aggregates the year's answers per inspection in one hash aggregate."""
    i, a, t = table(Inspection), table(Answer), table(Township)
    keys = list(dict.fromkeys(keys))
    filters = [i.c.year == year, i.c.checklist_version_id == checklist_version_id]
    if ids is not None:
        filters.append(i.c.id.in_(sorted(ids)))
    source: Any = i.join(t, t.c.id == i.c.township_id)
    raw: dict[str, ColumnElement[Any]] = {}
    if PIVOT.get(session.bind.dialect.name) == "join":
        for n, key in enumerate(keys):
            answer = a.alias(f"a{n}")
            source = source.outerjoin(
                answer, and_(answer.c.inspection_id == i.c.id, answer.c.question_key == key)
            )
            raw[key] = func.nullif(cast(answer.c.value, Text), JSON_NULL)
    else:
        text_value = cast(a.c.value, Text)
        pivot_cols = [
            func.nullif(func.max(case((a.c.question_key == key, text_value))), JSON_NULL).label(f"k{n}")
            for n, key in enumerate(keys)
        ]
        pivot_stmt = select(a.c.inspection_id, *pivot_cols).select_from(
            a.join(i, i.c.id == a.c.inspection_id)
        )
        if not scope.everything:
            pivot_stmt = _in_scope(pivot_stmt.join(t, t.c.id == i.c.township_id), scope, t)
        pivot = pivot_stmt.where(*filters).group_by(a.c.inspection_id).subquery("answers")
        raw = {key: pivot.c[f"k{n}"] for n, key in enumerate(keys)}
        source = source.outerjoin(pivot, pivot.c.inspection_id == i.c.id)
    if effective is None:
        extra = columns(raw, i.c.year)
        stmt = (
            select(
                i.c.id,
                i.c.township_id,
                i.c.status,
                i.c.updated_at,
                *(expr.label(name) for name, expr in extra.items()),
            )
            .select_from(source)
            .where(*filters)
        )
        stmt = _in_scope(stmt, scope, t)
    else:
        values = effective(raw, i.c.year)
        first = select(
            i.c.id,
            i.c.township_id,
            i.c.status,
            i.c.updated_at,
            i.c.year,
            *(expr.label(f"e{n}") for n, expr in enumerate(values.values())),
        )
        step = _in_scope(first.select_from(source).where(*filters), scope, t).cte("effective")
        step = step.prefix_with("MATERIALIZED")
        extra = columns({key: step.c[f"e{n}"] for n, key in enumerate(values)}, step.c.year)
        stmt = select(
            step.c.id,
            step.c.township_id,
            step.c.status,
            step.c.updated_at,
            *(e.label(k) for k, e in extra.items()),
        )
    conn = await session.connection()
    if session.bind.dialect.name == "postgresql":
        # One wide aggregate: compiling it to machine code costs more than it saves, and
        # its sort fits in memory with a little more than the default working memory.
        await conn.execute(text("SET LOCAL jit = off"))
        await conn.execute(text("SET LOCAL work_mem = '64MB'"))
    result = await conn.execute(stmt)
    with many_objects():
        return result.all()


class InspectionHead(NamedTuple):
    id: int
    township_id: int
    status: str
    checklist_version_id: int
    stamp: Any  # updated_at as the driver returns it: compared, never shown
    # The kept facts (``KEPT_FACTS``) when still valid; ``mask`` is None when there are none.
    mask: int | None = None
    filed_up_to: int | None = None
    villages_total: int | None = None
    villages_established: int | None = None
    progress: float | None = None
    funding: float | None = None
    work_state: str | None = None


assert InspectionHead._fields[5:] == KEPT_FACTS


async def inspection_heads(
    session: AsyncSession, scope: Scope, year: int, rules: str | None = None
) -> list[InspectionHead]:
    """The year's inspections in scope, with what tells whether their answers changed (and,
    with ``rules``, their kept facts as in ``townships_and_heads``)."""
    i, t = table(Inspection), table(Township)
    source: Any = i if scope.everything else i.join(t, t.c.id == i.c.township_id)
    source, kept = _with_kept_facts(source, rules)
    stmt = select(*_head_columns(), *kept).select_from(source).where(i.c.year == year)
    if not scope.everything:
        stmt = _in_scope(stmt, scope, t)
    result = await (await session.connection()).execute(stmt)
    with many_objects():
        return [new_tuple(InspectionHead, r) for r in result.all()]


# Answers and their history, for the export -------------------------------------------------


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
