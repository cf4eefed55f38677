"""Where each township stands in a year: who still owes an inspection (the reminders)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Answer, Inspection, Township, table


@dataclass(frozen=True)
class TownshipState:
    township_id: int
    name: str
    area_id: int
    villages: int  # from the registry
    status: str | None  # the year's inspection: draft, submitted, returned; None if not started
    answered: int

    @property
    def submitted(self) -> bool:
        return self.status == "submitted"


async def township_states(
    session: AsyncSession, year: int, township_ids: Collection[int] | None = None
) -> list[TownshipState]:
    t, i, a = table(Township), table(Inspection), table(Answer)
    conn = await session.connection()
    stmt = (
        select(t.c.id, t.c.name, t.c.area_id, t.c.villages, i.c.id.label("inspection_id"), i.c.status)
        .select_from(
            t.outerjoin(i, and_(i.c.township_id == t.c.id, i.c.year == year, i.c.village_id.is_(None)))
        )
        .order_by(t.c.area_id, t.c.id)
    )
    if township_ids is not None:
        stmt = stmt.where(t.c.id.in_(list(township_ids)))
    rows = (await conn.execute(stmt)).all()
    inspection_ids = [r.inspection_id for r in rows if r.inspection_id is not None]
    counts: dict[int, int] = {}
    if inspection_ids:
        counted = select(a.c.inspection_id, func.count()).where(a.c.inspection_id.in_(inspection_ids))
        counts = dict((await conn.execute(counted.group_by(a.c.inspection_id))).tuples().all())
    return [
        TownshipState(r.id, r.name, r.area_id, r.villages, r.status, counts.get(r.inspection_id, 0))
        for r in rows
    ]
