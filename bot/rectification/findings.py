"""Which of an inspection's findings the township must rectify, and the answers behind each:
read from the checklist (flags marked ``rectify: true``), never named in Python."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.engine import Checklist, ChecklistError, builtin_checklist, effective_answers, format_value, holds
from bot.engine.schema import FlagDef, pick


def rectify_flags(checklist: Checklist) -> list[FlagDef]:
    """The flags that open items: the checklist's own marks, or — for a version from before
    the marks — those of the shipped checklist of the same name that this version also has."""
    marked = [f for f in checklist.flags if f.rectify]
    if marked:
        return marked
    try:
        shipped = builtin_checklist(checklist.name)
    except ChecklistError:
        return []
    wanted = {f.key for f in shipped.flags if f.rectify}
    return [f for f in checklist.flags if f.key in wanted]


def findings(checklist: Checklist, answers: Mapping[str, Any], year: int) -> dict[str, dict[str, Any]]:
    """Flag key → {question key: answer} for every rectify flag the answers raise."""
    eff = effective_answers(checklist, dict(answers), year)
    found: dict[str, dict[str, Any]] = {}
    for flag in rectify_flags(checklist):
        if holds(flag.when, eff, year):
            found[flag.key] = {k: eff[k] for k in flag.when.refs() if k in eff}
    return found


def label(checklist: Checklist, finding: str, locale: str) -> str:
    """The finding as the checklist names it (its key if this checklist has no such flag)."""
    try:
        return pick(checklist.flag(finding).label, locale)
    except KeyError:
        return finding


def evidence(checklist: Checklist, answers: Mapping[str, Any], locale: str) -> list[tuple[str, str]]:
    """The answers behind a finding as (question's short name, answer as shown)."""
    return [
        (checklist.question(k).short_text(locale), format_value(checklist.question(k), v, locale))
        for k, v in answers.items()
        if checklist.has_question(k)
    ]
