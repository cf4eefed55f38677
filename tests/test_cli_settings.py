"""The command line and settings, run as a newcomer would run them."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from bot.config import SettingsError, load_settings
from bot.logs import _MaskTokens
from tests.conftest import PG_URL, need_pg, pg_admin

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "BOT_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_lists_commands(tmp_path: Path) -> None:
    out = cli("--help", cwd=tmp_path)
    assert out.returncode == 0
    for command in ("run", "db"):
        assert command in out.stdout


def test_run_without_token_explains_and_fails(tmp_path: Path) -> None:
    out = cli("run", cwd=tmp_path)
    assert out.returncode == 78  # EX_CONFIG: `make run` ends on the advice, not on "Error 1"
    assert "@BotFather" in out.stderr and "console" in out.stderr


def test_bad_setting_is_one_clear_line(tmp_path: Path) -> None:
    out = cli("run", cwd=tmp_path, env={"BOT_TIMEZONE": "Mars/Olympus", "TELEGRAM_BOT_TOKEN": TOKEN})
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert "BOT_TIMEZONE" in out.stderr
    assert TOKEN not in out.stderr + out.stdout


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({"WEBHOOK_PORT": "99999"}, "WEBHOOK_PORT"),
        ({"WEBHOOK_SECRET_TOKEN": "has space"}, "WEBHOOK_SECRET_TOKEN"),
        ({"BOT_LOCALE": "fr"}, "BOT_LOCALE"),
    ],
)
def test_each_bad_setting_is_named(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], name: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError, match=name):
        load_settings(_env_file=None)


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("DATABASE_URL", "BOT_TIMEZONE", "BOT_LOCALE", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    settings = load_settings(_env_file=None)
    assert settings.db_url.startswith("sqlite+aiosqlite:///data/")
    assert settings.bot_timezone == "Asia/Shanghai" and settings.bot_locale == "zh-CN"
    assert settings.token is None


def test_token_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        "HTTP Request: POST https://api.telegram.org/bot%s/getMe",
        (TOKEN,),
        None,
    )
    _MaskTokens().filter(record)
    assert TOKEN not in record.getMessage() and "<token>" in record.getMessage()
    assert TOKEN not in repr(load_settings(_env_file=None, telegram_bot_token=TOKEN))


def test_db_upgrade_on_new_sqlite_file_twice(tmp_path: Path) -> None:
    for _ in range(2):
        out = cli("db", "upgrade", cwd=tmp_path)
        assert out.returncode == 0, out.stderr
    assert (tmp_path / "data" / "archive-bot.sqlite3").exists()


async def test_db_upgrade_on_postgresql_twice(tmp_path: Path) -> None:
    need_pg()
    name = f"cli_{uuid.uuid4().hex[:10]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    try:
        url = PG_URL.rsplit("/", 1)[0] + "/" + name
        for _ in range(2):
            out = cli("db", "upgrade", cwd=tmp_path, env={"DATABASE_URL": url})
            assert out.returncode == 0, out.stderr
    finally:
        await pg_admin(f'DROP DATABASE "{name}" WITH (FORCE)')


def console(*args: str, cwd: Path, lines: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "BOT_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", "console", *args],
        cwd=cwd,
        env=base,
        input=lines,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_console_demo_keeps_to_its_own_database(tmp_path: Path) -> None:
    first = console(cwd=tmp_path, lines="/inspect\n#1\n/quit\n")
    assert first.returncode == 0, first.stderr
    assert "已建立示例数据" in first.stdout and "demo.sqlite3" in first.stdout
    assert "请选择检查年度" in first.stdout  # a township pressed: the dialog answered
    assert (tmp_path / "data" / "demo.sqlite3").is_file()
    again = console(cwd=tmp_path, lines="/quit\n")
    assert "已建立示例数据" not in again.stdout  # the same demo, where it was left
    # The real database holds none of it: nobody there to act as, no demo township listed.
    real = console("--real", cwd=tmp_path, lines="/quit\n")
    assert real.returncode != 0 and "正式数据库里还没有人员" in real.stdout + real.stderr
    listed = cli("admin", "users", "list", "--all", cwd=tmp_path)
    assert "示例" not in listed.stdout
    fresh = console("--fresh", cwd=tmp_path, lines="/quit\n")
    assert "已建立示例数据" in fresh.stdout
