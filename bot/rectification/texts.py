"""An item as one line of text, the same in the chat, the reminders and the lists."""

from __future__ import annotations

from bot.engine import Checklist
from bot.i18n import t
from bot.rectification import findings as rf
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
