"""Load and validate checklist YAML files.

``load_checklist`` refuses a bad file with a :class:`ChecklistError` whose message names
the file, the place (question, section, flag, check, score item) and the fault, one line
per fault, in the message catalogue's language (zh-CN unless asked otherwise).
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from pydantic import ValidationError

from bot.i18n import DEFAULT_LOCALE, t

from .exclusive import overlaps
from .schema import (
    CHOICE_TYPES,
    INSPECTION_YEAR,
    KEY_PATTERN,
    NUMERIC_TYPES,
    OP_NAMES,
    REGISTRY_FACTS,
    Checklist,
    Cond,
    Known,
    QType,
    Question,
    Ref,
    YearOffset,
)

CHECKLIST_DIR = Path(__file__).resolve().parent.parent / "checklists"


class Problem(NamedTuple):
    """One fault: where (kind + key) and what (a ``checklist.fault.*`` key + params)."""

    kind: str  # file | checklist | section | question | check | flag | score | facts | report
    key: str
    fault: str
    params: dict[str, Any]


def fault_params(params: dict[str, Any], locale: str | None) -> dict[str, Any]:
    """A fault's parameters for its message: a question type named in the locale's words."""
    out = dict(params)
    if "qtype" in out:
        out["qtype"] = t(f"checklist.type.{out['qtype']}", locale)
    return out


class ChecklistError(ValueError):
    """A checklist file that cannot be used. ``str()`` is the zh-CN message."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(self.message(DEFAULT_LOCALE))

    def message(self, locale: str | None = None) -> str:
        lines = []
        for p in self.problems:
            fault = t(f"checklist.fault.{p.fault}", locale, **fault_params(p.params, locale))
            where = t(f"checklist.error.where.{p.kind}", locale, key=p.key)
            lines.append(t("checklist.error.line", locale, file=self.source, where=where, fault=fault))
        return "\n".join(lines)


# ---------------------------------------------------------------------------- YAML


class _DuplicateYamlKey(Exception):
    def __init__(self, key: object, line: int) -> None:
        super().__init__(key, line)
        self.key = key
        self.line = line


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with the same key twice (PyYAML keeps the last)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Hashable] = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, Hashable):
            if key in seen:
                raise _DuplicateYamlKey(key, key_node.start_mark.line + 1)
            seen.add(key)
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path) -> Any:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ChecklistError(source, [Problem("file", source, "not_found", {})]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ChecklistError(source, [Problem("file", source, "unreadable", {"detail": str(exc)})]) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except _DuplicateYamlKey as exc:
        raise ChecklistError(
            source, [Problem("file", source, "duplicate_yaml_key", {"key": exc.key, "line": exc.line})]
        ) from None
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise ChecklistError(source, [Problem("file", source, "yaml", {"detail": detail})]) from None


# ---------------------------------------------------------------------------- public


def load_checklist(path: str | Path) -> Checklist:
    """Read, validate and return the checklist in ``path``; ChecklistError if it is bad."""
    path = Path(path)
    return parse_checklist(_read_yaml(path), str(path))


def parse_checklist(data: Any, source: str) -> Checklist:
    """Validate ``data`` (a YAML/JSON document) as a checklist; ``source`` names it in errors."""
    if not isinstance(data, dict):
        raise ChecklistError(source, [Problem("file", source, "not_mapping", {})])
    try:
        checklist = Checklist.model_validate(data)
    except ValidationError as exc:
        raise ChecklistError(source, _pydantic_problems(exc, data)) from None
    problems = _Validator(checklist).run()
    if not problems:  # the search needs a checklist that is valid otherwise
        problems = [
            Problem(
                "report", f"{a}, {b}", "exclusive_overlap", {"first": a, "second": b, "answers": _show(found)}
            )
            for a, b, found in overlaps(checklist)
        ]
    if problems:
        raise ChecklistError(source, problems)
    return checklist


def builtin_path(name: str = "township_archive") -> Path:
    """Path of the checklist shipped as ``bot/checklists/NAME.yaml``."""
    if not re.fullmatch(KEY_PATTERN, name):
        raise ChecklistError(name, [Problem("file", name, "not_found", {})])
    return CHECKLIST_DIR / f"{name}.yaml"


@cache
def builtin_checklist(name: str = "township_archive") -> Checklist:
    """The shipped checklist ``name``, loaded once."""
    return load_checklist(builtin_path(name))


# ---------------------------------------------------------------------------- pydantic faults


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_LISTS = {"flags": "flag", "checks": "check", "score": "score", "sections": "section"}
_REPORT_LISTS = {"groups": "report", "sections": "report"}


def _locate(path: list[Any], data: dict[str, Any]) -> tuple[str, str, list[Any]]:
    """(kind, key, path relative to that object) for a path into the raw data."""

    def key_of(node: Any, index: Any) -> str:
        if isinstance(node, dict) and isinstance(node.get("key"), str):
            return str(node["key"])
        return f"#{index + 1}" if isinstance(index, int) else str(index)

    if len(path) >= 2 and path[0] in _LISTS and isinstance(path[1], int):
        items = data.get(path[0])
        node = items[path[1]] if isinstance(items, list) and path[1] < len(items) else None
        if path[0] == "sections" and len(path) >= 4 and path[2] == "questions" and isinstance(path[3], int):
            questions = node.get("questions") if isinstance(node, dict) else None
            qnode = questions[path[3]] if isinstance(questions, list) and path[3] < len(questions) else None
            return "question", key_of(qnode, path[3]), path[4:]
        return _LISTS[path[0]], key_of(node, path[1]), path[2:]
    if path and path[0] == "facts":
        return "facts", "facts", path[1:]
    if len(path) >= 3 and path[0] == "report" and path[1] in _REPORT_LISTS and isinstance(path[2], int):
        items = data.get("report", {}).get(path[1]) if isinstance(data.get("report"), dict) else None
        node = items[path[2]] if isinstance(items, list) and path[2] < len(items) else None
        return "report", key_of(node, path[2]), path[3:]
    if path and path[0] == "report":
        return "report", "report", path[1:]
    return "checklist", str(data.get("name", "?")), path


def _pydantic_problems(exc: ValidationError, data: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[str, str, str]] = set()
    for err in exc.errors():
        loc = list(err["loc"])
        path: list[Any] = []
        node: Any = data
        for part in loc:
            if isinstance(node, dict) and isinstance(part, str) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            else:
                break
            path.append(part)
        kind, key, rel = _locate(path, data)
        etype = err["type"]
        if etype == "missing" and len(loc) > len(path):
            rel = [*rel, loc[len(path)]]
        field = ".".join(str(p) for p in rel) or "-"
        if (kind, key, field) in seen:
            continue
        seen.add((kind, key, field))
        if etype == "extra_forbidden":
            problems.append(Problem(kind, key, "unknown_field", {"field": field}))
        elif etype == "missing":
            problems.append(Problem(kind, key, "missing_field", {"field": field}))
        elif etype in ("enum", "literal_error"):
            expected = (err.get("ctx") or {}).get("expected", "")
            problems.append(
                Problem(kind, key, "bad_value", {"field": field, "value": _show(node), "allowed": expected})
            )
        else:
            problems.append(
                Problem(
                    kind, key, "type_mismatch", {"field": field, "value": _show(node), "detail": err["msg"]}
                )
            )
    return problems


# ---------------------------------------------------------------------------- semantic faults


class _Validator:
    def __init__(self, checklist: Checklist) -> None:
        self.c = checklist
        self.problems: list[Problem] = []
        self.by_key: dict[str, tuple[int, Question]] = {}

    def add(self, kind: str, where: str, fault: str, /, **params: Any) -> None:
        self.problems.append(Problem(kind, where, fault, params))

    def run(self) -> list[Problem]:
        c = self.c
        if "zh-CN" not in c.title:
            self.add("checklist", c.name, "missing_label", field="title")
        self._sections()
        for i, q in enumerate(c.questions()):
            if q.when is not None and self.by_key.get(q.key, (None,))[0] == i:
                self._cond(q.when, "question", q.key, "when", before=i)
        self._facts()
        self._keyed(c.checks, "check")
        for check in c.checks:
            self._cond(check.rule, "check", check.key, "rule", before=None)
            if check.message is not None and "zh-CN" not in check.message:
                self.add("check", check.key, "missing_label", field="message")
        self._keyed(c.flags, "flag")
        for flag in c.flags:
            if "zh-CN" not in flag.label:
                self.add("flag", flag.key, "missing_label", field="label")
            self._cond(flag.when, "flag", flag.key, "when", before=None)
        self._keyed(c.score, "score")
        for item in c.score:
            self._score_item(item)
        self._report()
        return self.problems

    def _keyed(self, items: list[Any], kind: str) -> None:
        seen: set[str] = set()
        for item in items:
            if item.key in seen:
                self.add(kind, item.key, "duplicate_key", key=item.key)
            seen.add(item.key)

    def _sections(self) -> None:
        self._keyed(self.c.sections, "section")
        index = 0
        for section in self.c.sections:
            if "zh-CN" not in section.title:
                self.add("section", section.key, "missing_label", field="title")
            if not section.questions:
                self.add("section", section.key, "empty_section")
            for q in section.questions:
                if q.key in self.by_key:
                    self.add("question", q.key, "duplicate_key", key=q.key)
                else:
                    self.by_key[q.key] = (index, q)
                self._question(q)
                index += 1

    def _question(self, q: Question) -> None:
        add = self.add
        if "zh-CN" not in q.label:
            add("question", q.key, "missing_label", field="label")
        if q.type in CHOICE_TYPES:
            if len(q.choices) < 2:
                add("question", q.key, "no_choices", qtype=q.type.value)
        elif q.choices:
            add("question", q.key, "choices_not_allowed", qtype=q.type.value)
        seen: set[str] = set()
        for choice in q.choices:
            if choice.key in seen:
                add("question", q.key, "duplicate_key", key=f"choices.{choice.key}")
            seen.add(choice.key)
            if "zh-CN" not in choice.label:
                add("question", q.key, "missing_label", field=f"choices.{choice.key}.label")
        if q.other_answers and q.type not in NUMERIC_TYPES:
            add("question", q.key, "field_not_allowed", field="other_answers", qtype=q.type.value)
        for choice in q.other_answers:
            if choice.key in seen:
                add("question", q.key, "duplicate_key", key=f"other_answers.{choice.key}")
            seen.add(choice.key)
            if "zh-CN" not in choice.label:
                add("question", q.key, "missing_label", field=f"other_answers.{choice.key}.label")
        for name in ("min", "max"):
            bound = getattr(q, name)
            if bound is None:
                continue
            if q.type not in NUMERIC_TYPES:
                add("question", q.key, "field_not_allowed", field=name, qtype=q.type.value)
            elif bound == INSPECTION_YEAR and q.type is not QType.year:
                add("question", q.key, "bound_not_year", field=name)
        if (
            isinstance(q.min, int | float)
            and isinstance(q.max, int | float)
            and q.type in NUMERIC_TYPES
            and q.min > q.max
        ):
            add("question", q.key, "bounds_order", min=q.min, max=q.max)
        if q.max_length is not None:
            if q.type is not QType.text:
                add("question", q.key, "field_not_allowed", field="max_length", qtype=q.type.value)
            elif q.max_length < 1:
                add("question", q.key, "type_mismatch", field="max_length", value=q.max_length, detail="> 0")

    # -- conditions

    def _ref(self, ref: str, kind: str, key: str, field: str, before: int | None) -> Question | None:
        found = self.by_key.get(ref)
        if found is None:
            self.add(kind, key, "cond_unknown_question", field=field, ref=ref)
            return None
        position, question = found
        if before is not None and position >= before:
            self.add(kind, key, "cond_later_question", field=field, ref=ref)
            return None
        return question

    def _cond(
        self, cond: Cond, kind: str, key: str, field: str, before: int | None, *, flags: bool = False
    ) -> None:
        compound = cond.compound_ops()
        leaf = cond.leaf_ops()
        if cond.flag is not None:
            if compound or leaf or cond.q is not None:
                self.add(kind, key, "cond_shape", field=field)
            elif not flags:
                self.add(kind, key, "cond_flag_not_allowed", field=field)
            elif cond.flag not in {f.key for f in self.c.flags}:
                self.add(kind, key, "cond_unknown_flag", field=field, ref=cond.flag)
            return
        if compound:
            if leaf or cond.q is not None or len(compound) > 1:
                self.add(kind, key, "cond_shape", field=field)
                return
            op = compound[0]
            if op == "not_":
                assert cond.not_ is not None
                self._cond(cond.not_, kind, key, f"{field}.not", before, flags=flags)
                return
            items: list[Cond] = getattr(cond, op) or []
            if not items:
                self.add(kind, key, "cond_shape", field=field)
            for i, child in enumerate(items):
                self._cond(child, kind, key, f"{field}.{OP_NAMES[op]}.{i}", before, flags=flags)
            return
        if cond.q is None or len(leaf) != 1:
            self.add(kind, key, "cond_shape", field=field)
            return
        q = self._ref(cond.q, kind, key, field, before)
        if q is None:
            return
        op = leaf[0]
        value = getattr(cond, op)
        self._leaf_types(q, op, value, kind, key, field, before)

    def _leaf_types(
        self, q: Question, op: str, value: Any, kind: str, key: str, field: str, before: int | None
    ) -> None:
        opname = OP_NAMES.get(op, op)

        def mismatch(shown: Any) -> None:
            self.add(
                kind,
                key,
                "cond_type",
                field=field,
                ref=q.key,
                qtype=q.type.value,
                op=opname,
                value=_show(shown),
            )

        if op == "answered":
            return
        if op in ("eq", "ne", "in_"):
            values = value if op == "in_" else [value]
            for v in values:
                if q.type is QType.yesno:
                    ok = isinstance(v, bool)
                elif q.type is QType.single:
                    ok = isinstance(v, str)
                    if ok and v not in q.choice_keys():
                        self.add(kind, key, "cond_unknown_choice", field=field, ref=q.key, value=v)
                        continue
                elif q.type in NUMERIC_TYPES:
                    ok = (isinstance(v, int | float) and not isinstance(v, bool)) or q.other_answer(
                        v
                    ) is not None
                elif q.type is QType.text:
                    ok = isinstance(v, str)
                else:
                    ok = False
                if not ok:
                    mismatch(v)
            return
        if op in ("lt", "le", "gt", "ge"):
            if q.type not in NUMERIC_TYPES:
                mismatch(value if not isinstance(value, Ref) else {"q": value.q})
                return
            if isinstance(value, YearOffset) and q.type is not QType.year:
                mismatch({"inspection_year": value.inspection_year})
                return
            if isinstance(value, Known) and value.registry not in REGISTRY_FACTS:
                self.add(kind, key, "cond_unknown_registry", field=field, value=value.registry)
                return
            if isinstance(value, Ref):
                other = self._ref(value.q, kind, key, field, before)
                if other is not None and other.type not in NUMERIC_TYPES:
                    self.add(
                        kind,
                        key,
                        "cond_type",
                        field=field,
                        ref=other.key,
                        qtype=other.type.value,
                        op=opname,
                        value=_show({"q": q.key}),
                    )
            return
        # has_any / has_all / missing_any
        if q.type is not QType.multi:
            mismatch(value)
            return
        if not value:
            self.add(kind, key, "cond_shape", field=field)
        for v in value:
            if v not in q.choice_keys():
                self.add(kind, key, "cond_unknown_choice", field=field, ref=q.key, value=v)

    # -- facts and score

    def _facts(self) -> None:
        facts = self.c.facts
        wanted: list[tuple[str, str | None, frozenset[QType]]] = []
        if facts.filing_lag is not None:
            wanted.append(("filing_lag.year", facts.filing_lag.year, frozenset({QType.year})))
        if facts.village_rate is not None:
            for name in ("part", "total"):
                wanted.append(
                    (f"village_rate.{name}", getattr(facts.village_rate, name), frozenset({QType.integer}))
                )
        if facts.established is not None:
            wanted.append(("established.q", facts.established.q, frozenset({QType.yesno})))
        for field, ref, types in wanted:
            if ref is None:
                continue
            found = self.by_key.get(ref)
            if found is None:
                self.add("facts", "facts", "cond_unknown_question", field=field, ref=ref)
            elif found[1].type not in types:
                self.add(
                    "facts",
                    "facts",
                    "cond_type",
                    field=field,
                    ref=ref,
                    qtype=found[1].type.value,
                    op=field,
                    value=_show(ref),
                )

    def _score_item(self, item: Any) -> None:
        key = item.key
        if not item.weight > 0:
            self.add("score", key, "type_mismatch", field="weight", value=item.weight, detail="> 0")
        sources = item.sources()
        if len(sources) != 1:
            self.add("score", key, "score_source", sources=", ".join(sources) or "-")
            return
        if item.when is not None:
            self._cond(item.when, "score", key, "when", before=None)
        elif item.map is not None:
            q = self._ref(item.map.q, "score", key, "map", None)
            if q is None:
                return
            if q.type is not QType.single:
                self.add(
                    "score",
                    key,
                    "cond_type",
                    field="map",
                    ref=q.key,
                    qtype=q.type.value,
                    op="map",
                    value=_show(item.map.q),
                )
                return
            for choice_key, fraction in item.map.values.items():
                if choice_key not in q.choice_keys():
                    self.add("score", key, "cond_unknown_choice", field="map", ref=q.key, value=choice_key)
                if not 0 <= fraction <= 1:
                    self.add(
                        "score",
                        key,
                        "type_mismatch",
                        field=f"map.values.{choice_key}",
                        value=fraction,
                        detail="0..1",
                    )
        elif item.share is not None:
            q = self._ref(item.share, "score", key, "share", None)
            if q is not None and q.type is not QType.multi:
                self.add(
                    "score",
                    key,
                    "cond_type",
                    field="share",
                    ref=q.key,
                    qtype=q.type.value,
                    op="share",
                    value=_show(item.share),
                )
        elif item.fact == "village_rate":
            if self.c.facts.village_rate is None:
                self.add("score", key, "fact_missing", fact=item.fact)
        elif item.fact == "filing_lag":
            if self.c.facts.filing_lag is None:
                self.add("score", key, "fact_missing", fact=item.fact)
            if item.full_at is None or item.zero_at is None or not item.full_at < item.zero_at:
                self.add("score", key, "lag_scale", full_at=item.full_at, zero_at=item.zero_at)

    # -- the report

    def _report(self) -> None:
        report = self.c.report
        if report is None:
            return
        add = self.add
        sections = {}
        for section in report.sections:
            if section.key in sections:
                add("report", section.key, "duplicate_key", key=section.key)
            sections[section.key] = section
            if section.part != "found" and (section.title is None or "zh-CN" not in section.title):
                add("report", section.key, "missing_label", field="title")
        groups: set[str] = set()
        for g in report.groups:
            if g.key in groups:
                add("report", g.key, "duplicate_key", key=g.key)
            groups.add(g.key)
            if "zh-CN" not in g.label:
                add("report", g.key, "missing_label", field="label")
            self._cond(g.when, "report", g.key, "when", before=None, flags=True)
            home = sections.get(g.section)
            if home is None or home.part == "next":
                add("report", g.key, "report_unknown_section", field="section", ref=g.section)
            if g.ask is not None and (g.ask not in sections or sections[g.ask].part != "next"):
                add("report", g.key, "report_unknown_section", field="ask", ref=g.ask)
            for name in ("by", "total"):
                ref = getattr(g, name)
                if ref is None:
                    continue
                found = self._ref(ref, "report", g.key, name, None)
                if found is not None and found.type not in NUMERIC_TYPES:
                    add(
                        "report",
                        g.key,
                        "cond_type",
                        field=name,
                        ref=ref,
                        qtype=found.type.value,
                        op=name,
                        value=_show(ref),
                    )
            for ref in g.evidence:
                self._ref(ref, "report", g.key, "evidence", None)
        named = [("targets.township", report.targets.township)] if report.targets else []
        named += [(f"exclusive.{n}", k) for n, keys in enumerate(report.exclusive) for k in keys]
        named += [("chart", k) for k in report.chart] + [("summary", k) for k in report.summary]
        for field, key in named:
            if key not in groups:
                add("report", "report", "report_unknown_group", field=field, ref=key)
        for n, keys in enumerate(report.exclusive):
            if len(set(keys)) < 2:
                add("report", "report", "cond_shape", field=f"exclusive.{n}")
