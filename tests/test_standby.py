"""Two real ``archive-bot run`` processes on one PostgreSQL against the fake Bot API: one leads
(polls, runs the reminders), the other stands by; the leader is SIGKILLed in the middle of a
reminder fan-out while an inspector is answering, and the standby takes over within seconds.
Every answer is stored once, every reminder recipient is reminded once, none is missed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlmodel import func, select

from bot.reminders.calendar import is_workday
from bot.reminders.rules import ReminderRules, occasion
from storage.db import SessionMaker, make_engine, make_sessionmaker, transaction, upgrade
from storage.models import AnswerChange, ReminderLog, Role
from storage.queries.registry import add_person, get_or_create_area, upsert_township
from storage.queries.targets import set_year_target
from tests.conftest import PG_URL, need_pg, pg_admin
from tests.dialog_driver import seed, state_of, stored_answers
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram_harness import INSPECTOR, TOKEN, is_prompt
from tests.test_dialog import TYPED
from tests.test_telegram_e2e import _year, open_inspection

TZ_NAME = "Asia/Shanghai"
RECIPIENTS = 24  # people owed a reminder besides the seed's, in chats 2000..
FIRST_CHAT = 2000
PACE = 5  # messages a second: a fan-out slow enough to be cut in the middle
TAKEOVER_LIMIT = 10.0


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    need_pg()
    name = f"standby_{uuid.uuid4().hex[:10]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        await pg_admin(f'DROP DATABASE "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Bot:
    """One ``archive-bot run`` process, its /healthz on a port of its own."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process, port: int, log: Path) -> None:
        self.name, self.proc, self.port, self.log = name, proc, port, log

    async def health(self) -> dict[str, Any] | None:
        try:
            async with aiohttp.ClientSession() as http:
                async with http.get(
                    f"http://127.0.0.1:{self.port}/healthz", timeout=aiohttp.ClientTimeout(2)
                ) as r:
                    return dict(json.loads(await r.text()))
        except (aiohttp.ClientError, OSError, TimeoutError):
            return None

    async def wait_role(self, role: str, timeout: float = 30) -> float:  # noqa: ASYNC109
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if (h := await self.health()) is not None and h.get("role") == role:
                return time.monotonic() - start
            if self.proc.returncode is not None:
                break
            await asyncio.sleep(0.1)
        raise AssertionError(
            f"{self.name} is not {role} (exit {self.proc.returncode}):\n{self.log.read_text()[-3000:]}"
        )


async def start_bot(name: str, api: FakeTelegramAPI, db_url: str, data_dir: Path, **extra: str) -> Bot:
    port = free_port()
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "DATABASE_", "BOT_", "REMINDER"))
        },
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "TELEGRAM_FILE_BASE_URL": api.base_file_url,
        "TELEGRAM_MESSAGES_PER_SECOND": str(PACE),
        "DATABASE_URL": db_url,
        "DATA_DIR": str(data_dir),
        "BOT_TIMEZONE": TZ_NAME,
        "REMINDERS_ENABLED": "true",
        "REMINDER_TIME": "00:00",
        "METRICS_PORT": str(port),
        **extra,
    }
    log = data_dir / f"{name}.log"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=data_dir,
        stdout=log.open("wb"),
        stderr=asyncio.subprocess.STDOUT,
    )
    return Bot(name, proc, port, log)


async def owed_reminders(sessions: SessionMaker) -> bool:
    """Seed the reminder recipients (inspectors owing a township each) and a deadline that calls
    for a reminder today; False when today is not a working day (no reminder is due)."""
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo(TZ_NAME)).date()
    if not is_workday(today):
        return False
    rules = ReminderRules(send_hour=0, send_minute=0)
    deadline = next(
        today + timedelta(days=d)
        for d in range(8)
        if occasion(today, today.year, today + timedelta(days=d), rules)
    )
    async with transaction(sessions) as s:
        east = await get_or_create_area(s, "东县")
        for i in range(RECIPIENTS):
            township = await upsert_township(s, east, f"提醒{i}乡", 5)
            await add_person(
                s,
                f"督查{i}",
                Role.inspector,
                area=east,
                identities=[("telegram", str(FIRST_CHAT + i))],
                townships=[township],
            )
        await set_year_target(s, today.year, deadline, None, None)
    return True


def reminder_chats(api: FakeTelegramAPI) -> dict[int, int]:
    counts = {FIRST_CHAT + i: 0 for i in range(RECIPIENTS)}
    for call in api.messages(edits=False):
        if call.chat_id in counts:
            counts[call.chat_id] += 1
    return counts


async def test_standby_takes_over_when_the_leader_is_killed(pg_url: str, tmp_path: Path) -> None:
    engine = make_engine(pg_url)
    await upgrade(engine)
    sessions = make_sessionmaker(engine)
    world = await seed(sessions, channel="telegram")
    reminding = await owed_reminders(sessions)
    person = world["inspector"]
    given: list[str] = []
    bots: list[Bot] = []

    async def key() -> str:
        return str((await state_of(sessions, person)).get("question"))

    try:
        async with FakeTelegramAPI(token=TOKEN) as api:
            a = await start_bot("a", api, pg_url, tmp_path)
            bots.append(a)
            await a.wait_role("leader")
            b = await start_bot("b", api, pg_url, tmp_path)
            bots.append(b)
            await b.wait_role("standby")
            await open_inspection(api)

            answering = True

            async def answer_continuously() -> None:
                while answering:
                    question = await key()
                    if question not in TYPED:
                        return
                    mark = api.mark()
                    await api.send_text(INSPECTOR, TYPED[question][0])
                    given.append(question)
                    await api.wait_for(is_prompt, 30, since=mark)

            inspector = asyncio.create_task(answer_continuously())

            if reminding:  # killed in the middle of the fan-out, between two sends
                deadline = time.monotonic() + 30
                while sum(reminder_chats(api).values()) < RECIPIENTS // 3:
                    assert time.monotonic() < deadline, "the leader's fan-out did not start"
                    await api.wait_for(lambda c: True, 5, since=api.mark())
                await asyncio.sleep(0.05)  # its record written; the next send is 1/PACE s away
            else:
                await asyncio.sleep(3)
            polls = api.stats.requests["getUpdates"]
            killed_at = time.monotonic()
            a.proc.send_signal(signal.SIGKILL)
            await a.proc.wait()
            cut = sum(reminder_chats(api).values())
            async with sessions() as s:
                unsent = (
                    await s.exec(
                        select(func.count()).select_from(ReminderLog).where(ReminderLog.status == "claimed")
                    )
                ).one()

            await b.wait_role("leader", TAKEOVER_LIMIT)
            while api.stats.requests["getUpdates"] == polls:
                assert time.monotonic() - killed_at < TAKEOVER_LIMIT, "the standby does not poll"
                await asyncio.sleep(0.05)
            takeover = time.monotonic() - killed_at
            assert takeover < TAKEOVER_LIMIT

            if reminding:
                assert 0 < cut < RECIPIENTS, cut  # the kill came in the middle
                deadline = time.monotonic() + 20
                while min(reminder_chats(api).values()) == 0:
                    assert time.monotonic() < deadline, reminder_chats(api)
                    await asyncio.sleep(0.1)
            await asyncio.sleep(2)  # answering on, with the new leader
            answering = False
            await asyncio.wait_for(inspector, 30)
            b.proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(b.proc.wait(), 20) == 0
            assert api.stats.poll_overlaps == 0  # never two processes polling at once
            print(f"takeover {takeover:.2f} s; answers {len(given)}; cut at {cut}, {unsent} claimed unsent")

        stored = await stored_answers(sessions, world["taiping"], _year())
        assert len(given) >= 3
        for question in given:
            assert stored[question] == TYPED[question][1], question
        async with sessions() as s:
            changes = dict(
                (
                    await s.exec(
                        select(AnswerChange.question_key, func.count()).group_by(AnswerChange.question_key)
                    )
                ).all()
            )
            statuses = (await s.exec(select(ReminderLog.status))).all()
        assert changes == {q: 1 for q in given}  # each answer applied once
        if reminding:
            assert reminder_chats(api) == {FIRST_CHAT + i: 1 for i in range(RECIPIENTS)}  # once, none missed
            assert set(statuses) == {"sent"}
    finally:
        for bot in bots:
            if bot.proc.returncode is None:
                bot.proc.send_signal(signal.SIGKILL)
                await bot.proc.wait()
        await engine.dispose()
