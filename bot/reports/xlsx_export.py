"""The year's inspections as an Excel workbook.

Sheet one: one row per inspection — township, area, status, inspector, dates; one column
per question with the question as its header, answers shown as people read them (numbers
stay numbers); then the derived facts (filing lag, village rate, score), the findings,
and one column per flag. Sheet two: every change to every answer. Headers frozen,
filters on, widths to fit. Written in openpyxl's streaming mode, so a national export
stays within memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.engine import Checklist, Derived, QType, Question, derive, format_value
from bot.i18n import t
from bot.reports.summary import ChecklistCache, Checklists
from storage.queries.summary import (
    ChangeRow,
    InspectionRow,
    Scope,
    answers_of_inspections,
    history_of_inspections,
    inspections_in_year,
    scope_townships,
)

NUMERIC = (QType.integer, QType.amount, QType.year, QType.percent)
MIN_WIDTH, MAX_WIDTH = 6, 48
HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")
DATE_FORMAT = "yyyy-mm-dd hh:mm"


@dataclass
class ExportRow:
    inspection: InspectionRow
    township: str
    area: str
    checklist: Checklist
    answers: dict[str, Any]
    derived: Derived


@dataclass
class ExportData:
    year: int
    locale: str
    tz: ZoneInfo
    questions: list[Question] = field(default_factory=list)  # every version's, current order first
    flags: list[tuple[str, str]] = field(default_factory=list)  # (key, label)
    rows: list[ExportRow] = field(default_factory=list)
    history: list[ChangeRow] = field(default_factory=list)


async def load_export(
    session: AsyncSession,
    scope: Scope,
    year: int,
    *,
    checklists: Checklists | None = None,
    tz: ZoneInfo,
    locale: str,
) -> ExportData:
    checklists = checklists or ChecklistCache()
    towns = {tw.id: tw for tw in await scope_townships(session, scope)}
    inspections = await inspections_in_year(session, scope, year)
    answers = await answers_of_inspections(session, [i.id for i in inspections])
    data = ExportData(year=year, locale=locale, tz=tz)
    seen_q: set[str] = set()
    seen_f: set[str] = set()
    versions = sorted({i.checklist_version_id for i in inspections}, reverse=True)
    for version_id in versions:  # the newest version's order first
        checklist = await checklists(session, version_id)
        for q in checklist.questions():
            if q.key not in seen_q:
                seen_q.add(q.key)
                data.questions.append(q)
        for f in checklist.flags:
            if f.key not in seen_f:
                seen_f.add(f.key)
                data.flags.append((f.key, f.label.get(locale) or f.label.get("zh-CN") or f.key))
    for ins in inspections:
        checklist = await checklists(session, ins.checklist_version_id)
        values = answers.get(ins.id, {})
        town = towns[ins.township_id]
        data.rows.append(
            ExportRow(ins, town.name, town.area_name, checklist, values, derive(checklist, values, ins.year))
        )
    data.rows.sort(key=lambda r: (r.area, r.township))
    data.history = await history_of_inspections(session, [i.id for i in inspections])
    return data


def _local(stamp: datetime | None, tz: ZoneInfo) -> datetime | None:
    return stamp.astimezone(tz).replace(tzinfo=None) if stamp is not None else None


def _cell_value(question: Question, value: Any, locale: str) -> Any:
    if value is None:
        return None
    if question.type in NUMERIC and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return format_value(question, value, locale)


def _plain(value: Any) -> Any:
    """An answer to a question no checklist knows any more, as it was stored."""
    if value is None or isinstance(value, str | int | float):
        return value
    return json.dumps(value, ensure_ascii=False)


def _width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    text = str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


class _Sheet:
    """A streaming sheet with a styled, frozen header, filters and fitted widths."""

    def __init__(
        self, ws: WriteOnlyWorksheet, headers: list[str], rows: list[list[Any]], freeze: str
    ) -> None:
        widths = [_width(h) for h in headers]
        for row in rows[:500]:
            for n, value in enumerate(row):
                widths[n] = max(widths[n], _width(value))
        for n, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(n)].width = max(MIN_WIDTH, min(MAX_WIDTH, w + 2))
        ws.freeze_panes = freeze
        last = get_column_letter(max(1, len(headers)))
        ws.auto_filter.ref = f"A1:{last}{len(rows) + 1}"
        header = []
        for h in headers:
            cell = WriteOnlyCell(ws, value=h)
            cell.font = Font(bold=True)
            cell.fill = HEADER_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            header.append(cell)
        ws.append(header)
        for row in rows:
            out = []
            for value in row:
                if isinstance(value, datetime):
                    cell = WriteOnlyCell(ws, value=value)
                    cell.number_format = DATE_FORMAT
                    out.append(cell)
                else:
                    out.append(value)
            ws.append(out)


def write_export(data: ExportData, path: Path) -> Path:
    loc = data.locale

    def col(key: str) -> str:
        return t(f"export.col.{key}", loc)

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(t("export.sheet_inspections", loc))
    headers = [
        col(k) for k in ("township", "area", "year", "status", "inspector", "created", "submitted", "updated")
    ]
    headers += [q.text(loc) for q in data.questions]
    headers += [col("lag"), col("rate"), col("score"), col("flags")]
    headers += [t("export.flag_prefix", loc) + label for _, label in data.flags]
    mark = t("export.mark", loc)
    rows: list[list[Any]] = []
    for r in data.rows:
        ins = r.inspection
        row: list[Any] = [
            r.township,
            r.area,
            ins.year,
            t(f"status.state.{ins.status}", loc),
            ins.inspector_name,
            _local(ins.created_at, data.tz),
            _local(ins.submitted_at, data.tz) if ins.status != "draft" else None,
            _local(ins.updated_at, data.tz),
        ]
        for q in data.questions:
            own = r.checklist.question(q.key) if r.checklist.has_question(q.key) else q
            row.append(_cell_value(own, r.answers.get(q.key), loc))
        rate = r.derived.village_rate
        row += [
            r.derived.filing_lag,
            round(rate, 4) if rate is not None else None,
            r.derived.score,
            t("checklist.value.list_separator", loc).join(f.text(loc) for f in r.derived.problems()),
        ]
        keys = set(r.derived.flag_keys())
        row += [mark if key in keys else None for key, _ in data.flags]
        rows.append(row)
    _Sheet(ws, headers, rows, "C2")

    history = wb.create_sheet(t("export.sheet_history", loc))
    by_id = {r.inspection.id: r for r in data.rows}
    labels = {q.key: q for q in data.questions}
    hist_rows: list[list[Any]] = []
    for change in data.history:
        owner = by_id.get(change.inspection_id)
        if owner is None:
            continue
        asked = labels.get(change.question_key)
        hist_rows.append(
            [
                owner.township,
                owner.inspection.year,
                asked.text(loc) if asked is not None else change.question_key,
                _cell_value(asked, change.old_value, loc) if asked is not None else _plain(change.old_value),
                _cell_value(asked, change.new_value, loc) if asked is not None else _plain(change.new_value),
                change.changed_by,
                _local(change.changed_at, data.tz),
            ]
        )
    _Sheet(
        history,
        [col(k) for k in ("township", "year", "question", "old", "new", "by", "at")],
        hist_rows,
        "A2",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(str(path))
    return path
