"""The numbers of rectification items, one way everywhere: /status, /summary, the report, the
Excel export and the reminders count open, reported, closed and overdue items alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from storage.models import ItemStatus, RectificationItem


@dataclass
class Counts:
    open: int = 0  # to be rectified (including sent back)
    reported: int = 0  # reported done, awaiting review
    closed: int = 0
    overdue: int = 0  # not closed, past the due date (some of open + reported)
    accepted: int = 0  # closed by a review (the others by an inspection's answers)

    @property
    def raised(self) -> int:
        return self.open + self.reported + self.closed

    @property
    def outstanding(self) -> int:
        return self.open + self.reported

    def add(self, item: RectificationItem, today: date) -> None:
        if item.status == ItemStatus.closed:
            self.closed += 1
            self.accepted += item.closed_how == "accepted"
            return
        if item.status == ItemStatus.reported:
            self.reported += 1
        else:
            self.open += 1
        self.overdue += item.due < today


def tally(items: Iterable[RectificationItem], today: date) -> Counts:
    counts = Counts()
    for item in items:
        counts.add(item, today)
    return counts


def by_key(items: Iterable[RectificationItem], key_of: Mapping[int, str], today: date) -> dict[str, Counts]:
    """Counts by the township's key (its county's name, or its own name), in first-seen order."""
    out: dict[str, Counts] = {}
    for item in items:
        key = key_of.get(item.township_id)
        if key is not None:
            out.setdefault(key, Counts()).add(item, today)
    return out
