"""The Chinese working calendar: statutory holidays and adjusted working days (调休) from the
maintained ``chinese_calendar`` package; beyond the years it covers, Monday to Friday."""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta
from functools import cache

import chinese_calendar

log = logging.getLogger(__name__)


@cache
def _warn_once(year: int) -> None:
    log.warning("no official holiday calendar for %d yet: treating Monday-Friday as working days", year)


def is_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # the package covers the years the State Council has announced
        _warn_once(day.year)
        return day.weekday() < 5


def last_workday_until(day: date, since: date | None = None) -> date | None:
    """The last working day on or before ``day`` (and on or after ``since``, if given)."""
    for offset in range(60):
        candidate = day - timedelta(days=offset)
        if since is not None and candidate < since:
            return None
        if is_workday(candidate):
            return candidate
    return None


def holiday_name(day: date) -> str | None:
    """The statutory holiday ``day`` falls in, as a catalogue key (``holidays.spring_festival``),
    if any."""
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:  # a year the package does not cover: no holiday is known
        return None
    if not on_holiday or name is None:
        return None
    return "holidays." + re.sub(r"[^a-z]+", "_", str(name).lower().replace("'s", "")).strip("_")
