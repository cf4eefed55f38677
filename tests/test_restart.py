"""The bot as a separate process, killed with SIGKILL in the middle of a checklist and started
again: every answer given before the kill is kept, and the next unanswered question is asked."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import func, select

from storage.db import make_engine, make_sessionmaker, upgrade
from storage.models import AnswerChange
from tests.conftest import PG_URL, need_pg, pg_admin
from tests.dialog_driver import seed, state_of, stored_answers
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram_harness import INSPECTOR, TOKEN, act
from tests.test_dialog import TYPED
from tests.test_telegram_e2e import _year, open_inspection


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
        return
    need_pg()
    name = f"restart_{uuid.uuid4().hex[:10]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        await pg_admin(f'DROP DATABASE "{name}" WITH (FORCE)')


async def start_bot(api: FakeTelegramAPI, db_url: str, data_dir: Path) -> asyncio.subprocess.Process:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "BOT_"))},
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "TELEGRAM_FILE_BASE_URL": api.base_file_url,
        "DATABASE_URL": db_url,
        "DATA_DIR": str(data_dir),
        "REMINDERS_ENABLED": "false",
    }
    polls = api.stats.requests["getUpdates"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=data_dir,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    for _ in range(600):  # up to a minute for the interpreter, the migrations and the first poll
        if api.stats.requests["getUpdates"] > polls:
            return proc
        if proc.returncode is not None:
            break
        await asyncio.sleep(0.1)
    raise AssertionError(f"the bot did not start polling (exit code {proc.returncode})")


async def test_sigkill_mid_checklist_loses_nothing(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    await upgrade(engine)
    sessions = make_sessionmaker(engine)
    world = await seed(sessions, channel="telegram")
    person = world["inspector"]

    async def key() -> str:
        return str((await state_of(sessions, person)).get("question"))

    try:
        async with FakeTelegramAPI(token=TOKEN) as api:
            proc = await start_bot(api, db_url, tmp_path)
            try:
                await open_inspection(api)
                answered = []
                for _ in range(4):
                    answered.append(await key())
                    await act(api, lambda: api.send_text(INSPECTOR, TYPED[answered[-1]][0]))
                in_flight = await key()
                await api.send_text(INSPECTOR, TYPED[in_flight][0])  # no wait: killed with it in flight
            finally:
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
            before = await stored_answers(sessions, world["taiping"], _year())
            for k in answered:
                assert before[k] == TYPED[k][1]

            proc = await start_bot(api, db_url, tmp_path)
            try:
                await open_inspection(api)
                resumed = next(t for t in reversed(api.texts(INSPECTOR)) if "继续上次的检查" in t)
                after = await stored_answers(sessions, world["taiping"], _year())
                assert f"已答 {len(after)} 题" in resumed
                assert set(after) - set(answered) <= {in_flight}  # the in-flight one: applied once, or not
                expected_next = in_flight if in_flight not in after else None
                if expected_next:
                    assert await key() == expected_next
                else:
                    assert await key() not in after
                await act(
                    api,
                    lambda: api.send_text(INSPECTOR, "/cancel"),
                    until=lambda c: "已保存" in (c.body or ""),
                )
            finally:
                proc.send_signal(signal.SIGTERM)
                await proc.wait()
        async with sessions() as s:
            changes = (
                await s.exec(
                    select(AnswerChange.question_key, func.count()).group_by(AnswerChange.question_key)
                )
            ).all()
        assert all(n == 1 for _, n in changes), changes  # nothing applied twice
    finally:
        await engine.dispose()
