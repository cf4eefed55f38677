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
        assert code == 0 and "sent 3" in out, out
        code, out = await cli("reminders", "run", "--now", "2026-12-30T10:00", env=env, cwd=tmp_path)
        assert code == 0 and "sent 0" in out and "skipped 3" in out
        assert sorted(m.chat_id for m in api.messages()) == [100, 200, 300]
    code, out = await cli("reminders", "run", "--now", "yesterday", env=env, cwd=tmp_path)
    assert code != 0 and "ISO 8601" in out
