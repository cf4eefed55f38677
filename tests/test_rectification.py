"""Rectification items: opened at submit from the checklist's rectify findings, kept across a
return and resubmit, closed by answers that show the problem gone; the township contact
reports one done with a photo, the inspector sends it back with a reason, then accepts it;
only the township's own people may act on an item."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from docx import Document
from sqlmodel import select

from bot.dialog import Input, Reply, Who
from storage.db import SessionMaker, transaction
from storage.models import ItemEvent, ItemStatus, RectificationItem, Role, Township
from storage.queries.registry import add_person
from tests.dialog_driver import Chat
from tests.people_world import World, build_world
from tests.test_dialog import TYPED

CONTACT = "600"  # 太平乡's contact
OTHER_CONTACT = "700"  # 新华乡's contact
YEAR_BUTTON = "本年度"


@pytest.fixture
async def world(sessions: SessionMaker, tmp_path: Path) -> World:
    w = await build_world(sessions, tmp_path, inspections=False)
    async with transaction(sessions) as s:
        taiping = await s.get(Township, w.ids["taiping"])
        xinhua = await s.get(Township, w.ids["xinhua"])
        contact = await add_person(
            s, "周档案员", Role.contact, identities=[("test", CONTACT)], contact_of=taiping
        )
        other = await add_person(
            s, "吴档案员", Role.contact, identities=[("test", OTHER_CONTACT)], contact_of=xinhua
        )
        w.ids.update(contact=contact.id, other_contact=other.id)
    return w


def chat(world: World, external_id: str) -> Chat:
    return Chat(world.dialog, Who("test", external_id, "someone"))


async def answer_all(world: World, c: Chat, typed: dict[str, tuple[str, Any]] = TYPED) -> None:
    from storage.queries.dialog_state import load_state

    for _ in range(60):
        async with world.sessions() as s:
            state, _ = await load_state(s, world.ids["inspector"])
        if state.get("step") != "question":
            return
        key = state["question"]
        if key == "photos":
            await c.photo(b"\xff\xd8jpeg", "ph1")
            await c.press("完成")
        else:
            await c.say(typed[key][0])
    raise AssertionError("the dialog loops")


async def inspect_and_submit(world: World, c: Chat, typed: dict[str, tuple[str, Any]] = TYPED) -> None:
    await c.say("/inspect")
    await c.press("太平乡")
    await c.press(YEAR_BUTTON)
    await answer_all(world, c, typed)
    await c.press("提交")


async def items(world: World) -> dict[str, RectificationItem]:
    async with world.sessions() as s:
        return {i.finding: i for i in (await s.exec(select(RectificationItem))).all()}


async def events(world: World, item_id: int) -> list[str]:
    async with world.sessions() as s:
        rows = (
            await s.exec(select(ItemEvent).where(ItemEvent.item_id == item_id).order_by(ItemEvent.id))
        ).all()
        return [e.action for e in rows]


def notes_to(c: Chat, external_id: str) -> list[Reply]:
    return [r for r in c.notes if r.to == ("test", external_id)]


async def press_data(c: Chat, data: str) -> list[Reply]:
    return await c.send(Input("button", data=data))


def button(reply: Reply, label: str) -> str:
    return next(b.data for row in reply.buttons for b in row if label in b.label)


async def test_submit_opens_items_and_the_contact_gets_the_notice(world: World) -> None:
    inspector = chat(world, "100")
    await inspect_and_submit(world, inspector)
    assert "已提交" in inspector.text and "新开 2 项" in inspector.text and "周档案员" in inspector.text
    found = await items(world)
    assert set(found) == {"missing_protections", "filing_lagging"}
    lag = found["filing_lagging"]
    assert lag.status == ItemStatus.open and lag.due.isoformat() == f"{world.year}-12-31"
    assert lag.evidence == {"filed_up_to": 2006} and lag.opened_by == world.ids["inspector"]
    [note] = notes_to(inspector, CONTACT)
    assert (
        "【整改通知】太平乡" in note.text
        and "八防措施不全" in note.text
        and "档案整理滞后三年及以上" in note.text
    )
    assert "归档到：2006" in note.text or "2006" in note.text
    labels = [b.label for row in note.buttons for b in row]
    assert "✔ 已整改 1" in labels and "？请求指导 2" in labels and "📄 整改通知书" in labels
    assert not notes_to(inspector, OTHER_CONTACT)  # nobody of another township hears of it
    assert await events(world, lag.id or 0) == ["opened"]


async def test_return_and_resubmit_keeps_the_items_and_a_gone_finding_closes(world: World) -> None:
    inspector, boss = chat(world, "100"), chat(world, "300")
    await inspect_and_submit(world, inspector)
    before = await items(world)
    await boss.say("/return 太平乡 八防再核实")
    await boss.press("确认退回")
    await press_data(inspector, notes_to(boss, "100")[0].buttons[0][0].data)
    await inspector.press("提交")  # resubmitted unchanged: same items, nobody told again
    assert "仍未整改 2 项" in inspector.text
    assert {k: v.id for k, v in (await items(world)).items()} == {k: v.id for k, v in before.items()}
    assert not notes_to(inspector, CONTACT)
    # Reopened, the protections answered in full: that item closes, by the answers.
    await inspector.say("/inspect")
    await inspector.press("太平乡")
    await inspector.press(YEAR_BUTTON)
    await inspector.press("重新打开")
    await inspector.press("修改")
    await inspector.press("档案室")
    await inspector.press("八防")
    await inspector.say("全部")
    await answer_all(world, inspector)
    await inspector.press("提交")
    after = await items(world)
    assert {k: v.id for k, v in after.items()} == {k: v.id for k, v in before.items()}
    assert after["missing_protections"].status == ItemStatus.closed
    assert after["missing_protections"].closed_how == "answers"
    assert after["filing_lagging"].status == ItemStatus.open
    [note] = notes_to(inspector, CONTACT)
    assert "已整改：八防措施不全" in note.text


async def test_report_send_back_report_again_accept(world: World) -> None:
    inspector, contact = chat(world, "100"), chat(world, CONTACT)
    await inspect_and_submit(world, inspector)
    [note] = notes_to(inspector, CONTACT)
    lag = (await items(world))["filing_lagging"]
    done = button(note, "已整改 2")
    assert done == f"x:item_done:{lag.id}"
    await press_data(contact, done)
    assert "报告整改：档案整理滞后三年及以上" in contact.text
    await contact.press("提交")
    assert "至少发送一张" in contact.notice
    await contact.photo(b"\xff\xd8after", "fix1")
    assert "第 1 张" in contact.text
    await contact.say("已整理到2025年")
    await contact.press("提交")
    assert "已提交，等待审核" in contact.text and "李督查" in contact.text
    review = notes_to(contact, "100")
    assert "周档案员 报告 太平乡 已整改" in review[0].text and "已整理到2025年" in review[0].text
    assert review[1].file is not None and review[1].photo and review[1].file.read_bytes() == b"\xff\xd8after"
    # Sent back with a reason: open again, the contact told why.
    await press_data(inspector, button(review[0], "退回"))
    await inspector.say("照片看不清目录，请补拍")
    assert "已退回" in inspector.text
    [told] = notes_to(inspector, CONTACT)
    assert "退回原因：照片看不清目录，请补拍" in told.text
    assert (await items(world))["filing_lagging"].status == ItemStatus.open
    # Reported again, accepted: closed.
    await press_data(contact, button(told, "已整改"))
    await contact.photo(b"\xff\xd8again", "fix2")
    await contact.press("提交")
    review = notes_to(contact, "100")
    await press_data(inspector, button(review[0], "通过"))
    assert "已通过" in inspector.text
    [closed] = notes_to(inspector, CONTACT)
    assert "验收通过" in closed.text
    item = (await items(world))["filing_lagging"]
    assert item.status == ItemStatus.closed and item.closed_how == "accepted"
    assert await events(world, item.id or 0) == ["opened", "reported", "sent_back", "reported", "accepted"]
    # The same button once more changes nothing.
    await press_data(inspector, button(review[0], "通过"))
    assert "已整改完毕" in inspector.text


async def test_contact_sees_only_their_township_and_strangers_nothing(world: World) -> None:
    inspector, contact = chat(world, "100"), chat(world, CONTACT)
    other, stranger = chat(world, OTHER_CONTACT), chat(world, "999")
    await inspect_and_submit(world, inspector)
    [note] = notes_to(inspector, CONTACT)
    done = button(note, "已整改 1")
    await contact.say("/items")
    assert "太平乡" in contact.text and "八防措施不全" in contact.text
    for command in ("/inspect", "/status 太平乡", "/summary", "/history 太平乡", "/report"):
        await contact.say(command)
        assert "乡镇联系人" in contact.text and "得分" not in contact.text, command
    await contact.say("太平乡怎么样？")
    assert "/items" in contact.text and "得分" not in contact.text
    await other.say("/items")
    assert "太平乡" not in other.text and "八防" not in other.text
    await press_data(other, done)
    assert "无权" in other.notice and not other.notes
    await press_data(other, button(note, "整改通知书"))
    assert "无权" in other.notice and not any(r.file for r in other.replies)
    await press_data(stranger, done)
    assert "邀请" in stranger.text and not stranger.notes and not stranger.buttons
    # The contact may not review their own report.
    await press_data(contact, done)
    await contact.photo(b"\xff\xd8x", "p")
    await contact.press("提交")
    accept = button(notes_to(contact, "100")[0], "通过")
    await press_data(contact, accept)
    assert "无权" in contact.notice
    assert (await items(world))["missing_protections"].status == ItemStatus.reported


async def test_notice_docx_from_the_button_and_the_next_inspection_asks_again(world: World) -> None:
    inspector, contact = chat(world, "100"), chat(world, CONTACT)
    await inspect_and_submit(world, inspector)
    [note] = notes_to(inspector, CONTACT)
    await press_data(contact, button(note, "整改通知书"))
    [doc_reply] = [r for r in contact.replies if r.file is not None]
    doc = Document(str(doc_reply.file))
    paragraphs = [p.text for p in doc.paragraphs]
    assert paragraphs[0] == "整改通知书" and paragraphs[1] == "太平乡："
    assert any("存在以下 2 个问题" in p for p in paragraphs) and "特此通知。" in paragraphs
    rows = [[c.text for c in row.cells] for row in doc.tables[0].rows]
    assert rows[0] == ["序号", "存在问题", "检查时的情况", "整改期限", "目前状态"]
    assert rows[2][1] == "档案整理滞后三年及以上" and "2006" in rows[2][2] and rows[2][4] == "待整改"
    # Next year's inspection of the township opens with what is still open.
    async with transaction(world.sessions) as s:
        row = (await s.exec(select(RectificationItem))).first()
        assert row is not None
    from storage.queries.inspections import find_inspection

    async with world.sessions() as s:
        insp = await find_inspection(s, world.ids["taiping"], world.year)
        assert insp is not None
    # Pretend last year's: move the inspection and its items a year back.
    from sqlalchemy import update

    from storage.models import Inspection, table

    async with transaction(world.sessions) as s:
        conn = await s.connection()
        await conn.execute(update(table(Inspection)).values(year=world.year - 1))
        await conn.execute(update(table(RectificationItem)).values(year=world.year - 1))
    await inspector.say("/inspect")
    await inspector.press("太平乡")
    await inspector.press(YEAR_BUTTON)
    assert f"上次发现：八防措施不全（{world.year - 1}年度）— 现在是否已整改？" in inspector.text


async def test_item_reminders_contact_inspector_then_supervisor_once(world: World) -> None:
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from sqlalchemy import update

    from bot.reminders.rules import ReminderRules
    from bot.reminders.service import ReminderService
    from storage.models import table
    from tests.test_reminders import FakeSender

    tz = ZoneInfo("Asia/Shanghai")
    inspector = chat(world, "100")
    await inspect_and_submit(world, inspector)
    protections = (await items(world))["missing_protections"]
    async with transaction(world.sessions) as s:
        t = table(RectificationItem)
        conn = await s.connection()
        await conn.execute(update(t).where(t.c.id == protections.id).values(due=date(world.year, 11, 16)))
        await conn.execute(update(t).where(t.c.id != protections.id).values(due=date(world.year, 12, 31)))

    def item_texts(sender: FakeSender, who: str) -> list[str]:
        return [text for text in sender.to(who) if "整改" in text]

    first = FakeSender()
    wed = datetime(world.year, 11, 18, 9, 30, tzinfo=tz)  # a working day, two days overdue
    await ReminderService(world.sessions, first, tz, ReminderRules(), channels=("test",)).run_due(wed)
    contact = item_texts(first, CONTACT)
    assert any("已超过整改期限 2 天" in text and "八防措施不全" in text for text in contact)
    assert any("距整改期限还有 43 天" in text and "档案整理滞后" in text for text in contact)
    [to_inspector] = item_texts(first, "100")
    assert (
        "整改逾期" in to_inspector and "八防措施不全" in to_inspector and "档案整理滞后" not in to_inspector
    )
    [escalated] = item_texts(first, "300")  # 赵主任, over the city
    assert "整改逾期上报" in escalated and "太平乡" in escalated and "八防措施不全" in escalated
    assert not item_texts(first, "400") and not item_texts(first, OTHER_CONTACT)  # the other county
    # A restart at the same moment sends nothing twice.
    again = FakeSender()
    await ReminderService(world.sessions, again, tz, ReminderRules(), channels=("test",)).run_due(wed)
    assert not any("整改" in text for _, _, text, _ in again.sent)
    # The next working day: the contact and the inspector once more, the supervisor not again.
    thu = FakeSender()
    await ReminderService(world.sessions, thu, tz, ReminderRules(), channels=("test",)).run_due(
        datetime(world.year, 11, 19, 9, 30, tzinfo=tz)
    )
    assert item_texts(thu, "100") and not item_texts(thu, "300")
    assert any("已超过整改期限 3 天" in text for text in item_texts(thu, CONTACT))


def test_notice_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    from datetime import date

    from typer.testing import CliRunner

    from bot.cli import app
    from storage.db import make_engine, make_sessionmaker, upgrade
    from storage.queries import rectification as q_items

    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"

    async def prepare() -> None:
        engine = make_engine(url)
        await upgrade(engine)
        sessions = make_sessionmaker(engine)
        w = await build_world(sessions, tmp_path, inspections=False)
        from tests.people_world import submitted

        insp = await submitted(
            sessions, w.dialog, w.ids["taiping"], 2026, w.ids["inspector"], {"has_room": False}
        )
        async with transaction(sessions) as s:
            await q_items.sync_items(
                s,
                township_id=w.ids["taiping"],
                year=2026,
                inspection_id=insp,
                findings={"no_archive_room": {"has_room": False}},
                known=["no_archive_room"],
                due=date(2026, 12, 31),
                by=w.ids["inspector"],
            )
        await engine.dispose()

    asyncio.run(prepare())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    runner = CliRunner()
    out = tmp_path / "整改通知书.docx"
    result = runner.invoke(
        app, ["report", "notice", "--township", "太平乡", "--year", "2026", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "已生成 太平乡 2026年度整改通知书" in result.output
    doc = Document(str(out))
    assert [p.text for p in doc.paragraphs][:2] == ["整改通知书", "太平乡："]
    assert [c.text for c in doc.tables[0].rows[1].cells] == [
        "1",
        "没有专门档案室",
        "专门档案室：否",
        "2026-12-31",
        "待整改",
    ]
    result = runner.invoke(
        app, ["report", "notice", "--township", "新华乡", "--year", "2026", "--out", str(out)]
    )
    assert result.exit_code == 1 and "没有整改事项" in result.output
    result = runner.invoke(app, ["report", "notice", "--township", "无此乡", "--out", str(out)])
    assert result.exit_code == 1 and "找不到乡镇" in result.output


async def test_the_numbers_agree_in_status_summary_report_and_excel(world: World) -> None:
    from openpyxl import load_workbook

    inspector, contact, boss = chat(world, "100"), chat(world, CONTACT), chat(world, "300")
    await boss.say(f"/summary {world.year}")
    assert "整改事项" not in boss.text  # no inspection submitted: nothing said of rectification
    await inspect_and_submit(world, inspector)
    [note] = notes_to(inspector, CONTACT)
    await press_data(contact, button(note, "已整改 1"))
    await contact.photo(b"\xff\xd8x", "p1")
    await contact.press("提交")
    await press_data(inspector, button(notes_to(contact, "100")[0], "通过"))
    counts = "待整改 1 项、待审核 0 项、已整改 1 项"
    await boss.say("/status 太平乡")
    assert f"整改事项：{counts}" in boss.text and "· 2. 档案整理滞后三年及以上" in boss.text
    await boss.say(f"/summary {world.year}")
    assert f"整改事项：本年度督查发现 2 项，{counts}" in boss.text
    await boss.say(f"/report {world.year}")
    doc_reply = next(r for r in boss.replies if r.file is not None and r.file.suffix == ".docx")
    paragraphs = [p.text for p in Document(str(doc_reply.file)).paragraphs]
    at = paragraphs.index("四、整改情况")
    assert paragraphs[at + 1].startswith(
        "本年度督查共发现需要整改的问题 2 项。已整改 1 项（其中经审核验收 1 项"
    )
    assert (
        "尚未整改 1 项" in paragraphs[at + 1]
        and paragraphs[at + 2] == "尚有 1 个乡镇的整改事项未完成：太平乡（1 项）。"
    )
    await boss.say(f"/export {world.year}")
    xlsx = next(r for r in boss.replies if r.file is not None and r.file.suffix == ".xlsx")
    book = load_workbook(str(xlsx.file))
    items_rows = list(book["整改事项"].iter_rows(values_only=True))
    assert items_rows[0][:4] == ("乡镇", "县(市、区)", "年度", "存在问题") and len(items_rows) == 3
    assert {r[6] for r in items_rows[1:]} == {"待整改", "已整改"}
    steps = [r[2] for r in book["整改记录"].iter_rows(values_only=True)][1:]
    assert steps.count("发现并开立") == 2 and "报告已整改" in steps and "验收通过" in steps


async def test_admin_invites_a_contact_bound_to_one_township(world: World) -> None:
    import re

    admin = chat(world, "500")
    await admin.say("/invite")
    await admin.press("乡镇联系人")
    await admin.press("☐ 太平乡")
    await admin.press("☐ 城关镇")  # a contact has one township: the new choice replaces the old
    assert "☑ 城关镇" in admin.labels() and "☐ 太平乡" in admin.labels()
    await admin.press("完成")
    assert "已生成邀请" in admin.text and "城关镇" in admin.text
    code = re.search(r"[A-Za-z0-9_-]{20,}", admin.text)
    assert code is not None
    newcomer = chat(world, "4242")
    await newcomer.say(f"/start {code.group(0)}")
    assert "乡镇联系人" in newcomer.text and "/items" in newcomer.text and "/inspect" not in newcomer.text
    await newcomer.say("/items")
    assert "城关镇 还没有整改事项" in newcomer.text
    await newcomer.say("/inspect")
    assert "乡镇联系人" in newcomer.text and "请选择" not in newcomer.text
    async with world.sessions() as s:
        from storage.models import Assignment, Person

        person = (
            await s.exec(
                select(Person).where(
                    Person.role == Role.contact, Person.township_id == world.ids["chengguan"]
                )
            )
        ).one()
        assert not (await s.exec(select(Assignment).where(Assignment.person_id == person.id))).all()


async def test_cli_contact_needs_exactly_one_township(sessions: SessionMaker) -> None:
    from bot.admin import service
    from tests.dialog_driver import seed

    await seed(sessions)
    with pytest.raises(service.AdminError) as refused:
        await service.make_invite(sessions, "contact", townships=["太平乡", "城关镇"])
    assert "只能绑定一个乡镇" in refused.value.render("zh-CN")
    made = await service.make_invite(sessions, "contact", townships=["太平乡"])
    assert made.townships == ["太平乡"]


async def test_a_contact_reads_nothing_of_any_inspection(sessions: SessionMaker, tmp_path: Path) -> None:
    """Every command and every stateless button, with any township: a contact gets their
    items and help, never an inspection's answers — their own township's included."""
    from bot.dialog.routes import ROUTES
    from tests.people_world import TAIPING_SECRET, XINHUA_SECRET

    w = await build_world(sessions, tmp_path, inspections=True)
    async with transaction(sessions) as s:
        taiping = await s.get(Township, w.ids["taiping"])
        await add_person(s, "周档案员", Role.contact, identities=[("test", CONTACT)], contact_of=taiping)
    contact = chat(w, CONTACT)
    for command in sorted(ROUTES.commands):
        for arg in ("", "太平乡", "新华乡", str(w.year)):
            await contact.say(f"/{command} {arg}".strip())
            shown = contact.text + "".join(r.text for r in contact.notes)
            assert TAIPING_SECRET not in shown and XINHUA_SECRET not in shown, command
            assert not any(r.file for r in contact.replies), command
    for action in sorted(ROUTES.stateless):
        for arg in (
            w.ids["taiping_insp"],
            w.ids["xinhua_insp"],
            w.ids["taiping"],
            f"i{w.ids['taiping_insp']}",
        ):
            await press_data(contact, f"x:{action}:{arg}")
            assert TAIPING_SECRET not in contact.text and XINHUA_SECRET not in contact.text, action
            assert not any(r.file for r in contact.replies), action


async def test_a_supervisor_sets_another_due_date_and_the_contact_is_told(world: World) -> None:
    inspector, boss, contact = chat(world, "100"), chat(world, "300"), chat(world, CONTACT)
    await inspect_and_submit(world, inspector)
    lag = (await items(world))["filing_lagging"]
    assert lag.owner_id == world.ids["contact"]
    await inspector.say(f"/due {lag.id} 2027-03-31")
    assert "只有督查室和管理员" in inspector.text
    await contact.say(f"/due {lag.id} 2027-03-31")
    assert "乡镇联系人" in contact.text
    await chat(world, "400").say(f"/due {lag.id} 2027-03-31")  # 孙主任 of the other county
    assert (await items(world))["filing_lagging"].due.isoformat() == f"{world.year}-12-31"
    await boss.say(f"/due {lag.id} 2027年3月31日")
    assert "已调整整改期限" in boss.text and "限 2027-03-31 前" in boss.text
    [told] = notes_to(boss, CONTACT)
    assert "整改期限已调整" in told.text
    assert (await items(world))["filing_lagging"].due.isoformat() == "2027-03-31"
    assert await events(world, lag.id or 0) == ["opened", "due_set"]


async def test_second_year_unchanged_sections_in_one_tap_each(world: World) -> None:
    from storage.queries.dialog_state import load_state
    from tests.dialog_driver import stored_answers

    inspector, boss = chat(world, "100"), chat(world, "300")
    last = world.year - 1
    await inspector.say("/inspect")
    await inspector.press("太平乡")
    await inspector.press(f"{last} 年")
    await answer_all(world, inspector)
    await inspector.press("提交")
    assert {i.year for i in (await items(world)).values()} == {last}
    # This year: every section confirmed in one tap but the room, where the protections are now complete.
    await inspector.say("/inspect")
    await inspector.press("太平乡")
    await inspector.press(YEAR_BUTTON)
    assert f"上次发现：八防措施不全（{last}年度）— 现在是否已整改？" in inspector.text
    assert f"上次检查（{last}年度）【组织领导】：分管领导 是；纳入目标管理 否" in inspector.text
    taps = 0
    for _ in range(40):
        async with world.sessions() as s:
            state, _ = await load_state(s, world.ids["inspector"])
        if state.get("step") != "question":
            break
        key = state["question"]
        if key == "protections":
            await inspector.say("全部")
        elif key == "photos":
            await inspector.photo(b"\xff\xd8y2", "y2")
            await inspector.press("完成")
        elif any("本部分与上次相同" in label for label in inspector.labels()) and key != "has_room":
            await inspector.press("本部分与上次相同")
            taps += 1
        else:
            await inspector.say(TYPED[key][0])
    assert taps == 8  # every section but the room (answered) and the photos (new ones): one tap each
    await inspector.press("提交")
    before = await stored_answers(world.sessions, world.ids["taiping"], last)
    after = await stored_answers(world.sessions, world.ids["taiping"], world.year)
    changed = {k for k in after if after.get(k) != before.get(k)}
    assert changed == {"protections", "photos"}, changed
    found = await items(world)
    assert found["missing_protections"].status == ItemStatus.closed
    assert found["missing_protections"].closed_how == "answers"
    assert found["filing_lagging"].status == ItemStatus.open and found["filing_lagging"].year == last
    await boss.say("/status 太平乡")
    assert f"较 {last} 年度：得分 +4；已解决：八防措施不全" in boss.text
    assert f"{last} 年度发现 2 项：待整改 1 项（其中逾期 1 项）、待审核 0 项、已整改 1 项" in boss.text
    await boss.say(f"/summary {world.year}")
    assert "整改事项：本年度督查发现 1 项，待整改 1 项（其中逾期 1 项）" in boss.text  # found still there
    assert "与上年比较" not in boss.text  # a button: the year before is read when asked for
    await boss.press(f"📈 与{last}年度比较")
    assert f"与上年比较（{last}年度检查 1 个乡镇，本年度 1 个）" in boss.text
    await boss.say(f"/summary {last}")
    await boss.press(f"📈 与{last - 1}年度比较")
    assert f"与上年比较：{last - 1}年度没有已提交的检查记录，无从比较。" in boss.text
    await boss.say(f"/report {world.year}")
    doc_reply = next(r for r in boss.replies if r.file is not None and r.file.suffix == ".docx")
    paragraphs = [p.text for p in Document(str(doc_reply.file)).paragraphs]
    [compared] = [p for p in paragraphs if p.startswith("与上年比较")]
    assert "较上年，八防措施不全的乡镇由 1 个减至 0 个；其余" in compared and compared.endswith(
        "项与上年相同。"
    )


async def test_guidance_asked_and_answered(world: World) -> None:
    inspector, contact = chat(world, "100"), chat(world, CONTACT)
    await inspect_and_submit(world, inspector)
    [note] = notes_to(inspector, CONTACT)
    await press_data(contact, button(note, "请求指导 1"))
    assert "请写下需要指导的问题" in contact.text
    await contact.say("防有害气体需要什么设备？")
    assert "已将您的问题转给：李督查" in contact.text
    [asked] = notes_to(contact, "100")
    assert "周档案员（太平乡）请求指导" in asked.text and "防有害气体需要什么设备？" in asked.text
    await press_data(chat(world, OTHER_CONTACT), button(asked, "回复"))  # not theirs to answer
    await press_data(inspector, button(asked, "回复"))
    await inspector.say("配备活性炭吸附装置即可")
    [answer] = notes_to(inspector, CONTACT)
    assert "李督查 回复了您关于「八防措施不全」的问题：配备活性炭吸附装置即可" in answer.text
    assert any("已整改" in b.label for row in answer.buttons for b in row)
    item = (await items(world))["missing_protections"]
    assert await events(world, item.id or 0) == ["opened", "guidance", "answered"]
