"""The rectification notice (整改通知书) of one township and year as a Word document: the
items the inspection opened, the answers behind each, the due date and where each stands —
the same data as the 整改通知 in the chat. Fonts as in the supervision report."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt
from docx.table import _Cell
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.engine import Checklist
from bot.i18n import t
from bot.rectification import findings as rf
from bot.reports.docx_report import (
    BODY_FONT,
    BODY_SIZE,
    TABLE_FONT,
    TABLE_SIZE,
    TITLE_FONT,
    TITLE_SIZE,
    _footers,
    _prepare,
    _set_fonts,
)
from storage.models import ItemStatus
from storage.queries import rectification as q_items
from storage.queries.people import township_by_id

COLUMNS_MM = (12, 40, 54, 25, 25)  # 156 mm: the type area of GB/T 9704's A4 page, as the report's
CELL_PITCH = Pt(15)  # a table line: 五号 text, not the body's fixed 三号 pitch


@dataclass(frozen=True)
class NoticeRow:
    finding: str
    answers: str
    due: str
    status: str


@dataclass(frozen=True)
class Notice:
    township: str
    year: int
    rows: list[NoticeRow]
    closed: int
    issued_on: date


async def notice_data(
    session: AsyncSession, township_id: int, year: int, locale: str, checklist: Checklist, today: date
) -> Notice | None:
    """The notice of the township's items found in ``year`` (None: no such township or no items)."""
    township = await township_by_id(session, township_id)
    if township is None:
        return None
    items = [i for i in await q_items.items_of(session, [township_id]) if i.year == year]
    if not items:
        return None
    sep = t("people.list_separator", locale)
    rows = [
        NoticeRow(
            finding=rf.label(checklist, i.finding, locale),
            answers=sep.join(
                t("rectification.pair", locale, name=a, value=b)
                for a, b in rf.evidence(checklist, i.evidence, locale)
            ),
            due=i.due.isoformat(),
            status=t(f"rectification.status.{i.status}", locale),
        )
        for i in items
        if i.status != ItemStatus.closed
    ]
    closed = sum(1 for i in items if i.status == ItemStatus.closed)
    return Notice(township.name, year, rows, closed, today)


def render(notice: Notice, path: Path, locale: str) -> Path:
    doc = Document()
    _prepare(doc)  # the report's page, margins and fonts
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _set_fonts(title.add_run(t("rectification.docx.title", locale)), TITLE_FONT, TITLE_SIZE)
    title.paragraph_format.space_after = BODY_SIZE  # a line's room before the addressee, as in the report

    def para(text: str, *, right: bool = False, indent: bool = True) -> None:
        p = doc.add_paragraph()
        if right:
            p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        elif indent:
            p.paragraph_format.first_line_indent = Pt(32)
        _set_fonts(p.add_run(text), BODY_FONT, BODY_SIZE)

    para(t("rectification.docx.to", locale, township=notice.township), indent=False)
    if notice.rows:
        para(t("rectification.docx.body", locale, year=notice.year, n=len(notice.rows)))
        heads = [
            t(f"rectification.docx.col.{k}", locale) for k in ("n", "finding", "answers", "due", "status")
        ]
        table = doc.add_table(rows=1, cols=len(heads))
        table.style = "Table Grid"

        def cell_text(cell: _Cell, text: str, *, bold: bool = False) -> None:
            p = cell.paragraphs[0]
            p.paragraph_format.line_spacing = CELL_PITCH
            p.paragraph_format.first_line_indent = Pt(0)
            _set_fonts(p.add_run(text), TABLE_FONT, TABLE_SIZE, bold=bold)

        for cell, text in zip(table.rows[0].cells, heads, strict=True):
            cell_text(cell, text, bold=True)
        for n, row in enumerate(notice.rows, 1):
            cells = table.add_row().cells
            for cell, text in zip(
                cells, [str(n), row.finding, row.answers, row.due, row.status], strict=True
            ):
                cell_text(cell, text)
        table.autofit = False
        for column, width in zip(table.columns, COLUMNS_MM, strict=True):  # the number narrow
            column.width = Mm(width)
            for cell in column.cells:
                cell.width = Mm(width)
        doc.add_paragraph()  # a line between the table and the text below it
        para(t("rectification.docx.how", locale))
    else:
        para(t("rectification.docx.all_closed", locale, year=notice.year))
    if notice.closed:
        para(t("rectification.docx.closed", locale, n=notice.closed))
    para(t("rectification.docx.end", locale))
    para(t("rectification.docx.signed", locale), right=True)
    day = notice.issued_on
    para(t("rectification.docx.date", locale, y=day.year, m=day.month, d=day.day), right=True)
    _footers(doc)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


async def write_notice(
    session: AsyncSession,
    township_id: int,
    year: int,
    path: Path,
    locale: str,
    checklist: Checklist,
    today: date,
) -> Path | None:
    """Write the notice to ``path``; None when the township has no items for that year."""
    notice = await notice_data(session, township_id, year, locale, checklist, today)
    if notice is None:
        return None
    return await asyncio.to_thread(render, notice, path, locale)
