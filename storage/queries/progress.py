"""Where each township stands in a year: the facts reminders are made of."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Answer, Inspection, Township, table

PROGRESS_KEYS = ("annual_task_done", "villages_total", "villages_established")


@dataclass(frozen=True)
class TownshipState:
    township_id: int
    name: str
    area_id: int
    villages: int  # from the registry
    status: str | None  # the year's inspection: draft, submitted, returned; None if not started
    answered: int
    facts: dict[str, Any]  # the answers to PROGRESS_KEYS

    @property
    def submitted(self) -> bool:
        return self.status == "submitted"

    @property
    def task_done(self) -> bool:
        """Completed the year's filing task: submitted, and the inspection says so."""
        return self.submitted and self.facts.get("annual_task_done") is True


async def township_states(
    session: AsyncSession, year: int, township_ids: Collection[int] | None = None
) -> list[TownshipState]:
    t, i, a = table(Township), table(Inspection), table(Answer)
    conn = await session.connection()
    stmt = (
        select(t.c.id, t.c.name, t.c.area_id, t.c.villages, i.c.id.label("inspection_id"), i.c.status)
        .select_from(t.outerjoin(i, and_(i.c.township_id == t.c.id, i.c.year == year)))
        .order_by(t.c.name)
    )
    if township_ids is not None:
        stmt = stmt.where(t.c.id.in_(list(township_ids)))
    rows = (await conn.execute(stmt)).all()
    inspection_ids = [r.inspection_id for r in rows if r.inspection_id is not None]
    counts: dict[int, int] = {}
    facts: dict[int, dict[str, Any]] = {}
    if inspection_ids:
        counted = select(a.c.inspection_id, func.count()).where(a.c.inspection_id.in_(inspection_ids))
        counts = dict((await conn.execute(counted.group_by(a.c.inspection_id))).tuples().all())
        wanted = select(a.c.inspection_id, a.c.question_key, a.c.value).where(
            a.c.inspection_id.in_(inspection_ids), a.c.question_key.in_(PROGRESS_KEYS), a.c.skipped.is_(False)
        )
        for inspection_id, key, value in (await conn.execute(wanted)).all():
            facts.setdefault(inspection_id, {})[key] = value
    return [
        TownshipState(
            r.id,
            r.name,
            r.area_id,
            r.villages,
            r.status,
            counts.get(r.inspection_id, 0),
            facts.get(r.inspection_id, {}),
        )
        for r in rows
    ]
