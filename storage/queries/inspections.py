"""Inspections, their answers and the history of every change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert as sa_insert
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.executors import SqlAlchemy
from storage.models import (
    Answer,
    Inspection,
    InspectionStatus,
    StatusChange,
    table,
)
from storage.queries.turns import AnswerWrite, write_answer_checked, write_answers
from storage.types import utcnow


async def find_inspection(session: AsyncSession, township_id: int, year: int) -> Inspection | None:
    stmt = select(Inspection).where(Inspection.township_id == township_id, Inspection.year == year)
    return (await session.exec(stmt)).first()


async def start_inspection(
    session: AsyncSession, township_id: int, year: int, checklist_version_id: int, inspector_id: int
) -> Inspection:
    inspection = Inspection(
        township_id=township_id,
        year=year,
        checklist_version_id=checklist_version_id,
        inspector_id=inspector_id,
    )
    session.add(inspection)
    return inspection


@dataclass(frozen=True)
class Stored:
    """An answer as stored: its value, or skipped."""

    value: Any
    skipped: bool = False


async def answers_of(session: AsyncSession, inspection_id: int) -> dict[str, Stored]:
    stmt = select(Answer.question_key, Answer.value, Answer.skipped).where(
        Answer.inspection_id == inspection_id
    )
    return {key: Stored(value, skipped) for key, value, skipped in (await session.exec(stmt)).all()}


def answered_values(answers: dict[str, Stored]) -> dict[str, Any]:
    """Question key → value, without skipped questions."""
    return {k: a.value for k, a in answers.items() if not a.skipped}


async def set_answer(
    session: AsyncSession,
    inspection_id: int,
    key: str,
    value: Any,
    by: int | None,
    *,
    skipped: bool = False,
    current: Stored | None,
) -> Stored:
    """Store an answer with its history row, unless it is unchanged; ``current`` is what is
    stored now."""
    write = answer_write(inspection_id, key, value, by, skipped=skipped, current=current)
    if write is None:
        assert current is not None  # None only when it equals what is stored
        return current
    await write_answer(session, write)
    return stored(write)


def answer_write(
    inspection_id: int, key: str, value: Any, by: int | None, *, skipped: bool, current: Stored | None
) -> AnswerWrite | None:
    """What storing an answer writes; None when it is what is stored already."""
    new = Stored(None if skipped else value, skipped)
    if current == new:
        return None
    old = None if current is None or current.skipped else current.value
    return AnswerWrite(inspection_id, key, new.value, skipped, old, by, utcnow())


def stored(write: AnswerWrite) -> Stored:
    return Stored(write.value, write.skipped)


async def write_answer(session: AsyncSession, write: AnswerWrite, seen: datetime | None = None) -> bool:
    """Write one answer now, in the session's transaction; with ``seen`` (the inspection's
    ``updated_at`` as the caller read it), False when the inspection changed meanwhile."""
    conn = await session.connection()
    if seen is None:
        await conn.run_sync(lambda sync: write_answers(SqlAlchemy(sync), [write]))
        return True
    return await conn.run_sync(lambda sync: write_answer_checked(SqlAlchemy(sync), write, seen))


async def previous_answers(
    session: AsyncSession, township_id: int, year: int
) -> tuple[int, dict[str, Any]] | None:
    """The latest submitted inspection of the township before ``year``: its year and answers."""
    latest = (
        select(Inspection.id)
        .where(
            Inspection.township_id == township_id,
            Inspection.year < year,
            Inspection.status == InspectionStatus.submitted,
        )
        .order_by(col(Inspection.year).desc())
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        select(Inspection.year, Answer.question_key, Answer.value, Answer.skipped)
        .join(Answer, col(Answer.inspection_id) == col(Inspection.id))
        .where(Inspection.id == latest)
    )
    rows = (await session.exec(stmt)).all()
    if not rows:
        return None
    return rows[0][0], {key: value for _, key, value, skipped in rows if not skipped}


async def _set_status(session: AsyncSession, inspection: Inspection, expected: str, **values: Any) -> bool:
    """Update an inspection's row and the object in hand alike, if its status is still the
    one the caller saw (False when someone changed it meanwhile: nothing is written)."""
    i = table(Inspection)
    values["updated_at"] = utcnow()
    stmt = update(i).where(i.c.id == inspection.id, i.c.status == expected).values(**values)
    if not (await (await session.connection()).execute(stmt)).rowcount:
        return False
    for name, value in values.items():
        setattr(inspection, name, value)
    return True


async def _record_status(
    session: AsyncSession, inspection_id: int | None, status: str, by: int | None, comment: str | None = None
) -> None:
    await (await session.connection()).execute(
        sa_insert(table(StatusChange)).values(
            inspection_id=inspection_id, status=status, changed_by=by, changed_at=utcnow(), comment=comment
        )
    )


async def submit(session: AsyncSession, inspection: Inspection, by: int) -> bool:
    """Submit a draft or returned inspection as it was read; False if its status changed meanwhile."""
    if inspection.status == InspectionStatus.submitted or not await _set_status(
        session,
        inspection,
        inspection.status,
        status=InspectionStatus.submitted,
        submitted_at=utcnow(),
        submitted_by=by,
    ):
        return False
    await _record_status(session, inspection.id, InspectionStatus.submitted, by)
    return True


async def reopen(session: AsyncSession, inspection: Inspection, by: int | None = None) -> bool:
    """Reopen a submitted inspection for edits; False if it is no longer submitted."""
    if not await _set_status(session, inspection, InspectionStatus.submitted, status=InspectionStatus.draft):
        return False
    await _record_status(session, inspection.id, InspectionStatus.draft, by)
    return True


async def return_inspection(
    session: AsyncSession, inspection: Inspection, by: int, comment: str, questions: list[str]
) -> bool:
    """Send a submitted inspection back to its inspector; False if it is no longer submitted
    (someone reopened or returned it meanwhile)."""
    i = table(Inspection)
    now = utcnow()
    values = {
        "status": InspectionStatus.returned,
        "returned_at": now,
        "returned_by": by,
        "return_comment": comment,
        "return_questions": questions or None,
        "updated_at": now,
    }
    result = await (await session.connection()).execute(
        update(i).where(i.c.id == inspection.id, i.c.status == InspectionStatus.submitted).values(**values)
    )
    if not result.rowcount:
        return False
    for name, value in values.items():
        setattr(inspection, name, value)
    await _record_status(session, inspection.id, InspectionStatus.returned, by, comment)
    return True
