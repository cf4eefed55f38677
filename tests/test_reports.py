"""The status card, the summary, the report, the export and the chart name exactly the
right townships and counts for the scenario modelled on the source report."""

from __future__ import annotations

import functools
import itertools
import re
import warnings
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import func, select

import bot.reports.summary as summary_module
from bot.dialog import Who
from bot.engine import builtin_checklist
from bot.reports.chart import MAX_BARS, _area_level, cjk_font, write_chart
from bot.reports.docx_report import ReportOptions, report_text
from bot.reports.summary import (
    NOT_INSPECTED,
    InspectionFacts,
    Summary,
    TownshipYear,
    build_summary,
)
from storage.db import SessionMaker, transaction
from storage.models import AnswerChange, Inspection, InspectionFact, Person, YearTarget, table
from storage.queries.people import visible_townships
from storage.queries.registry import get_or_create_area, upsert_township
from storage.queries.summary import Scope, TownshipRow, scope_of
from storage.queries.targets import default_target
from tests.dialog_driver import Chat, make_dialog
from tests.report_scenario import ADMIN, EAST, EXPECTED, TARGET, TOWNSHIPS, WEST, WEST_SUPERVISOR, YEAR, build

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(YEAR, 11, 25, 2, 0, tzinfo=UTC)  # 2024-11-25 10:00 in Shanghai: 25 days to 12-20


@pytest.fixture
async def world(sessions: SessionMaker, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setattr(summary_module, "utcnow", lambda: NOW)
    return await build(sessions)


def chat(sessions: SessionMaker, tmp_path: Path, external_id: str) -> Chat:
    return Chat(make_dialog(sessions, tmp_path), Who("test", external_id, "某人"))


def names(group: list[TownshipYear]) -> list[str]:
    return [ty.name for ty in group]


# The numbers ---------------------------------------------------------------------------------


async def test_summary_groups_and_counts(sessions: SessionMaker, world: dict[str, Any]) -> None:
    async with sessions() as s:
        summary = await build_summary(s, Scope(), YEAR, tz=TZ, with_team=True)
    assert summary.total == len(TOWNSHIPS) == 10
    assert names(summary.townships) == EAST + WEST  # registry order: county, then the registry's
    for key, expected in EXPECTED.items():
        if key in ("villages_slow", "no_archivist_or_changes"):
            continue
        assert sorted(names(summary.group(key))) == sorted(expected), key
    assert sorted(names(summary.villages_slow)) == sorted(EXPECTED["villages_slow"])
    counts = {k: names(v) for k, v in summary.by_status.items()}
    assert counts["draft"] == ["大坪乡"] and counts["returned"] == ["红岩乡"]
    assert counts[NOT_INSPECTED] == ["青山乡"] and len(counts["submitted"]) == 7
    # Targets come from the year's row: 60 % of 10 townships is 6; one is done.
    assert summary.deadline == date(YEAR, 12, 20) and summary.days_left == 25
    assert len(summary.completed) == 1 and summary.completion == 0.1
    assert summary.completion_needed == 5 and not summary.completion_met
    # Villages over the registry: the 7 submitted inspections' own counts, the registry's for
    # the other 3 townships (大坪乡 5, 青山乡 11, 红岩乡 4), none of theirs established.
    v = summary.villages
    assert (v.part, v.reported) == (12 + 10 + 3 + 0 + 6 + 2 + 6, 12 + 18 + 9 + 10 + 8 + 7 + 6)
    assert v.total == 70 + 5 + 11 + 4 and (v.townships_reported, v.townships_registry) == (7, 3)
    assert not summary.village_met
    lagging = summary.by_answer("filed_up_to", summary.group("filing_lagging"))
    assert [(year, names(group)) for year, group in lagging] == [
        (YEAR - 5, ["龙山乡"]),
        (YEAR - 4, ["河口乡"]),
        (YEAR - 3, ["新华乡"]),
    ]
    assert names(summary.group("kinds_land_contract")) == ["太平乡", "城关镇"]
    assert summary.total_of("funding_amount", summary.group("funded")) == 8000 + 5000 + 3000 + 5000
    assert summary.period.inspectors == ["李督查", "王督查"]
    assert summary.region == "示例市"  # everything: the registry's one city
    # A question version 1 of the scenario never asked: nobody is known, nothing is said.
    assert summary.coverage("top_leader").form == "silent"
    await check_scope_follows_the_access_rules(sessions, world)
    await check_a_year_without_target_row_uses_the_defaults(sessions)
    await check_report_phrases_empty_groups(sessions)
    await check_report_in_english(sessions)
    await check_the_cache_follows_changes(sessions, world)  # last: it changes the data


async def check_the_cache_follows_changes(sessions: SessionMaker, world: dict[str, Any]) -> None:
    """Facts computed on reading are kept; a changed answer or status is read again."""
    from bot.reports.facts import row
    from storage.queries.inspections import find_inspection, reopen, set_answer
    from storage.queries.summary import keep_facts

    async with transaction(sessions) as s:  # the facts computed are kept in the database

        async def keep(rows: list[dict[str, Any]]) -> None:
            await keep_facts(s, rows)

        before = await build_summary(s, Scope(), YEAR, tz=TZ, keep=keep)
    assert "石门镇" in names(before.group("no_equipment"))
    async with sessions() as s:
        kept = await s.scalar(select(func.count()).select_from(table(InspectionFact)))
        i = table(Inspection)
        submitted = await s.scalar(select(func.count()).where(i.c.status == "submitted", i.c.year == YEAR))
    assert kept == submitted  # drafts and returned ones have none: they are not counted
    calls: list[int] = []

    async def count(rows: list[dict[str, Any]]) -> None:
        calls.append(len(rows))

    async with sessions() as s:
        again = await build_summary(s, Scope(), YEAR, tz=TZ, keep=count)
    assert calls == []  # nothing computed again: every kept fact is current
    assert {k: names(again.group(k)) for k in again.group_keys} == {
        k: names(before.group(k)) for k in before.group_keys
    }
    async with transaction(sessions) as s:
        shimen = await find_inspection(s, world["石门镇"], YEAR)
        assert shimen is not None and shimen.id is not None
        await set_answer(s, shimen.id, "has_equipment", True, world["inspector"], current=None)
        await set_answer(s, shimen.id, "equipment_state", "rotten", world["inspector"], current=None)
        taiping = await find_inspection(s, world["太平乡"], YEAR)
        assert taiping is not None
        await reopen(s, taiping)
    async with sessions() as s:
        after = await build_summary(s, Scope(), YEAR, tz=TZ, keep=count)
    assert calls == [1]  # 石门镇 only (太平乡 is a draft now)
    assert names(after.group("no_equipment")) == ["龙山乡"]
    assert names(after.group("equipment_rotten")) == ["石门镇", "河口乡"]
    assert names(after.group("filing_done")) == [] and "太平乡" in names(after.by_status["draft"])
    assert row  # the same function writes the rows on submit (see test_report_facts)


async def check_scope_follows_the_access_rules(sessions: SessionMaker, world: dict[str, Any]) -> None:
    async with sessions() as s:
        for person_id in (world["inspector"], world["other"], world["supervisor"], world["west_supervisor"]):
            person = await s.get(Person, person_id)
            assert person is not None
            visible = sorted(t.name for t in await visible_townships(s, person))
            scope = await scope_of(s, person)
            summary = await build_summary(s, scope, YEAR, tz=TZ)
            assert sorted(names(summary.townships)) == visible, person.name
        west = await s.get(Person, world["west_supervisor"])
        assert west is not None
        summary = await build_summary(s, await scope_of(s, west), YEAR, tz=TZ)
    assert sorted(names(summary.townships)) == sorted(WEST) and summary.region == "西县"
    assert names(summary.group("no_funding")) == ["新华乡", "龙山乡", "河口乡"]
    assert names(summary.group("filing_done")) == []


async def check_a_year_without_target_row_uses_the_defaults(sessions: SessionMaker) -> None:
    async with sessions() as s:
        summary = await build_summary(s, Scope(), YEAR - 1, tz=TZ, today=date(YEAR - 1, 12, 31))
    assert summary.target.deadline == default_target(YEAR - 1).deadline and summary.days_left == 0
    assert summary.target.township_target == 0.8
    assert len(summary.counted) == 2 and len(summary.by_status[NOT_INSPECTED]) == 8
    assert names(summary.group("no_equipment")) == ["城关镇"]
    assert summary.coverage("no_equipment").form == "some"


# The status card -----------------------------------------------------------------------------


async def test_status_and_summary_in_the_chat(
    sessions: SessionMaker, world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inspector = chat(sessions, tmp_path, "100")
    await inspector.say("/status 太平")
    card = inspector.text
    assert card.startswith("📋 太平乡（东县）")
    assert f"{YEAR} 年度：已提交 · 督查员 李督查" in card
    # One line a section of the checklist, the questions by their short names.
    assert "档案室：专门档案室 是；档案室规范 是；与杂物混放 否；铁门 是；铁窗 是" in card
    assert "人员：档案员 专职；上岗证 是；今年参加培训 是；近三年调换 0 次" in card
    assert "经费：整档经费 是；经费金额 8000 元" in card
    assert f"已归档到 {YEAR - 1} 年" in card and "本年度归档任务完成 是" in card
    assert "归档滞后 1 年" in card and "村(社区)建档率 100%" in card
    assert "尚未提交" not in card
    assert "✅ 已完成本年度归档任务" in card and "✅ 已取得归档合格证" in card
    assert "得分：100 / 100" in card
    change = next(line for line in card.splitlines() if line.startswith(f"较 {YEAR - 1} 年度"))
    assert f"归档年度 {YEAR - 4} → {YEAR - 1}" in change and "村建档率 66.7% → 100%" in change
    assert re.search(r"得分 \+\d+", change)
    assert f"· {YEAR - 1} 年度：已提交" in card

    # Problems, most severe first; a township not assigned to the inspector is not found.
    await inspector.say("/status 城关镇")
    assert f"较 {YEAR - 1} 年度" in inspector.text and "已解决：没有档案装具" in inspector.text
    await inspector.say("/status 新华")
    assert inspector.text == "没有找到名称含「新华」的乡镇（或您无权查看该乡镇）。"
    await inspector.say("/status")
    assert inspector.labels() == ["太平乡", "城关镇"]

    supervisor = chat(sessions, tmp_path, "300")
    await supervisor.say("/status 龙山乡怎么样？")
    card = supervisor.text
    assert card.startswith("📋 龙山乡（西县）")
    problems = [line for line in card.splitlines() if line[:1] in "🔴🟠"]
    assert problems[0].startswith("🔴") and problems[-1].startswith("🟠")
    assert "🔴 整档工作尚未开始" in card and "🔴 没有档案员" in card
    await supervisor.say("/status 东县太平乡")
    assert supervisor.text.startswith("📋 太平乡（东县）")
    await supervisor.say("/status 乡")
    assert supervisor.labels() == sorted(
        n for n in TOWNSHIPS if n.endswith("乡")
    )  # shortest first, then by name
    await supervisor.press("河口乡")
    assert supervisor.text.startswith("📋 河口乡（西县）") and "🔴 装具腐烂霉变" in supervisor.text
    await supervisor.say("/status 大坪")
    assert f"{YEAR} 年度：草稿（未提交）" in supervisor.text
    assert "（尚未提交，不计入汇总和督查报告）" in supervisor.text
    await supervisor.say("/status 青山")
    assert "还没有任何年度的检查记录" in supervisor.text

    await check_status_keeps_the_inspection_going(sessions, tmp_path)
    await check_summary_message(sessions, tmp_path, monkeypatch)

    # The same name in two counties: buttons name the county.
    async with transaction(sessions) as s:
        west = await get_or_create_area(s, "西县")
        await upsert_township(s, west, "太平乡", 3)
    await supervisor.say("/status 太平乡")
    assert supervisor.labels() == ["太平乡（东县）", "太平乡（西县）"]
    west_supervisor = chat(sessions, tmp_path, WEST_SUPERVISOR)
    await west_supervisor.say("/status 太平乡")
    assert west_supervisor.text.startswith("📋 太平乡（西县）")
    # A button for a township out of the person's area is refused.
    await west_supervisor.send(supervisor_button(supervisor, "太平乡（东县）"))
    assert west_supervisor.notice == "您没有查看该乡镇的权限。"


def supervisor_button(c: Chat, label: str) -> Any:
    from bot.dialog import Input

    data = next(b.data for b in c.buttons if b.label == label)
    return Input("button", data=data)


async def check_status_keeps_the_inspection_going(sessions: SessionMaker, tmp_path: Path) -> None:
    inspector = chat(sessions, tmp_path, "100")
    await inspector.say("/inspect 太平乡")
    await inspector.press("本年度")
    assert "【" in inspector.text
    await inspector.say("/status 城关")
    assert inspector.replies[0].text.startswith("📋 城关镇")
    assert "【" in inspector.replies[-1].text  # the current question again


# The summary ---------------------------------------------------------------------------------


async def check_summary_message(
    sessions: SessionMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    supervisor = chat(sessions, tmp_path, "300")
    await supervisor.say(f"/summary {YEAR}")
    text = supervisor.text
    assert text.startswith(f"📊 {YEAR} 年度乡镇档案工作进展（示例市，共 10 个乡镇）")
    assert f"⏳ 距截止日期 {YEAR}-12-20 还有 25 天" in text
    assert (
        "✅ 完成年度归档任务：1/10（10%，按范围内全部乡镇计，其中 3 个未提交的按未完成计），"
        "目标 60%，还差 5 个乡镇" in text
    )
    # Over the registry: the 3 townships without a record count with their villages, none established.
    assert (
        "🏘 村(社区)建档率：39/90（43.3%，按乡镇名录计，其中 3 个乡镇尚无检查记录、其村(社区)按未建档计），"
        "目标 70%，未达到目标" in text
    )
    assert "📝 已提交 7 · 草稿 1 · 退回修改 1 · 未检查 1" in text
    assert "未检查：青山乡" in text and "草稿未提交：大坪乡" in text and "退回修改：红岩乡" in text
    checklist = builtin_checklist()
    for key in (
        "filing_done",
        "filing_not_started",
        "no_archive_room",
        "room_mixed",
        "no_equipment",
        "equipment_rotten",
        "no_archivist",
        "frequent_changes",
        "no_funding",
    ):
        want = [n for n in EAST + WEST if n in EXPECTED[key]]
        label = checklist.group(key).text("zh-CN")
        assert f"· {label}（{len(want)}）：{'、'.join(want)}" in text, label
    # Every group with townships has a button listing them with the answers behind it.
    await supervisor.press("没有安排整档经费（3）")
    assert supervisor.text == (
        f"{YEAR} 年度 · 没有安排整档经费（共 3 个）：\n"
        "新华乡：整档经费 否\n龙山乡：整档经费 否\n河口乡：整档经费 是；经费金额 0 元"
    )

    # Long lists fold.
    monkeypatch.setattr("bot.dialog.reports.FOLD", 2)
    await supervisor.say(f"/summary {YEAR}年")
    assert "· 档案与杂物混放（3）：新华乡、龙山乡等3个乡镇" in supervisor.text

    west = chat(sessions, tmp_path, WEST_SUPERVISOR)
    await west.say(f"/summary {YEAR}")
    assert "（西县，共 5 个乡镇）" in west.text and "完成年度归档任务：0/5" in west.text

    inspector = chat(sessions, tmp_path, "100")
    for command in ("/summary", "/report", "/export", "/chart"):
        await inspector.say(command)
        assert inspector.text.startswith("汇总、督查报告、导出和图表仅供督查室和管理员使用"), command
    await supervisor.say("/summary 去年")
    assert supervisor.text.startswith("没看懂年份「去年」")


# The report ----------------------------------------------------------------------------------


def _paragraphs(path: Path) -> list[Any]:
    return list(Document(str(path)).paragraphs)


@functools.cache
def _typesetter() -> Any:
    from bot.reports.pdf_report import _document

    pdf = _document()
    pdf.set_font("serif", size=15)
    return pdf


@settings(deadline=None)
@given(st.text(alphabet="档案乡镇整理归档，。、；：？！）」”（「“ab12", max_size=300))
def test_pdf_lines_follow_chinese_line_breaking(text: str) -> None:
    from bot.reports.pdf_report import NO_LINE_END, NO_LINE_START, wrap

    pdf = _typesetter()
    lines = wrap(pdf, 60, text)
    assert "".join(lines) == text  # nothing lost or added
    for before, line in itertools.pairwise(lines):
        assert line[0] not in NO_LINE_START or len(before) == 0, (before, line)
        assert before[-1] not in NO_LINE_END or len(before) == 1, (before, line)
    for line in lines:  # past the width only by punctuation hanging at the end
        body = line.rstrip("".join(NO_LINE_START))
        assert len(body) <= 1 or pdf.get_string_width(body) <= 60 + 1e-6


def check_pdf(path: Path, sentences: list[str]) -> None:
    """The PDF holds the sentences as text, in fonts embedded in the file."""
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    # (pypdf reads the two-byte codes of a CID font with a NUL before each character.)
    text = "".join(page.extract_text() for page in reader.pages).replace("\n", "").replace("\x00", "")
    for sentence in sentences:
        assert sentence in text, sentence
    embedded = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                descriptor = descendant.get_object().get("/FontDescriptor")
                if descriptor is not None:
                    descriptor = descriptor.get_object()
                    if any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                        embedded.add(str(descriptor["/FontName"]))
    assert any("NotoSerifSC" in name for name in embedded), embedded


async def test_report_export_and_chart(
    sessions: SessionMaker, world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.config import get_settings

    monkeypatch.setenv("REPORT_ISSUER", "示例市委督查室")
    monkeypatch.setenv("REPORT_ADDRESSEE", "示例市委办公室、示例市人民政府办公室")
    get_settings.cache_clear()
    try:
        supervisor = chat(sessions, tmp_path, "300")
        [reply, pdf] = await supervisor.say(f"/report {YEAR}")
    finally:
        get_settings.cache_clear()
    assert reply.file is not None and reply.file.suffix == ".docx" and not reply.photo
    assert reply.text == f"{YEAR} 年度督查情况汇报（10 个乡镇）"
    paragraphs = _paragraphs(reply.file)
    texts = [p.text for p in paragraphs if p.text]
    assert texts[0] == f"示例市各乡镇落实{YEAR}年档案工作任务的督查情况汇报"
    assert paragraphs[0].style.name == "Title"
    assert texts[1] == "示例市委办公室、示例市人民政府办公室："
    headings = [p.text for p in paragraphs if p.style.name == "Heading 1"]
    assert headings == [
        "一、档案整理立卷归档工作做得较好的乡镇的经验和做法",
        "二、存在的问题",
        "三、下一步工作打算、建议",
        "四、整改情况",
        "附表：各乡镇检查情况",
    ]
    # Practice headings only where an answer shows the practice (三 of them here), then the
    # six problem headings and the four of the next steps.
    assert [p.text[:3] for p in paragraphs if p.style.name == "Heading 2"] == [
        "（一）", "（二）", "（三）",
        "（一）", "（二）", "（三）", "（四）", "（五）", "（六）",
        "（一）", "（二）", "（三）", "（四）",
    ]  # fmt: skip
    body = "\n".join(texts)
    for sentence in (
        f"{YEAR}年度要有60%以上的乡镇完成年度归档任务，社区、村建档率要达70%以上",
        "督查员李督查、王督查对10个乡镇的档案工作进行了督查。已提交检查记录7份；1个乡镇的检查尚未完成（大坪乡）；"
        "1份检查记录退回修改（红岩乡）；1个乡镇尚未检查（青山乡）。",
        "在已检查的7个乡镇中发现，乡镇设立有专门档案室，而且比较规范的有太平乡、城关镇、白沙乡。",
        "完成2024年度归档任务的有太平乡。",
        "正在进行档案整理且进度较快（已完成60%以上或已归档到上一年度）的有城关镇。",
        "按范围内10个乡镇计（其中3个乡镇尚未提交检查记录，按未完成计），完成年度归档任务的占10%，距60%的目标还差5个乡镇。",
        "太平乡、城关镇、石门镇、白沙乡安排了整档经费，共2.1万元。",
        "龙山乡未开展档案的收集或整理工作。",
        "龙山乡多年来的档案文件、材料仍在领导手中或各部门办公室",
        "龙山乡没有落实分管档案工作的领导。",
        "没有专门档案室的有龙山乡。",
        "档案与杂物混放、档案室较为杂乱的有新华乡、龙山乡、河口乡。",
        "石门镇、龙山乡未有档案装具。",
        "新华乡的档案装具比较陈旧。",
        "河口乡的档案装具已经腐烂霉变。",
        "“八防”措施不全的有新华乡、河口乡。",
        "目前，无档案员的乡镇有白沙乡、龙山乡。近三年档案员调换两次及以上的有白沙乡、新华乡。",
        "河口乡的档案员未取得上岗证。",
        f"档案只整理到{YEAR - 5}年度的有龙山乡；档案只整理到{YEAR - 4}年度的有河口乡；"
        f"档案只整理到{YEAR - 3}年度的有新华乡。",
        "没有安排整档经费的有新华乡、龙山乡、河口乡。",
        "按乡镇名录，范围内10个乡镇共有村（社区）90个，已建档39个，建档率43.3%，未达到70%的目标。",
        "其余3个乡镇尚无检查记录，其村（社区）按乡镇名录计入、按未建档计。",
        "建档率低于70%的有城关镇、新华乡、龙山乡、河口乡。",
        f"距{YEAR}年12月20日的截止日期仅有25天，时间紧、任务重。尚未检查的1个乡镇（青山乡）要在截止日期前完成检查",
        "没有安排整档经费的3个乡镇要落实必要的整档经费。希望示例市委办公室、示例市人民政府办公室帮助协调落实乡镇整档经费。",
        "尚未取得归档合格证的6个乡镇要对照合格证标准整改",
    ):
        assert sentence in body, sentence
    # 河口乡 answered funding yes with 0 yuan: it is among those without funding, not those with.
    assert "河口乡安排了整档经费" not in body and "、河口乡安排了" not in body
    assert "{" not in body and "等0个" not in body and "大坪乡未" not in body and "红岩乡未" not in body
    for claim in ("各乡镇都", "经常与档案局保持联系", "领导经常过问", "档案较为混乱", "总体形势是好的"):
        assert claim not in body, claim
    # The appendix: every township, in registry order, with the groups that placed it.
    table = Document(str(reply.file)).tables[0]
    cells = [[c.text for c in r.cells] for r in table.rows]
    assert cells[0] == ["序号", "县（市、区）", "乡镇", "状态", "督查员", "日期", "得分", "照片", "所在分组"]
    assert [r[2] for r in cells[1:]] == EAST + WEST
    heko = next(r for r in cells if r[2] == "河口乡")
    assert heko[3] == "已提交" and heko[4] == "王督查" and "没有安排整档经费" in heko[8]
    assert heko[7] == "0"  # no photos among its answers
    assert next(r for r in cells if r[2] == "青山乡")[3:5] == ["未检查", ""]
    # The appendix is a section of its own, A4 turned sideways; the text before it upright.
    sections = Document(str(reply.file)).sections
    assert [s.orientation for s in sections] == [WD_ORIENT.PORTRAIT, WD_ORIENT.LANDSCAPE]
    assert sections[1].page_width > sections[1].page_height

    # The same report as a PDF with its Chinese fonts embedded, for the phone.
    assert pdf.file is not None and pdf.file.suffix == ".pdf"
    check_pdf(pdf.file, [f"示例市各乡镇落实{YEAR}年档案工作任务的督查情况汇报", "没有安排整档经费的有新华乡"])

    # The Chinese fonts are named for East Asian text; the footer numbers the pages.
    doc = Document(str(reply.file))
    run = next(r for p in doc.paragraphs if p.style.name == "Normal" for r in p.runs if r.text)
    assert run._element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312" and run.font.size.pt == 16
    title_run = doc.paragraphs[0].runs[0]
    assert title_run._element.rPr.rFonts.get(qn("w:eastAsia")) == "方正小标宋简体"
    section = doc.sections[0]
    assert round(section.top_margin.mm) == 37 and round(section.left_margin.mm) == 28
    footer_xml = section.footer._element.xml + section.even_page_footer._element.xml
    assert footer_xml.count(" PAGE ") == 2

    await check_export_workbook(sessions, tmp_path)
    await check_chart(sessions, tmp_path)


async def check_report_phrases_empty_groups(sessions: SessionMaker) -> None:
    """Last year only 太平乡 and 城关镇 were inspected: the report speaks of those two."""
    async with sessions() as s:
        summary = await build_summary(s, Scope(), YEAR - 1, tz=TZ, today=date(YEAR - 1, 12, 31))
    text = report_text(summary, ReportOptions("督查室", "办公室", TZ)).text()
    for sentence in (
        "在已检查的2个乡镇中发现，",
        f"已检查的2个乡镇中，还没有完成{YEAR - 1}年度归档任务的。",
        "已检查的2个乡镇中，未发现整档工作尚未开始的情况。",
        "已检查的2个乡镇中，未发现没有专门档案室的情况。",
        "城关镇未有档案装具。",
        "已检查的2个乡镇中，未发现没有档案员的情况。",
        f"今天（{YEAR - 1}年12月31日）是本年度归档工作的截止日期。",
        "尚未检查的8个乡镇（",
    ):
        assert sentence in text, sentence
    assert "各乡镇都" not in text and "等0个" not in text and "有。" not in text and "{" not in text


async def check_report_in_english(sessions: SessionMaker) -> None:
    async with sessions() as s:
        summary = await build_summary(s, Scope(), YEAR, tz=TZ)
    text = report_text(summary, ReportOptions("Supervision Office", "City Offices", TZ, locale="en")).text()
    assert "Completed the 2024 filing task: 太平乡." in text
    assert "Allocated no funding: 新华乡, 龙山乡, 河口乡." in text and "{" not in text


# The export and the chart --------------------------------------------------------------------


async def check_export_workbook(sessions: SessionMaker, tmp_path: Path) -> None:
    admin = chat(sessions, tmp_path, ADMIN)
    [reply] = await admin.say(f"/export {YEAR}")
    assert reply.file is not None and reply.file.suffix == ".xlsx"
    assert reply.text == f"{YEAR} 年度检查记录（9 份）"
    wb = load_workbook(reply.file)
    assert wb.sheetnames == ["概况", "检查记录", "修改记录", "整改事项", "整改记录"]
    # Sheet one: who is missing and where we stand, per county and in total.
    overview = list(wb["概况"].iter_rows(values_only=True))
    head = overview[0]
    assert head[:6] == ("所属地区", "名录乡镇数", "已提交", "草稿", "退回修改", "未检查")
    rows = {r[0]: dict(zip(head, r, strict=True)) for r in overview[1:]}
    assert list(rows) == ["东县", "西县", "合计"]
    total = rows["合计"]
    assert (total["名录乡镇数"], total["已提交"], total["草稿"], total["退回修改"], total["未检查"]) == (
        10,
        7,
        1,
        1,
        1,
    )
    assert total["完成年度归档任务"] == 1 and total["完成比例"] == 0.1 and total["乡镇目标"] == 0.6
    assert total["村(社区)建档/总数"] == "39/90" and round(total["建档率"], 3) == 0.433
    assert rows["西县"]["没有安排整档经费"] == 3 and rows["东县"]["没有安排整档经费"] == 0
    assert wb["概况"]["H2"].number_format == "0.0%"
    # Sheet two: every township of the registry, the one never inspected too.
    sheet, history = wb["检查记录"], wb["修改记录"]
    assert sheet.freeze_panes == "C2" and history.freeze_panes == "A2"
    rows2 = list(sheet.iter_rows(values_only=True))
    header = rows2[0]
    assert header[:4] == ("乡镇", "所属地区", "年度", "状态")
    assert "是否有专门的档案室？" in header and "得分" in header and "问题分组" in header
    by_name = {r[0]: dict(zip(header, r, strict=True)) for r in rows2[1:]}
    assert list(by_name) == EAST + WEST
    taiping = by_name["太平乡"]
    assert taiping["状态"] == "已提交" and taiping["督查员"] == "李督查"
    assert taiping["档案已整理、立卷、归档到哪一年度？"] == YEAR - 1  # a number, not text
    assert taiping["是否有专门的档案室？"] == "是" and taiping["得分"] == 100
    assert "完成年度归档任务" in taiping["做法分组"] and taiping["村建档率"] == 1
    assert "没有档案装具" in by_name["龙山乡"]["问题分组"] and by_name["龙山乡"]["归档滞后（年）"] == 5
    assert by_name["大坪乡"]["状态"] == "草稿（未提交）" and by_name["红岩乡"]["状态"] == "已退回修改"
    assert by_name["红岩乡"]["退回意见"] == "请补充照片" and by_name["青山乡"]["状态"] == "未检查"
    assert isinstance(taiping["开始时间"], datetime)
    assert sheet.column_dimensions["A"].width >= 8
    async with sessions() as s:
        c, i = table(AnswerChange), table(Inspection)
        stmt = (
            select(func.count()).select_from(c.join(i, i.c.id == c.c.inspection_id)).where(i.c.year == YEAR)
        )
        changes = (await (await s.connection()).execute(stmt)).scalar_one()
    hist = list(history.iter_rows(values_only=True))
    assert hist[0] == ("乡镇", "年度", "问题", "原答案", "新答案", "修改人", "修改时间")
    events = [r for r in hist[1:] if str(r[2]).startswith("（")]
    assert len(hist) - 1 - len(events) == changes
    assert ("太平乡", YEAR, "是否有专门的档案室？", None, "是", "李督查") in [r[:6] for r in hist]
    assert ("红岩乡", YEAR, "（退回修改）") in [r[:3] for r in events] or any(
        r[0] == "红岩乡" for r in events
    )


def _font_covers(text: str) -> bool:
    from matplotlib.ft2font import FT2Font

    path = cjk_font()
    assert path is not None
    font = FT2Font(str(path))
    return all(font.get_char_index(ord(ch)) for ch in text if not ch.isspace())


async def check_chart(sessions: SessionMaker, tmp_path: Path) -> None:
    supervisor = chat(sessions, tmp_path, "300")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        [reply] = await supervisor.say(f"/chart {YEAR}")
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert reply.photo and reply.file is not None and reply.file.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert reply.text == f"{YEAR} 年度各乡镇归档进度（已检查 7/10 个乡镇）"
    with Image.open(reply.file) as image:
        assert image.width > 600 and image.height > 400
    assert _font_covers(
        "".join(TOWNSHIPS)
        + f"{YEAR} 年度各乡镇档案归档进度完成年度归档任务整档工作尚未开始草稿或退回未计入已提交检查记录"
    )


def test_chart_by_area_for_many_townships(tmp_path: Path) -> None:
    """Beyond MAX_BARS townships the chart counts townships per area."""
    rules = builtin_checklist()
    rows = []
    for n in range(MAX_BARS * 3):
        row = TownshipRow(n, f"乡{n}", n % 40, f"第{n % 40}县", 5)
        done = '["filing_done"]' if n % 3 else "[]"
        facts = InspectionFacts(n, "submitted", 1, done)
        rows.append(TownshipYear(row, facts if n % 4 else None))
    summary = Summary(YEAR, date(YEAR, 11, 25), YearTarget(**TARGET), rows, rules)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = write_chart(summary, tmp_path / "areas.png")
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert _font_covers("第县其他个地区各地区乡镇档案工作状态乡镇数未检查")

    # 90 counties in 9 cities: too many bars for counties, so one bar per city.
    many = [
        TownshipYear(TownshipRow(n, f"乡{n}", 100 + n % 90, f"第{n % 90}县", 5), None)
        for n in range(MAX_BARS * 3)
    ]
    tree: dict[int, tuple[str, int | None]] = {100 + k: (f"第{k}县", 10 + k % 9) for k in range(90)}
    tree.update({10 + c: (f"第{c}市", None) for c in range(9)})
    summary = Summary(YEAR, date(YEAR, 11, 25), YearTarget(**TARGET), many, rules, areas=tree)
    assert sorted(set(_area_level(summary).values())) == [f"第{c}市" for c in range(9)]


def test_east_and_west_cover_the_scenario() -> None:
    assert sorted(EAST + WEST) == sorted(TOWNSHIPS)


async def test_asking_by_message_outside_a_question(sessions: SessionMaker, tmp_path: Path) -> None:
    """ "太平乡怎么样？" as a plain message gets the card; nobody learns of a township not theirs."""
    from bot.dialog.types import Who
    from tests.dialog_driver import Chat, make_dialog, seed

    await seed(sessions)
    dialog = make_dialog(sessions, tmp_path)
    supervisor = Chat(dialog, Who("test", "300"))
    await supervisor.say("太平乡怎么样？")
    assert "太平乡" in supervisor.text and "/inspect" not in supervisor.text
    outsider = Chat(dialog, Who("test", "200"))  # 新华乡's inspector
    await outsider.say("太平乡怎么样？")
    # Told only that none of theirs has that name (their own words quoted), and what to do.
    assert "📋" not in outsider.text and "东县" not in outsider.text and "/inspect" in outsider.text
