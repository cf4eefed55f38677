"""The ``archive-bot`` command line: the sub-commands, each from the module that holds it."""

from __future__ import annotations

import sys

import typer

from bot import run_cli
from bot.admin import checklists_cli
from bot.admin import cli as admin_cli
from bot.cli_support import h
from bot.db_cli import db_app
from bot.engine.cli import checklist_app
from bot.reminders.cli import deadline_app, reminders_app
from bot.reports import cli as reports_cli
from bot.wecom.cli import wecom_app

app = typer.Typer(help=h("app"), no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
app.command("run", help=h("run"))(run_cli.run)
app.command("console", help=h("console"))(run_cli.console)
app.command("version", help=h("version"))(run_cli.version)
app.add_typer(db_app, name="db", help=h("db"))
checklist_app.command("install", help=checklists_cli.help_text("install"))(checklists_cli.install)
checklist_app.command("list", help=checklists_cli.help_text("list"))(checklists_cli.list_versions)
app.add_typer(checklist_app, name="checklist", help=h("checklist"))
app.add_typer(admin_cli.townships_app, name="townships", help=h("townships"))
app.add_typer(admin_cli.users_app, name="users", help=h("users"))
app.command("invite", help=h("invite"))(admin_cli.invite)
app.command("assign", help=h("assign"))(admin_cli.assign)
app.command("unassign", help=h("unassign"))(admin_cli.unassign)
app.add_typer(reminders_app, name="reminders", help=h("reminders"))
app.add_typer(deadline_app, name="deadline", help=h("deadline"))
app.add_typer(wecom_app, name="wecom", help=h("wecom"))
app.add_typer(reports_cli.report_app, name="report", help=h("report"))
app.command("export", help=h("export"))(reports_cli.export)
app.add_typer(reports_cli.team_app, name="team", help=h("team"))


def main() -> None:  # pragma: no cover - console entry for ``python -m bot``
    sys.exit(app())
