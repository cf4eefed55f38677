"""Each year's deadline and targets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import writable
from storage.models import YearTarget
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
