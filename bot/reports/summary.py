"""Where the townships stand in a year: the numbers the summary, the report, the chart
and the reminders all use, computed in one place so they always agree.

A township counts in the groups once its inspection of the year is **submitted**; drafts
and returned inspections are counted by status only. Completion against the target is
over all townships in scope (the target is "X % of the townships complete the year's
filing task"); the village establishment rate is over the villages the submitted
inspections report.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from sqlalchemy.sql.elements import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.engine import Checklist, Cond, effective_answers, holds, parse_checklist
from bot.i18n import t
from bot.reports.sqlcond import SqlConditions, needed_keys
from storage.models import InspectionStatus, YearTarget
from storage.queries.checklists import get_checklist_version
from storage.queries.summary import (
    KEPT_FACTS,
    InspectionHead,
    Scope,
    Team,
    TownshipRow,
    area_tree,
    inspection_facts,
    inspection_heads,
    keep_facts,
    many_objects,
    new_tuple,
    scope_root_name,
    team_of_year,
    townships_and_heads,
)
from storage.queries.targets import year_target
from storage.types import utcnow

NOT_INSPECTED = "not_inspected"
STATUSES = (InspectionStatus.submitted, InspectionStatus.draft, InspectionStatus.returned, NOT_INSPECTED)
FAST_PROGRESS = 60  # percent of the archive work done that counts as "progressing fast"
LAGGING_FROM = 3  # filed up to this many years back (or more) and not done: named as lagging

# The answers read as facts (where the question applies), besides the groups: whole
# numbers, numbers and choice keys; anything of another kind reads as not answered.
INT_FACTS = ("filed_up_to", "villages_total", "villages_established")
REAL_FACTS = ("filing_progress", "funding_amount")
TEXT_FACTS = ("work_state",)
VILLAGE_KINDS = ("tax_reform", "land_contract", "other")


@dataclass(frozen=True)
class GroupDef:
    """A group of townships: those whose inspection raised a checklist flag, or those
    whose answers meet a condition in the checklist's condition language."""

    key: str
    good: bool
    flag: str | None = None
    when: dict[str, Any] | None = None

    def cond(self, checklist: Checklist) -> Cond | None:
        """The condition under this checklist version; None if the version cannot tell."""
        if self.flag is not None:
            return next((f.when for f in checklist.flags if f.key == self.flag), None)
        return Cond.model_validate(self.when)


def group_defs(year: int) -> list[GroupDef]:
    """The groups of the report, good ones first, each in the order the report names them."""
    return [
        GroupDef(
            "room_standard",
            True,
            when={
                "all": [
                    {"q": "has_room", "eq": True},
                    {"q": "room_standard", "eq": True},
                    {"q": "room_mixed", "eq": False},
                ]
            },
        ),
        GroupDef("filing_done", True, flag="filing_done"),
        GroupDef(
            "progressing_fast",
            True,
            when={
                "all": [
                    {"q": "work_state", "eq": "in_progress"},
                    {
                        "any": [
                            {"q": "filing_progress", "ge": FAST_PROGRESS},
                            {"q": "filed_up_to", "ge": year - 1},
                        ]
                    },
                ]
            },
        ),
        GroupDef("certificate_received", True, flag="certificate_received"),
        GroupDef("equipment_good", True, when={"q": "equipment_state", "eq": "good"}),
        GroupDef(
            "leadership",
            True,
            when={"all": [{"q": "leader_named", "eq": True}, {"q": "target_management", "eq": True}]},
        ),
        GroupDef(
            "archivist_stable",
            True,
            when={"all": [{"q": "archivist", "ne": "none"}, {"q": "archivist_changes", "le": 1}]},
        ),
        GroupDef("funded", True, when={"q": "has_funding", "eq": True}),
        GroupDef("filing_not_started", False, flag="filing_not_started"),
        GroupDef("documents_scattered", False, flag="documents_scattered"),
        GroupDef("no_leader", False, when={"q": "leader_named", "eq": False}),
        GroupDef("no_archive_room", False, flag="no_archive_room"),
        GroupDef("room_mixed", False, flag="room_mixed"),
        GroupDef("no_equipment", False, flag="no_equipment"),
        GroupDef("equipment_worn", False, when={"q": "equipment_state", "eq": "worn"}),
        GroupDef("equipment_rotten", False, flag="equipment_rotten"),
        GroupDef("missing_protections", False, flag="missing_protections"),
        GroupDef("no_archivist", False, flag="no_archivist"),
        GroupDef("frequent_changes", False, flag="frequent_changes"),
        GroupDef("no_certificate", False, flag="no_certificate"),
        GroupDef("no_funding", False, flag="no_funding"),
        *(
            GroupDef(f"kinds_{kind}", True, when={"q": "village_kinds", "has_any": [kind]})
            for kind in VILLAGE_KINDS
        ),
    ]


# Each group is one bit of an inspection's ``mask`` (computed in SQL: one integer a row).
GROUP_KEYS = tuple(d.key for d in group_defs(2000))
BIT = {key: 1 << n for n, key in enumerate(GROUP_KEYS)}
# Groups made of others or of the facts, besides the one-bit groups.
DERIVED_GROUPS = ("no_archivist_or_changes", "villages_slow", "filing_lagging")


# The groups /summary lists (the report's problem groups, and what the targets are about).
SUMMARY_GROUPS = (
    "filing_done",
    "filing_not_started",
    "no_archive_room",
    "room_mixed",
    "no_equipment",
    "equipment_rotten",
    "no_archivist_or_changes",
    "no_funding",
    "villages_slow",
)


# One inspection ------------------------------------------------------------------------------


class InspectionFacts(NamedTuple):
    """One inspection as the summary sees it: its groups and the facts it reports. (A
    tuple of plain values: the garbage collector stops looking at it, which matters with
    tens of thousands kept.)"""

    id: int
    township_id: int
    year: int
    status: str
    mask: int  # the groups it is in, one bit each (see BIT)
    filed_up_to: int | None = None
    villages_total: int | None = None
    villages_established: int | None = None
    progress: float | None = None
    funding: float | None = None
    work_state: str | None = None

    def has(self, key: str) -> bool:
        return bool(self.mask & BIT[key])

    @property
    def groups(self) -> frozenset[str]:
        return frozenset(key for key, bit in BIT.items() if self.mask & bit)

    @property
    def lag(self) -> int | None:
        return None if self.filed_up_to is None else self.year - self.filed_up_to

    @property
    def village_rate(self) -> float | None:
        total, part = self.villages_total, self.villages_established
        if not total or part is None:
            return None
        return min(1.0, max(0.0, part / total))


# An InspectionFact row keeps these, in this order (as InspectionHead carries them).
assert KEPT_FACTS == InspectionFacts._fields[4:], KEPT_FACTS


def _typed(key: str, value: Any) -> Any:
    """A fact's value as the summary reads it (the SQL reads it the same way)."""
    if isinstance(value, bool):
        return None
    if key in INT_FACTS:
        return value if isinstance(value, int) else None
    if key in REAL_FACTS:
        return float(value) if isinstance(value, int | float) else None
    return value if isinstance(value, str) else None


FACT_FIELDS = {
    "filed_up_to": "filed_up_to",
    "villages_total": "villages_total",
    "villages_established": "villages_established",
    "filing_progress": "progress",
    "funding_amount": "funding",
    "work_state": "work_state",
}


def python_facts(
    checklist: Checklist, answers: Mapping[str, Any], year: int, defs: Iterable[GroupDef]
) -> tuple[frozenset[str], dict[str, Any]]:
    """The groups and facts of one inspection, computed in Python with the engine: what
    the SQL computes for many at once (the tests hold the two to the same results)."""
    eff = effective_answers(checklist, dict(answers), year)
    groups = frozenset(d.key for d in defs if (c := d.cond(checklist)) is not None and holds(c, eff, year))
    facts = {FACT_FIELDS[k]: _typed(k, eff.get(k)) for k in FACT_FIELDS}
    return groups, facts


Checklists = Callable[[AsyncSession, int], Awaitable[Checklist]]
# Called before facts computed by a summary are written back: acquires the right to write.
BeforeWrite = Callable[[], Awaitable[None]]

# Bump when the SQL translation of the conditions or the facts changes meaning: every kept
# fact is then computed again (changes to the groups' definitions are seen on their own).
FACTS_FORMAT = 1


def rules_digest() -> str:
    """What the kept facts were computed under: the groups' definitions, the facts read
    and ``FACTS_FORMAT``. (The year a definition mentions is the inspection's own, which
    never changes, so the digest uses a fixed one.)"""
    defs = [(d.key, d.good, d.flag, d.when) for d in group_defs(2000)]
    text = repr((FACTS_FORMAT, defs, sorted(FACT_FIELDS.items()), INT_FACTS, REAL_FACTS, TEXT_FACTS))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


RULES = rules_digest()


class ChecklistCache:
    """Checklists by stored version id (for callers without a Dialog, such as the CLI)."""

    def __init__(self) -> None:
        self._cache: dict[int, Checklist] = {}

    async def __call__(self, session: AsyncSession, version_id: int) -> Checklist:
        if version_id not in self._cache:
            row = await get_checklist_version(session, version_id)
            if row is None:
                raise LookupError(f"checklist version {version_id} is missing")
            self._cache[version_id] = parse_checklist(row.content, source=f"{row.name} v{row.version}")
        return self._cache[version_id]


class FactsCache:
    """Facts already computed, by inspection id, with the ``updated_at`` they were computed
    at. Every change to an inspection's answers or status moves its ``updated_at`` (see
    ``storage.queries.inspections``), so a fact whose stamp still matches is current; the
    rest are computed again. One per engine and process; entries for other years or
    scopes are kept (about 200 bytes an inspection). Facts kept in the database
    (``InspectionFact``) come first; this holds those computed but not written back."""

    def __init__(self) -> None:
        # id → (stamp as the heads read it, facts, updated_at as read with the answers)
        self.rows: dict[int, tuple[Any, InspectionFacts, datetime]] = {}


_caches: WeakKeyDictionary[Any, FactsCache] = WeakKeyDictionary()
RECOMPUTE_ALL = 0.5  # share of stale inspections from which the whole year is read again


def facts_cache(session: AsyncSession) -> FactsCache:
    return _caches.setdefault(session.bind, FactsCache())


async def year_facts(
    session: AsyncSession,
    scope: Scope,
    year: int,
    checklists: Checklists,
    *,
    cached: bool = True,
    heads: list[InspectionHead] | None = None,
    before_write: BeforeWrite | None = None,
) -> list[InspectionFacts]:
    """Every inspection of the year in scope, with its groups and facts (in the order of
    ``heads``).

    Facts are kept in the database per inspection (``InspectionFact``) and read with the
    heads (``heads`` must then have been read with ``rules=RULES``); those missing or out
    of date are computed in SQL, one statement per checklist version in use (one short row
    an inspection), and kept in the process; with ``before_write`` (which must acquire the
    right to write in the session's transaction) they are also written back. ``cached=False``
    computes every one again and keeps nothing."""
    cache = facts_cache(session) if cached else FactsCache()
    if heads is None:
        heads = await inspection_heads(session, scope, year, RULES if cached else None)
    rows = cache.rows
    stale: dict[int, list[int]] = {}
    unkept: list[int] = []  # known in the process, not (validly) in the database
    for h in heads:
        if h.mask is not None and cached:
            continue
        hit = rows.get(h.id)
        if hit is None or hit[0] != h.stamp:
            stale.setdefault(h.checklist_version_id, []).append(h.id)
        else:
            unkept.append(h.id)
    stamps = {h.id: h.stamp for h in heads} if stale else {}
    wanted = {n for ids in stale.values() for n in ids}  # (all the year's may be computed)
    n_stale = len(wanted)
    for version_id, ids in stale.items():
        every = n_stale > RECOMPUTE_ALL * len(heads)
        chunks = [None] if every else [ids[n : n + 2000] for n in range(0, len(ids), 2000)]
        for chunk in chunks:
            for facts, updated_at in await _compute(session, scope, year, version_id, checklists, chunk):
                if facts.id in stamps:
                    cache.rows[facts.id] = (stamps[facts.id], facts, updated_at)
                    if facts.id in wanted:
                        unkept.append(facts.id)
    if unkept and before_write is not None and cached:
        await before_write()
        await keep_facts(
            session,
            [
                {
                    "inspection_id": facts.id,
                    "stamp": updated_at,
                    "rules": RULES,
                    **{name: getattr(facts, name) for name in KEPT_FACTS},
                }
                for _, facts, updated_at in (rows[n] for n in unkept)
            ],
        )
    out = []
    with many_objects():
        for h in heads:
            if h.mask is not None and cached:
                # id, township_id, year, status, then the kept facts in the same order.
                out.append(new_tuple(InspectionFacts, (h[0], h[1], year, h[2], *h[5:])))
                continue
            facts = rows[h.id][1]
            out.append(facts if facts.status == h.status else facts._replace(status=h.status))
    return out


async def _compute(
    session: AsyncSession,
    scope: Scope,
    year: int,
    version_id: int,
    checklists: Checklists,
    ids: list[int] | None,
) -> list[tuple[InspectionFacts, datetime]]:
    """The facts of the inspections (all of the year's with the version when ``ids`` is
    None), each with the ``updated_at`` read with its answers."""
    dialect = session.bind.dialect.name
    checklist = await checklists(session, version_id)
    conds = {d.key: c for d in group_defs(year) if (c := d.cond(checklist)) is not None}
    keys = needed_keys(checklist, conds.values(), FACT_FIELDS)

    def effective(raw: Mapping[str, ColumnElement[Any]], year_col: ColumnElement[int]) -> dict[str, Any]:
        sql = SqlConditions(checklist, dict(raw), year_col, dialect)
        return {key: sql.value(key) for key in keys}

    def columns(values: Mapping[str, ColumnElement[Any]], year_col: ColumnElement[int]) -> dict[str, Any]:
        sql = SqlConditions(checklist, dict(values), year_col, dialect, effective=True)
        cols = {"mask": sql.mask([(BIT[k], c) for k, c in conds.items()])}
        for key, name in FACT_FIELDS.items():
            kind = "int" if key in INT_FACTS else "real" if key in REAL_FACTS else "text"
            cols[name] = sql.fact(key, kind)
        return cols

    rows = await inspection_facts(session, scope, year, version_id, keys, columns, ids, effective)
    with many_objects():
        return [
            (
                InspectionFacts(
                    r.id,
                    r.township_id,
                    year,
                    r.status,
                    r.mask,
                    r.filed_up_to,
                    r.villages_total,
                    r.villages_established,
                    r.progress,
                    r.funding,
                    r.work_state,
                ),
                r.updated_at,
            )
            for r in rows
        ]


# The year ------------------------------------------------------------------------------------


class TownshipYear(NamedTuple):
    """A township and its inspection of the year, if any (a tuple: there are tens of
    thousands)."""

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


@dataclass
class Summary:
    year: int
    today: date
    target: YearTarget
    townships: list[TownshipYear]
    region: str | None = None
    team: Team = field(default_factory=Team)
    areas: dict[int, tuple[str, int | None]] = field(default_factory=dict)  # id → (name, parent)
    _groups: dict[str, list[TownshipYear]] = field(default_factory=dict, repr=False)

    # Deadline and targets -------------------------------------------------------------

    @property
    def deadline(self) -> date:
        return self.target.deadline

    @property
    def days_left(self) -> int:
        """Days from today to the deadline (0 on the day, negative once past)."""
        return (self.deadline - self.today).days

    @property
    def total(self) -> int:
        return len(self.townships)

    @cached_property
    def by_status(self) -> dict[str, list[TownshipYear]]:
        out: dict[str, list[TownshipYear]] = {s: [] for s in STATUSES}
        for ty in self.townships:
            out.setdefault(ty.status, []).append(ty)
        return out

    @property
    def counted(self) -> list[TownshipYear]:
        return self.by_status[InspectionStatus.submitted]

    @cached_property
    def _masks(self) -> list[int]:
        return [ty.inspection.mask if ty.inspection is not None else 0 for ty in self.counted]

    def group(self, key: str) -> list[TownshipYear]:
        """The townships in a group (submitted inspections only), by name; computed when
        first asked for."""
        if key not in self._groups:
            self._groups[key] = self._group(key)
        return self._groups[key]

    @property
    def groups(self) -> dict[str, list[TownshipYear]]:
        """Every group key → its townships."""
        return {key: self.group(key) for key in (*GROUP_KEYS, *DERIVED_GROUPS)}

    def _group(self, key: str) -> list[TownshipYear]:
        counted = self.counted
        if key in BIT or key == "no_archivist_or_changes":
            bit = BIT[key] if key in BIT else BIT["no_archivist"] | BIT["frequent_changes"]
            return [ty for ty, mask in zip(counted, self._masks, strict=True) if mask & bit]
        if key == "villages_slow":
            target = self.target.village_target
            slow = []
            for ty in counted:
                ins = ty.inspection
                assert ins is not None
                total, part = ins.villages_total, ins.villages_established
                if total and part is not None and min(1.0, max(0.0, part / total)) < target:
                    slow.append(ty)
            return slow
        if key == "filing_lagging":
            return [ty for _, group in self.lagging for ty in group]
        return []

    # Completion ------------------------------------------------------------------------

    @property
    def completed(self) -> list[TownshipYear]:
        return self.group("filing_done")

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

    @cached_property
    def villages(self) -> tuple[int, int]:
        """(villages with archives, villages) over the submitted inspections that report both."""
        part = total = 0
        for ty in self.counted:
            assert ty.inspection is not None
            if ty.inspection.village_rate is not None:
                total += ty.inspection.villages_total or 0
                part += ty.inspection.villages_established or 0
        return part, total

    @property
    def village_rate(self) -> float | None:
        part, total = self.villages
        return part / total if total else None

    @property
    def village_met(self) -> bool:
        rate = self.village_rate
        return rate is not None and rate >= self.target.village_target - 1e-9

    # Facts for the report --------------------------------------------------------------

    @cached_property
    def lagging(self) -> list[tuple[int, list[TownshipYear]]]:
        """Townships filed up to an old year (and not done), by that year, oldest first."""
        by_year: dict[int, list[TownshipYear]] = {}
        for ty in self.counted:
            ins = ty.inspection
            assert ins is not None
            if ins.lag is not None and ins.lag >= LAGGING_FROM and ins.filed_up_to is not None:
                if not ins.has("filing_done"):
                    by_year.setdefault(ins.filed_up_to, []).append(ty)
        return sorted(by_year.items())

    def kinds(self, kind: str) -> list[TownshipYear]:
        """Submitted townships whose villages organised records of ``kind``."""
        return self.group(f"kinds_{kind}")

    @property
    def funding_total(self) -> float:
        return sum(ty.inspection.funding or 0 for ty in self.counted if ty.inspection is not None)

    @property
    def inspectors(self) -> list[str]:
        """The inspectors of the year's inspections, by name."""
        return self.team.inspectors

    def period(self, tz: ZoneInfo) -> tuple[date, date] | None:
        """The first and last day of inspection work (local dates)."""
        if self.team.first is None or self.team.last is None:
            return None
        return self.team.first.astimezone(tz).date(), self.team.last.astimezone(tz).date()


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
    cached: bool = True,
    before_write: BeforeWrite | None = None,
) -> Summary:
    """Where the townships in scope stand in ``year``; ``with_team`` also reads who
    inspected and when (the report's opening), ``with_areas`` the tree of areas (the chart
    names its bars after the areas above the townships' own when there are many;
    ``before_write``: see ``year_facts``)."""
    pairs = await townships_and_heads(session, scope, year, RULES if cached else None)
    heads = [h for _, h in pairs if h is not None]
    found = await year_facts(
        session,
        scope,
        year,
        checklists or ChecklistCache(),
        cached=cached,
        heads=heads,
        before_write=before_write,
    )
    facts = iter(found)  # in the order of the heads
    with many_objects():
        townships = [TownshipYear(tw, next(facts) if h is not None else None) for tw, h in pairs]
    return Summary(
        year=year,
        today=today or local_today(tz),
        target=await year_target(session, year),
        townships=townships,
        region=await scope_root_name(session, scope),
        team=await team_of_year(session, scope, year) if with_team else Team(),
        areas=await area_tree(session) if with_areas else {},
    )


# Wording shared by the chat, the report and the reminders --------------------------------------


def join_names(names: list[str], locale: str, limit: int | None = None) -> str:
    """``太平乡、城关镇`` — and with a limit, ``太平乡、城关镇等 12 个乡镇``."""
    sep = t("summary.sep", locale)
    if limit is not None and len(names) > limit:
        return t("summary.names_more", locale, names=sep.join(names[:limit]), n=len(names))
    return sep.join(names)


def percent(value: float | None) -> str:
    if value is None:
        return "—"
    text = f"{value * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"
