"""The administrator's command line, as an operator runs it: import the registry, list it,
invite, add and remove people, assign and unassign. On a problem: a message saying what to
fix, exit status 1, nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

CSV = "县(市、区),乡镇(街道),村(社区)数\r\n东县,太平乡,12\r\n东县,城关镇,18\r\n西县,新华乡,9\r\n"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name in ("DATABASE_URL", "TELEGRAM_BOT_USERNAME", "BOT_LOCALE", "DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    base = {"DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}

    def invoke(*args: str, **env: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), env={**base, **env})

    return invoke


def test_import_list_invite_users_assign(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "t.csv").write_bytes(CSV.encode("gbk"))
    out = run("townships", "import", "t.csv", "--city", "示例市")
    assert out.exit_code == 0, out.output
    assert "新增 3 个乡镇" in out.output and "东县" in out.output
    again = run("townships", "import", "t.csv", "--city", "示例市")
    assert "新增 0 个乡镇，更新 0 个，未变 3 个" in again.output
    listing = run("townships", "list")
    assert (
        all(name in listing.output for name in ("太平乡", "城关镇", "新华乡"))
        and "共 3 个乡镇" in listing.output
    )
    assert "新华乡" not in run("townships", "list", "--area", "东县").output

    made = run("invite", "--role", "inspector", "--township", "太平乡", "--township", "城关镇")
    assert made.exit_code == 0, made.output
    assert "邀请码：" in made.output and "/start " in made.output and "https://t.me" not in made.output
    linked = run("invite", "--role", "督查室", "--area", "西县", TELEGRAM_BOT_USERNAME="@archive_test_bot")
    assert "https://t.me/archive_test_bot?start=" in linked.output, linked.output

    added = run("users", "add", "--telegram-id", "4242", "--name", "冯督查", "--role", "inspector")
    assert added.exit_code == 0 and "已添加 冯督查" in added.output
    assigned = run("assign", "冯督查", "太平乡", "新华乡")
    assert assigned.exit_code == 0 and "新增 2 个" in assigned.output
    people = run("users", "list")
    assert (
        "冯督查" in people.output and "telegram:4242" in people.output and "太平乡、新华乡" in people.output
    )
    assert run("unassign", "冯督查", "新华乡").exit_code == 0
    assert "太平乡、新华乡" not in run("users", "list").output
    removed = run("users", "remove", "冯督查")
    assert removed.exit_code == 0 and "已移除 冯督查" in removed.output
    assert "冯督查" not in run("users", "list").output
    assert "（已移除）" in run("users", "list", "--all").output


def test_problems_exit_1_and_change_nothing(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bad.csv").write_text(
        "县,乡镇,村数\n东县,太平乡,12\n东县,,3\n西县,新华乡,很多\n", encoding="utf-8"
    )
    out = run("townships", "import", "bad.csv")
    assert out.exit_code == 1
    assert "第 3 行：乡镇为空" in out.output and "第 4 行" in out.output and "没有导入任何数据" in out.output
    assert "共 0 个乡镇" in run("townships", "list").output
    for args in (
        ("invite", "--role", "inspector", "--township", "太平乡"),
        ("invite", "--role", "boss"),
        ("invite", "--role", "supervisor"),
        ("users", "remove", "nobody"),
        ("assign", "nobody", "太平乡"),
    ):
        result = run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.strip() and "Traceback" not in result.output, args


def test_english_operator(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "t.csv").write_text("area,township,villages\n东县,太平乡,12\n", encoding="utf-8")
    out = run("townships", "import", "t.csv", BOT_LOCALE="en")
    assert "1 townships added" in out.output
    bad = run("invite", "--role", "inspector", "--township", "新华乡", BOT_LOCALE="en")
    assert bad.exit_code == 1 and 'No township called "新华乡"' in bad.output


def test_messages_whole_and_the_real_ranges(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "t.csv").write_bytes(CSV.encode("utf-8"))
    assert run("townships", "import", "t.csv").exit_code == 0
    gone = run("users", "remove", "无名氏[red]", COLUMNS="40")
    assert gone.exit_code == 1
    assert (
        "没有找到人员「无名氏[red]」（用编号如 #12 或姓名；archive-bot users list 可以查看）。"
        in gone.output.replace("\n", "")
    )
    for days in ("0", "-1", "400"):
        bad = run("invite", "--role", "inspector", "--township", "太平乡", "--days", days)
        assert bad.exit_code == 1 and f"有效天数「{days}」不对：应大于 0、不超过 365" in bad.output, (
            bad.output
        )
    half = run("invite", "--role", "inspector", "--township", "太平乡", "--days", "0.5")
    assert half.exit_code == 0 and "注意" not in half.output, half.output
    bare = run("invite", "--role", "inspector")
    assert bare.exit_code == 0 and "邀请码：" in bare.output
    assert "没有指定乡镇" in bare.output and "archive-bot assign" in bare.output
