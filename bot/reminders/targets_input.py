"""A year's deadline and targets as people write them, for the chat's /deadline and the
command line's ``deadline set`` alike: ``2026-12-31``, ``2026/12/31``, ``2026年12月31日``;
``80``, ``80%``, ``0.8``."""

from __future__ import annotations

import re
from datetime import date

_DATE = re.compile(r"\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*")
_SHARE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(%|％)?\s*")


class BadTarget(ValueError):
    """``args[0]`` is a catalogue key (``deadlines.bad_date`` …), ``args[1]`` what was given."""


def parse_deadline(text: str, year: int) -> date:
    """The deadline of ``year``: a date within that year."""
    m = _DATE.fullmatch(text)
    if m is None:
        raise BadTarget("deadlines.bad_date", text)
    try:
        day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise BadTarget("deadlines.bad_date", text) from None
    if day.year != year:
        raise BadTarget("deadlines.other_year", text)
    return day


def parse_share(text: str | None) -> float | None:
    """A target as a share 0–1: ``80``, ``80%`` and ``0.8`` are all 80 %."""
    if text is None or not text.strip():
        return None
    m = _SHARE.fullmatch(text)
    if m is None:
        raise BadTarget("deadlines.bad_share", text)
    value = float(m.group(1))
    share = value / 100 if m.group(2) or value > 1 else value
    if not 0 <= share <= 1:
        raise BadTarget("deadlines.bad_share", text)
    return share
