"""Each year's deadline and targets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import writable
from storage.models import InspectionTeam, YearTarget
from storage.types import utcnow

DEFAULT_TOWNSHIP_TARGET = 0.8
DEFAULT_VILLAGE_TARGET = 0.8


def default_target(year: int) -> YearTarget:
    """A year nobody configured: deadline at the year end, the usual targets."""
    return YearTarget(
        year=year,
        deadline=date(year, 12, 31),
        township_target=DEFAULT_TOWNSHIP_TARGET,
        village_target=DEFAULT_VILLAGE_TARGET,
    )


async def year_target(session: AsyncSession, year: int) -> YearTarget:
    return await session.get(YearTarget, year) or default_target(year)


async def set_year_target(
    session: AsyncSession,
    year: int,
    deadline: date,
    township_target: float | None,
    village_target: float | None,
) -> YearTarget:
    await writable(session)
    row = await session.get(YearTarget, year) or default_target(year)
    row.deadline = deadline
    if township_target is not None:
        row.township_target = township_target
    if village_target is not None:
        row.village_target = village_target
    row.updated_at = utcnow()
    session.add(row)
    return row


async def year_targets(session: AsyncSession) -> Sequence[YearTarget]:
    return (await session.exec(select(YearTarget).order_by(col(YearTarget.year).desc()))).all()


async def inspection_team(session: AsyncSession, year: int) -> InspectionTeam | None:
    """The year's inspection team as an administrator set it (None if nobody did)."""
    return await session.get(InspectionTeam, year)


async def set_inspection_team(
    session: AsyncSession,
    year: int,
    *,
    leader: str | None = None,
    leader_title: str | None = None,
    members: list[dict[str, Any]] | None = None,
    asks: str | None = None,
) -> InspectionTeam:
    """Set what is given of the year's team (the rest stays); ``asks=""`` clears the asks."""
    row = await session.get(InspectionTeam, year) or InspectionTeam(year=year, leader="")
    if leader is not None:
        row.leader = leader
        row.leader_title = leader_title
    if members is not None:
        row.members = members
    if asks is not None:
        row.asks = asks or None
    row.updated_at = utcnow()
    session.add(row)
    return row
