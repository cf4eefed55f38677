"""A checklist as an XLSForm-style workbook (``archive-bot checklist export --out F.xlsx``).

Reading the file back with :mod:`bot.engine.workbook_import` gives the same checklist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from bot.i18n import DEFAULT_LOCALE

from . import workbook_layout as L
from .schema import Checklist, Choice, Text
from .xlsform_conditions import render


def _locales(checklist: Checklist) -> list[str]:
    """The languages the checklist's texts are in: zh-CN first."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node and all(isinstance(v, str) for v in node.values()) and DEFAULT_LOCALE in node:
                found.update(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(checklist.to_data())
    return [DEFAULT_LOCALE, *sorted(found - {DEFAULT_LOCALE})]


class _Sheet:
    def __init__(self, wb: Workbook, name: str, columns: list[str], *, first: bool = False) -> None:
        self.ws = wb.active if first else wb.create_sheet(name)
        assert self.ws is not None
        self.ws.title = name
        self.columns = columns
        self.ws.append(columns)
        for cell in self.ws[1]:
            cell.font = Font(bold=True)
        self.ws.freeze_panes = "A2"

    def add(self, **values: Any) -> None:
        row = [values.get(c.replace("::", "__").replace("-", "_")) for c in self.columns]
        self.ws.append(["" if v is None else v for v in row])


def _texts(base: str, text: Text | None, locales: list[str]) -> dict[str, str]:
    """Cells ``base::LOC`` of ``text`` (keyword names as ``_Sheet.add`` takes them)."""
    out: dict[str, str] = {}
    for loc in locales:
        if text is not None and loc in text:
            out[f"{base}__{loc.replace('-', '_')}"] = text[loc] if text[loc] != "" else L.EMPTY_TEXT
    return out


def _cols(base: str, locales: list[str]) -> list[str]:
    return [L.text_column(base, loc) for loc in locales]


def _bool(value: bool) -> str:
    return L.YES if value else L.NO


def _aliases(choice: Choice) -> str:
    return f"{L.LIST_SEP} ".join(choice.aliases)


def build_workbook(checklist: Checklist) -> Workbook:
    """The workbook of ``checklist``: XLSForm's three sheets, then this project's."""
    locales = _locales(checklist)
    wb = Workbook()
    survey = _Sheet(
        wb,
        L.SURVEY,
        [
            "type",
            "name",
            *_cols("label", locales),
            *_cols("hint", locales),
            "required",
            "relevant",
            "constraint",
            *_cols("constraint_message", locales),
            *_cols("short", locales),
            *_cols("unit", locales),
            "min",
            "max",
            "max_length",
            "other_answers",
        ],
        first=True,
    )
    # A check on one question that the import made of a survey ``constraint`` goes back there.
    constraints = {
        c.key: c for c in checklist.checks if c.key.endswith(L.CONSTRAINT_SUFFIX) and not c.confirm
    }
    choices = _Sheet(wb, L.CHOICES, ["list_name", "name", *_cols("label", locales), "aliases"])
    for section in checklist.sections:
        survey.add(type=L.BEGIN_GROUP, name=section.key, **_texts("label", section.title, locales))
        for q in section.questions:
            word = L.TYPE_WORDS[q.type]
            if q.choices:
                word = f"{word} {q.key}"
                for c in q.choices:
                    choices.add(
                        list_name=q.key, name=c.key, aliases=_aliases(c), **_texts("label", c.label, locales)
                    )
            other = None
            if q.other_answers:
                other = f"{q.key}_other"
                for c in q.other_answers:
                    choices.add(
                        list_name=other, name=c.key, aliases=_aliases(c), **_texts("label", c.label, locales)
                    )
            constraint = constraints.get(q.key + L.CONSTRAINT_SUFFIX)
            survey.add(
                type=word,
                name=q.key,
                constraint=render(constraint.rule, self_key=q.key) if constraint is not None else None,
                **(
                    _texts("constraint_message", constraint.message, locales)
                    if constraint is not None
                    else {}
                ),
                required=_bool(q.required),
                relevant=render(q.when) if q.when is not None else None,
                min=q.min,
                max=q.max,
                max_length=q.max_length,
                other_answers=other,
                **_texts("label", q.label, locales),
                **_texts("hint", q.help, locales),
                **_texts("short", q.short, locales),
                **_texts("unit", q.unit, locales),
            )
        survey.add(type=L.END_GROUP, name=section.key)

    settings = _Sheet(
        wb,
        L.SETTINGS,
        [
            "form_title",
            *[f"form_title::{loc}" for loc in locales[1:]],
            "form_id",
            "version",
            "default_language",
            *L.FACT_COLUMNS,
        ],
    )
    facts: dict[str, Any] = {}
    for column, (fact, field) in L.FACT_COLUMNS.items():
        value = getattr(checklist.facts, fact)
        if value is not None:
            facts[column] = getattr(value, field)
    titles = {
        f"form_title__{loc.replace('-', '_')}": checklist.title[loc]
        for loc in locales[1:]
        if loc in checklist.title
    }
    settings.add(
        form_title=checklist.title.get(DEFAULT_LOCALE),
        form_id=checklist.name,
        version=checklist.version,
        default_language=DEFAULT_LOCALE,
        **titles,
        **facts,
    )

    checks = _Sheet(wb, L.CHECKS, ["name", "constraint", *_cols("constraint_message", locales), "confirm"])
    on_survey = {q.key + L.CONSTRAINT_SUFFIX for q in checklist.questions()}
    for check in checklist.checks:
        if check.key in constraints and check.key in on_survey:
            continue
        checks.add(
            name=check.key,
            constraint=render(check.rule),
            confirm=_bool(check.confirm),
            **_texts("constraint_message", check.message, locales),
        )

    findings = _Sheet(wb, L.FINDINGS, ["name", "severity", *_cols("label", locales), "condition", "rectify"])
    for flag in checklist.flags:
        findings.add(
            name=flag.key,
            severity=flag.severity,
            condition=render(flag.when),
            rectify=_bool(flag.rectify),
            **_texts("label", flag.label, locales),
        )

    score = _Sheet(
        wb,
        L.SCORE,
        ["name", "weight", "condition", "map_question", "map_values", "share", "fact", "full_at", "zero_at"],
    )
    for item in checklist.score:
        score.add(
            name=item.key,
            weight=item.weight,
            condition=render(item.when) if item.when is not None else None,
            map_question=item.map.q if item.map is not None else None,
            map_values=(
                f"{L.LIST_SEP} ".join(f"{k}={v}" for k, v in item.map.values.items())
                if item.map is not None
                else None
            ),
            share=item.share,
            fact=item.fact,
            full_at=item.full_at,
            zero_at=item.zero_at,
        )

    report = checklist.report
    if report is not None:
        sections = _Sheet(wb, L.REPORT_SECTIONS, ["name", "part", *_cols("title", locales), "show"])
        for rs in report.sections:
            sections.add(
                name=rs.key,
                part=rs.part,
                show=L.WORD_SEP.join(rs.show) or None,
                **_texts("title", rs.title, locales),
            )
        groups = _Sheet(
            wb,
            L.REPORT_GROUPS,
            [
                "name",
                *_cols("label", locales),
                "polarity",
                "section",
                "condition",
                "ask",
                "by",
                "total",
                "evidence",
            ],
        )
        for g in report.groups:
            groups.add(
                name=g.key,
                polarity=g.polarity,
                section=g.section,
                condition=render(g.when),
                ask=g.ask,
                by=g.by,
                total=g.total,
                evidence=L.WORD_SEP.join(g.evidence) or None,
                **_texts("label", g.label, locales),
            )
        lists = _Sheet(wb, L.REPORT, ["setting", "groups"])
        if report.targets is not None:
            lists.add(setting="targets", groups=report.targets.township)
        for keys in report.exclusive:
            lists.add(setting="exclusive", groups=L.WORD_SEP.join(keys))
        if report.chart:
            lists.add(setting="chart", groups=L.WORD_SEP.join(report.chart))
        if report.summary:
            lists.add(setting="summary", groups=L.WORD_SEP.join(report.summary))
    return wb


def export_workbook(checklist: Checklist, path: str | Path) -> Path:
    path = Path(path)
    build_workbook(checklist).save(path)
    return path
