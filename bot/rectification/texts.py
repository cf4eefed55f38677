"""An item as one line of text, the same in the chat, the reminders and the lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from bot.engine import Checklist
from bot.i18n import t
from bot.rectification import findings as rf
from bot.rectification.progress import Counts, by_key, tally
from storage.models import RectificationItem


def item_line(checklist: Checklist, item: RectificationItem, loc: str, n: int | None = None) -> str:
    """``1. 没有档案装具（档案装具：否）· 待整改 · 限 2026-12-31 前``"""
    pairs = rf.evidence(checklist, item.evidence, loc)
    why = t("people.list_separator", loc).join(
        t("rectification.pair", loc, name=a, value=b) for a, b in pairs
    )
    return t(
        "rectification.line",
        loc,
        n=n if n is not None else item.id,
        finding=rf.label(checklist, item.finding, loc),
        why=t("rectification.why", loc, answers=why) if why else "",
        status=t(f"rectification.status.{item.status}", loc),
        due=item.due.isoformat(),
    )


def counts_text(counts: Counts, loc: str) -> str:
    """``待整改 2 项（逾期 1 项）、待审核 1 项、已整改 3 项``"""
    overdue = t("rectification.counts.overdue", loc, n=counts.overdue) if counts.overdue else ""
    return t(
        "rectification.counts.line",
        loc,
        open=counts.open,
        reported=counts.reported,
        closed=counts.closed,
        overdue=overdue,
    )


def summary_lines(
    items: Sequence[RectificationItem], area_of: Mapping[int, str], today: date, loc: str
) -> list[str]:
    """/summary's lines: the year's items in all, then by county."""
    total = tally(items, today)
    lines = [t("rectification.summary.total", loc, n=total.raised, counts=counts_text(total, loc))]
    per_area = by_key(items, area_of, today)
    if len(per_area) > 1:
        lines += [
            t("rectification.summary.area", loc, area=a, counts=counts_text(c, loc))
            for a, c in per_area.items()
        ]
    return lines
