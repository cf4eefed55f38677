"""`archive-bot reminders run/preview` and `archive-bot deadline` as an operator runs them."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from storage.db import make_engine, make_sessionmaker, upgrade
from tests.dialog_driver import seed
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram_harness import TOKEN


async def cli(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "BOT_"))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env={**base, **env},
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_reminders_run_preview_and_deadline(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    engine = make_engine(url)
    await upgrade(engine)
    await seed(make_sessionmaker(engine), channel="telegram")
    await engine.dispose()
    env = {"DATABASE_URL": url}
    code, out = await cli(
        "deadline",
        "set",
        "--year",
        "2026",
        "--date",
        "2026-12-30",
        "--township-target",
        "90",
        env=env,
        cwd=tmp_path,
    )
    assert code == 0 and "2026-12-30" in out and "90%" in out
    code, out = await cli("reminders", "preview", "--now", "2026-12-30T09:30", env=env, cwd=tmp_path)
    assert code == 0 and "今天（12月30日）是截止日期" in out and "赵主任" in out
    async with FakeTelegramAPI(token=TOKEN) as api:
        env |= {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": api.base_url,
            "TELEGRAM_FILE_BASE_URL": api.base_file_url,
        }
        code, out = await cli("reminders", "run", "--now", "2026-12-30T09:30+08:00", env=env, cwd=tmp_path)
        assert code == 0 and "已发送 3 条" in out, out
        code, out = await cli("reminders", "run", "--now", "2026-12-30T10:00", env=env, cwd=tmp_path)
        assert code == 0 and "已发送 0 条" in out and "跳过 3 条" in out
        assert sorted(m.chat_id for m in api.messages()) == [100, 200, 300]
    code, out = await cli("reminders", "run", "--now", "yesterday", env=env, cwd=tmp_path)
    assert code != 0 and "ISO 8601" in out


async def test_deadline_as_people_write_it_and_why_nothing_is_due(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    engine = make_engine(url)
    await upgrade(engine)
    await seed(make_sessionmaker(engine), channel="telegram")
    await engine.dispose()
    env = {"DATABASE_URL": url}
    args = ("deadline", "set", "--year", "2026", "--date")
    code, out = await cli(*args, "2026/12/31", "--township-target", "85%", env=env, cwd=tmp_path)
    assert code == 0 and "2026-12-31" in out and "85%" in out, out
    code, out = await cli(*args, "2027-01-15", env=env, cwd=tmp_path)
    assert code != 0 and "不在该年度内" in out, out
    code, out = await cli(*args, "2026-12-31", "--township-target", "150", env=env, cwd=tmp_path)
    assert code != 0 and "0 到 100" in out, out
    code, out = await cli("deadline", "list", env=env, cwd=tmp_path)
    assert code == 0 and "2026-12-31" in out and "85%" in out, out
    # 2026-12-20 is a Sunday, 2026-10-02 in the National Day holiday, 08:00 before the send time.
    code, out = await cli("reminders", "preview", "--now", "2026-12-20T09:30", env=env, cwd=tmp_path)
    assert code == 0 and "周末" in out, out
    code, out = await cli("reminders", "preview", "--now", "2026-10-02T09:30", env=env, cwd=tmp_path)
    assert code == 0 and "国庆节" in out, out
    code, out = await cli("reminders", "preview", "--now", "2026-12-21T08:00", env=env, cwd=tmp_path)
    assert code == 0 and "起才发送" in out, out
    code, out = await cli("reminders", "preview", "--now", "2026-12-21T09:30", env=env, cwd=tmp_path)
    assert code == 0 and "赵主任" in out, out
