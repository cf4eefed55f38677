"""The audit trail of an inspection: every answer change and every status change, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col
from sqlmodel import select as sm_select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AnswerChange, Inspection, StatusChange, table


@dataclass(frozen=True)
class Entry:
    at: datetime
    by: int | None
    key: str | None = None  # an answer change: the question
    old: Any = None
    new: Any = None
    status: str | None = None  # a status change: the new status
    comment: str | None = None
    order: int = 0  # the row id, to keep entries of one instant in their order


async def history(
    session: AsyncSession, inspection_id: int, *, offset: int = 0, limit: int = 15
) -> tuple[list[Entry], int]:
    """One page of the inspection's history (newest first) and the number of entries in all."""
    a, s = table(AnswerChange), table(StatusChange)
    conn = await session.connection()
    total = 0
    for t in (a, s):
        count = select(func.count()).select_from(t).where(t.c.inspection_id == inspection_id)
        total += int((await conn.execute(count)).scalar_one())
    upto = offset + limit
    answers = (
        select(a.c.id, a.c.changed_at, a.c.changed_by, a.c.question_key, a.c.old_value, a.c.new_value)
        .where(a.c.inspection_id == inspection_id)
        .order_by(a.c.changed_at.desc(), a.c.id.desc())
        .limit(upto)
    )
    statuses = (
        select(s.c.id, s.c.changed_at, s.c.changed_by, s.c.status, s.c.comment)
        .where(s.c.inspection_id == inspection_id)
        .order_by(s.c.changed_at.desc(), s.c.id.desc())
        .limit(upto)
    )
    entries = [
        Entry(at, by, key=key, old=old, new=new, order=rid)
        for rid, at, by, key, old, new in (await conn.execute(answers)).all()
    ]
    entries += [
        Entry(at, by, status=status, comment=comment, order=rid)
        for rid, at, by, status, comment in (await conn.execute(statuses)).all()
    ]
    # A status change is logged after the answers of the same instant.
    entries.sort(key=lambda e: (e.at, e.status is not None, e.order), reverse=True)
    return entries[offset:upto], total


async def inspections_of(session: AsyncSession, township_id: int) -> list[Inspection]:
    """The township's inspections, latest year first."""
    stmt = sm_select(Inspection).where(
        Inspection.township_id == township_id,
        col(Inspection.village_id).is_(None),  # the township's own, not its villages'
    )
    return list((await session.exec(stmt.order_by(col(Inspection.year).desc()))).all())
