"""``archive-bot db``: the schema (``upgrade``), and backups that restore (``backup``,
``restore``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bot.cli_support import err, h, settings_or_exit
from bot.i18n import t
from storage.backup import BackupError, backup, read_header, restore, row_counts
from storage.db import make_engine, safe_url, schema_versions, upgrade, upgrade_url

db_app = typer.Typer(help=h("db"), no_args_is_help=True)
T = TypeVar("T")


@db_app.command("upgrade", help=h("db_upgrade"))
def db_upgrade(revision: str = typer.Argument("head", help=h("db_revision"))) -> None:
    """Create or upgrade the schema (harmless to run twice; two at once take turns)."""
    settings = settings_or_exit()
    upgrade_url(settings.db_url, revision)
    current, _head = schema_versions(settings.db_url)
    typer.echo(t("db.upgraded", settings.bot_locale, revision=current, url=safe_url(settings.db_url)))


@contextmanager
def _bar(label: str, total: int) -> Iterator[Callable[[int], None]]:
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)


def _run(url: str, work: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    async def go() -> T:
        engine = make_engine(url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(go())


@db_app.command("backup", help=h("db_backup"))
def db_backup(file: Path = typer.Argument(..., help=h("db_backup_file"))) -> None:
    """Write every row to one file (a consistent copy, while the bot runs)."""
    settings = settings_or_exit()
    loc = settings.bot_locale
    total = sum(_run(settings.db_url, row_counts).values())
    try:
        with _bar(t("db.backing_up", loc), total) as advance:
            counts = _run(settings.db_url, lambda engine: backup(engine, file, advance))
    except BackupError as exc:
        err.print(t("db.failed", loc, reason=str(exc)), highlight=False)
        raise typer.Exit(1) from None
    typer.echo(t("db.backed_up", loc, file=file, rows=sum(counts.values()), tables=len(counts)))


@db_app.command("restore", help=h("db_restore"))
def db_restore(
    file: Path = typer.Argument(..., help=h("db_restore_file")),
    yes: bool = typer.Option(False, "--yes", help=h("db_yes")),
) -> None:
    """Replace every row with the backup's (stop the bot first). A new, empty database is
    given the backup's schema first, and upgraded to this release's after."""
    settings = settings_or_exit()
    loc = settings.bot_locale
    try:
        header = read_header(file)
    except BackupError as exc:
        err.print(t("db.failed", loc, reason=str(exc)), highlight=False)
        raise typer.Exit(1) from None
    current, head = schema_versions(settings.db_url)
    if current is not None and not yes:
        typer.confirm(t("db.confirm_restore", loc, url=safe_url(settings.db_url)), abort=True)
    if current is None:  # an empty database: the backup's schema, then the rows, then this release's
        _run(settings.db_url, lambda engine: upgrade(engine, header["revision"]))
    total = sum(int(n) for n in header["tables"].values())
    try:
        with _bar(t("db.restoring", loc), total) as advance:
            counts = _run(settings.db_url, lambda engine: restore(engine, file, advance))
    except BackupError as exc:
        err.print(t("db.failed", loc, reason=str(exc)), highlight=False)
        raise typer.Exit(1) from None
    if header["revision"] != head:
        upgrade_url(settings.db_url)
    typer.echo(t("db.restored", loc, file=file, rows=sum(counts.values()), tables=len(counts)))
