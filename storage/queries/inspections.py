"""Inspections, their answers and the history of every change."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Answer, AnswerChange, Inspection, InspectionStatus, Township
from storage.types import utcnow


async def find_inspection(session: AsyncSession, township_id: int, year: int) -> Inspection | None:
    stmt = select(Inspection).where(Inspection.township_id == township_id, Inspection.year == year)
    return (await session.exec(stmt)).first()


async def get_inspection(session: AsyncSession, inspection_id: int) -> Inspection | None:
    return await session.get(Inspection, inspection_id)


async def get_township(session: AsyncSession, township_id: int) -> Township | None:
    return await session.get(Township, township_id)


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
    await session.flush()
    return inspection


async def answers_of(session: AsyncSession, inspection_id: int) -> dict[str, Answer]:
    rows = (await session.exec(select(Answer).where(Answer.inspection_id == inspection_id))).all()
    return {a.question_key: a for a in rows}


def answered_values(answers: dict[str, Answer]) -> dict[str, Any]:
    """Question key → value, without skipped questions."""
    return {k: a.value for k, a in answers.items() if not a.skipped}


async def set_answer(
    session: AsyncSession,
    inspection: Inspection,
    key: str,
    value: Any,
    by: int | None,
    *,
    skipped: bool = False,
    current: Answer | None = None,
) -> bool:
    """Store an answer and its history row; False when nothing changed."""
    if current is None:
        current = (
            await session.exec(
                select(Answer).where(Answer.inspection_id == inspection.id, Answer.question_key == key)
            )
        ).first()
    now = utcnow()
    old = None if current is None or current.skipped else current.value
    new = None if skipped else value
    if current is not None and current.skipped == skipped and old == new:
        return False
    if current is None:
        assert inspection.id is not None
        current = Answer(inspection_id=inspection.id, question_key=key)
    current.value, current.skipped, current.answered_by, current.answered_at = new, skipped, by, now
    session.add(current)
    assert inspection.id is not None
    session.add(
        AnswerChange(
            inspection_id=inspection.id,
            question_key=key,
            old_value=old,
            new_value=new,
            changed_by=by,
            changed_at=now,
        )
    )
    inspection.updated_at = now
    session.add(inspection)
    return True


async def previous_answers(
    session: AsyncSession, township_id: int, year: int
) -> tuple[int, dict[str, Any]] | None:
    """The latest submitted inspection of the township before ``year``: its year and answers."""
    stmt = (
        select(Inspection)
        .where(
            Inspection.township_id == township_id,
            Inspection.year < year,
            Inspection.status == InspectionStatus.submitted,
        )
        .order_by(col(Inspection.year).desc())
        .limit(1)
    )
    earlier = (await session.exec(stmt)).first()
    if earlier is None or earlier.id is None:
        return None
    return earlier.year, answered_values(await answers_of(session, earlier.id))


def submit(inspection: Inspection, by: int) -> None:
    now = utcnow()
    inspection.status = InspectionStatus.submitted
    inspection.submitted_at, inspection.submitted_by, inspection.updated_at = now, by, now


def reopen(inspection: Inspection) -> None:
    inspection.status = InspectionStatus.draft
    inspection.updated_at = utcnow()
