"""Inspections, their answers and the history of every change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, update
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import writable
from storage.models import (
    Answer,
    AnswerChange,
    Assignment,
    Inspection,
    InspectionStatus,
    Person,
    Role,
    StatusChange,
    Township,
    table,
)
from storage.queries.people import may_see
from storage.types import utcnow

_a, _h, _i = table(Answer), table(AnswerChange), table(Inspection)


async def find_inspection(
    session: AsyncSession, township_id: int, year: int, village_id: int | None = None
) -> Inspection | None:
    """The township's own inspection of ``year`` (or, with ``village_id``, that village's)."""
    stmt = select(Inspection).where(
        Inspection.township_id == township_id, Inspection.year == year, _of_village(village_id)
    )
    return (await session.exec(stmt)).first()


def _of_village(village_id: int | None) -> Any:
    return col(Inspection.village_id).is_(None) if village_id is None else Inspection.village_id == village_id


async def start_inspection(
    session: AsyncSession,
    township_id: int,
    year: int,
    checklist_version_id: int,
    inspector_id: int,
    village_id: int | None = None,
) -> Inspection:
    inspection = Inspection(
        township_id=township_id,
        village_id=village_id,
        year=year,
        checklist_version_id=checklist_version_id,
        inspector_id=inspector_id,
    )
    await writable(session)
    session.add(inspection)
    await session.flush()  # for its id
    return inspection


@dataclass(frozen=True)
class Stored:
    """An answer as stored: its value, or skipped."""

    value: Any
    skipped: bool = False


async def unfinished_of(session: AsyncSession, person_id: int, township_ids: list[int]) -> list[Inspection]:
    """The person's own inspections not yet submitted (drafts, and returned ones) of these
    townships and their villages, the latest touched first: what /inspect offers to continue."""
    if not township_ids:
        return []
    stmt = (
        select(Inspection)
        .where(
            Inspection.inspector_id == person_id,
            col(Inspection.township_id).in_(township_ids),
            col(Inspection.status).in_([InspectionStatus.draft, InspectionStatus.returned]),
        )
        .order_by(col(Inspection.updated_at).desc())
    )
    return list((await session.exec(stmt)).all())


async def answers_of(session: AsyncSession, inspection_id: int) -> dict[str, Stored]:
    stmt = select(Answer.question_key, Answer.value, Answer.skipped).where(
        Answer.inspection_id == inspection_id
    )
    return {key: Stored(value, skipped) for key, value, skipped in (await session.exec(stmt)).all()}


@dataclass
class InHand:
    """An inspection being worked on, with its township and its answers as stored."""

    inspection: Inspection
    township: Township
    answers: dict[str, Stored]


def _in_hand(assigned_only: bool) -> Any:
    t, asg = table(Township), table(Assignment)
    stmt = (
        sa_select(_i, *(c.label(f"t_{c.name}") for c in t.c), _a.c.question_key, _a.c.value, _a.c.skipped)
        .select_from(_i.join(t, t.c.id == _i.c.township_id).outerjoin(_a, _a.c.inspection_id == _i.c.id))
        .where(_i.c.id == bindparam("inspection_id"))
    )
    if assigned_only:
        stmt = stmt.join(asg, and_(asg.c.township_id == t.c.id, asg.c.person_id == bindparam("person_id")))
    return stmt


# Built once: a statement built anew for every turn costs more than running it.
_IN_HAND = {True: _in_hand(True), False: _in_hand(False)}
_INSPECTION_COLUMNS = tuple(c.name for c in _i.c)
_TOWNSHIP_COLUMNS = tuple(c.name for c in table(Township).c)


async def inspection_in_hand(session: AsyncSession, person: Person, inspection_id: int) -> InHand | None:
    """The inspection, its township and answers, if the person may see it: one statement
    (for an inspector, the assignment is checked in it too)."""
    staff = person.role in (Role.admin, Role.supervisor)
    params = {"inspection_id": inspection_id, "person_id": person.id}
    rows = (await (await session.connection()).execute(_IN_HAND[not staff], params)).all()
    if not rows:
        return None
    first = rows[0]
    inspection = Inspection(**{name: first[n] for n, name in enumerate(_INSPECTION_COLUMNS)})
    offset = len(_INSPECTION_COLUMNS)
    township = Township(**{name: first[offset + n] for n, name in enumerate(_TOWNSHIP_COLUMNS)})
    if staff and not await may_see(session, person, township):
        return None
    answers = {r[-3]: Stored(r[-2], r[-1]) for r in rows if r[-3] is not None}
    return InHand(inspection, township, answers)


def answered_values(answers: dict[str, Stored]) -> dict[str, Any]:
    """Question key → value, without skipped questions."""
    return {k: a.value for k, a in answers.items() if not a.skipped}


async def set_answer(
    session: AsyncSession,
    inspection: Inspection | int,
    key: str,
    value: Any,
    by: int | None,
    *,
    skipped: bool = False,
    current: Stored | None,
) -> Stored:
    """Store an answer with its history row, unless it is unchanged; ``current`` is what is
    stored now. Given the inspection itself (not its id), its version is kept in step, so
    that a ``submit`` of the same object afterwards finds it as stored."""
    inspection_id = inspection if isinstance(inspection, int) else inspection.id
    assert inspection_id is not None
    write = answer_write(inspection_id, key, value, by, skipped=skipped, current=current)
    if write is None:
        assert current is not None  # None only when it equals what is stored
        return current
    await write_answer(session, write)
    if isinstance(inspection, Inspection):
        inspection.version += 1
    return stored(write)


@dataclass(frozen=True)
class AnswerWrite:
    """One answer replacing ``old`` (None: none yet), with its history row."""

    inspection_id: int
    key: str
    value: Any
    skipped: bool
    old: Any
    by: int | None
    at: datetime
    source: str | None = None  # the message that gave it ("channel:message id")


def answer_write(
    inspection_id: int,
    key: str,
    value: Any,
    by: int | None,
    *,
    skipped: bool,
    current: Stored | None,
    source: str | None = None,
) -> AnswerWrite | None:
    """What storing an answer writes; None when it is what is stored already."""
    new = Stored(None if skipped else value, skipped)
    if current == new:
        return None
    old = None if current is None or current.skipped else current.value
    return AnswerWrite(inspection_id, key, new.value, skipped, old, by, utcnow(), source)


def stored(write: AnswerWrite) -> Stored:
    return Stored(write.value, write.skipped)


def _upsert(insert: Any) -> Any:
    stmt = insert(_a)
    changed = {c: stmt.excluded[c] for c in ("value", "skipped", "answered_by", "answered_at")}
    return stmt.on_conflict_do_update(index_elements=["inspection_id", "question_key"], set_=changed)


_UPSERT_ANSWER = {"sqlite": _upsert(sqlite_insert), "postgresql": _upsert(pg_insert)}


_TOUCH = (
    update(_i)
    .where(_i.c.id == bindparam("b_id"))
    .values(version=_i.c.version + 1, updated_at=bindparam("b_at"))
)
_TOUCH_IF_SEEN = _TOUCH.where(_i.c.version == bindparam("b_seen"))
_ADD_CHANGE = sa_insert(_h)


async def touch(session: AsyncSession, inspection_id: int, seen: int | None = None) -> bool:
    """Move the inspection to its next version (every change to its answers or status does,
    which is how readers learn it changed); with ``seen``, only if it is still at that
    version: False when someone changed it meanwhile, and nothing is written."""
    params = {"b_id": inspection_id, "b_at": utcnow(), "b_seen": seen}
    stmt = _TOUCH if seen is None else _TOUCH_IF_SEEN
    return bool((await (await writable(session)).execute(stmt, params)).rowcount)


async def write_answer(session: AsyncSession, write: AnswerWrite, seen: int | None = None) -> bool:
    """Write one answer and its history row; with ``seen`` (the inspection's version as the
    caller read it) only if the inspection is still at it (False: nothing written). The
    inspection's row is updated first, so PostgreSQL locks it before the answer's."""
    if not await touch(session, write.inspection_id, seen):
        return False
    conn = await writable(session)
    row = {"inspection_id": write.inspection_id, "question_key": write.key}
    answer = {
        "value": write.value,
        "skipped": write.skipped,
        "answered_by": write.by,
        "answered_at": write.at,
    }
    await conn.execute(_UPSERT_ANSWER[conn.dialect.name], {**row, **answer})
    change = {
        "old_value": write.old,
        "new_value": write.value,
        "changed_by": write.by,
        "changed_at": write.at,
        "source": write.source,
    }
    await conn.execute(_ADD_CHANGE, {**row, **change})
    return True


async def answered_by_message(session: AsyncSession, person_id: int, source: str) -> tuple[int, str] | None:
    """(inspection id, question key) of the answer the person gave by that message, if any."""
    stmt = (
        sa_select(_h.c.inspection_id, _h.c.question_key)
        .where(_h.c.source == source, _h.c.changed_by == person_id)
        .order_by(_h.c.id.desc())
        .limit(1)
    )
    row = (await (await session.connection()).execute(stmt)).first()
    return (row[0], row[1]) if row is not None else None


async def previous_submitted(
    session: AsyncSession, township_id: int, year: int, village_id: int | None = None
) -> int | None:
    """The township's (or the village's) latest submitted inspection before ``year``, if any."""
    stmt = (
        select(Inspection.id)
        .where(
            Inspection.township_id == township_id,
            _of_village(village_id),
            Inspection.year < year,
            Inspection.status == InspectionStatus.submitted,
        )
        .order_by(col(Inspection.year).desc())
        .limit(1)
    )
    return (await session.exec(stmt)).first()


async def previous_answer(session: AsyncSession, inspection_id: int, key: str) -> tuple[int, Any] | None:
    """(year, value) of one answer of an earlier inspection; None if it was not answered."""
    stmt = (
        select(Inspection.year, Answer.value)
        .join(Answer, col(Answer.inspection_id) == col(Inspection.id))
        .where(Inspection.id == inspection_id, Answer.question_key == key, col(Answer.skipped).is_(False))
    )
    row = (await session.exec(stmt)).first()
    return (row[0], row[1]) if row is not None and row[1] is not None else None


async def previous_answers(session: AsyncSession, inspection_id: int) -> tuple[int, dict[str, Any]] | None:
    """(year, {question: value}) of an earlier inspection's answers, skipped ones left out."""
    year = (await session.exec(select(Inspection.year).where(Inspection.id == inspection_id))).first()
    if year is None:
        return None
    stmt = select(Answer.question_key, Answer.value).where(
        Answer.inspection_id == inspection_id, col(Answer.skipped).is_(False)
    )
    return year, {k: v for k, v in (await session.exec(stmt)).all() if v is not None}


async def _set_status(session: AsyncSession, inspection: Inspection, **values: Any) -> bool:
    """Update an inspection's row and the object in hand alike, if it is still at the
    version the caller read (False when someone changed it meanwhile: nothing is written)."""
    values = {**values, "updated_at": utcnow(), "version": inspection.version + 1}
    stmt = (
        update(_i)
        .where(_i.c.id == inspection.id, _i.c.version == inspection.version, _i.c.status == inspection.status)
        .values(**values)
    )
    if not (await (await writable(session)).execute(stmt)).rowcount:
        return False
    for name, value in values.items():
        setattr(inspection, name, value)
    return True


async def _record_status(
    session: AsyncSession, inspection_id: int | None, status: str, by: int | None, comment: str | None = None
) -> None:
    await (await writable(session)).execute(
        sa_insert(table(StatusChange)).values(
            inspection_id=inspection_id, status=status, changed_by=by, changed_at=utcnow(), comment=comment
        )
    )


async def submit(session: AsyncSession, inspection: Inspection, by: int) -> bool:
    """Submit a draft or returned inspection as it was read; False if it changed meanwhile."""
    if inspection.status == InspectionStatus.submitted or not await _set_status(
        session, inspection, status=InspectionStatus.submitted, submitted_at=utcnow(), submitted_by=by
    ):
        return False
    await _record_status(session, inspection.id, InspectionStatus.submitted, by)
    return True


async def reopen(session: AsyncSession, inspection: Inspection, by: int | None = None) -> bool:
    """Reopen a submitted inspection for edits; False if it changed meanwhile."""
    if inspection.status != InspectionStatus.submitted or not await _set_status(
        session, inspection, status=InspectionStatus.draft
    ):
        return False
    await _record_status(session, inspection.id, InspectionStatus.draft, by)
    return True


async def return_inspection(
    session: AsyncSession, inspection: Inspection, by: int, comment: str, questions: list[str]
) -> bool:
    """Send a submitted inspection back to its inspector; False if it changed meanwhile
    (someone reopened or returned it)."""
    if inspection.status != InspectionStatus.submitted or not await _set_status(
        session,
        inspection,
        status=InspectionStatus.returned,
        returned_at=utcnow(),
        returned_by=by,
        return_comment=comment,
        return_questions=questions or None,
    ):
        return False
    await _record_status(session, inspection.id, InspectionStatus.returned, by, comment)
    return True
