"""Read an XLSForm-style workbook into a checklist (``archive-bot checklist import F.xlsx``).

pyxform reads XLSForm's sheets (``survey``, ``choices``, ``settings``) exactly as ODK's tools
do — header clean-up, blank rows kept so row numbers stay true — and lexes the ``relevant`` and
``constraint`` expressions; this module compiles what it read into the same document the YAML
gives, and the loader validates that. Every fault is named by sheet, row and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from pyxform.errors import PyXFormError
from pyxform.xls2json_backends import xlsx_to_dict, xlsx_value_to_str

from bot.i18n import DEFAULT_LOCALE, t

from . import workbook_layout as L
from .loader import ChecklistError, fault_params, parse_checklist
from .schema import Checklist, QType
from .xlsform_conditions import RESERVED_NAMES, ExpressionError, compile_condition


@dataclass(frozen=True)
class CellProblem:
    """One fault and where: ``sheet`` (None: the file), ``row`` (1-based, as the spreadsheet
    shows it; None: the whole sheet), ``column``; ``fault`` is a full catalogue key."""

    sheet: str | None
    row: int | None
    column: str | None
    fault: str
    params: dict[str, Any] = field(default_factory=dict)


class WorkbookError(ValueError):
    """A workbook that cannot be used; ``message(locale)`` has one line per fault."""

    def __init__(self, source: str, problems: list[CellProblem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(self.message(DEFAULT_LOCALE))

    def message(self, locale: str | None = None) -> str:
        lines = []
        for p in self.problems:
            fault = t(p.fault, locale, **fault_params(p.params, locale))
            if p.sheet is None:
                lines.append(t("checklists.error.file", locale, file=self.source, fault=fault))
            elif p.row is None:
                lines.append(t("checklists.error.sheet", locale, sheet=p.sheet, fault=fault))
            elif p.column is None:
                lines.append(t("checklists.error.row", locale, sheet=p.sheet, row=p.row, fault=fault))
            else:
                lines.append(
                    t("checklists.error.cell", locale, sheet=p.sheet, row=p.row, column=p.column, fault=fault)
                )
        return "\n".join(lines)


Row = tuple[int, dict[str, str]]


def _locale_of(suffix: str) -> str:
    """``zh-CN``, ``Chinese (zh-CN)``, ``中文`` → zh-CN; ``en``, ``English (en)`` → en."""
    s = suffix.strip()
    inner = re.search(r"\(([^)]+)\)", s)
    code = (inner.group(1) if inner else s).strip()
    low = code.lower()
    if low.startswith("zh") or code in ("中文", "汉语") or low == "chinese":
        return DEFAULT_LOCALE
    if low.startswith("en") or code == "英文" or low == "english":
        return "en"
    return code


def _yes(value: str | None) -> bool | None:
    if value is None:
        return None
    low = value.strip().lower()
    if low in ("yes", "true", "true()", "1", "是", "y"):
        return True
    if low in ("no", "false", "false()", "0", "否", "n"):
        return False
    return None


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


class _Reader:
    def __init__(self, source: str, sheets: dict[str, list[Row]]) -> None:
        self.source = source
        self.sheets = sheets
        self.problems: list[CellProblem] = []
        self.types: dict[str, QType] = {}
        # where each item of the checklist came from: (kind, key) → (sheet, row)
        self.where: dict[tuple[str, str], tuple[str, int]] = {}

    def err(self, sheet: str | None, row: int | None, column: str | None, fault: str, **params: Any) -> None:
        self.problems.append(CellProblem(sheet, row, column, f"checklists.fault.{fault}", params))

    # -- cells

    def text(self, cells: dict[str, str], base: str, default: str | None = None) -> dict[str, str] | None:
        """``base::LOC`` columns (and a plain ``base`` in the default language) as a Text."""
        out: dict[str, str] = {}
        plain = cells.get(base)
        if plain is not None:
            out[DEFAULT_LOCALE] = plain
        for column, value in cells.items():
            if column.startswith(base + "::"):
                out[_locale_of(column[len(base) + 2 :])] = value
        out = {k: ("" if v == L.EMPTY_TEXT else v) for k, v in out.items()}
        return out or None

    def bound(self, sheet: str, row: int, column: str, value: str | None) -> Any:
        if value is None:
            return None
        if value == "inspection_year":
            return value
        number = _number(value)
        if number is None:
            self.err(sheet, row, column, "not_a_number", value=value)
        return number

    def words(self, value: str | None) -> list[str]:
        return value.split() if value else []

    def condition(
        self,
        sheet: str,
        row: int,
        column: str,
        text: str | None,
        *,
        self_key: str | None = None,
        flags: bool = False,
    ) -> dict[str, Any] | None:
        if text is None:
            return None
        try:
            return compile_condition(text, self.types, self_key=self_key, flags=flags)
        except ExpressionError as exc:
            self.err(sheet, row, column, exc.fault, expression=text, **exc.params)
            return None

    # -- sheets

    def rows(self, sheet: str) -> list[Row]:
        return self.sheets.get(sheet, [])

    def choice_lists(self) -> dict[str, list[dict[str, Any]]]:
        lists: dict[str, list[dict[str, Any]]] = {}
        for row, cells in self.rows(L.CHOICES):
            list_name, name = cells.get("list_name"), cells.get("name")
            if list_name is None:
                self.err(L.CHOICES, row, "list_name", "missing_cell")
                continue
            if name is None:
                self.err(L.CHOICES, row, "name", "missing_cell")
                continue
            choice: dict[str, Any] = {"key": name, "label": self.text(cells, "label") or {}}
            aliases = [a.strip() for a in re.split(r"[;；]", cells.get("aliases", "")) if a.strip()]
            if aliases:
                choice["aliases"] = aliases
            lists.setdefault(list_name, []).append(choice)
        return lists

    def survey(self, lists: dict[str, list[dict[str, Any]]], title: dict[str, str]) -> list[dict[str, Any]]:
        parsed: list[tuple[int, dict[str, str], QType | None, str | None]] = []
        for row, cells in self.rows(L.SURVEY):
            word = " ".join(cells.get("type", "").split())
            group = word.lower().replace("_", " ")  # XLSForm also writes begin_group
            if group in (L.BEGIN_GROUP, L.END_GROUP):
                parsed.append((row, cells, None, group))
                continue
            if not word:
                self.err(L.SURVEY, row, "type", "missing_cell")
                continue
            head, _, list_name = word.partition(" ")
            qtype = L.WORD_TYPES.get(head)
            if qtype is None or (qtype in (QType.single, QType.multi)) != bool(list_name):
                self.err(L.SURVEY, row, "type", "unknown_type", value=word)
                continue
            if list_name:
                if list_name not in lists:
                    self.err(L.SURVEY, row, "type", "missing_list", list=list_name)
                    continue
                if qtype is QType.single and {c["key"] for c in lists[list_name]} == {L.YES, L.NO}:
                    qtype = QType.yesno  # an official's "select_one yes_no" is a yes/no question
                    list_name = ""
            name = cells.get("name")
            if name is None:
                self.err(L.SURVEY, row, "name", "missing_cell")
                continue
            if name in RESERVED_NAMES:
                self.err(L.SURVEY, row, "name", "reserved_name", value=name)
                continue
            self.types.setdefault(name, qtype)
            parsed.append((row, cells, qtype, list_name))

        sections: list[dict[str, Any]] = []
        current: dict[str, Any] | None = None
        for row, cells, qtype, extra in parsed:
            if qtype is None:
                if extra == L.BEGIN_GROUP:
                    key = cells.get("name")
                    if key is None:
                        self.err(L.SURVEY, row, "name", "missing_cell")
                        key = f"section_{len(sections) + 1}"
                    current = {"key": key, "title": self.text(cells, "label") or {}, "questions": []}
                    sections.append(current)
                    self.where.setdefault(("section", key), (L.SURVEY, row))
                else:
                    current = None
                continue
            if current is None:  # questions outside any group: a section of their own
                current = {"key": f"section_{len(sections) + 1}", "title": dict(title), "questions": []}
                sections.append(current)
            current["questions"].append(self.question(row, cells, qtype, extra, lists))
        return sections

    def question(
        self,
        row: int,
        cells: dict[str, str],
        qtype: QType,
        list_name: str | None,
        lists: dict[str, list[dict[str, Any]]],
    ) -> dict[str, Any]:
        name = cells["name"]
        self.where.setdefault(("question", name), (L.SURVEY, row))
        q: dict[str, Any] = {"key": name, "type": qtype.value, "label": self.text(cells, "label") or {}}
        for base, target in (("short", "short"), ("hint", "help"), ("unit", "unit")):
            text = self.text(cells, base)
            if text is not None:
                q[target] = text
        if list_name:
            q["choices"] = lists[list_name]
        required = cells.get("required")
        flag = _yes(required) if required is not None else False
        if flag is None:
            self.err(L.SURVEY, row, "required", "not_yes_no", value=required)
        q["required"] = bool(flag)
        for column in ("min", "max"):
            value = self.bound(L.SURVEY, row, column, cells.get(column))
            if value is not None:
                q[column] = value
        if cells.get("max_length") is not None:
            q["max_length"] = self.bound(L.SURVEY, row, "max_length", cells["max_length"])
        other = cells.get("other_answers")
        if other is not None:
            if other not in lists:
                self.err(L.SURVEY, row, "other_answers", "missing_list", list=other)
            else:  # on a question that is not a number, the loader says why it is not allowed
                q["other_answers"] = lists[other]
        when = self.condition(L.SURVEY, row, "relevant", cells.get("relevant"))
        if when is not None:
            q["when"] = when
        return q

    def survey_checks(self) -> list[dict[str, Any]]:
        """Each ``constraint`` of the survey as a check on its question (``.`` is the question)."""
        out: list[dict[str, Any]] = []
        for row, cells in self.rows(L.SURVEY):
            text, name = cells.get("constraint"), cells.get("name")
            if text is None or name is None or name not in self.types:
                continue
            rule = self.condition(L.SURVEY, row, "constraint", text, self_key=name)
            if rule is None:
                continue
            key = name + L.CONSTRAINT_SUFFIX
            check: dict[str, Any] = {"key": key, "rule": rule}
            message = self.text(cells, "constraint_message")
            if message is not None:
                check["message"] = message
            self.where.setdefault(("check", key), (L.SURVEY, row))
            out.append(check)
        return out

    def checks(self) -> list[dict[str, Any]]:
        out = []
        for row, cells in self.rows(L.CHECKS):
            key = cells.get("name")
            if key is None:
                self.err(L.CHECKS, row, "name", "missing_cell")
                continue
            self.where.setdefault(("check", key), (L.CHECKS, row))
            rule = self.condition(L.CHECKS, row, "constraint", cells.get("constraint"))
            if cells.get("constraint") is None:
                self.err(L.CHECKS, row, "constraint", "missing_cell")
            check: dict[str, Any] = {"key": key, "rule": rule or {}}
            message = self.text(cells, "constraint_message")
            if message is not None:
                check["message"] = message
            confirm = _yes(cells.get("confirm")) if cells.get("confirm") is not None else False
            if confirm is None:
                self.err(L.CHECKS, row, "confirm", "not_yes_no", value=cells.get("confirm"))
            check["confirm"] = bool(confirm)
            out.append(check)
        return out

    def findings(self) -> list[dict[str, Any]]:
        out = []
        for row, cells in self.rows(L.FINDINGS):
            key = cells.get("name")
            if key is None:
                self.err(L.FINDINGS, row, "name", "missing_cell")
                continue
            self.where.setdefault(("flag", key), (L.FINDINGS, row))
            when = self.condition(L.FINDINGS, row, "condition", cells.get("condition"))
            if cells.get("condition") is None:
                self.err(L.FINDINGS, row, "condition", "missing_cell")
            # A problem the township must put right (an item to follow to closure): yes / no.
            rectify = _yes(cells.get("rectify")) if cells.get("rectify") is not None else False
            if rectify is None:
                self.err(L.FINDINGS, row, "rectify", "not_yes_no", value=cells.get("rectify"))
            out.append(
                {
                    "key": key,
                    "severity": cells.get("severity"),
                    "label": self.text(cells, "label") or {},
                    "when": when or {},
                    "rectify": bool(rectify),
                }
            )
        return out

    def score(self) -> list[dict[str, Any]]:
        out = []
        for row, cells in self.rows(L.SCORE):
            key = cells.get("name")
            if key is None:
                self.err(L.SCORE, row, "name", "missing_cell")
                continue
            self.where.setdefault(("score", key), (L.SCORE, row))
            item: dict[str, Any] = {
                "key": key,
                "weight": self.bound(L.SCORE, row, "weight", cells.get("weight")),
            }
            when = self.condition(L.SCORE, row, "condition", cells.get("condition"))
            if when is not None:
                item["when"] = when
            if cells.get("map_question") is not None:
                values: dict[str, Any] = {}
                for part in re.split(r"[;；]", cells.get("map_values", "")):
                    if not part.strip():
                        continue
                    choice, _, fraction = part.partition("=")
                    number = _number(fraction.strip())
                    if number is None:
                        self.err(L.SCORE, row, "map_values", "not_a_number", value=part.strip())
                        continue
                    values[choice.strip()] = number
                item["map"] = {"q": cells["map_question"], "values": values}
            for column in ("share", "fact"):
                if cells.get(column) is not None:
                    item[column] = cells[column]
            for column in ("full_at", "zero_at"):
                value = self.bound(L.SCORE, row, column, cells.get(column))
                if value is not None:
                    item[column] = value
            out.append(item)
        return out

    def report(self) -> dict[str, Any] | None:
        if not any(s in self.sheets for s in (L.REPORT_SECTIONS, L.REPORT_GROUPS, L.REPORT)):
            return None
        report: dict[str, Any] = {"sections": [], "groups": []}
        for row, cells in self.rows(L.REPORT_SECTIONS):
            key = cells.get("name")
            if key is None:
                self.err(L.REPORT_SECTIONS, row, "name", "missing_cell")
                continue
            self.where.setdefault(("report", key), (L.REPORT_SECTIONS, row))
            section: dict[str, Any] = {"key": key, "part": cells.get("part")}
            title = self.text(cells, "title")
            if title is not None:
                section["title"] = title
            if cells.get("show"):
                section["show"] = self.words(cells.get("show"))
            report["sections"].append(section)
        for row, cells in self.rows(L.REPORT_GROUPS):
            key = cells.get("name")
            if key is None:
                self.err(L.REPORT_GROUPS, row, "name", "missing_cell")
                continue
            self.where[("report", key)] = (L.REPORT_GROUPS, row)
            when = self.condition(L.REPORT_GROUPS, row, "condition", cells.get("condition"), flags=True)
            group: dict[str, Any] = {
                "key": key,
                "label": self.text(cells, "label") or {},
                "polarity": cells.get("polarity"),
                "section": cells.get("section"),
                "when": when or {},
            }
            for column in ("ask", "by", "total"):
                if cells.get(column) is not None:
                    group[column] = cells[column]
            if cells.get("evidence"):
                group["evidence"] = self.words(cells["evidence"])
            report["groups"].append(group)
        report["exclusive"] = []
        for row, cells in self.rows(L.REPORT):
            setting, groups = cells.get("setting"), self.words(cells.get("groups"))
            self.where.setdefault(("report", "report"), (L.REPORT, row))
            if setting == "targets":
                report["targets"] = {"township": groups[0] if groups else ""}
            elif setting == "exclusive":
                report["exclusive"].append(groups)
            elif setting in ("chart", "summary"):
                report[setting] = groups
            else:
                self.err(
                    L.REPORT,
                    row,
                    "setting",
                    "unknown_setting",
                    value=setting,
                    allowed=", ".join(L.REPORT_SETTINGS),
                )
        return report

    def read(self) -> dict[str, Any]:
        settings_rows = self.rows(L.SETTINGS)
        settings = settings_rows[0][1] if settings_rows else {}
        srow = settings_rows[0][0] if settings_rows else 2
        self.where[("checklist", "*")] = (L.SETTINGS, srow)
        title = self.text(settings, "form_title") or {}
        name = settings.get("form_id")
        if name is None:
            self.err(L.SETTINGS, srow, "form_id", "missing_cell")
        version = settings.get("version")
        number = _number(version) if version is not None else 1
        if number is None:
            self.err(L.SETTINGS, srow, "version", "not_a_number", value=version)
        lists = self.choice_lists()
        data: dict[str, Any] = {
            "name": name or "",
            "version": number or 1,
            "title": title,
            "sections": self.survey(lists, title),
        }
        facts: dict[str, dict[str, str]] = {}
        for column, (fact, part) in L.FACT_COLUMNS.items():
            if settings.get(column) is not None:
                facts.setdefault(fact, {})[part] = settings[column]
        if facts:
            data["facts"] = facts
        data["checks"] = self.survey_checks() + self.checks()
        data["flags"] = self.findings()
        data["score"] = self.score()
        report = self.report()
        if report is not None:
            data["report"] = report
        return data


# What a fault's field is called in the workbook: (kind, first part of the field) → column.
_COLUMNS = {
    ("question", "when"): "relevant",
    ("question", "help"): "hint::zh-CN",
    ("question", "label"): "label::zh-CN",
    ("question", "short"): "short::zh-CN",
    ("question", "unit"): "unit::zh-CN",
    ("question", "choices"): "type",
    ("question", "type"): "type",
    ("question", "key"): "name",
    ("section", "title"): "label::zh-CN",
    ("section", "key"): "name",
    ("check", "rule"): "constraint",
    ("check", "message"): "constraint_message::zh-CN",
    ("check", "key"): "name",
    ("flag", "when"): "condition",
    ("flag", "label"): "label::zh-CN",
    ("flag", "key"): "name",
    ("score", "when"): "condition",
    ("score", "map"): "map_question",
    ("score", "key"): "name",
    ("report", "when"): "condition",
    ("report", "label"): "label::zh-CN",
    ("report", "title"): "title::zh-CN",
    ("report", "key"): "name",
    ("checklist", "title"): "form_title",
    ("checklist", "name"): "form_id",
}


def _cell_of(
    reader: _Reader, kind: str, key: str, params: dict[str, Any]
) -> tuple[str | None, int | None, str | None]:
    field_name = str(params.get("field", "")).split(".")[0]
    if kind == "facts":
        column = {"filing_lag": "filing_lag_year", "village_rate": "village_rate_part"}.get(field_name)
        sheet, row = reader.where[("checklist", "*")]
        if params.get("field") == "village_rate.total":
            column = "village_rate_total"
        return sheet, row, column
    if kind in ("checklist", "file"):
        sheet, row = reader.where[("checklist", "*")]
        return sheet, row, _COLUMNS.get(("checklist", field_name))
    found = reader.where.get((kind, key))
    if found is None and kind == "report":
        found = reader.where.get(("report", "report"))
    if found is None:
        return None, None, None
    sheet, row = found
    return sheet, row, _COLUMNS.get((kind, field_name), field_name or None)


def _read_sheets(path: Path) -> dict[str, list[Row]]:
    """Every sheet as (row number, non-empty cells). XLSForm's sheets through pyxform's reader."""
    book = xlsx_to_dict(str(path))
    sheets: dict[str, list[Row]] = {}
    for name in (L.SURVEY, L.CHOICES, L.SETTINGS):
        if name in book:
            sheets[name] = [(i + 2, dict(cells)) for i, cells in enumerate(book[name]) if cells]
    # This project's sheets (pyxform passes over sheets XLSForm does not know): the same clean-up.
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        for title in wb.sheetnames:
            name = title.strip().lower()
            if name in sheets or name not in L.SHEETS:
                continue
            rows = wb[title].iter_rows(values_only=True)
            header = [str(h).strip() if h is not None else None for h in next(rows, ())]
            out: list[Row] = []
            for n, values in enumerate(rows, start=2):
                cells = {}
                for column, value in zip(header, values, strict=False):
                    if column is None or value is None:
                        continue
                    text = xlsx_value_to_str(value.strip() if isinstance(value, str) else value)
                    if text.strip():
                        cells[column] = text
                if cells:
                    out.append((n, cells))
            sheets[name] = out
    finally:
        wb.close()
    return sheets


def import_workbook(path: str | Path) -> Checklist:
    """The checklist in the workbook at ``path``; WorkbookError naming sheet/row/column if bad."""
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise WorkbookError(source, [CellProblem(None, None, None, "checklist.fault.not_found")])
    try:
        sheets = _read_sheets(path)
    except (PyXFormError, OSError, ValueError, KeyError) as exc:
        raise WorkbookError(
            source, [CellProblem(None, None, None, "checklist.fault.unreadable", {"detail": str(exc)})]
        ) from None
    reader = _Reader(source, sheets)
    for needed in (L.SURVEY, L.SETTINGS):
        if needed not in sheets:
            reader.err(needed, None, None, "missing_sheet")
    data = reader.read()
    if reader.problems:
        raise WorkbookError(source, reader.problems)
    try:
        return parse_checklist(data, source)
    except ChecklistError as exc:
        problems = []
        for p in exc.problems:
            sheet, row, column = _cell_of(reader, p.kind, p.key, p.params)
            params = dict(p.params)
            if column is not None and "field" in params:  # the column, not the YAML field's name
                params["field"] = column
            problems.append(CellProblem(sheet, row, column, f"checklist.fault.{p.fault}", params))
        raise WorkbookError(source, problems) from None
