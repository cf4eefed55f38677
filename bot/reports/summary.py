"""Where the townships stand in a year: the figures the summary, the report, the chart,
the export and the reminders all use, computed in one place so they always agree.

A township is in a group once its inspection of the year is **submitted** and the group's
condition (declared in the checklist, see ``bot.reports.facts``) holds for its answers;
drafts and returned inspections are counted by status only. Every figure knows of whom it
speaks: the townships in scope (the registry), those with a submitted inspection, and —
per group — those whose answers can tell (``checked``). Rates against the targets are over
the registry: a township not inspected counts with the registry's villages, none of them
established, and has not completed the task.
"""

from __future__ import annotations

import gc
import json
import math
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.engine import Checklist, builtin_checklist, effective_answers, parse_checklist
from bot.i18n import DEFAULT_LOCALE, normalise_locale, t
from bot.reports.facts import Facts, compute_many, row, rules_digest, rules_for
from storage.models import InspectionStatus, InspectionTeam, RectificationItem, YearTarget
from storage.queries.checklists import get_checklist_version
from storage.queries.rectification import year_items
from storage.queries.summary import (
    Scope,
    Team,
    TownshipRow,
    answers_of_inspections,
    area_tree,
    scope_root_name,
    team_of_year,
    updated_at,
    village_inspections,
    year_rows,
)
from storage.queries.targets import inspection_team, year_target
from storage.types import utcnow

NOT_INSPECTED = "not_inspected"
SUBMITTED = InspectionStatus.submitted.value
STATUSES = (InspectionStatus.submitted, InspectionStatus.draft, InspectionStatus.returned, NOT_INSPECTED)

Checklists = Callable[[AsyncSession, int], Awaitable[Checklist]]
# Writes facts computed while reading (``InspectionFact`` rows) in a transaction of its own.
Keep = Callable[[list[dict[str, Any]]], Awaitable[None]]


class InspectionFacts(NamedTuple):
    """A township's inspection of the year as the summary sees it (the facts only when it
    is submitted)."""

    id: int
    status: str
    checklist_version_id: int
    # The groups it is in and those its answers cannot tell, as the JSON lists they are kept
    # as: a key (``^[a-z][a-z0-9_]*$``) is in one exactly when its quoted form occurs in the
    # text. Kept as text, tens of thousands of them cost neither parsing nor the collector.
    groups: str = "[]"
    unknown: str = "[]"
    numbers: Mapping[str, int | float] = {}
    score: int | None = None

    def has(self, key: str) -> bool:
        return f'"{key}"' in self.groups

    def cannot_tell(self, key: str) -> bool:
        return f'"{key}"' in self.unknown


class TownshipYear(NamedTuple):
    """A township and its inspection of the year, if any."""

    township: TownshipRow
    inspection: InspectionFacts | None

    @property
    def name(self) -> str:
        return self.township.name

    @property
    def status(self) -> str:
        return self.inspection.status if self.inspection else NOT_INSPECTED

    @property
    def counted(self) -> bool:
        return self.inspection is not None and self.inspection.status == InspectionStatus.submitted

    def in_group(self, key: str) -> bool:
        return self.counted and self.inspection is not None and self.inspection.has(key)

    def number(self, key: str | None) -> int | float | None:
        if key is None or not self.counted or self.inspection is None:
            return None
        return self.inspection.numbers.get(key)


class ChecklistCache:
    """Checklists by stored version id (for callers without a Dialog, such as the CLI)."""

    def __init__(self) -> None:
        self._cache: dict[int, Checklist] = {}

    async def __call__(self, session: AsyncSession, version_id: int) -> Checklist:
        if version_id not in self._cache:
            stored = await get_checklist_version(session, version_id)
            if stored is None:
                raise LookupError(f"checklist version {version_id} is missing")
            self._cache[version_id] = parse_checklist(
                stored.content, source=f"{stored.name} v{stored.version}"
            )
        return self._cache[version_id]


@dataclass(frozen=True)
class Coverage:
    """What can be said of a group: its townships, how many townships' answers can tell
    (``checked``), how many were inspected (``submitted``) and how many are in scope."""

    members: list[TownshipYear]
    checked: int
    submitted: int
    total: int

    @property
    def form(self) -> str:
        """``silent`` (no answer tells), ``none`` (of those checked), ``all`` (every township
        in scope was inspected and is in it) or ``some`` (named)."""
        if not self.checked:
            return "silent"
        if not self.members:
            return "none"
        return "all" if len(self.members) == self.checked == self.total else "some"

    @property
    def everywhere(self) -> bool:
        """Every township in scope was inspected, and its answers tell."""
        return self.checked == self.total


@dataclass(frozen=True)
class Villages:
    """The village figures over the registry: villages with archives among those the
    submitted inspections report, over those plus the registry's count for every other
    township."""

    part: int
    total: int
    reported: int  # villages the submitted inspections report
    townships_reported: int
    townships_registry: int  # townships counted with the registry's villages
    townships_villages: int = 0  # townships counted from their villages' own inspections

    @property
    def rate(self) -> float | None:
        return self.part / self.total if self.total else None


@dataclass(frozen=True)
class VillageCount:
    """A township's villages as their own inspections of the year tell (the village
    checklist): the villages with archives established, without, and those whose answer does
    not say."""

    established: list[str] = field(default_factory=list)
    not_established: list[str] = field(default_factory=list)
    untold: list[str] = field(default_factory=list)

    @property
    def inspected(self) -> int:
        return len(self.established) + len(self.not_established) + len(self.untold)

    def total(self, registry: int) -> int:
        """The township's villages: the registry's count (never fewer than were inspected)."""
        return max(registry, self.inspected)


@dataclass
class Summary:
    year: int
    today: date
    target: YearTarget
    townships: list[TownshipYear]
    rules: Checklist | None = None
    region: str | None = None
    team: InspectionTeam | None = None
    period: Team = field(default_factory=Team)
    areas: dict[int, tuple[str, int | None]] = field(default_factory=dict)  # id → (name, parent)
    # Townships (by id) whose villages were inspected this year: their village rate comes from
    # these, not from the township checklist's answer.
    by_villages: dict[int, VillageCount] = field(default_factory=dict)
    # The rectification items the year's inspections raised in the townships in scope.
    items: list[RectificationItem] = field(default_factory=list)
    # The same scope a year earlier, where asked for (the comparison with the previous year).
    previous: Summary | None = None
    _groups: dict[str, list[TownshipYear]] = field(default_factory=dict, repr=False)

    # Who is where ----------------------------------------------------------------------

    @property
    def total(self) -> int:
        return len(self.townships)

    @cached_property
    def _tally(self) -> _Tally:
        return _tally(self.townships, self.village_keys, self.by_villages)

    @property
    def by_status(self) -> dict[str, list[TownshipYear]]:
        return self._tally.by_status

    @property
    def counted(self) -> list[TownshipYear]:
        return self.by_status[InspectionStatus.submitted]

    @property
    def deadline(self) -> date:
        return self.target.deadline

    @property
    def days_left(self) -> int:
        """Days from today to the deadline (0 on the day, negative once past)."""
        return (self.deadline - self.today).days

    # Groups ----------------------------------------------------------------------------

    @property
    def group_keys(self) -> list[str]:
        return [g.key for g in self.rules.groups()] if self.rules else []

    def group(self, key: str) -> list[TownshipYear]:
        """The townships in a group (submitted inspections only), in registry order."""
        if key not in self._groups:
            needle = f'"{key}"'
            self._groups[key] = [
                ty for ty in self.counted if ty.inspection and needle in ty.inspection.groups
            ]
        return self._groups[key]

    def coverage(self, key: str) -> Coverage:
        submitted = len(self.counted)
        if key not in self.group_keys:
            return Coverage([], 0, submitted, self.total)
        needle = f'"{key}"'
        unknown = sum(1 for ty in self.counted if ty.inspection and needle in ty.inspection.unknown)
        return Coverage(self.group(key), submitted - unknown, submitted, self.total)

    def label(self, key: str, locale: str) -> str:
        return self.rules.group(key).text(locale) if self.rules else key

    # Against the targets ---------------------------------------------------------------

    @property
    def target_group(self) -> str | None:
        report = self.rules.report if self.rules else None
        return report.targets.township if report and report.targets else None

    @property
    def completed(self) -> list[TownshipYear]:
        return self.group(self.target_group) if self.target_group else []

    @property
    def completion(self) -> float:
        return len(self.completed) / self.total if self.total else 0.0

    @property
    def completion_needed(self) -> int:
        """How many townships must still complete the task to meet the target."""
        wanted = math.ceil(round(self.target.township_target * self.total, 9))
        return max(0, wanted - len(self.completed))

    @property
    def completion_met(self) -> bool:
        return self.total > 0 and self.completion_needed == 0

    @property
    def village_keys(self) -> tuple[str, str] | None:
        spec = self.rules.facts.village_rate if self.rules else None
        return (spec.part, spec.total) if spec else None

    @property
    def villages(self) -> Villages:
        return self._tally.villages

    @property
    def village_rate(self) -> float | None:
        return self.villages.rate

    @property
    def village_met(self) -> bool:
        rate = self.village_rate
        return rate is not None and rate >= self.target.village_target - 1e-9

    def village_rate_of(self, ty: TownshipYear) -> float | None:
        counted = self.by_villages.get(ty.township.id)
        if counted is not None:
            villages = counted.total(ty.township.villages)
            return len(counted.established) / villages if villages else None
        keys = self.village_keys
        if keys is None:
            return None
        done, of = ty.number(keys[0]), ty.number(keys[1])
        if done is None or not of:
            return None
        return min(1.0, max(0.0, done / of))

    @cached_property
    def villages_slow(self) -> list[TownshipYear]:
        """Inspected townships whose own village establishment rate is below the target."""
        target = self.target.village_target - 1e-9
        judged = [ty for ty in self.townships if ty.counted or ty.township.id in self.by_villages]
        return [ty for ty in judged if (r := self.village_rate_of(ty)) is not None and r < target]

    @property
    def from_villages(self) -> list[tuple[TownshipYear, VillageCount]]:
        """The townships whose village rate comes from their villages' inspections."""
        return [
            (ty, self.by_villages[ty.township.id])
            for ty in self.townships
            if ty.township.id in self.by_villages
        ]

    # Numbers of a group ----------------------------------------------------------------

    @staticmethod
    def total_of(key: str, members: Sequence[TownshipYear]) -> float:
        return sum(ty.number(key) or 0 for ty in members)

    @staticmethod
    def by_answer(key: str, members: Sequence[TownshipYear]) -> list[tuple[int | float, list[TownshipYear]]]:
        """The members listed by their answer to ``key``, smallest first."""
        out: dict[int | float, list[TownshipYear]] = {}
        for ty in members:
            value = ty.number(key)
            if value is not None:
                out.setdefault(value, []).append(ty)
        return sorted(out.items())

    def period_dates(self, tz: ZoneInfo) -> tuple[date, date] | None:
        """The first and last day of inspection work (local dates)."""
        if self.period.first is None or self.period.last is None:
            return None
        return self.period.first.astimezone(tz).date(), self.period.last.astimezone(tz).date()


@dataclass
class _Tally:
    by_status: dict[str, list[TownshipYear]]
    villages: Villages


def _tally(
    townships: Sequence[TownshipYear],
    village_keys: tuple[str, str] | None,
    by_villages: Mapping[int, VillageCount] | None = None,
) -> _Tally:
    """Who is where and the villages, in one pass over the townships (tens of thousands:
    each further pass costs as much again). A township whose villages were inspected counts
    their answers: the established ones among the registry's villages."""
    by_status: dict[str, list[TownshipYear]] = {s: [] for s in STATUSES}
    part_key, total_key = village_keys or ("", "")
    part = total = reported = from_answers = from_villages = 0
    by_villages = by_villages or {}
    for ty in townships:
        ins = ty.inspection
        counted = by_villages.get(ty.township.id) if by_villages else None
        if counted is not None:
            by_status.setdefault(ins.status if ins is not None else NOT_INSPECTED, []).append(ty)
            total += counted.total(ty.township.villages)
            part += len(counted.established)
            from_villages += 1
            continue
        if ins is None:
            by_status[NOT_INSPECTED].append(ty)
            total += ty.township.villages
            continue
        by_status.setdefault(ins.status, []).append(ty)
        of = ins.numbers.get(total_key) if ins.status == SUBMITTED else None
        if ins.status != SUBMITTED:
            total += ty.township.villages
            continue
        if of is not None and of > 0:
            total += int(of)
            reported += int(of)
            part += min(int(of), int(ins.numbers.get(part_key) or 0))
            from_answers += 1
        else:
            total += ty.township.villages
    registry = len(townships) - from_answers - from_villages
    villages = Villages(part, total, reported, from_answers, registry, from_villages)
    return _Tally(by_status, villages)


def local_today(tz: ZoneInfo, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(tz).date()


async def build_summary(
    session: AsyncSession,
    scope: Scope,
    year: int,
    *,
    tz: ZoneInfo,
    checklists: Checklists | None = None,
    today: date | None = None,
    with_team: bool = False,
    with_areas: bool = False,
    keep: Keep | None = None,
    with_previous: bool = False,
) -> Summary:
    """Where the townships in scope stand in ``year``: one read of the townships with their
    inspections and kept facts. Facts missing or out of date are computed from the
    answers (and handed to ``keep``, if given, to be stored for the next reader).
    ``with_team`` also reads who inspected and when (the report's opening), ``with_areas``
    the tree of areas (the chart names its bars after the areas above the townships)."""
    checklists = checklists or ChecklistCache()
    rows: Sequence[Any] = await year_rows(session, scope, year)  # YearRows, read by position: fast
    submitted = [r for r in rows if r[6] == SUBMITTED]
    digests: dict[int, str] = {}
    rules_by_version: dict[int, Checklist] = {}
    for version in sorted({r[7] for r in submitted}):
        answered_with = await checklists(session, version)
        rules_by_version[version] = rules_for(answered_with)
        digests[version] = rules_digest(answered_with, rules_by_version[version])
    stale = [(r[5], r[7], year) for r in submitted if not r[8] or r[9] != digests[r[7]]]
    computed: dict[int, Facts] = {}
    if stale:
        computed, _ = await compute_many(session, stale, checklists)
        if keep is not None:
            stamps = await updated_at(session, [i for i, _, _ in stale])
            await keep([row(i, stamps[i], digests[v], computed[i]) for i, v, _ in stale])
    with _collector_paused():  # no await inside: nothing else runs meanwhile
        townships = _townships(rows, submitted, computed)
    return Summary(
        year=year,
        today=today or local_today(tz),
        target=await year_target(session, year),
        townships=townships,
        rules=_rules(rules_by_version),
        region=await scope_root_name(session, scope),
        team=await inspection_team(session, year) if with_team else None,
        period=await team_of_year(session, scope, year) if with_team else Team(),
        areas=await area_tree(session) if with_areas else {},
        by_villages=await _village_counts(session, scope, year, checklists),
        items=await _items(session, townships, year),
        previous=await build_summary(session, scope, year - 1, tz=tz, checklists=checklists, today=today)
        if with_previous
        else None,
    )


async def _items(session: AsyncSession, townships: list[TownshipYear], year: int) -> list[RectificationItem]:
    """The year's items of the townships in scope (read by year: a scope may hold thousands)."""
    ids = {ty.township.id for ty in townships}
    return [i for i in await year_items(session, year) if i.township_id in ids]


async def _village_counts(
    session: AsyncSession, scope: Scope, year: int, checklists: Checklists
) -> dict[int, VillageCount]:
    """Per township, its villages' submitted inspections of the year, each read by its own
    checklist version (the question its ``facts.established`` names)."""
    rows = await village_inspections(session, scope, year)
    if not rows:
        return {}
    answers = await answers_of_inspections(session, [r.inspection_id for r in rows])
    out: dict[int, VillageCount] = {}
    for r in rows:
        checklist = await checklists(session, r.checklist_version_id)
        spec = checklist.facts.established
        value = (
            effective_answers(checklist, answers.get(r.inspection_id, {}), year).get(spec.q) if spec else None
        )
        counted = out.setdefault(r.township_id, VillageCount())
        if value is True:
            counted.established.append(r.village)
        elif value is False:
            counted.not_established.append(r.village)
        else:
            counted.untold.append(r.village)
    return out


def _townships(
    rows: Sequence[Any], submitted: Sequence[Any], computed: Mapping[int, Facts]
) -> list[TownshipYear]:
    """The townships with their inspections and facts, from the rows read (each row stands
    for its township: it has TownshipRow's fields first)."""
    # The kept facts' JSON, parsed in one go (one call for all rows costs a tenth of one a row).
    kept = [r for r in submitted if r[5] not in computed]
    numbers = json.loads("[" + ",".join(r[12] or "null" for r in kept) + "]")
    facts: dict[int, tuple[Any, ...]] = {
        r[5]: (r[10] or "[]", r[11] or "[]", n or {}, r[13]) for r, n in zip(kept, numbers, strict=True)
    }
    for inspection_id, f in computed.items():
        facts[inspection_id] = (
            json.dumps(sorted(f.groups)),
            json.dumps(sorted(f.unknown)),
            f.numbers,
            f.score,
        )
    townships = []
    for r in rows:
        inspection_id, status, version = r[5], r[6], r[7]
        if inspection_id is None:
            townships.append(TownshipYear(r, None))
        elif status == SUBMITTED:
            townships.append(
                TownshipYear(r, InspectionFacts(inspection_id, status, version, *facts[inspection_id]))
            )
        else:
            townships.append(TownshipYear(r, InspectionFacts(inspection_id, status, version)))
    return townships


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Tens of thousands of small containers are built in one go, all alive until the
    summary is answered: the cyclic collector would walk them (and everything else alive)
    several times over for nothing — measured at half of a national /summary. Only ever
    around synchronous code."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _rules(by_version: dict[int, Checklist]) -> Checklist | None:
    """The groups the summary speaks in: those of the newest checklist version inspected
    with, else the shipped checklist's."""
    if by_version:
        return by_version[max(by_version)]
    shipped = rules_for(builtin_checklist())
    return shipped if shipped.report is not None else None


# Wording shared by the chat, the report and the reminders --------------------------------------


def join_names(names: Sequence[str], locale: str, limit: int | None = None) -> str:
    """``太平乡、城关镇`` — and beyond ``limit``, ``太平乡、城关镇等12个乡镇``."""
    sep = t("summary.sep", locale)
    if limit is not None and len(names) > limit:  # (only the first ``limit`` are joined)
        return t("summary.names_more", locale, names=sep.join(names[:limit]), n=len(names))
    return sep.join(names)


def percent(value: float | None) -> str:
    if value is None:
        return "—"
    text = f"{value * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def number(value: float) -> str:
    """A number as 公文 writes it: no thousands separator, no needless decimals."""
    if value == int(value):
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def money(amount: float, locale: str) -> str:
    """``8000元``, ``5.8万元`` (ten thousand and more, when it reads exactly), ``12345元``."""
    wan = normalise_locale(locale) == DEFAULT_LOCALE  # 万 is how Chinese counts
    if wan and amount >= 10_000 and amount == int(amount) and int(amount) % 100 == 0:
        return t("summary.money_wan", locale, n=number(amount / 10_000))
    return t("summary.money", locale, n=number(amount))
