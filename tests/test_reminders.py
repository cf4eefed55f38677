"""Reminders with a controlled clock from October to January, on the Chinese working calendar:
who gets what, on which day, once — across crashes, restarts and downtime."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.dialog.types import Button, Reply
from bot.outbox import Outcome
from bot.reminders.calendar import is_workday
from bot.reminders.rules import ReminderRules, occasion
from bot.reminders.service import ReminderService
from storage.db import SessionMaker, transaction
from storage.models import Identity, Person, ReminderLog, Role
from storage.queries import inspections as q_insp
from storage.queries.checklists import ensure_checklist_version
from storage.queries.registry import add_person, get_or_create_area
from storage.queries.targets import set_year_target
from tests.dialog_driver import seed

TZ = ZoneInfo("Asia/Shanghai")
RULES = ReminderRules()


class Crash(Exception):
    """Stands for the process dying in the middle of a fan-out."""


class FakeSender:
    """Records what would reach each chat; can fail or crash on cue."""

    def __init__(self, crash_on: int | None = None, blocked: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.sent: list[tuple[str, str, str, list[list[Button]]]] = []
        self.calls = 0
        self.crash_on, self.blocked = crash_on, blocked

    async def send(self, channel: str, external_id: str, reply: Reply) -> Outcome:
        self.calls += 1
        if self.crash_on is not None and self.calls == self.crash_on:
            raise Crash
        if external_id in self.blocked:
            return "blocked"
        self.sent.append((channel, external_id, reply.text, reply.buttons))
        return "sent"

    def to(self, external_id: str) -> list[str]:
        return [text for _, who, text, _ in self.sent if who == external_id]


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def service(sessions: SessionMaker, sender: FakeSender, **kw: Any) -> ReminderService:
    return ReminderService(sessions, sender, TZ, RULES, **kw)


@pytest.fixture
async def world(sessions: SessionMaker) -> dict[str, Any]:
    """The dialog seed, plus a county supervisor for 东县, and 太平乡 done for 2026."""
    ids = await seed(sessions, channel="telegram")
    async with transaction(sessions) as s:
        east = await get_or_create_area(s, "东县")
        county = await add_person(s, "钱科长", Role.supervisor, area=east, identities=[("telegram", "400")])
        from bot.engine import builtin_checklist

        cl = builtin_checklist()
        version = await ensure_checklist_version(s, cl.name, cl.version, cl.to_data())
        done = await q_insp.start_inspection(s, ids["taiping"], 2026, version.id or 0, ids["inspector"])
        await s.flush()
        for key, value in {"annual_task_done": True, "villages_total": 12, "villages_established": 9}.items():
            await q_insp.set_answer(s, done, key, value, ids["inspector"], current=None)
        await q_insp.submit(s, done, ids["inspector"])
        draft = await q_insp.start_inspection(s, ids["chengguan"], 2026, version.id or 0, ids["inspector"])
        await s.flush()
        await q_insp.set_answer(s, draft.id or 0, "leader_named", True, ids["inspector"], current=None)
    return {**ids, "county": county.id}


async def run_season(
    sessions: SessionMaker, sender: FakeSender, start: date, end: date
) -> dict[str, list[date]]:
    """Run the daily job at 09:00 each day; which dates each chat received something."""
    svc = service(sessions, sender)
    got: dict[str, list[date]] = defaultdict(list)
    day = start
    while day <= end:
        before = len(sender.sent)
        await svc.run_due(at(day))
        for _, who, _, _ in sender.sent[before:]:
            got[who].append(day)
        day += timedelta(days=1)
    return got


def _expected_days(start: date, end: date, deadline: date) -> list[date]:
    """Independently of the rules module: one per month (Oct, Nov) on its first working day,
    one per ISO week in the last 30 days on its first working day there, every working day of
    the last 7 days, the day (or the last working day before it), then working days after."""
    days = [d for d in (start + timedelta(n) for n in range((end - start).days + 1)) if is_workday(d)]
    expected: list[date] = []
    seen: set[object] = set()
    for d in days:
        left = (deadline - d).days
        if left > 30:
            key: object = ("m", d.month)
        elif left > 7:
            key = ("w", d.isocalendar()[:2])
        else:
            key = d
        if key not in seen:
            seen.add(key)
            expected.append(d)
    return expected


async def test_october_to_january_on_working_days(sessions: SessionMaker, world: dict[str, Any]) -> None:
    sender = FakeSender()
    got = await run_season(sessions, sender, date(2026, 9, 20), date(2027, 1, 15))
    expected = _expected_days(date(2026, 10, 1), date(2027, 1, 15), date(2026, 12, 31))
    for chat in ("300", "400", "100", "200"):  # city and county supervisors, both inspectors
        assert got[chat] == expected, chat
    # National Day (10-01..10-07) moves October's reminder to the first working day after it.
    assert got["300"][0] == date(2026, 10, 8)
    assert date(2026, 11, 2) in got["300"] and date(2026, 12, 31) in got["300"]
    assert all(is_workday(d) for d in got["300"])
    assert "9" not in got  # a stranger never hears anything


async def test_what_each_person_is_told(sessions: SessionMaker, world: dict[str, Any]) -> None:
    sender = FakeSender()
    await service(sessions, sender).run_due(at(date(2026, 12, 21)))
    city = sender.to("300")[0]
    assert "距截止日期（12月31日）还有 10 天" in city
    assert "完成年度归档任务 1/3 个乡镇（33%），目标 80%" in city
    # 9 of 39: the submitted inspection's 12 villages and the registry's 18 + 9 of the two not
    # submitted, none established there (as /summary and the report count), and it says so.
    assert "村（社区）建档率 23%，目标 80%" in city
    assert "以上按范围内全部 3 个乡镇计：已提交检查记录 1 个，其余 2 个按未完成、未建档计" in city
    assert "尚未完成：城关镇、新华乡" in city
    buttons = next(b for _, who, _, b in sender.sent if who == "300")
    assert buttons[0][0].data == "x:summary:2026"
    county = sender.to("400")[0]
    assert "1/2 个乡镇" in county and "新华乡" not in county  # only their county
    inspector = sender.to("100")[0]
    assert "城关镇：草稿，已答 1 题" in inspector and "太平乡" not in inspector
    assert "新华乡：尚未开始" in sender.to("200")[0]


async def test_targets_and_deadline_from_the_database(sessions: SessionMaker, world: dict[str, Any]) -> None:
    async with transaction(sessions) as s:
        await set_year_target(s, 2026, date(2026, 12, 25), 0.9, 0.85)
    sender = FakeSender()
    await service(sessions, sender).run_due(at(date(2026, 12, 25)))
    assert "今天（12月25日）是截止日期" in sender.to("300")[0] and "目标 90%" in sender.to("300")[0]


async def test_overdue_lists_go_to_supervisors_with_who_owes_what(
    sessions: SessionMaker, world: dict[str, Any]
) -> None:
    sender = FakeSender()
    await service(sessions, sender).run_due(at(date(2027, 1, 4)))
    city = sender.to("300")[0]
    assert "已超过截止日期（12月31日）4 天" in city
    assert "逾期未提交（李督查）：城关镇" in city and "逾期未提交（王督查）：新华乡" in city


async def test_crash_mid_fan_out_then_restart_neither_loses_nor_doubles(
    sessions: SessionMaker, world: dict[str, Any]
) -> None:
    now = at(date(2026, 12, 28))
    crashing = FakeSender(crash_on=3)
    with pytest.raises(ExceptionGroup):
        await service(sessions, crashing).run_due(now)
    assert 1 <= len(crashing.sent) < 4  # the crash cut the fan-out short
    # A new process; the dead run's claim is taken over (stale at once for the test).
    restarted = FakeSender()
    await service(sessions, restarted).run_due(now, stale_after=timedelta(0))
    again = FakeSender()
    await service(sessions, again).run_due(now, stale_after=timedelta(0))
    received = sorted(who for _, who, _, _ in crashing.sent + restarted.sent)
    assert received == ["100", "200", "300", "400"]
    assert again.sent == []
    async with sessions() as s:
        assert {r.status for r in (await s.exec(select(ReminderLog))).all()} == {"sent"}


async def test_a_fresh_claim_is_not_taken_over(sessions: SessionMaker, world: dict[str, Any]) -> None:
    now = at(date(2026, 12, 28))
    with pytest.raises(ExceptionGroup):
        await service(sessions, FakeSender(crash_on=1), workers=1).run_due(now)
    other = FakeSender()
    await service(sessions, other).run_due(now)  # default staleness: the claim may still be in flight
    assert len(other.sent) == 3
    last = FakeSender()
    await service(sessions, last).run_due(now, stale_after=timedelta(0))  # later, taken over
    assert len(last.sent) == 1 and {w for _, w, _, _ in other.sent + last.sent} == {
        "100",
        "200",
        "300",
        "400",
    }


async def test_downtime_across_the_send_time_sends_once_when_back(
    sessions: SessionMaker, world: dict[str, Any]
) -> None:
    sender = FakeSender()
    svc = service(sessions, sender)
    assert (await svc.run_due(at(date(2026, 12, 28), 8, 59))).sent == 0  # before the send time
    # Down at 09:00; back at 15:00: today's reminder goes out once.
    assert (await svc.run_due(at(date(2026, 12, 28), 15))).sent == 4
    assert (await svc.run_due(at(date(2026, 12, 28), 16))).sent == 0
    # The weekly reminder of a week whose Monday was missed goes out on Wednesday.
    assert (await svc.run_due(at(date(2026, 12, 16)))).sent == 4
    assert (await svc.run_due(at(date(2026, 12, 17)))).sent == 0


async def test_muted_people_get_only_urgent_reminders(sessions: SessionMaker, world: dict[str, Any]) -> None:
    async with transaction(sessions) as s:
        person = await s.get(Person, world["supervisor"])
        assert person is not None
        person.muted = True
        s.add(person)
    sender = FakeSender()
    await service(sessions, sender).run_due(at(date(2026, 11, 2)))
    assert sender.to("300") == [] and sender.to("400")
    await service(sessions, sender).run_due(at(date(2026, 12, 28)))
    assert len(sender.to("300")) == 1


async def test_blocked_recipient_is_marked_and_skipped(sessions: SessionMaker, world: dict[str, Any]) -> None:
    sender = FakeSender(blocked={"300"})
    report = await service(sessions, sender).run_due(at(date(2026, 12, 28)))
    assert report.blocked == 1 and report.sent == 3
    async with sessions() as s:
        ident = (await s.exec(select(Identity).where(Identity.external_id == "300"))).one()
        assert ident.blocked
    later = FakeSender()
    await service(sessions, later).run_due(at(date(2026, 12, 29)))
    assert later.to("300") == [] and len(later.sent) == 3


def test_rules_on_the_edges() -> None:
    deadline = date(2026, 12, 31)
    assert occasion(date(2026, 10, 1), 2026, deadline, RULES) is None  # National Day
    assert occasion(date(2026, 9, 30), 2026, deadline, RULES) is None  # before October
    sat = occasion(date(2026, 12, 26), 2026, deadline, RULES)
    assert sat is None or is_workday(date(2026, 12, 26))
    assert occasion(date(2027, 2, 5), 2026, deadline, RULES) is None  # overdue lists stop after 31 days
    due = occasion(date(2027, 1, 29), 2027, date(2027, 1, 31), ReminderRules())
    assert due is not None and due.kind == "due"  # the deadline is a Sunday: the Friday before


async def test_real_scheduler_runs_the_catch_up(sessions: SessionMaker, world: dict[str, Any]) -> None:
    import asyncio

    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    sender = FakeSender()
    svc = service(sessions, sender, clock=lambda: at(date(2026, 12, 28), 10))
    scheduler = AsyncIOScheduler(timezone=TZ)
    svc.schedule(scheduler, start_in=0.1)
    scheduler.start()
    try:
        assert {job.id for job in scheduler.get_jobs()} == {"reminders", "reminders-catch-up"}
        daily = scheduler.get_job("reminders")
        next_run = daily.next_run_time.astimezone(TZ) if daily is not None else None
        assert next_run is not None and 9 <= next_run.hour <= 20 and next_run.minute == 0
        for _ in range(50):
            if len(sender.sent) == 4:
                break
            await asyncio.sleep(0.05)
    finally:
        scheduler.shutdown(wait=False)
    assert sorted(who for _, who, _, _ in sender.sent) == ["100", "200", "300", "400"]


async def test_deadline_commands_in_chat(
    sessions: SessionMaker, world: dict[str, Any], tmp_path: Any
) -> None:
    from bot.dialog.types import Who
    from tests.dialog_driver import Chat, make_dialog

    dialog = make_dialog(sessions, tmp_path)
    inspector = Chat(dialog, Who("telegram", "100"))
    await inspector.say("/deadlines")
    assert "截止" in inspector.text and "80%" in inspector.text
    await inspector.say("/deadline 2026 2026-12-20 90 85")
    assert "只有管理员" in inspector.text
    async with transaction(sessions) as s:
        await add_person(s, "管理员", Role.admin, identities=[("telegram", "500")])
    admin = Chat(dialog, Who("telegram", "500"))
    await admin.say("/deadline 2026 2026-13-45")
    assert "不对" in admin.text or "用法" in admin.text
    await admin.say("/deadline 2026 2026-12-20 90 85")
    assert "已保存" in admin.text and "2026-12-20" in admin.text and "90%" in admin.text
    await inspector.say("/deadlines")
    assert "2026-12-20" in inspector.text and "85%" in inspector.text
    await inspector.say("/mute")
    assert "/unmute" in inspector.text
    async with sessions() as s:
        person = await s.get(Person, world["inspector"])
        assert person is not None and person.muted
    await inspector.say("/unmute")
    async with sessions() as s:
        person = await s.get(Person, world["inspector"])
        assert person is not None and not person.muted


async def test_telegram_fan_out_within_the_limits(sessions: SessionMaker, world: dict[str, Any]) -> None:
    """Through the outbox and the Bot's rate limiter to the fake API enforcing 30/s overall and
    1/s per chat: the fan-out itself paces nothing."""
    from telegram.ext import ExtBot

    from bot.handlers.flood import FloodLimiter
    from bot.handlers.sender import TelegramSender
    from bot.outbox import Outbox
    from tests.fakes.telegram_api import FakeTelegramAPI
    from tests.telegram_harness import TOKEN

    async with transaction(sessions) as s:
        area = await get_or_create_area(s, "东县")
        for n in range(40):
            await add_person(
                s, f"督查{n}", Role.supervisor, area=area, identities=[("telegram", str(7000 + n))]
            )
    async with FakeTelegramAPI(token=TOKEN) as api:
        api.enforce_limits(global_per_second=30, per_chat_per_second=1, per_chat_burst=1)
        limiter = FloodLimiter(30)
        async with ExtBot(TOKEN, base_url=api.base_url, rate_limiter=limiter) as bot:
            outbox = Outbox({"telegram": TelegramSender(bot)})
            report = await ReminderService(sessions, outbox, TZ, RULES).run_due(at(date(2026, 12, 28)))
        assert report.sent == 44 and api.stats.rate_limited == 0 and api.stats.duplicates == 0
        assert api.stats.delivered == 44
        first, last = api.messages()[0].monotonic, api.messages()[-1].monotonic
        assert last - first >= (44 - 3) / 30 * 0.95  # paced, not sent in a burst


async def test_reminder_numbers_agree_with_the_summary(
    sessions: SessionMaker, world: dict[str, Any], tmp_path: Any
) -> None:
    from bot.dialog.types import Input, Who
    from tests.dialog_driver import Chat, make_dialog

    sender = FakeSender()
    await service(sessions, sender).run_due(at(date(2026, 12, 21)))
    reminder = sender.to("300")[0]
    supervisor = Chat(make_dialog(sessions, tmp_path), Who("telegram", "300"))
    await supervisor.send(Input("button", data="x:summary:2026"))  # the reminder's button
    assert "1/3" in reminder and "1/3" in supervisor.text
    assert "23%" in reminder and "23.1%" in supervisor.text
