"""The supervision report (督查情况汇报) as a Word document, written from the data.

It follows the source report's structure — addressee; the opening (targets, period,
team); 一、the townships that did well and how; 二、the problems; 三、what must be done
before the deadline; issuing office and date — and every sentence that had a blank in
the source carries the names and counts from :class:`bot.reports.summary.Summary`.

What it can say is the checklist's: each section's sentences are those of the groups the
checklist declares for it (``report.groups``), in the catalogue's words for "none", "some"
and "all" of the townships whose answers can tell. A sentence about every township
("各乡镇都…") appears only when every township in scope was inspected and meets it; with
part of them inspected it speaks of those ("已检查的7个乡镇都…"); a group no answer can
speak to is left out; with no inspection submitted, each part says there is no record.
An appendix (附表) lists every township with its status, inspector, date, score and the
groups its answers put it in.

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
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.section import Section
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from bot.engine import QType
from bot.i18n import DEFAULT_LOCALE, catalogue, normalise_locale, t
from bot.rectification.progress import by_key, tally
from bot.rectification.yoy import compare_years
from bot.reports.summary import (
    Summary,
    TownshipYear,
    VillageCount,
    join_names,
    local_today,
    money,
    number,
    percent,
)
from storage.models import InspectionStatus
from storage.queries.summary import InspectionRow

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
H1_FONT = "黑体"
H2_FONT = "楷体_GB2312"
PAGE_FONT = "宋体"
TABLE_FONT = "仿宋_GB2312"
LATIN_FONT = "Times New Roman"
TITLE_SIZE = Pt(22)  # 二号
BODY_SIZE = Pt(16)  # 三号
PAGE_SIZE = Pt(14)  # 四号
TABLE_SIZE = Pt(10.5)  # 五号
LINE_PITCH = Pt(28.95)  # 22 lines in the 225 mm type area
CHAR = 16  # points: one full-width character of 三号
INDENT = Pt(2 * CHAR)  # two characters
NAMES_LIMIT = 8  # names in a sentence before "A、B、C等N个乡镇" (the whole list is in the appendix)
APPENDIX_LIMIT = 3000  # townships listed one by one in the appendix (beyond: the Excel export)


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
    names_limit: int = NAMES_LIMIT
    appendix_limit: int = APPENDIX_LIMIT


@dataclass
class Block:
    kind: str  # title | addressee | body | h1 | h2 | signature | date | appendix (its heading) | table
    text: str
    rows: list[list[str]] = field(default_factory=list)  # a table's: the header first


@dataclass
class ReportText:
    blocks: list[Block] = field(default_factory=list)

    def add(self, kind: str, text: str, rows: list[list[str]] | None = None) -> None:
        self.blocks.append(Block(kind, text, rows or []))

    def text(self) -> str:
        """The words of the report before the appendix's table (what a reader reads)."""
        return "\n".join(b.text for b in self.blocks if b.kind != "table")


# The words -----------------------------------------------------------------------------------


class _Writer:
    """Sentences of the report for one summary and locale. Every sentence about townships
    is a group's (declared in the checklist) or a figure's, and says of whom it speaks."""

    def __init__(self, summary: Summary, options: ReportOptions, details: dict[int, InspectionRow]) -> None:
        self.s = summary
        self.o = options
        self.loc = normalise_locale(options.locale)
        self.details = details
        self.out = ReportText()
        self.rules = summary.rules
        self.sections = list(self.rules.report.sections) if self.rules and self.rules.report else []

    def t(self, key: str, **params: object) -> str:
        return t(f"report.{key}", self.loc, **params)

    def has(self, key: str) -> bool:
        key = f"report.{key}"
        return key in catalogue(self.loc) or key in catalogue(DEFAULT_LOCALE)

    def names(self, group: list[TownshipYear], limit: int | None = None) -> str:
        return join_names([ty.name for ty in group], self.loc, limit or self.o.names_limit)

    def date(self, day: date) -> str:
        return self.t("date", y=day.year, m=day.month, d=day.day)

    def scope(self, checked: int, submitted: int, total: int) -> str:
        if checked == total:
            return self.t("scope.all")
        if checked == submitted:
            return self.t("scope.checked", n=checked)
        return self.t("scope.answered", n=checked)

    def group(self, key: str) -> str:
        """The sentence about one group: its townships, or what the inspected show; nothing
        when no answer tells."""
        assert self.rules is not None
        cov = self.s.coverage(key)
        form = cov.form
        if form == "silent":
            return ""
        g = self.rules.group(key)
        if form == "none" and cov.everywhere and self.has(f"group.{key}.every"):
            form = "every"  # every township in scope inspected, none in the group: 各乡镇都…
        own = f"group.{key}.{form}"
        template = own if self.has(own) else f"generic.{g.polarity}.{form}"
        if not self.has(own) and form == "none" and g.polarity == "good":
            return ""  # a practice not found is not a claim worth making
        params: dict[str, object] = {
            "names": self.names(cov.members),
            "n": len(cov.members),
            "scope": self.scope(cov.checked, cov.submitted, cov.total),
            "label": g.text(self.loc),
            "year": self.s.year,
        }
        if g.total is not None:
            amount = self.s.total_of(g.total, cov.members)
            question = self.rules.question(g.total) if self.rules.has_question(g.total) else None
            unit = question.unit_text(self.loc) if question else ""
            params["total"] = money(amount, self.loc) if unit in ("元", "yuan") else number(amount) + unit
        if g.by is not None:
            item = f"group.{key}.item" if self.has(f"group.{key}.item") else "generic.item"
            params["by"] = self.t("ask_sep").join(
                self.t(item, value=number(value), names=self.names(members), n=len(members))
                for value, members in self.s.by_answer(g.by, cov.members)
            )
        return self.t(template, **params)

    def section_groups(self, section: str) -> list[str]:
        assert self.rules is not None
        return [g.key for g in self.rules.groups() if g.section == section]

    # Parts ----------------------------------------------------------------------------

    def build(self) -> ReportText:
        s = self.s
        self.out.add("title", self.t("title", region=s.region or "", year=s.year))
        self.out.add("addressee", self.t("addressee", addressee=self.o.addressee))
        self.opening()
        self.out.add("h1", self.t("h1_good"))
        self.good()
        self.compared()
        self.out.add("h1", self.t("h1_problems"))
        self.problems()
        self.out.add("h1", self.t("h1_next"))
        self.next_steps()
        self.rectification()
        self.out.add("signature", self.o.issuer)
        self.out.add("date", self.date(self.o.today or local_today(self.o.tz)))
        self.appendix()
        return self.out

    def opening(self) -> None:
        s = self.s
        period = s.period_dates(self.o.tz)
        if period is None:
            when = self.t("period_none")
        elif period[0] == period[1]:
            when = self.date(period[0])
        else:
            when = self.t("period", start=self.date(period[0]), end=self.date(period[1]))
        rest = []
        for status in (InspectionStatus.draft, InspectionStatus.returned, "not_inspected"):
            group = s.by_status.get(status, [])
            if group:
                rest.append(self.t(f"coverage_{status}", n=len(group), names=self.names(group)))
        submitted = len(s.counted)
        if submitted == s.total and s.total:
            coverage = self.t("coverage_all", total=s.total)
        elif submitted:
            coverage = self.t("coverage", submitted=submitted, rest="".join(rest))
        else:
            coverage = self.t("coverage_none", rest="".join(rest).lstrip("；; ")) if rest else ""
        targets = {
            "year": s.year,
            "township_target": percent(s.target.township_target),
            "village_target": percent(s.target.village_target),
            "total": s.total,
            "coverage": coverage,
        }
        if not submitted:
            today = self.date(self.o.today or local_today(self.o.tz))
            self.out.add("body", self.t("opening_none", today=today, **targets))
            return
        self.out.add("body", self.t("opening", when=when, team=self.team(), **targets))

    def team(self) -> str:
        team = self.s.team
        if team is not None and team.leader:
            leader = (
                self.t("team_person", name=team.leader, title=team.leader_title or "")
                if team.leader_title
                else team.leader
            )
            people = [
                self.t("team_person", name=m.get("name", ""), title=m.get("title", ""))
                if m.get("title")
                else m.get("name", "")
                for m in team.members
            ]
            members = (
                self.t("team_members", members=t("summary.sep", self.loc).join(people)) if people else ""
            )
            return self.t("team", leader=leader, members=members)
        return self.t("inspectors", names=join_names(self.s.period.inspectors, self.loc))

    def paragraph(self, sentences: list[str], prefix: str = "") -> None:
        text = "".join(x for x in sentences if x)
        self.out.add("body", prefix + text if text else self.t("no_record_section"))

    def good(self) -> None:
        s = self.s
        if not s.counted:
            self.out.add("body", self.t("no_record"))
            return
        found = self.t("found") if len(s.counted) == s.total else self.t("found_scoped", n=len(s.counted))
        practice = [sec for sec in self.sections if sec.part == "practice"]
        for section in (sec for sec in self.sections if sec.part == "found"):
            sentences = [self.group(key) for key in self.section_groups(section.key)]
            if "township_target" in section.show:
                sentences.append(self.township_target())
            self.paragraph(sentences, found)
        shown = [
            (sec, [self.group(k) for k in self.section_groups(sec.key) if self.s.group(k)])
            for sec in practice
        ]
        shown = [(sec, sentences) for sec, sentences in shown if any(sentences)]
        if not shown:
            if practice:
                self.out.add("body", self.t("practice_none"))
            return
        self.out.add("body", self.t("practice_intro"))
        for n, (section, sentences) in enumerate(shown):
            self.out.add("h2", self.heading(n, section.text(self.loc)))
            self.paragraph(sentences)

    def heading(self, n: int, title: str) -> str:
        numbers = self.t("numbers").split(",")
        return self.t("number", n=numbers[n] if n < len(numbers) else n + 1) + title

    def township_target(self) -> str:
        s = self.s
        target = percent(s.target.township_target)
        verdict = (
            self.t("target.met", target=target)
            if s.completion_met
            else self.t("target.short", target=target, need=s.completion_needed)
        )
        missing = s.total - len(s.counted)
        partial = self.t("target.township_partial", n=missing) if missing else ""
        return self.t(
            "target.township", total=s.total, share=percent(s.completion), verdict=verdict, partial=partial
        )

    def village_target(self) -> str:
        s = self.s
        if s.village_keys is None:
            return ""
        v = s.villages
        target = percent(s.target.village_target)
        verdict = self.t("target.village_met" if s.village_met else "target.village_short", target=target)
        text = self.t(
            "target.villages",
            townships=s.total,
            total=v.total,
            part=v.part,
            rate=percent(v.rate),
            verdict=verdict,
        )
        if v.townships_villages:  # the villages behind these townships' rate, by name
            lines = [self.village_line(ty, counted) for ty, counted in s.from_villages]
            joined = t("checklists.report.line_sep", self.loc).join(lines)
            text += t("checklists.report.from_villages", self.loc, n=v.townships_villages, lines=joined)
        if v.townships_registry:
            text += self.t(
                "target.villages_partial", k=v.townships_reported, reported=v.reported, m=v.townships_registry
            )
        slow = s.villages_slow
        key = "target.villages_slow.some" if slow else "target.villages_slow.none"
        return text + self.t(key, target=target, names=self.names(slow), n=len(slow))

    def village_line(self, ty: TownshipYear, counted: VillageCount) -> str:
        """太平乡检查了3个村（社区）：已建档的有红旗村、新村，未建档的有东街社区。"""
        sep = t("summary.sep", self.loc)
        none = t("checklists.report.none", self.loc)
        line = t(
            "checklists.report.village_line",
            self.loc,
            township=ty.name,
            inspected=counted.inspected,
            established=sep.join(counted.established) or none,
            not_established=sep.join(counted.not_established) or none,
        )
        if counted.untold:
            line += t("checklists.report.untold", self.loc, names=sep.join(counted.untold))
        rest = counted.total(ty.township.villages) - counted.inspected
        if rest:
            line += t("checklists.report.rest", self.loc, n=rest)
        return line

    def problems(self) -> None:
        s = self.s
        if not s.counted:
            self.out.add("body", self.t("no_record"))
            return
        intro = (
            self.t("problems_intro_all")
            if len(s.counted) == s.total
            else self.t("problems_intro", n=len(s.counted))
        )
        self.out.add("body", intro)
        for n, section in enumerate(sec for sec in self.sections if sec.part == "problems"):
            self.out.add("h2", self.heading(n, section.text(self.loc)))
            sentences = [self.group(key) for key in self.section_groups(section.key)]
            if "village_target" in section.show:
                sentences.append(self.village_target())
            self.paragraph(sentences)

    def next_steps(self) -> None:
        s = self.s
        days = s.days_left
        deadline = self.date(s.deadline)
        if days > 0:
            intro = self.t("deadline_future", deadline=deadline, days=days)
        elif days == 0:
            intro = self.t("deadline_today", deadline=deadline)
        else:
            intro = self.t("deadline_past", deadline=deadline, days=-days, need=s.completion_needed)
        missing = s.by_status.get("not_inspected", [])
        pending = len(s.by_status.get(InspectionStatus.draft, [])) + len(
            s.by_status.get(InspectionStatus.returned, [])
        )
        if missing and pending:
            intro += self.t("next_inspect", n=len(missing), names=self.names(missing), m=pending)
        elif missing:
            intro += self.t("next_inspect_missing", n=len(missing), names=self.names(missing))
        elif pending:
            intro += self.t("next_inspect_pending", m=pending)
        self.out.add("body", intro + self.t("next_intro"))
        assert self.rules is not None or not self.sections
        for n, section in enumerate(sec for sec in self.sections if sec.part == "next"):
            self.out.add("h2", self.heading(n, section.text(self.loc)))
            if not s.counted:
                self.out.add("body", self.t("no_record"))
                continue
            clauses = []
            for g in self.rules.groups() if self.rules else []:
                members = s.group(g.key)
                if g.ask != section.key or not members:
                    continue
                key = f"ask.{g.key}"
                params = {"n": len(members), "names": self.names(members), "label": g.text(self.loc)}
                clauses.append(self.t(key, **params) if self.has(key) else self.t("ask_generic", **params))
            if not clauses:
                self.out.add("body", self.t("next_none"))
                continue
            text = self.t("ask_sep").join(clauses) + self.t("ask_end")
            if self.has(f"addressee_ask.{section.key}"):
                text += self.t(f"addressee_ask.{section.key}", addressee=self.o.addressee)
            self.out.add("body", text)
        if s.team is not None and s.team.asks:
            self.out.add("body", self.t("asks_text", asks=s.team.asks))

    def compared(self) -> None:
        """The year against the one before (where the summary was read with it)."""
        keys = [g.key for g in self.rules.groups()] if self.rules else []
        lines = compare_years(self.s, keys, self.loc)
        if lines:
            text = lines[0] + "".join(lines[1:])
            self.out.add(
                "body", text[:-1] + t("rectification.yoy.end", self.loc) if text[-1] in "；;" else text
            )

    def rectification(self) -> None:
        """四、整改情况: the items the year's inspections raised — closed, outstanding (overdue) —
        and the townships still owing, by name; nothing said of a year without records."""
        s, loc = self.s, self.loc
        self.out.add("h1", t("rectification.report.h1", loc))
        if not s.items:
            key = "rectification.report.none" if s.counted else "rectification.report.no_record"
            self.out.add("body", t(key, loc, n=len(s.counted)))
            return
        today = self.o.today or local_today(self.o.tz)
        c = tally(s.items, today)
        self.out.add(
            "body",
            t(
                "rectification.report.raised",
                loc,
                n=c.raised,
                closed=c.closed,
                accepted=c.accepted,
                answers=c.closed - c.accepted,
                reported=c.reported,
                open=c.open,
                overdue=t("rectification.counts.overdue", loc, n=c.overdue) if c.overdue else "",
            ),
        )
        names = {ty.township.id: ty.name for ty in s.townships}
        owing = {k: v for k, v in by_key(s.items, names, today).items() if v.outstanding}
        if owing:
            listed = t("people.list_separator", loc).join(
                t("rectification.report.township", loc, name=name, n=c.outstanding)
                for name, c in owing.items()
            )
            self.out.add("body", t("rectification.report.owing", loc, n=len(owing), names=listed))
        else:
            self.out.add("body", t("rectification.report.all_closed", loc))

    def _photos(self, ty: TownshipYear) -> int:
        """The photos the township's inspection holds (its photo questions' counts)."""
        if self.rules is None or ty.inspection is None:
            return 0
        keys = {q.key for q in self.rules.questions() if q.type is QType.photo}
        return int(sum(v for k, v in ty.inspection.numbers.items() if k in keys))

    def appendix(self) -> None:
        s = self.s
        self.out.add("appendix", self.t("h1_appendix"))
        if s.total > self.o.appendix_limit:
            self.out.add("body", self.t("appendix.too_many", n=s.total, limit=self.o.appendix_limit))
            return
        self.out.add("body", self.t("appendix.note", n=s.total))
        sep = self.t("appendix.sep")
        rows = [self.t("appendix.cols").split("|")]
        for n, ty in enumerate(s.townships, 1):
            ins = ty.inspection
            detail = self.details.get(ins.id) if ins else None
            stamp = None
            if detail is not None:
                stamp = (
                    detail.submitted_at if ins and ins.status != InspectionStatus.draft else detail.updated_at
                )
            groups = ""
            if ty.counted and self.rules is not None:
                good = [
                    g.text(self.loc)
                    for g in self.rules.groups()
                    if g.polarity == "good" and ty.in_group(g.key)
                ]
                bad = [
                    g.text(self.loc)
                    for g in self.rules.groups()
                    if g.polarity == "problem" and ty.in_group(g.key)
                ]
                parts = [self.t("appendix.problem") + "、".join(bad)] if bad else []
                parts += [self.t("appendix.good") + "、".join(good)] if good else []
                groups = sep.join(parts)
            rows.append(
                [
                    str(n),
                    ty.township.area_name,
                    ty.name,
                    t(f"status.state.{ty.status}", self.loc),
                    (detail.inspector_name or "") if detail else "",
                    stamp.astimezone(self.o.tz).strftime("%Y-%m-%d") if stamp else "",
                    str(ins.score) if ins and ty.counted and ins.score is not None else "",
                    str(self._photos(ty)) if ty.counted else "",
                    groups,
                ]
            )
        self.out.add("table", "", rows)


def report_text(
    summary: Summary, options: ReportOptions, details: dict[int, InspectionRow] | None = None
) -> ReportText:
    """The report's paragraphs, in order, before layout (``details``: the inspections'
    inspector and dates, for the appendix)."""
    return _Writer(summary, options, details or {}).build()


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


# Column widths of the appendix, in twentieths of a point (the type area is 156 mm ≈ 8845).
APPENDIX_WIDTHS = (600, 950, 950, 750, 800, 1100, 600, 600, 2495)
# In the Word document the appendix is a landscape section (GB/T 9704 allows a table turned
# sideways), 243 mm ≈ 13780 wide: the groups column gets the room.
APPENDIX_WIDTHS_WIDE = (600, 1300, 1300, 1000, 900, 1300, 600, 600, 6180)


def _table(doc: DocumentObject, rows: list[list[str]]) -> None:
    """The appendix: a grid whose header repeats on every page. Written as one piece of
    XML (python-docx adds rows one object at a time, far too slowly for thousands)."""
    widths = (
        APPENDIX_WIDTHS_WIDE
        if len(rows[0]) == len(APPENDIX_WIDTHS_WIDE)
        else (sum(APPENDIX_WIDTHS_WIDE) // len(rows[0]),) * len(rows[0])
    )
    run = (
        f'<w:rPr><w:rFonts w:ascii="{LATIN_FONT}" w:hAnsi="{LATIN_FONT}" w:eastAsia="{TABLE_FONT}"/>'
        f'<w:sz w:val="{int(TABLE_SIZE.pt * 2)}"/></w:rPr>'
    )
    para = (
        '<w:pPr><w:spacing w:before="0" w:after="0" w:line="280" w:lineRule="exact"/>'
        '<w:ind w:firstLine="0"/></w:pPr>'
    )

    def cell(text: str, width: int) -> str:
        return (
            f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr><w:p>{para}'
            f'<w:r>{run}<w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p></w:tc>'
        )

    border = "".join(
        f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
        for side in ("top", "left", "bottom", "right", "insideH", "insideV")
    )
    parts = [
        f'<w:tbl {nsdecls("w")}><w:tblPr><w:tblW w:w="{sum(widths)}" w:type="dxa"/>'
        f'<w:tblBorders>{border}</w:tblBorders><w:tblLayout w:type="fixed"/></w:tblPr><w:tblGrid>',
        *(f'<w:gridCol w:w="{w}"/>' for w in widths),
        "</w:tblGrid>",
    ]
    for n, values in enumerate(rows):
        header = (
            "<w:trPr><w:tblHeader/><w:cantSplit/></w:trPr>" if n == 0 else "<w:trPr><w:cantSplit/></w:trPr>"
        )
        parts.append(
            "<w:tr>" + header + "".join(cell(v, w) for v, w in zip(values, widths, strict=True)) + "</w:tr>"
        )
    parts.append("</w:tbl>")
    body = doc.element.body
    body.find(qn("w:sectPr")).addprevious(parse_xml("".join(parts)))


def _landscape(section: Section) -> None:
    """The appendix's section: A4 turned sideways, the same margins along the long sides
    (page numbers keep their place below the text, as GB/T 9704 asks of a turned table)."""
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    section.top_margin, section.bottom_margin = Mm(28), Mm(30)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.footer_distance = Mm(18)


def build_document(text: ReportText) -> DocumentObject:
    doc = Document()
    _prepare(doc)
    for block in text.blocks:
        if block.kind == "table":
            if block.rows:
                _table(doc, block.rows)
            continue
        if block.kind == "title":
            p = doc.add_paragraph(style="Title")
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
            p.paragraph_format.line_spacing = Pt(35)
            _set_fonts(p.add_run(block.text), TITLE_FONT, TITLE_SIZE)
            doc.add_paragraph()  # one blank line between the title and the addressee
            continue
        if block.kind == "appendix":
            _landscape(doc.add_section(WD_SECTION.NEW_PAGE))
        if block.kind in ("h1", "appendix"):
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
        if block.kind in ("body", "h1", "h2", "appendix"):
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


def write_report(
    summary: Summary, path: Path, options: ReportOptions, details: dict[int, InspectionRow] | None = None
) -> Path:
    """Write the report for ``summary`` to ``path`` (.docx)."""
    return write_text(report_text(summary, options, details), path, options)


def write_text(text: ReportText, path: Path, options: ReportOptions) -> Path:
    """Lay out the report's paragraphs as a Word document in ``path``."""
    doc = build_document(text)
    doc.core_properties.title = text.blocks[0].text
    doc.core_properties.author = options.issuer
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path
