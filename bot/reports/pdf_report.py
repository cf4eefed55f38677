"""The supervision report as a PDF, to read on a phone (a .docx needs an office app there).

Typeset with fpdf2 from the same paragraphs as the Word document
(:func:`bot.reports.docx_report.report_text`), so the two never say different things. The
Chinese fonts are Noto Serif SC (body) and Noto Sans SC (headings, the appendix) from the
``pylopdf-fonts-zh-cn`` package the project depends on, embedded as subsets: the PDF reads
the same on any phone, whatever fonts it has. A4, margins of GB/T 9704, page numbers
"— 1 —" at the foot.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos

from bot.reports.docx_report import APPENDIX_WIDTHS, ReportText

MARGINS = (28.0, 37.0, 26.0, 35.0)  # left, top, right, bottom in mm (GB/T 9704)
BODY_PT, TITLE_PT, TABLE_PT = 15.0, 20.0, 9.0
LINE_MM = 8.6  # body line height: a little less than the Word document's fixed pitch
TABLE_LINE_MM = 4.6
INDENT = "\u3000\u3000"  # two full-width spaces: the first-line indent


class PdfUnavailable(RuntimeError):
    """The PDF cannot be made here (fpdf2 or the fonts are missing)."""


@cache
def fonts() -> tuple[Path, Path]:
    """(serif, sans) font files with Chinese glyphs."""
    try:
        import pylopdf_fonts_zh_cn
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise PdfUnavailable("pylopdf-fonts-zh-cn is not installed") from exc
    serif, sans = Path(pylopdf_fonts_zh_cn.serif_path()), Path(pylopdf_fonts_zh_cn.sans_path())
    if not serif.is_file() or not sans.is_file():  # pragma: no cover
        raise PdfUnavailable("the Noto SC fonts are missing")
    return serif, sans


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_y(-MARGINS[3] + 12)
        self.set_font("sans", size=11)
        align = "R" if self.page_no() % 2 else "L"
        self.cell(0, 6, f"— {self.page_no()} —", align=align)


def _document() -> _Pdf:
    serif, sans = fonts()
    pdf = _Pdf(format="A4", unit="mm")
    pdf.set_margins(MARGINS[0], MARGINS[1], MARGINS[2])
    pdf.set_auto_page_break(True, margin=MARGINS[3])
    pdf.add_font("serif", fname=str(serif))
    pdf.add_font("sans", fname=str(sans))
    pdf.set_text_shaping(False)  # CJK needs no shaping; it costs much on long tables
    return pdf


def _table(pdf: _Pdf, rows: list[list[str]]) -> None:
    """A grid with the header repeated on each page, each row as tall as its longest cell."""
    scale = pdf.epw / sum(APPENDIX_WIDTHS)
    widths = (
        [w * scale for w in APPENDIX_WIDTHS]
        if len(rows[0]) == len(APPENDIX_WIDTHS)
        else [pdf.epw / len(rows[0])] * len(rows[0])
    )
    pdf.set_font("sans", size=TABLE_PT)
    pdf.set_line_width(0.2)

    def draw(values: list[str]) -> None:
        lines: list[list[str]] = [
            list(
                pdf.multi_cell(  # type: ignore[arg-type]
                    w - 1, TABLE_LINE_MM, v or " ", dry_run=True, output="LINES", wrapmode=WrapMode.CHAR
                )
            )
            for v, w in zip(values, widths, strict=True)
        ]
        height = max(len(x) for x in lines) * TABLE_LINE_MM + 1
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
            if values is not rows[0]:
                draw(rows[0])
        x, y = pdf.l_margin, pdf.get_y()
        for text_lines, w in zip(lines, widths, strict=True):
            pdf.rect(x, y, w, height)
            for n, line in enumerate(text_lines):
                pdf.text(x + 0.5, y + 0.5 + (n + 0.8) * TABLE_LINE_MM, line)
            x += w
        pdf.set_y(y + height)

    for values in rows:
        draw(values)


# Chinese line breaking (禁则): closing punctuation never starts a line — it hangs in the margin
# at the end of the line before — and an opening bracket never ends one.
NO_LINE_START = frozenset("，。、；：？！）》」』】〕”’…%,.;:?!)]")
NO_LINE_END = frozenset("（《「『【〔“‘([")


def wrap(pdf: FPDF, width: float, text: str) -> list[str]:
    """The lines of ``text`` in the current font within ``width``, broken between any two
    characters as Chinese is, under the rules above."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for ch in paragraph:
            w = pdf.get_string_width(ch)
            if line and used + w > width and ch not in NO_LINE_START:
                carry = ""
                while len(line) > 1 and line[-1] in NO_LINE_END:
                    carry, line = line[-1] + carry, line[:-1]
                lines.append(line)
                line, used = carry, pdf.get_string_width(carry)
            line += ch
            used += w
        lines.append(line)
    return lines


def _lines(pdf: _Pdf, height: float, text: str, align: str = "L") -> None:
    """A paragraph across the type area; the next starts at the left margin below it."""
    for line in wrap(pdf, pdf.epw, text):
        pdf.cell(0, height, line, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def write_pdf(text: ReportText, path: Path) -> Path:
    """Typeset the report's paragraphs as a PDF in ``path``; PdfUnavailable if it cannot."""
    pdf = _document()
    pdf.add_page()
    for block in text.blocks:
        if block.kind == "title":
            pdf.set_font("serif", size=TITLE_PT)
            _lines(pdf, 11, block.text, align="C")
            pdf.ln(LINE_MM)
        elif block.kind in ("h1", "h2", "appendix"):
            # A heading never ends a page: with less than three lines left, it starts the next.
            if block.kind == "appendix" or pdf.get_y() + 3 * LINE_MM > pdf.page_break_trigger:
                pdf.add_page()
            pdf.set_font("sans", size=BODY_PT if block.kind != "h2" else BODY_PT - 0.5)
            _lines(pdf, LINE_MM, INDENT + block.text)
        elif block.kind == "table":
            if block.rows:
                _table(pdf, block.rows)
        elif block.kind in ("signature", "date"):
            pdf.set_font("serif", size=BODY_PT)
            if block.kind == "signature":
                pdf.ln(LINE_MM)
            _lines(pdf, LINE_MM, block.text + "\u3000\u3000", align="R")
        else:
            pdf.set_font("serif", size=BODY_PT)
            indent = "" if block.kind == "addressee" else INDENT
            _lines(pdf, LINE_MM, indent + block.text)
    pdf.set_title(text.blocks[0].text if text.blocks else "")
    pdf.set_lang("zh-CN")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path
