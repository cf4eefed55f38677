"""The supervision report (督查情况汇报) as a Word document, written from the data.

It follows the source report's structure — addressee; the opening (targets, period,
team); 一、the townships that did well and how; 二、the problems; 三、what must be done
before the deadline; issuing office and date — and every sentence that had a blank in
the source carries the names and counts from :class:`bot.reports.summary.Summary`. A
group with no township gets its own wording instead of an empty list.

Layout after GB/T 9704-2012 (党政机关公文格式) as far as python-docx allows: A4 with the
standard margins, the title in 方正小标宋简体 二号, body in 仿宋_GB2312 三号 with a fixed
line pitch (22 lines a page) and two-character first-line indents, 一、 headings in
黑体, （一） headings in 楷体_GB2312, page numbers "— 1 —" in 宋体 四号 at the foot,
odd pages right and even pages left. The East Asian font is set on every run
(``w:eastAsia``), so Word and WPS pick the Chinese font by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from bot.i18n import t
from bot.reports.summary import (
    FAST_PROGRESS,
    LAGGING_FROM,
    Summary,
    TownshipYear,
    join_names,
    local_today,
    percent,
)

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
H1_FONT = "黑体"
H2_FONT = "楷体_GB2312"
PAGE_FONT = "宋体"
LATIN_FONT = "Times New Roman"
TITLE_SIZE = Pt(22)  # 二号
BODY_SIZE = Pt(16)  # 三号
PAGE_SIZE = Pt(14)  # 四号
LINE_PITCH = Pt(28.95)  # 22 lines in the 225 mm type area
CHAR = 16  # points: one full-width character of 三号
INDENT = Pt(2 * CHAR)  # two characters


def _width(text: str) -> float:
    """The width of a line of 三号 text in points (half-width for ASCII)."""
    return sum(CHAR / 2 if ord(ch) < 0x2E80 else CHAR for ch in text)


@dataclass(frozen=True)
class ReportOptions:
    issuer: str
    addressee: str
    tz: ZoneInfo
    locale: str = "zh-CN"
    today: date | None = None


@dataclass
class Block:
    kind: str  # title | addressee | body | h1 | h2 | signature | date
    text: str


@dataclass
class ReportText:
    blocks: list[Block] = field(default_factory=list)

    def add(self, kind: str, text: str) -> None:
        self.blocks.append(Block(kind, text))

    def text(self) -> str:
        return "\n".join(b.text for b in self.blocks)


# The words -----------------------------------------------------------------------------------


class _Writer:
    """Sentences of the report for one summary and locale."""

    def __init__(self, summary: Summary, options: ReportOptions) -> None:
        self.s = summary
        self.o = options
        self.loc = options.locale
        self.out = ReportText()

    def t(self, key: str, **params: object) -> str:
        return t(f"report.{key}", self.loc, **params)

    def names(self, group: list[TownshipYear]) -> str:
        return join_names([ty.name for ty in group], self.loc)

    def date(self, day: date) -> str:
        return self.t("date", y=day.year, m=day.month, d=day.day)

    def group(self, key: str, of: str | None = None, **params: object) -> str:
        """The sentence ``key`` about the group ``of`` (default ``key``): its own wording
        for none, one and several townships."""
        members = self.s.group(of or key)
        form = "none" if not members else "one" if len(members) == 1 else "many"
        return self.t(f"g.{key}.{form}", names=self.names(members), n=len(members), **params)

    def count(self, key: str) -> int:
        return len(self.s.group(key))

    # Parts ----------------------------------------------------------------------------

    def build(self) -> ReportText:
        s = self.s
        region = s.region or ""
        self.out.add("title", self.t("title", region=region, year=s.year))
        self.out.add("addressee", self.t("addressee", addressee=self.o.addressee))
        self.opening()
        self.out.add("h1", self.t("h1_good"))
        self.good()
        self.out.add("h1", self.t("h1_problems"))
        self.problems()
        self.out.add("h1", self.t("h1_next"))
        self.next_steps()
        self.out.add("signature", self.o.issuer)
        self.out.add("date", self.date(self.o.today or local_today(self.o.tz)))
        return self.out

    def opening(self) -> None:
        s = self.s
        period = s.period(self.o.tz)
        if period is None:
            when = self.t("period_none")
        elif period[0] == period[1]:
            when = self.date(period[0])
        else:
            when = self.t("period", start=self.date(period[0]), end=self.date(period[1]))
        team = (
            self.t("team", names=join_names(s.inspectors, self.loc)) if s.inspectors else self.t("team_none")
        )
        counts = {k: len(v) for k, v in s.by_status.items()}
        rest = []
        for status in ("draft", "returned", "not_inspected"):
            if counts.get(status):
                rest.append(self.t(f"opening_{status}", n=counts[status]))
        self.out.add(
            "body",
            self.t(
                "opening",
                year=s.year,
                township_target=percent(s.target.township_target),
                village_target=percent(s.target.village_target),
                when=when,
                team=team,
                total=s.total,
                submitted=counts.get("submitted", 0),
                rest="".join(rest),
            ),
        )

    def good(self) -> None:
        s = self.s
        done = self.s.completed
        verdict = (
            self.t("target_met", target=percent(s.target.township_target))
            if s.completion_met
            else self.t("target_short", target=percent(s.target.township_target), need=s.completion_needed)
        )
        self.out.add(
            "body",
            self.t("found")
            + self.group("room_standard")
            + self.t(
                f"g.filing_done.{'none' if not done else 'one' if len(done) == 1 else 'many'}",
                names=self.names(done),
                n=len(done),
                year=s.year,
                share=percent(s.completion),
                verdict=verdict,
            )
            + self.group("progressing_fast", progress=f"{FAST_PROGRESS}%")
            + self.group("certificate_received"),
        )
        good_ones = [ty for ty in s.counted if ty.in_group("filing_done") or ty.in_group("progressing_fast")]
        if not good_ones and not self.count("room_standard"):
            self.out.add("body", self.t("no_experience"))
            return
        self.out.add("body", self.t("experience_intro"))
        # (一) Leadership.
        self.out.add("h2", self.t("h2_leadership"))
        examples = [ty for ty in good_ones if ty.in_group("leadership")]
        text = self.t("leadership_text") + self.group("leadership")
        if examples:
            text += self.t("leadership_examples", names=self.names(examples))
        self.out.add("body", text)
        # (二) Rooms, people, money.
        self.out.add("h2", self.t("h2_conditions"))
        self.out.add(
            "body",
            self.t("conditions_text")
            + self.group("funded", amount=_money(s.funding_total))
            + self.group("equipment_good"),
        )
        # (三) A standing mechanism and stable archivists.
        self.out.add("h2", self.t("h2_mechanism"))
        self.out.add("body", self.t("mechanism_text") + self.group("archivist_stable"))

    def problems(self) -> None:
        s = self.s
        self.out.add("body", self.t("problems_intro"))
        self.out.add("h2", self.t("h2_attention"))
        self.out.add(
            "body",
            self.t("found")
            + self.group("filing_not_started")
            + self.group("documents_scattered")
            + self.group("no_leader")
            + self.t("attention_reason"),
        )
        self.out.add("h2", self.t("h2_rooms"))
        self.out.add(
            "body",
            self.t("found")
            + self.group("no_archive_room")
            + self.group("room_mixed")
            + self.group("no_equipment")
            + self.group("equipment_worn")
            + self.group("equipment_rotten")
            + self.group("missing_protections"),
        )
        self.out.add("h2", self.t("h2_archivists"))
        self.out.add(
            "body",
            self.t("archivists_text")
            + self.group(
                "no_archivist_or_changes",
                none_n=self.count("no_archivist"),
                changes_n=self.count("frequent_changes"),
            )
            + self.group("no_certificate"),
        )
        self.out.add("h2", self.t("h2_slow"))
        text = self.t("found") + self.group("not_started_again", of="filing_not_started")
        if s.lagging:
            text += self.t("sep_clause").join(
                self.t("lagging_year", year=year, names=self.names(group), n=len(group))
                for year, group in s.lagging
            ) + self.t("lagging_end")
        else:
            text += self.t("lagging_none", lag=LAGGING_FROM)
        self.out.add("body", text)
        self.out.add("h2", self.t("h2_funding"))
        self.out.add(
            "body", self.t("funding_text") + self.group("no_funding", amount=_money(s.funding_total))
        )
        self.out.add("h2", self.t("h2_villages"))
        part, villages = s.villages
        verdict = (
            self.t("village_met", target=percent(s.target.village_target))
            if s.village_met
            else self.t("village_short", target=percent(s.target.village_target))
        )
        kinds = self.t(
            "village_kinds",
            tax=len(s.kinds("tax_reform")),
            land=len(s.kinds("land_contract")),
            other=len(s.kinds("other")),
        )
        self.out.add(
            "body",
            self.t(
                "villages_text",
                year=s.year,
                township_target=percent(s.target.township_target),
                village_target=percent(s.target.village_target),
                done=len(s.completed),
                share=percent(s.completion),
                villages=villages,
                part=part,
                rate=percent(s.village_rate),
                verdict=verdict,
            )
            + self.group("villages_slow", target=percent(s.target.village_target))
            + kinds,
        )

    def next_steps(self) -> None:
        s = self.s
        days = s.days_left
        deadline = self.date(s.deadline)
        if days > 0:
            intro = self.t("next_future", deadline=deadline, days=days)
        elif days == 0:
            intro = self.t("next_today", deadline=deadline)
        else:
            intro = self.t("next_past", deadline=deadline, days=-days, need=s.completion_needed)
        self.out.add("body", intro + self.t("next_intro"))
        self.out.add("h2", self.t("h2_lead"))
        self.out.add(
            "body",
            self.t("lead_text")
            + self._clauses(
                "lead_clause",
                [
                    ("filing_not_started", "clause.not_started"),
                    ("no_archivist_or_changes", "clause.archivists"),
                ],
                "lead_none",
            ),
        )
        self.out.add("h2", self.t("h2_money"))
        self.out.add(
            "body",
            self._clauses(
                "money_clause",
                [
                    ("no_funding", "clause.no_funding"),
                    ("no_archive_room", "clause.no_room"),
                    ("no_equipment", "clause.no_equipment"),
                    ("equipment_rotten", "clause.rotten"),
                    ("missing_protections", "clause.protections"),
                ],
                "money_none",
            )
            + self.t("money_text"),
        )
        self.out.add("h2", self.t("h2_guidance"))
        self.out.add(
            "body",
            self._clauses("guidance_clause", [("no_certificate", "clause.no_certificate")], "guidance_none")
            + self.t("guidance_text"),
        )
        self.out.add("h2", self.t("h2_certificate"))
        self.out.add(
            "body", self.group("certificate_next", of="certificate_received") + self.t("certificate_text")
        )

    def _clauses(self, wrapper: str, parts: list[tuple[str, str]], none: str) -> str:
        """ "the 3 townships without funding, the 2 without a room, …": only the non-empty ones."""
        items = [self.t(key, n=self.count(group)) for group, key in parts if self.count(group)]
        if not items:
            return self.t(none)
        return self.t(wrapper, items=self.t("sep_clause").join(items))


def _money(amount: float) -> str:
    return f"{amount:,.0f}" if amount == int(amount) else f"{amount:,.2f}"


def report_text(summary: Summary, options: ReportOptions) -> ReportText:
    """The report's paragraphs, in order, before layout."""
    return _Writer(summary, options).build()


# The layout ----------------------------------------------------------------------------------


def _set_fonts(run: Run, east_asian: str, size: Pt, *, bold: bool = False, latin: str = LATIN_FONT) -> None:
    run.font.name = latin
    run.font.size = size
    run.font.bold = bold
    run.font.color.rgb = RGBColor(0, 0, 0)
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), east_asian)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)


def _style_fonts(style: object, east_asian: str, size: Pt, *, bold: bool = False) -> None:
    font = style.font  # type: ignore[attr-defined]
    font.name = LATIN_FONT
    font.size = size
    font.bold = bold
    font.italic = False
    font.color.rgb = RGBColor(0, 0, 0)
    rpr = style.element.get_or_add_rPr()  # type: ignore[attr-defined]
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), east_asian)


def _pitch(paragraph: Paragraph) -> None:
    fmt = paragraph.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE_PITCH
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)


def _prepare(doc: DocumentObject) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    # The page number's line sits about 7 mm below the type area (35 mm margin − 7 mm − its height).
    section.footer_distance = Mm(23)
    normal = doc.styles["Normal"]
    _style_fonts(normal, BODY_FONT, BODY_SIZE)
    fmt = normal.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE_PITCH
    fmt.space_after = Pt(0)
    for name, font, size in (
        ("Title", TITLE_FONT, TITLE_SIZE),
        ("Heading 1", H1_FONT, BODY_SIZE),
        ("Heading 2", H2_FONT, BODY_SIZE),
    ):
        style = doc.styles[name]
        _style_fonts(style, font, size)
        ppr = style.element.get_or_add_pPr()
        for border in ppr.findall(qn("w:pBdr")):  # the template's Title has a rule under it
            ppr.remove(border)
        pf = style.paragraph_format
        pf.space_before = Pt(0)
        pf.space_after = Pt(0)
        pf.keep_with_next = True
    doc.core_properties.language = "zh-CN"


def _page_number(paragraph: Paragraph) -> None:
    """ "— PAGE —" with PAGE as a field Word and LibreOffice fill in."""

    def text(value: str) -> None:
        _set_fonts(paragraph.add_run(value), PAGE_FONT, PAGE_SIZE, latin=PAGE_FONT)

    text("— ")
    run = paragraph.add_run()
    _set_fonts(run, PAGE_FONT, PAGE_SIZE, latin=PAGE_FONT)
    for kind, instr in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        if kind is not None:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        elif instr == "1":
            shown = OxmlElement("w:t")
            shown.text = "1"
            run._r.append(shown)
        else:
            code = OxmlElement("w:instrText")
            code.set(qn("xml:space"), "preserve")
            code.text = instr
            run._r.append(code)
    text(" —")


def _footers(doc: DocumentObject) -> None:
    """Page numbers: odd pages at the right, even pages at the left, one character in."""
    doc.settings.odd_and_even_pages_header_footer = True
    section = doc.sections[0]
    for footer, align, side in (
        (section.footer, WD_ALIGN_PARAGRAPH.RIGHT, "right"),
        (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT, "left"),
    ):
        footer.is_linked_to_previous = False
        paragraph = footer.paragraphs[0]
        paragraph.alignment = align
        if side == "right":
            paragraph.paragraph_format.right_indent = Pt(14)
        else:
            paragraph.paragraph_format.left_indent = Pt(14)
        _page_number(paragraph)


def build_document(text: ReportText) -> DocumentObject:
    doc = Document()
    _prepare(doc)
    for block in text.blocks:
        if block.kind == "title":
            p = doc.add_paragraph(style="Title")
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
            p.paragraph_format.line_spacing = Pt(35)
            _set_fonts(p.add_run(block.text), TITLE_FONT, TITLE_SIZE)
            doc.add_paragraph()  # one blank line between the title and the addressee
            continue
        if block.kind == "h1":
            p = doc.add_paragraph(style="Heading 1")
            font = H1_FONT
        elif block.kind == "h2":
            p = doc.add_paragraph(style="Heading 2")
            font = H2_FONT
        else:
            if block.kind == "signature":
                _pitch(doc.add_paragraph())  # one blank line below the text
            p = doc.add_paragraph()
            font = BODY_FONT
        _pitch(p)
        fmt = p.paragraph_format
        if block.kind in ("body", "h1", "h2"):
            fmt.first_line_indent = INDENT
        elif block.kind == "signature":
            # GB/T 9704 7.3.5.2: the date two characters in from the right, its first
            # character two characters right of the signature's first.
            p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            shown_date = next((b.text for b in text.blocks if b.kind == "date"), "")
            width = _width(shown_date) - _width(block.text)
            fmt.right_indent = Pt(max(2 * CHAR, 2 * CHAR + width + 2 * CHAR))
        elif block.kind == "date":
            p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            fmt.right_indent = Pt(2 * CHAR)
        _set_fonts(p.add_run(block.text), font, BODY_SIZE)
    _footers(doc)
    doc.sections[0].start_type = WD_SECTION.NEW_PAGE
    return doc


def write_report(summary: Summary, path: Path, options: ReportOptions) -> Path:
    """Write the report for ``summary`` to ``path`` (.docx)."""
    text = report_text(summary, options)
    doc = build_document(text)
    doc.core_properties.title = text.blocks[0].text
    doc.core_properties.author = options.issuer
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path
