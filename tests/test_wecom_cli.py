"""``archive-bot run`` with WeCom: alone when there is no Telegram token, the guidance when
neither is configured, and each bad WeCom setting named in one line."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from bot.config import SettingsError, load_settings
from tests.fakes.wecom_api import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN, FakeWeCom

WECOM = {
    "WECOM_CORP_ID": CORP_ID,
    "WECOM_AGENT_ID": str(AGENT_ID),
    "WECOM_SECRET": SECRET,
    "WECOM_TOKEN": TOKEN,
    "WECOM_AES_KEY": AES_KEY,
}


def clean_env(**extra: str) -> dict[str, str]:
    prefixes = ("TELEGRAM_", "DATABASE_", "BOT_", "WECOM_", "REMINDER")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(prefixes)}, **extra}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_run_with_only_wecom_serves_the_callback(tmp_path: Path) -> None:
    port = free_port()
    async with FakeWeCom() as api:
        env = clean_env(
            **WECOM,
            WECOM_API_BASE_URL=api.base_url,
            WECOM_CALLBACK_PORT=str(port),
            DATA_DIR=str(tmp_path / "data"),
            REMINDERS_ENABLED="false",
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=str(tmp_path),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        api.callback_url = f"http://127.0.0.1:{port}/wecom/callback"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    status, body = await api.verify_url()
                    break
                except OSError:
                    assert proc.returncode is None and time.monotonic() < deadline, "the server did not start"
                    await asyncio.sleep(0.1)
            assert (status, body) == (200, "<echo>")
            await api.send_text("stranger", "你好")
            reply = await api.wait_for(lambda m: m.touser == "stranger", timeout=10)
            assert "邀请" in reply.text
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, stderr.decode()
        assert SECRET not in stderr.decode() and "WeCom callback listening" in stderr.decode()


def test_run_with_neither_channel_explains_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bot.cli import app

    monkeypatch.chdir(tmp_path)  # no .env here
    for key in [k for k in os.environ if k.startswith(("TELEGRAM_", "WECOM_"))]:
        monkeypatch.delenv(key)
    out = CliRunner().invoke(app, ["run"])
    assert out.exit_code == 78  # EX_CONFIG: not configured yet
    assert "@BotFather" in out.output and "WECOM_CORP_ID" in out.output


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({**WECOM, "WECOM_AES_KEY": "tooShort"}, "WECOM_AES_KEY"),
        ({**WECOM, "WECOM_AES_KEY": "!" * 43}, "WECOM_AES_KEY"),
        ({**WECOM, "WECOM_AGENT_ID": "abc"}, "WECOM_AGENT_ID"),
        ({**WECOM, "WECOM_TOKEN": "has space"}, "WECOM_TOKEN"),
        ({**WECOM, "WECOM_CALLBACK_PATH": "wecom"}, "WECOM_CALLBACK_PATH"),
        ({**WECOM, "WECOM_CALLBACK_PORT": "0"}, "WECOM_CALLBACK_PORT"),
        ({**WECOM, "WECOM_API_BASE_URL": "qyapi.weixin.qq.com"}, "WECOM_API_BASE_URL"),
        ({k: v for k, v in WECOM.items() if k != "WECOM_SECRET"}, "WECOM_SECRET"),
        ({"WECOM_CORP_ID": CORP_ID}, "WECOM_AGENT_ID"),
    ],
)
def test_each_bad_wecom_setting_is_named(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], name: str
) -> None:
    for key in [k for k in os.environ if k.startswith("WECOM_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError, match=name) as info:
        load_settings(_env_file=None)
    assert "\n" not in str(info.value) and AES_KEY not in str(info.value) and SECRET not in str(info.value)


def test_wecom_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("WECOM_")]:
        monkeypatch.delenv(key)
    assert not load_settings(_env_file=None).wecom_enabled
    blank = load_settings(_env_file=None, **{k.lower(): "" for k in WECOM})  # .env.example as copied
    assert not blank.wecom_enabled and blank.wecom_agent_id is None
    settings = load_settings(_env_file=None, **{k.lower(): v for k, v in WECOM.items()})
    assert settings.wecom_enabled and settings.wecom_callback_path == "/wecom/callback"
    assert settings.wecom_api_base_url == "https://qyapi.weixin.qq.com/cgi-bin"
    assert SECRET not in repr(settings) and AES_KEY not in repr(settings)
