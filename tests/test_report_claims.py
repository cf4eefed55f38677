"""Every sentence true: what the report, the summary and the chart say of the townships is
what their answers show, scoped to those inspected — on four datasets (nothing submitted,
one township, 2 of 13, the whole scenario), on random answers (hypothesis), and with every
question key of the checklist renamed."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import bot.reports.summary as summary_module
from bot.dialog import Who
from bot.engine import (
    Checklist,
    ChecklistError,
    QType,
    Question,
    builtin_checklist,
    effective_answers,
    evaluate,
    parse_checklist,
)
from bot.reports.docx_report import ReportOptions, report_text
from bot.reports.facts import compute
from bot.reports.summary import InspectionFacts, Summary, TownshipYear, build_summary
from storage.db import SessionMaker
from storage.models import InspectionFact, YearTarget, table
from storage.queries.summary import Scope, TownshipRow
from tests.dialog_driver import Chat, make_dialog
from tests.report_scenario import ADMIN, EAST, TARGET, TOWNSHIPS, WEST, YEAR, build

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(YEAR, 11, 25, 2, 0, tzinfo=UTC)
TODAY = date(YEAR, 11, 25)
EVERY = re.compile(r"各乡镇[^，。；]*?都|都已|都有")
EXTRA = {"东山乡": ("东县", 40), "西岭镇": ("西县", 45), "南河乡": ("西县", 33)}  # never inspected


@pytest.fixture(autouse=True)
def _now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(summary_module, "utcnow", lambda: NOW)


async def _report(sessions: SessionMaker) -> tuple[Summary, str]:
    async with sessions() as s:
        summary = await build_summary(s, Scope(), YEAR, tz=TZ, with_team=True, today=TODAY)
    report = report_text(summary, ReportOptions("督查室", "市委办公室", TZ, today=TODAY))
    table = "".join("|".join(row) for b in report.blocks if b.kind == "table" for row in b.rows)
    return summary, report.text() + "\n" + table


def _claims_only_what_answers_show(summary: Summary, text: str) -> None:
    """A sentence about every township appears only if every township in scope was
    inspected and meets it; a township named in a group's sentence is in the group."""
    everyone = len(summary.counted) == summary.total
    if not everyone:
        assert not EVERY.search(text), EVERY.search(text)
    for ty in summary.by_status["not_inspected"]:
        assert f"{ty.name}|未检查" in text  # in the appendix as not inspected (in the text up to 8)
    assert "{" not in text and "等0个" not in text
    assert summary.rules is not None
    from bot.reports.docx_report import _Writer

    writer = _Writer(summary, ReportOptions("督查室", "市委办公室", TZ, today=TODAY), {})
    for key in summary.group_keys:
        sentence = writer.group(key)
        if summary.coverage(key).form == "silent":
            assert sentence == "", key  # nothing said where no answer tells
        elif sentence:
            assert sentence in text
            if summary.coverage(key).form != "some":
                continue
            for ty in summary.group(key)[:8]:
                assert ty.name in sentence, (key, ty.name)


# The four datasets ------------------------------------------------------------------------------


async def test_nothing_submitted(sessions: SessionMaker) -> None:
    await build(sessions, only=())
    summary, text = await _report(sessions)
    assert summary.total == 10 and not summary.counted
    assert "范围内10个乡镇尚无提交的检查记录" in text
    # Section by section: no record, no claim.
    assert text.count("尚无检查记录，无法作出判断。") == 2 + 4  # 一, 二 and the four headings of 三
    assert not EVERY.search(text) and "未达到" not in text.split("三、")[0]
    _claims_only_what_answers_show(summary, text)
    admin = Chat(make_dialog(sessions, Path("/tmp")), Who("test", ADMIN, "孙管理"))
    await admin.say(f"/summary {YEAR}")
    assert (
        "尚无提交的检查记录，各项情况无从统计。" in admin.text and "（" not in admin.text.split("📝")[0][-5:]
    )


async def test_one_township(sessions: SessionMaker) -> None:
    await build(sessions, only={"石门镇"})
    summary, text = await _report(sessions)
    assert len(summary.counted) == 1
    assert "在已检查的1个乡镇中发现" in text and "从已检查的1个乡镇看" in text
    assert "石门镇未有档案装具。" in text
    assert "已检查的1个乡镇中，未发现没有专门档案室的情况。" in text  # scoped, never 各乡镇都
    assert "做得较好" not in text.split("这些做得较好")[0][-10:]
    _claims_only_what_answers_show(summary, text)


async def test_two_of_thirteen(sessions: SessionMaker) -> None:
    await build(sessions, only={"太平乡", "城关镇"}, extra=EXTRA)
    summary, text = await _report(sessions)
    assert (summary.total, len(summary.counted)) == (13, 2)
    v = summary.villages
    # 22 of the 30 villages the two report; the registry's for the other eleven, none established.
    assert (v.part, v.reported) == (22, 30)
    assert (
        v.total
        == 30
        + sum(vil for name, (_, vil, _, _) in TOWNSHIPS.items() if name not in ("太平乡", "城关镇"))
        + 118
    )
    assert not summary.village_met and "未达到70%的目标" in text and "已达到" not in text
    assert "已检查的2个乡镇中，未发现没有档案装具的情况。" in text and "各乡镇都配备了档案装具" not in text
    assert "11个乡镇尚未检查" in text or "尚未检查（" in text
    _claims_only_what_answers_show(summary, text)
    supervisor = Chat(make_dialog(sessions, Path("/tmp")), Who("test", "300", "赵主任"))
    await supervisor.say(f"/summary {YEAR}")
    assert "未达到目标" in supervisor.text and "已达到目标" not in supervisor.text


async def test_the_whole_scenario_and_when_everyone_is_inspected(sessions: SessionMaker) -> None:
    await build(sessions)
    summary, text = await _report(sessions)
    _claims_only_what_answers_show(summary, text)
    assert "各乡镇都" not in text  # 3 of 10 have no submitted record
    # Only 东县's submitted townships, for a county where everyone is inspected: 各乡镇 is said.
    async with sessions() as s:
        from storage.models import Township

        done = [n for n in EAST if TOWNSHIPS[n][2] == "submitted"]
        t = table(Township)
        found = await (await s.connection()).execute(select(t.c.id).where(t.c.name.in_(done)))
        ids = frozenset(r[0] for r in found)
        scoped = await build_summary(s, Scope(township_ids=ids), YEAR, tz=TZ, today=TODAY)
    assert len(scoped.counted) == scoped.total == 4
    scoped_text = report_text(scoped, ReportOptions("督查室", "市委办公室", TZ, today=TODAY)).text()
    assert "各乡镇都设有专门的档案室。" in scoped_text  # every one inspected, every one has a room
    assert "各乡镇都已开展" not in scoped_text or "未开展" not in scoped_text
    _claims_only_what_answers_show(scoped, scoped_text)
    assert WEST  # (the west county has a township never inspected: never "各乡镇")


# Random answers ---------------------------------------------------------------------------------


def _answer(q: Question) -> st.SearchStrategy[Any]:
    if q.type is QType.yesno:
        return st.booleans()
    if q.type is QType.single:
        return st.sampled_from(q.choice_keys())
    if q.type is QType.multi:
        return st.lists(st.sampled_from(q.choice_keys()), unique=True)
    if q.type is QType.year:
        return st.integers(YEAR - 8, YEAR)
    if q.type is QType.percent:
        return st.sampled_from([0, 30, 59, 60, 100])
    if q.type is QType.amount:
        return st.sampled_from([0, 0.5, 5000, 58000])
    if q.type is QType.integer:
        return st.integers(0, 12)
    return st.just("x")


CHECKLIST = builtin_checklist()
ANSWERS = st.fixed_dictionaries(
    {},
    optional={q.key: _answer(q) for q in CHECKLIST.questions() if q.type is not QType.photo},
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(ANSWERS, st.sampled_from(["submitted", "submitted", "draft", None])), max_size=12))
def test_groups_are_what_the_engine_says(townships: list[tuple[dict[str, Any], str | None]]) -> None:
    rows = []
    answers_of = {}
    for answers, _ in townships:  # answers the dialog accepts: its cross-question checks pass
        eff = effective_answers(CHECKLIST, answers, YEAR)
        assume(all(evaluate(c.rule, eff, YEAR) is not False for c in CHECKLIST.checks))
    for n, (answers, status) in enumerate(townships):
        row = TownshipRow(n, f"乡{n}", 1 + n % 2, f"县{n % 2}", 10)
        if status is None:
            rows.append(TownshipYear(row, None))
            continue
        f = compute(CHECKLIST, answers, YEAR)
        if status != "submitted":
            rows.append(TownshipYear(row, InspectionFacts(n, status, 1)))
            continue
        answers_of[n] = effective_answers(CHECKLIST, answers, YEAR)
        groups, unknown = json.dumps(sorted(f.groups)), json.dumps(sorted(f.unknown))
        rows.append(TownshipYear(row, InspectionFacts(n, status, 1, groups, unknown, f.numbers, f.score)))
    summary = Summary(YEAR, TODAY, YearTarget(**TARGET), rows, CHECKLIST)
    assert CHECKLIST.report is not None
    for key in summary.group_keys:
        cond = CHECKLIST.condition(key)
        want = [
            ty.name
            for ty in rows
            if ty.township.id in answers_of and evaluate(cond, answers_of[ty.township.id], YEAR)
        ]
        assert [ty.name for ty in summary.group(key)] == want, key
        cov = summary.coverage(key)
        known = [i for i in answers_of if evaluate(cond, answers_of[i], YEAR) is not None]
        assert cov.checked == len(known) and cov.submitted == len(answers_of) and cov.total == len(rows)
    for keys in CHECKLIST.report.exclusive:
        for ty in summary.counted:
            assert sum(ty.in_group(k) for k in keys) <= 1, (keys, ty)
    counts = {k: len(v) for k, v in summary.by_status.items()}
    assert sum(counts.values()) == summary.total == len(rows)
    text = report_text(summary, ReportOptions("督查室", "办公室", TZ, today=TODAY)).text()
    if summary.total and len(summary.counted) < summary.total:
        assert not EVERY.search(text)


def test_the_loader_refuses_exclusive_groups_that_can_both_hold() -> None:
    data = CHECKLIST.to_data()
    for group in data["report"]["groups"]:
        if group["key"] == "funded":
            group["when"] = {"q": "has_funding", "eq": True}  # the contradiction of the issue
    with pytest.raises(ChecklistError) as caught:
        parse_checklist(data, "bad.yaml")
    message = str(caught.value)
    assert "互斥的分组“funded”和“no_funding”可以同时成立" in message and "funding_amount" in message


# Renamed question keys ------------------------------------------------------------------------


def _renamed(checklist: Checklist) -> tuple[Checklist, dict[str, str]]:
    """A copy of the checklist with every question key (and every reference to one) renamed."""
    keys = {q.key: f"k{n}" for n, q in enumerate(checklist.questions())}

    def walk(node: Any, field: str | None = None) -> Any:
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if k in ("q", "share", "by", "year", "part") or (k == "total" and isinstance(v, str)):
                    out[k] = keys.get(v, v)
                elif k == "evidence":
                    out[k] = [keys.get(x, x) for x in v]
                elif k == "message":
                    out[k] = {
                        loc: re.sub(r"\{(\w+)\}", lambda m: "{" + keys.get(m[1], m[1]) + "}", text)
                        for loc, text in v.items()
                    }
                else:
                    out[k] = walk(v, k)
            return out
        if isinstance(node, list):
            return [walk(v, field) for v in node]
        return node

    data = walk(checklist.to_data())
    for section in data["sections"]:
        for question in section["questions"]:
            question["key"] = keys[question["key"]]
    return parse_checklist(data, "renamed"), keys


async def test_renamed_question_keys_give_the_same_report(tmp_path: Path) -> None:
    from storage.db import make_engine, make_sessionmaker, upgrade

    texts = []
    for name, renamed in (("plain", False), ("renamed", True)):
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / name}.sqlite3")
        await upgrade(engine)
        sessions = make_sessionmaker(engine)
        if renamed:
            checklist, keys = _renamed(CHECKLIST)
            assert not set(keys) & {q.key for q in checklist.questions()}
            await build(sessions, checklist=checklist, keys=keys.__getitem__)
        else:
            await build(sessions)
        _, text = await _report(sessions)
        texts.append(text)
        await engine.dispose()
    assert texts[0] == texts[1]
    assert "没有安排整档经费的有新华乡、龙山乡、河口乡。" in texts[1]


# Facts are computed when an inspection is submitted -------------------------------------------


async def test_submitting_keeps_the_facts(sessions: SessionMaker, tmp_path: Path) -> None:
    from tests.dialog_driver import seed
    from tests.test_dialog import TYPED, answer_all, start

    ids = await seed(sessions)
    dialog = make_dialog(sessions, tmp_path)
    world = {**ids, "dialog": dialog, "sessions": sessions, "data_dir": tmp_path, "year": dialog.now_year()}
    c = Chat(dialog, Who("test", "100", "李督查"))
    await start(world, c)
    await answer_all(world, c, TYPED)
    await c.press("提交")
    async with sessions() as s:
        kept = (await (await s.connection()).execute(select(table(InspectionFact)))).all()
        assert len(kept) == 1 and "funded" in kept[0].groups and kept[0].numbers["filed_up_to"] == 2006
        assert await s.scalar(select(func.count()).select_from(table(InspectionFact))) == 1

    calls: list[int] = []

    async def keep(rows: list[dict[str, Any]]) -> None:
        calls.append(len(rows))

    async with sessions() as s:
        summary = await build_summary(s, Scope(), world["year"], tz=TZ, keep=keep)
    assert calls == [] and [ty.name for ty in summary.group("filing_lagging")] == ["太平乡"]


async def test_the_team_as_the_administrator_sets_it(sessions: SessionMaker, tmp_path: Path) -> None:
    await build(sessions)
    admin = Chat(make_dialog(sessions, tmp_path), Who("test", ADMIN, "孙管理"))
    await admin.say(f"/team {YEAR} 覃丽华（市委办副主任、督查室主任）；韦明（档案局）、黄芳（信访办）")
    assert (
        "组长 覃丽华（市委办副主任、督查室主任）" in admin.text
        and "韦明（档案局）、黄芳（信访办）" in admin.text
    )
    await admin.say(f"/asks {YEAR} 希望市委办、市府办牵头对市直单位的案卷质量进行一次检查。")
    supervisor = Chat(make_dialog(sessions, tmp_path), Who("test", "300", "赵主任"))
    await supervisor.say(f"/team {YEAR} 某某")
    assert supervisor.text == "只有管理员可以设置督查组。"
    _, text = await _report(sessions)
    assert "组织了以市委办副主任、督查室主任覃丽华同志为组长、档案局韦明、信访办黄芳为成员的督查组" in text
    assert text.count("希望市委办、市府办牵头对市直单位的案卷质量进行一次检查。") == 1


def test_no_question_key_in_the_code_that_reports() -> None:
    """The report, the dialog and the storage name no question of the checklist (the
    migrations excepted: they are the schema's history)."""
    keys = {q.key for q in CHECKLIST.questions()} - {"photos"}  # also the photos' folder name
    root = Path(__file__).resolve().parent.parent
    found = []
    for folder in ("bot/reports", "bot/dialog", "storage/queries", "storage/models.py"):
        paths = [root / folder] if folder.endswith(".py") else sorted((root / folder).rglob("*.py"))
        for path in paths:
            text = path.read_text(encoding="utf-8")
            found += [f"{path.name}: {k}" for k in keys if re.search(rf"[\"']{k}[\"']", text)]
    assert found == []


async def test_a_report_without_its_pdf_says_why(
    sessions: SessionMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.reports.pdf_report as pdf_report

    def broken(*args: Any) -> None:
        raise pdf_report.PdfUnavailable("the Noto SC fonts are missing")

    await build(sessions)
    monkeypatch.setattr(pdf_report, "write_pdf", broken)
    supervisor = Chat(make_dialog(sessions, tmp_path), Who("test", "300", "赵主任"))
    [reply] = await supervisor.say(f"/report {YEAR}")
    assert reply.file is not None and reply.file.suffix == ".docx"
    assert (
        reply.text == f"{YEAR} 年度督查情况汇报（10 个乡镇）（PDF 未能生成：the Noto SC fonts are missing）"
    )
