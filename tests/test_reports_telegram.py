"""The documents reach Telegram: the real python-telegram-bot Application uploads the
report as a document and the chart as a photo to the fake Bot API; the command menu
lists the new commands; the archive-bot CLI writes the same documents."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from openpyxl import load_workbook
from typer.testing import CliRunner

import bot.reports.summary as summary_module
from storage.db import SessionMaker
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.report_scenario import YEAR, build
from tests.telegram_harness import TOKEN, act, running_bot
from tests.test_command_menus import until
from tests.test_reports import NOW

SUPERVISOR = 300  # 赵主任 in the scenario


@pytest.fixture
async def world(sessions: SessionMaker, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setattr(summary_module, "utcnow", lambda: NOW)
    return await build(sessions, channel="telegram")


async def test_documents_are_uploaded(sessions: SessionMaker, world: dict[str, Any], tmp_path: Path) -> None:
    async with FakeTelegramAPI(token=TOKEN) as api, running_bot(api, sessions, tmp_path):
        scope = (json.dumps({"type": "chat", "chat_id": SUPERVISOR}, sort_keys=True), "")
        await until(lambda: scope in api.commands)
        menu = {c["command"]: c["description"] for c in api.commands[scope]}
        assert menu["summary"] == "汇总进展" and menu["report"].startswith("生成督查情况汇报")

        call = await act(
            api,
            lambda: api.send_text(SUPERVISOR, f"/report {YEAR}"),
            until=lambda c: c.method == "sendDocument",
        )
        assert call.upload is not None and call.upload.filename is not None
        assert call.upload.filename.startswith(f"督查情况汇报-{YEAR}") and call.upload.filename.endswith(
            ".docx"
        )
        assert call.caption == f"{YEAR} 年度督查情况汇报（10 个乡镇）"
        doc = Document(io.BytesIO(call.upload.data))
        assert doc.paragraphs[0].text == f"示例市各乡镇落实{YEAR}年档案工作任务的督查情况汇报"

        call = await act(
            api, lambda: api.send_text(SUPERVISOR, f"/chart {YEAR}"), until=lambda c: c.method == "sendPhoto"
        )
        assert call.upload is not None and call.upload.data[:4] == b"\x89PNG"
        assert call.caption == f"{YEAR} 年度各乡镇归档进度（已检查 7/10 个乡镇）"

        call = await act(
            api,
            lambda: api.send_text(SUPERVISOR, f"/export {YEAR}"),
            until=lambda c: c.method == "sendDocument",
        )
        assert call.upload is not None and call.upload.filename is not None
        assert call.upload.filename.endswith(".xlsx")
        assert load_workbook(io.BytesIO(call.upload.data)).sheetnames == [
            "概况",
            "检查记录",
            "修改记录",
            "整改事项",
            "整改记录",
        ]


def test_cli_writes_report_and_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``archive-bot report`` / ``export`` on the scenario (SQLite file named by DATABASE_URL)."""
    import asyncio

    from bot.cli import app
    from storage.db import make_engine, make_sessionmaker, upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"

    async def prepare() -> None:
        engine = make_engine(url)
        await upgrade(engine)
        await build(make_sessionmaker(engine))
        await engine.dispose()

    asyncio.run(prepare())
    env = {"DATABASE_URL": url, "REPORT_ISSUER": "东县档案局", "BOT_TIMEZONE": "Asia/Shanghai"}
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    out = tmp_path / "汇报.docx"
    result = runner.invoke(app, ["report", "--year", str(YEAR), "--out", str(out), "--area", "东县"])
    assert result.exit_code == 0, result.output
    assert f"已写出{YEAR}年度督查情况汇报（5个乡镇）" in result.output
    texts = [p.text for p in Document(str(out)).paragraphs if p.text]
    assert texts[0] == f"东县各乡镇落实{YEAR}年档案工作任务的督查情况汇报" and "东县档案局" in texts
    body = "".join(texts)
    assert "石门镇未有档案装具。" in body and "龙山乡" not in body  # 龙山乡 is in 西县
    pdf = tmp_path / "汇报.pdf"
    result = runner.invoke(app, ["report", "--year", str(YEAR), "--out", str(out), "--pdf", str(pdf)])
    assert result.exit_code == 0 and pdf.read_bytes()[:5] == b"%PDF-", result.output
    pdf.unlink()
    result = runner.invoke(app, ["report", "--year", str(YEAR), "--out", str(pdf)])
    assert result.exit_code == 0 and pdf.read_bytes()[:5] == b"%PDF-", result.output
    result = runner.invoke(app, ["report", "--year", str(YEAR), "--out", str(tmp_path / "汇报.doc")])
    assert result.exit_code == 1 and ".docx" in result.output and not (tmp_path / "汇报.doc").exists()

    xlsx = tmp_path / "检查记录.xlsx"
    result = runner.invoke(app, ["export", "--year", str(YEAR), "--out", str(xlsx)])
    assert result.exit_code == 0, result.output
    assert f"已导出{YEAR}年度检查记录（9份）" in result.output
    assert load_workbook(xlsx)["检查记录"].max_row == 11  # every township of the registry

    result = runner.invoke(app, ["report", "--year", str(YEAR), "--out", str(out), "--area", "北县"])
    assert result.exit_code == 1 and "没有名为「北县」的市或县" in result.output
