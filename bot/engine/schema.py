"""Pydantic models of a checklist YAML file (``bot/checklists/*.yaml``).

The models describe the *shape* of the file (field names and value types, unknown keys
refused). Everything that needs the whole checklist to decide — duplicate keys, a ``when``
that refers to a later question, a condition comparing a yes/no answer with a word — is
checked by :mod:`bot.engine.loader`, which turns both kinds of fault into one localized
message naming the file, the question and the fault.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from bot.i18n import DEFAULT_LOCALE, normalise_locale

INSPECTION_YEAR = "inspection_year"
"""The operand/bound that stands for the year being inspected."""

KEY_PATTERN = r"^[a-z][a-z0-9_]*$"

Text = dict[str, str]
"""A text in several locales: locale → text. zh-CN is required by the loader."""


def pick(text: Text | None, locale: str | None) -> str:
    """``text`` in ``locale``, falling back to zh-CN, then to any locale, then to ''."""
    if not text:
        return ""
    loc = normalise_locale(locale)
    return text.get(loc) or text.get(DEFAULT_LOCALE) or next(iter(text.values()), "")


class QType(StrEnum):
    yesno = "yesno"
    single = "single"
    multi = "multi"
    integer = "integer"
    amount = "amount"
    year = "year"
    percent = "percent"
    text = "text"
    photo = "photo"


NUMERIC_TYPES = frozenset({QType.integer, QType.amount, QType.year, QType.percent})
CHOICE_TYPES = frozenset({QType.single, QType.multi})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


Scalar = StrictBool | StrictInt | StrictFloat | StrictStr
Bound = StrictInt | StrictFloat | Literal["inspection_year"]


class Ref(_Model):
    """An operand that is the answer to another question: ``{q: villages_total}``."""

    q: StrictStr


class YearOffset(_Model):
    """An operand: the inspection year plus an offset, ``{inspection_year: -1}`` (last year)."""

    inspection_year: StrictInt


class Known(_Model):
    """An operand known about the township before anyone answers: ``{registry: villages}``,
    the registry's count of its villages (see ``REGISTRY_FACTS``)."""

    registry: StrictStr


# What the registry knows of a township, by the name a checklist uses for it.
REGISTRY_FACTS = ("villages",)

Operand = StrictInt | StrictFloat | Literal["inspection_year"] | Ref | YearOffset | Known


class Cond(_Model):
    """A condition: the language shared by ``when``, flags, checks and score items.

    Either a compound — ``{all: [...]}``, ``{any: [...]}``, ``{not: {...}}`` — or a test on
    one question ``{q: KEY, OP: VALUE}`` with exactly one OP among eq, ne, in, lt, le, gt,
    ge, has_any, has_all, missing_any, answered. The loader checks the "exactly one".
    In the report's groups, ``{flag: KEY}`` also stands for a flag's own condition (true,
    false or unknown as that condition is), so a group and a flag share one definition.
    """

    q: StrictStr | None = None
    flag: StrictStr | None = None
    eq: Scalar | None = None
    ne: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    lt: Operand | None = None
    le: Operand | None = None
    gt: Operand | None = None
    ge: Operand | None = None
    has_any: list[StrictStr] | None = None
    has_all: list[StrictStr] | None = None
    missing_any: list[StrictStr] | None = None
    answered: StrictBool | None = None
    all_: list[Cond] | None = Field(default=None, alias="all")
    any_: list[Cond] | None = Field(default=None, alias="any")
    not_: Cond | None = Field(default=None, alias="not")

    def leaf_ops(self) -> list[str]:
        """Names of the question-test operators that are set."""
        return [op for op in LEAF_OPS if getattr(self, op) is not None]

    def compound_ops(self) -> list[str]:
        return [op for op in COMPOUND_OPS if getattr(self, op) is not None]

    def children(self) -> list[Cond]:
        out: list[Cond] = []
        for op in ("all_", "any_"):
            items = getattr(self, op)
            if items:
                out.extend(items)
        if self.not_ is not None:
            out.append(self.not_)
        return out

    def refs(self) -> list[str]:
        """Every question key this condition reads, in order of appearance (a ``flag``
        leaf reads none itself: see ``Checklist.resolve``)."""
        return list(self._refs)

    def flag_refs(self) -> list[str]:
        """The flags this condition names with ``{flag: KEY}``."""
        out = [self.flag] if self.flag is not None else []
        for child in self.children():
            out.extend(child.flag_refs())
        return out

    @cached_property
    def _refs(self) -> tuple[str, ...]:  # conditions are frozen: read once (every turn asks)
        out: list[str] = []
        if self.q is not None:
            out.append(self.q)
        for op in ("lt", "le", "gt", "ge"):
            operand = getattr(self, op)
            if isinstance(operand, Ref):
                out.append(operand.q)
        for child in self.children():
            out.extend(child._refs)
        return tuple(out)


LEAF_OPS = ("eq", "ne", "in_", "lt", "le", "gt", "ge", "has_any", "has_all", "missing_any", "answered")
COMPOUND_OPS = ("all_", "any_", "not_")
OP_NAMES = {"in_": "in", "all_": "all", "any_": "any", "not_": "not"}


class Choice(_Model):
    key: StrictStr = Field(pattern=KEY_PATTERN)
    label: Text
    aliases: list[StrictStr] = Field(default_factory=list)

    def text(self, locale: str | None = None) -> str:
        return pick(self.label, locale)

    @cached_property
    def words(self) -> tuple[str, ...]:
        """Key, labels and aliases as typed answers are matched: NFKC, case-folded, spaces collapsed."""
        out: list[str] = []
        for raw in (self.key, *self.label.values(), *self.aliases):
            word = " ".join(unicodedata.normalize("NFKC", raw).split()).casefold()
            if word and word not in out:
                out.append(word)
        return tuple(out)


class Question(_Model):
    key: StrictStr = Field(pattern=KEY_PATTERN)
    type: QType
    label: Text
    # A few words naming the question where the whole question is too long: the status card,
    # the report's appendix, "the answer that put a township in a group".
    short: Text | None = None
    help: Text | None = None
    choices: list[Choice] = Field(default_factory=list)
    required: StrictBool = True
    unit: Text | None = None
    min: Bound | None = None
    max: Bound | None = None
    max_length: StrictInt | None = None
    when: Cond | None = None
    # Answers that are not a value of the type, for a number or a year: 从未归档 to "filed up to
    # which year?". Stored as the choice's key, offered as buttons, read by conditions with eq.
    other_answers: list[Choice] = Field(default_factory=list)

    def other_answer(self, key: object) -> Choice | None:
        return next((c for c in self.other_answers if c.key == key), None)

    def text(self, locale: str | None = None) -> str:
        """The label in ``locale`` (fallback zh-CN)."""
        return pick(self.label, locale)

    def short_text(self, locale: str | None = None) -> str:
        """The short name (the label when there is none)."""
        return pick(self.short, locale) if self.short else self.text(locale)

    def help_text(self, locale: str | None = None) -> str | None:
        return pick(self.help, locale) or None if self.help else None

    def unit_text(self, locale: str | None = None) -> str:
        """The unit in exactly ``locale`` (zh-CN if that locale has none). '' if no unit."""
        if not self.unit:
            return ""
        loc = normalise_locale(locale)
        if loc in self.unit:
            return self.unit[loc]
        return self.unit.get(DEFAULT_LOCALE, "")

    def choice(self, key: str) -> Choice | None:
        for choice in self.choices:
            if choice.key == key:
                return choice
        return None

    def choice_keys(self) -> list[str]:
        return [c.key for c in self.choices]


class Section(_Model):
    key: StrictStr = Field(pattern=KEY_PATTERN)
    title: Text
    questions: list[Question]

    def text(self, locale: str | None = None) -> str:
        return pick(self.title, locale)


class Check(_Model):
    """A named cross-question check: ``rule`` must hold once its questions are answered."""

    key: StrictStr = Field(pattern=KEY_PATTERN)
    rule: Cond
    message: Text | None = None
    # A check of what is unlikely rather than impossible: it explains and asks, and the
    # inspector may confirm the answer as true. Otherwise the answer must change.
    confirm: StrictBool = False


Severity = Literal["high", "medium", "low", "good"]


class FlagDef(_Model):
    key: StrictStr = Field(pattern=KEY_PATTERN)
    severity: Severity
    label: Text
    when: Cond
    # A problem the township must put right: submitting an inspection that raises it opens a
    # rectification item (整改事项) for the township.
    rectify: StrictBool = False


class MapSource(_Model):
    """Score fraction from a single-choice answer: choice key → fraction 0..1."""

    q: StrictStr
    values: dict[str, StrictInt | StrictFloat]


class ScoreItem(_Model):
    """One weighted part of the township score. Exactly one source gives its fraction 0..1:

    ``when`` (1 if the condition holds), ``map`` (a single choice mapped to a fraction),
    ``share`` (the share of a multi question's choices selected) or ``fact`` (a derived
    fact: ``village_rate``, or ``filing_lag`` scaled between ``full_at`` and ``zero_at``).
    """

    key: StrictStr = Field(pattern=KEY_PATTERN)
    weight: StrictInt | StrictFloat
    when: Cond | None = None
    map: MapSource | None = None
    share: StrictStr | None = None
    fact: Literal["village_rate", "filing_lag"] | None = None
    full_at: StrictInt | StrictFloat | None = None
    zero_at: StrictInt | StrictFloat | None = None

    def sources(self) -> list[str]:
        return [s for s in ("when", "map", "share", "fact") if getattr(self, s) is not None]


class LagDef(_Model):
    year: StrictStr


class RateDef(_Model):
    part: StrictStr
    total: StrictStr


class EstablishedDef(_Model):
    q: StrictStr


class Facts(_Model):
    """Which questions the derived facts read."""

    filing_lag: LagDef | None = None
    village_rate: RateDef | None = None
    # A village's checklist: the yes/no question saying the village's archives are established
    # (the township's village establishment rate is counted from these where they exist).
    established: EstablishedDef | None = None


Part = Literal["found", "practice", "problems", "next"]


class ReportSection(_Model):
    """A place in the supervision report that groups' sentences feed.

    ``found``: the opening paragraph of 一 (what the inspection found done well);
    ``practice``: a heading under 一 (how the good ones did it); ``problems``: a heading
    under 二; ``next``: a heading under 三 where the townships of groups that ``ask`` for
    this section are asked to act. ``show`` puts the year's targets against the actual
    figures here (``township_target``, ``village_target``)."""

    key: StrictStr = Field(pattern=KEY_PATTERN)
    part: Part
    title: Text | None = None
    show: list[Literal["township_target", "village_target"]] = Field(default_factory=list)

    def text(self, locale: str | None = None) -> str:
        return pick(self.title, locale)


class ReportGroup(_Model):
    """A group of townships the report, the summary and the chart name: those whose
    answers meet ``when``. Its sentences are in the message catalogue under
    ``report.group.KEY.none|some|all`` (a generic sentence with ``label`` otherwise)."""

    key: StrictStr = Field(pattern=KEY_PATTERN)
    label: Text
    polarity: Literal["good", "problem"]
    section: StrictStr
    when: Cond
    # A ``next`` section where the group's townships are asked to act.
    ask: StrictStr | None = None
    # A question whose answer the members are listed by ("filed up to 2006: …").
    by: StrictStr | None = None
    # A number question summed over the members ("… 58000元 in all").
    total: StrictStr | None = None
    # The answers shown as what put a township here (default: the questions ``when`` reads).
    evidence: list[StrictStr] = Field(default_factory=list)

    def text(self, locale: str | None = None) -> str:
        return pick(self.label, locale)


class ReportTargets(_Model):
    """What the year's targets are held against: the group whose townships count as having
    done the year's task (the village target uses ``facts.village_rate``)."""

    township: StrictStr


class Report(_Model):
    sections: list[ReportSection] = Field(default_factory=list)
    groups: list[ReportGroup] = Field(default_factory=list)
    # Sets of groups no township may be in two of at once (checked by the loader).
    exclusive: list[list[StrictStr]] = Field(default_factory=list)
    targets: ReportTargets | None = None
    # Groups that colour the chart's bars, the first that holds wins.
    chart: list[StrictStr] = Field(default_factory=list)
    # Groups /summary lists (default: the target's group and every problem group).
    summary: list[StrictStr] = Field(default_factory=list)


class Checklist(_Model):
    name: StrictStr = Field(pattern=KEY_PATTERN)
    version: StrictInt = Field(ge=1)
    title: Text
    sections: list[Section]
    facts: Facts = Field(default_factory=Facts)
    checks: list[Check] = Field(default_factory=list)
    flags: list[FlagDef] = Field(default_factory=list)
    score: list[ScoreItem] = Field(default_factory=list)
    report: Report | None = None

    @cached_property
    def _flat(self) -> tuple[Question, ...]:
        return tuple(q for s in self.sections for q in s.questions)

    @cached_property
    def _positions(self) -> dict[str, int]:
        positions: dict[str, int] = {}
        for i, q in enumerate(self._flat):
            positions.setdefault(q.key, i)
        return positions

    @cached_property
    def _sections_by_key(self) -> dict[str, Section]:
        out: dict[str, Section] = {}
        for s in self.sections:
            for q in s.questions:
                out.setdefault(q.key, s)
        return out

    def text(self, locale: str | None = None) -> str:
        return pick(self.title, locale)

    def questions(self) -> list[Question]:
        """All questions, flat, in order."""
        return list(self._flat)

    def has_question(self, key: str) -> bool:
        return key in self._positions

    def question(self, key: str) -> Question:
        """The question with ``key``; KeyError if there is none."""
        return self._flat[self._positions[key]]

    def index(self, key: str) -> int:
        """Position of question ``key`` in :meth:`questions`; KeyError if unknown."""
        return self._positions[key]

    def section_of(self, key: str) -> Section:
        return self._sections_by_key[key]

    def checks_for(self, key: str) -> list[Check]:
        """The cross-question checks that read question ``key``."""
        return [c for c in self.checks if key in c.rule.refs()]

    def flag(self, key: str) -> FlagDef:
        for f in self.flags:
            if f.key == key:
                return f
        raise KeyError(key)

    def groups(self) -> list[ReportGroup]:
        """The report's groups, in the order the checklist declares them."""
        return list(self.report.groups) if self.report else []

    def group(self, key: str) -> ReportGroup:
        for g in self.groups():
            if g.key == key:
                return g
        raise KeyError(key)

    def report_section(self, key: str) -> ReportSection:
        assert self.report is not None
        for s in self.report.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    @cached_property
    def _conditions(self) -> dict[str, Cond]:
        return {g.key: self.resolve(g.when) for g in self.groups()}

    def condition(self, group: str) -> Cond:
        """A group's condition with every ``{flag: KEY}`` replaced by that flag's own."""
        return self._conditions[group]

    def resolve(self, cond: Cond) -> Cond:
        """``cond`` with ``{flag: KEY}`` leaves replaced by the flags' conditions."""
        if not cond.flag_refs():
            return cond
        flags = {f.key: f.when for f in self.flags}

        def walk(node: Any) -> Any:
            if isinstance(node, dict):
                if set(node) == {"flag"} and node["flag"] in flags:
                    return flags[node["flag"]].model_dump(mode="json", by_alias=True, exclude_none=True)
                return {k: walk(v) for k, v in node.items()}
            if isinstance(node, list):
                return [walk(v) for v in node]
            return node

        return Cond.model_validate(walk(cond.model_dump(mode="json", by_alias=True, exclude_none=True)))

    def evidence(self, group: str) -> list[str]:
        """The questions whose answers show why a township is in ``group``."""
        g = self.group(group)
        keys = g.evidence or self.condition(group).refs()
        return [k for k in dict.fromkeys(keys) if self.has_question(k)]

    def to_data(self) -> dict[str, Any]:
        """JSON-serialisable form; ``parse_checklist(c.to_data(), ...) == c``.

        Store this beside an inspection (with ``version``) to read it later exactly as
        it was answered, whatever the YAML says by then.
        """
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
