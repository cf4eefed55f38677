"""Facts derived from one township's answers: filing lag, village establishment rate,
flags with a severity, and the 0–100 township score.

Everything that decides a flag or a score — conditions, severities, labels, weights — is
in the checklist YAML, so the report and the summary (both call :func:`derive`) rank and
group townships the same way, and an inspection answered under an older checklist
version is judged by that version's rules when that version is passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .conditions import effective_answers, holds
from .schema import Checklist, ScoreItem, pick

SEVERITIES = ("high", "medium", "low", "good")


@dataclass(frozen=True)
class Flag:
    key: str
    severity: str  # "high" | "medium" | "low" | "good"
    label: dict[str, str]

    def text(self, locale: str | None = None) -> str:
        return pick(self.label, locale)


@dataclass(frozen=True)
class Derived:
    filing_lag: int | None
    village_rate: float | None  # 0..1
    flags: list[Flag] = field(default_factory=list)
    score: int = 0  # 0..100

    def flag_keys(self) -> list[str]:
        return [f.key for f in self.flags]

    def has(self, key: str) -> bool:
        return any(f.key == key for f in self.flags)

    def problems(self) -> list[Flag]:
        """Flags other than the 'good' ones, most severe first."""
        order = {s: i for i, s in enumerate(SEVERITIES)}
        return sorted((f for f in self.flags if f.severity != "good"), key=lambda f: order.get(f.severity, 9))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def filing_lag(checklist: Checklist, answers: dict[str, Any], inspection_year: int) -> int | None:
    """Inspection year minus the filed-up-to year (None if not answered)."""
    spec = checklist.facts.filing_lag
    if spec is None:
        return None
    year = _int(answers.get(spec.year))
    return None if year is None else inspection_year - year


def village_rate(checklist: Checklist, answers: dict[str, Any]) -> float | None:
    """Villages with archives / all villages, 0..1 (None if unknown or no villages)."""
    spec = checklist.facts.village_rate
    if spec is None:
        return None
    part = _int(answers.get(spec.part))
    total = _int(answers.get(spec.total))
    if part is None or total is None or total <= 0:
        return None
    return min(1.0, max(0.0, part / total))


def _fraction(
    item: ScoreItem,
    checklist: Checklist,
    answers: dict[str, Any],
    inspection_year: int,
    lag: int | None,
    rate: float | None,
) -> float:
    if item.when is not None:
        return 1.0 if holds(item.when, answers, inspection_year) else 0.0
    if item.map is not None:
        value = answers.get(item.map.q)
        return float(item.map.values.get(value, 0.0)) if isinstance(value, str) else 0.0
    if item.share is not None:
        value = answers.get(item.share)
        if not isinstance(value, list) or not checklist.has_question(item.share):
            return 0.0
        keys = checklist.question(item.share).choice_keys()
        return len(set(keys) & {v for v in value if isinstance(v, str)}) / len(keys) if keys else 0.0
    if item.fact == "village_rate":
        return rate or 0.0
    if item.fact == "filing_lag":
        if lag is None or item.full_at is None or item.zero_at is None or item.zero_at <= item.full_at:
            return 0.0
        if lag <= item.full_at:
            return 1.0
        if lag >= item.zero_at:
            return 0.0
        return (item.zero_at - lag) / (item.zero_at - item.full_at)
    return 0.0


def score_parts(checklist: Checklist, answers: dict[str, Any], inspection_year: int) -> dict[str, float]:
    """Each score item's fraction 0..1 (before weighting), for explaining a score."""
    eff = effective_answers(checklist, answers, inspection_year)
    lag = filing_lag(checklist, eff, inspection_year)
    rate = village_rate(checklist, eff)
    return {
        item.key: min(1.0, max(0.0, _fraction(item, checklist, eff, inspection_year, lag, rate)))
        for item in checklist.score
    }


def derive(checklist: Checklist, answers: dict[str, Any], inspection_year: int) -> Derived:
    """Derived facts, flags (in YAML order) and score for one township's answers.

    Only answers to applicable questions count (see ``effective_answers``); unanswered
    questions raise no flag and score nothing.
    """
    eff = effective_answers(checklist, answers, inspection_year)
    lag = filing_lag(checklist, eff, inspection_year)
    rate = village_rate(checklist, eff)
    flags = [
        Flag(key=f.key, severity=f.severity, label=dict(f.label))
        for f in checklist.flags
        if holds(f.when, eff, inspection_year)
    ]
    total = sum(item.weight for item in checklist.score)
    if total > 0:
        parts = score_parts(checklist, answers, inspection_year)
        earned = sum(item.weight * parts[item.key] for item in checklist.score)
        score = math.floor(100 * earned / total + 0.5)
    else:
        score = 0
    return Derived(filing_lag=lag, village_rate=rate, flags=flags, score=max(0, min(100, score)))
