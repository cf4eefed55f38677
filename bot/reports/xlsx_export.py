"""The year's inspections as an Excel workbook, for a supervisor.

Sheet one answers "who is missing and where do we stand": per county and in total, the
townships in the registry, submitted / draft / returned / never inspected, the two
targets against the actual (over the registry, as the report counts), and each report
group's count. Sheet two: every township of the registry, inspected or not — status,
inspector, dates, the return comment; one column per question with the question as its
header, answers shown as people read them (numbers stay numbers); the derived facts
(filing lag, village rate, score) and the groups it is in. Sheet three: every change to
every answer, and every submission and return with its comment. Headers frozen, filters
on, widths to fit, rates as percentages. Written in openpyxl's streaming mode, so a
national export stays within memory.
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

from bot.engine import Checklist, Derived, QType, Question, builtin_checklist, derive, format_value
from bot.i18n import t
from bot.rectification import findings as rf
from bot.reports.summary import ChecklistCache, Checklists, Summary, TownshipYear, build_summary
from storage.models import ItemEvent
from storage.queries.people import names_of
from storage.queries.rectification import events_of
from storage.queries.summary import (
    ChangeRow,
    InspectionRow,
    Scope,
    StatusRow,
    answers_of_inspections,
    history_of_inspections,
    inspections_in_year,
    status_history_of_inspections,
    village_inspections_in_year,
)

NUMERIC = (QType.integer, QType.amount, QType.year, QType.percent)
MIN_WIDTH, MAX_WIDTH = 6, 48
HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")
DATE_FORMAT = "yyyy-mm-dd hh:mm"
PERCENT_FORMAT = "0.0%"


class Rate(float):
    """A share 0..1 shown as a percentage."""


@dataclass
class ExportRow:
    township: TownshipYear
    inspection: InspectionRow | None
    checklist: Checklist | None
    answers: dict[str, Any]
    derived: Derived | None


@dataclass
class VillageExportRow:
    township: str
    village: str
    inspection: InspectionRow
    checklist: Checklist
    answers: dict[str, Any]


@dataclass
class ExportData:
    year: int
    locale: str
    tz: ZoneInfo
    summary: Summary
    questions: list[Question] = field(default_factory=list)  # every version's, current order first
    rows: list[ExportRow] = field(default_factory=list)  # every township in scope, registry order
    history: list[ChangeRow] = field(default_factory=list)
    statuses: list[StatusRow] = field(default_factory=list)
    # The rectification items' history (the items are the summary's), and who is who in it.
    item_events: dict[int, list[ItemEvent]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    # The year's village inspections (the village checklist), each with its answers.
    villages: list[VillageExportRow] = field(default_factory=list)
    village_questions: list[Question] = field(default_factory=list)


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
    summary = await build_summary(session, scope, year, tz=tz, checklists=checklists)
    inspections = {i.id: i for i in await inspections_in_year(session, scope, year)}
    answers = await answers_of_inspections(session, list(inspections))
    data = ExportData(year=year, locale=locale, tz=tz, summary=summary)
    seen_q: set[str] = set()
    versions = sorted({i.checklist_version_id for i in inspections.values()}, reverse=True)
    for version_id in versions:  # the newest version's order first
        for q in (await checklists(session, version_id)).questions():
            if q.key not in seen_q:
                seen_q.add(q.key)
                data.questions.append(q)
    for ty in summary.townships:
        ins = inspections.get(ty.inspection.id) if ty.inspection else None
        if ins is None:
            data.rows.append(ExportRow(ty, None, None, {}, None))
            continue
        checklist = await checklists(session, ins.checklist_version_id)
        values = answers.get(ins.id, {})
        data.rows.append(ExportRow(ty, ins, checklist, values, derive(checklist, values, ins.year)))
    data.history = await history_of_inspections(session, list(inspections))
    data.statuses = await status_history_of_inspections(session, list(inspections))
    data.item_events = await events_of(session, [i.id for i in summary.items if i.id is not None])
    data.names = await names_of(session, [e.by for events in data.item_events.values() for e in events])
    village_rows = await village_inspections_in_year(session, scope, year)
    village_answers = await answers_of_inspections(session, [r.inspection.id for r in village_rows])
    seen_v: set[str] = set()
    for r in village_rows:
        checklist = await checklists(session, r.inspection.checklist_version_id)
        for q in checklist.questions():
            if q.key not in seen_v:
                seen_v.add(q.key)
                data.village_questions.append(q)
        answered = village_answers.get(r.inspection.id, {})
        data.villages.append(VillageExportRow(r.township, r.village, r.inspection, checklist, answered))
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
                elif isinstance(value, Rate):
                    cell = WriteOnlyCell(ws, value=float(value))
                    cell.number_format = PERCENT_FORMAT
                    out.append(cell)
                else:
                    out.append(value)
            ws.append(out)


def _overview(data: ExportData) -> tuple[list[str], list[list[Any]]]:
    """Per county and in total: where the townships stand, against the targets."""
    loc, s = data.locale, data.summary

    def col(key: str) -> str:
        return t(f"export.col.{key}", loc)

    groups = s.group_keys
    headers = [col(k) for k in ("area", "registry", "submitted_n", "draft", "returned", "not_inspected")]
    headers += [col("done"), col("completion"), col("township_target"), col("villages"), col("village_rate")]
    headers += [col("village_target")] + [s.label(k, loc) for k in groups]
    by_area: dict[str, list[TownshipYear]] = {}
    for ty in s.townships:
        by_area.setdefault(ty.township.area_name, []).append(ty)
    parts = [
        (name, Summary(s.year, s.today, s.target, members, s.rules)) for name, members in by_area.items()
    ]
    rows = []
    for name, part in [*parts, (t("export.total", loc), s)]:
        counts = {k: len(v) for k, v in part.by_status.items()}
        v = part.villages
        rows.append(
            [
                name,
                part.total,
                counts.get("submitted", 0),
                counts.get("draft", 0),
                counts.get("returned", 0),
                counts.get("not_inspected", 0),
                len(part.completed),
                Rate(part.completion),
                Rate(s.target.township_target),
                f"{v.part}/{v.total}",
                Rate(v.rate) if v.rate is not None else None,
                Rate(s.target.village_target),
                *(len(part.group(k)) for k in groups),
            ]
        )
    return headers, rows


def write_export(data: ExportData, path: Path) -> Path:
    loc = data.locale

    def col(key: str) -> str:
        return t(f"export.col.{key}", loc)

    s = data.summary
    wb = Workbook(write_only=True)
    headers, rows = _overview(data)
    _Sheet(wb.create_sheet(t("export.sheet_overview", loc)), headers, rows, "B2")

    ws = wb.create_sheet(t("export.sheet_inspections", loc))
    headers = [col(k) for k in ("township", "area", "year", "status", "inspector", "created", "submitted")]
    headers += [col("updated"), col("return_comment")]
    headers += [q.text(loc) for q in data.questions]
    headers += [col("lag"), col("rate"), col("score"), col("problems"), col("practices"), col("flags")]
    rows = []
    sep = t("checklist.value.list_separator", loc)
    for r in data.rows:
        ty, ins = r.township, r.inspection
        row: list[Any] = [ty.name, ty.township.area_name, data.year, t(f"status.state.{ty.status}", loc)]
        if ins is None:
            rows.append(row + [None] * (len(headers) - len(row)))
            continue
        row += [
            ins.inspector_name,
            _local(ins.created_at, data.tz),
            _local(ins.submitted_at, data.tz) if ins.status != "draft" else None,
            _local(ins.updated_at, data.tz),
            ins.return_comment if ins.status == "returned" else None,
        ]
        assert r.checklist is not None and r.derived is not None
        for q in data.questions:
            own = r.checklist.question(q.key) if r.checklist.has_question(q.key) else q
            row.append(_cell_value(own, r.answers.get(q.key), loc))
        rate = r.derived.village_rate
        good = [
            s.label(k, loc)
            for k in s.group_keys
            if ty.in_group(k) and s.rules and s.rules.group(k).polarity == "good"
        ]
        bad = [
            s.label(k, loc)
            for k in s.group_keys
            if ty.in_group(k) and s.rules and s.rules.group(k).polarity != "good"
        ]
        row += [
            r.derived.filing_lag,
            Rate(rate) if rate is not None else None,
            r.derived.score,
            sep.join(bad) or None,
            sep.join(good) or None,
            sep.join(f.text(loc) for f in r.derived.problems()) or None,
        ]
        rows.append(row)
    _Sheet(ws, headers, rows, "C2")

    history = wb.create_sheet(t("export.sheet_history", loc))
    by_id = {r.inspection.id: r for r in data.rows if r.inspection is not None}
    labels = {q.key: q for q in data.questions}
    hist_rows: list[tuple[Any, list[Any]]] = []
    for change in data.history:
        owner = by_id.get(change.inspection_id)
        if owner is None:
            continue
        asked = labels.get(change.question_key)
        hist_rows.append(
            (
                change.changed_at,
                [
                    owner.township.name,
                    data.year,
                    asked.text(loc) if asked is not None else change.question_key,
                    _cell_value(asked, change.old_value, loc)
                    if asked is not None
                    else _plain(change.old_value),
                    _cell_value(asked, change.new_value, loc)
                    if asked is not None
                    else _plain(change.new_value),
                    change.changed_by,
                    _local(change.changed_at, data.tz),
                ],
            )
        )
    for status in data.statuses:
        owner = by_id.get(status.inspection_id)
        if owner is None:
            continue
        event = t(f"export.event.{status.status}", loc)
        hist_rows.append(
            (
                status.changed_at,
                [
                    owner.township.name,
                    data.year,
                    event,
                    None,
                    status.comment,
                    status.changed_by,
                    _local(status.changed_at, data.tz),
                ],
            )
        )
    hist_rows.sort(key=lambda pair: (pair[1][0], pair[0]))
    _Sheet(
        history,
        [col(k) for k in ("township", "year", "question", "old", "new", "by", "at")],
        [r for _, r in hist_rows],
        "A2",
    )
    _items_sheets(wb, data)
    if data.villages:
        _villages_sheet(wb, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(str(path))
    return path


def _items_sheets(wb: Any, data: ExportData) -> None:
    """整改事项: one row an item; 整改记录: every step of every item, oldest first."""
    loc, checklist = data.locale, builtin_checklist()
    sep = t("people.list_separator", loc)
    towns = {ty.township.id: ty.township for ty in data.summary.townships}

    def col(key: str) -> str:
        return t(f"rectification.xlsx.col.{key}", loc)

    rows = []
    for item in data.summary.items:
        town = towns.get(item.township_id)
        pairs = rf.evidence(checklist, item.evidence, loc)
        rows.append(
            [
                town.name if town else None,
                town.area_name if town else None,
                item.year,
                rf.label(checklist, item.finding, loc),
                sep.join(t("rectification.pair", loc, name=a, value=b) for a, b in pairs) or None,
                item.due.isoformat(),
                t(f"rectification.status.{item.status}", loc),
                t(f"rectification.xlsx.closed_how.{item.closed_how}", loc) if item.closed_how else None,
                item.note,
                len(item.photos),
                _local(item.opened_at, data.tz),
                _local(item.closed_at, data.tz),
            ]
        )
    keys = ("township", "area", "year", "finding", "answers", "due", "status", "how", "note", "photos")
    headers = [col(k) for k in (*keys, "opened", "closed")]
    _Sheet(wb.create_sheet(t("rectification.xlsx.sheet_items", loc)), headers, rows, "B2")
    by_id = {i.id: i for i in data.summary.items}
    history: list[tuple[datetime, list[Any]]] = []
    for item_id, events in data.item_events.items():
        item = by_id[item_id]
        town = towns.get(item.township_id)
        for e in events:
            row = [
                town.name if town else None,
                rf.label(checklist, item.finding, loc),
                t(f"rectification.xlsx.action.{e.action}", loc),
                data.names.get(e.by or 0),
                _local(e.at, data.tz),
                e.comment,
                len(e.photos),
            ]
            history.append((e.at, row))
    history.sort(key=lambda pair: pair[0])
    headers = [col(k) for k in ("township", "finding", "action", "by", "at", "comment", "photos")]
    _Sheet(
        wb.create_sheet(t("rectification.xlsx.sheet_history", loc)), headers, [r for _, r in history], "A2"
    )


def _villages_sheet(wb: Any, data: ExportData) -> None:
    """The year's village inspections: one row each, the village checklist's answers."""
    loc = data.locale

    def col(key: str) -> str:
        return t(f"export.col.{key}", loc)

    headers = [
        col("township"),
        col("village"),
        col("year"),
        col("status"),
        col("inspector"),
        col("submitted"),
    ]
    headers += [q.text(loc) for q in data.village_questions]
    rows = []
    for r in data.villages:
        ins = r.inspection
        row: list[Any] = [
            r.township,
            r.village,
            data.year,
            t(f"status.state.{ins.status}", loc),
            ins.inspector_name,
            _local(ins.submitted_at, data.tz) if ins.status != "draft" else None,
        ]
        for q in data.village_questions:
            own = r.checklist.question(q.key) if r.checklist.has_question(q.key) else q
            row.append(_cell_value(own, r.answers.get(q.key), loc))
        rows.append(row)
    _Sheet(wb.create_sheet(t("export.sheet_villages", loc)), headers, rows, "C2")
