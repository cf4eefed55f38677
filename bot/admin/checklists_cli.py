"""``archive-bot checklist install FILE`` and ``archive-bot checklist list``: on the database."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot.admin import checklists as service
from bot.cli_support import HELP_LOCALE, settings_or_exit
from bot.engine import ChecklistError
from bot.engine.files import load_any
from bot.engine.workbook_import import WorkbookError
from bot.i18n import t
from storage.db import make_engine, make_sessionmaker, transaction, upgrade_url

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

# The checklists shipped with the program, listed even before any is stored.
SHIPPED = ("township_archive", "village_archive")


def help_text(key: str) -> str:
    return t(f"checklists.cli.help_{key}", HELP_LOCALE)


def install(file: Annotated[Path, typer.Argument(help=help_text("file"))]) -> None:
    settings = settings_or_exit()
    locale = settings.bot_locale
    try:
        checklist = load_any(file)
    except (ChecklistError, WorkbookError) as exc:
        err.print(exc.message(locale), markup=False)
        raise typer.Exit(1) from None
    upgrade_url(settings.db_url)

    async def go() -> service.Installed:
        engine = make_engine(settings.db_url)
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                return await service.install(session, checklist)
        finally:
            await engine.dispose()

    try:
        done = asyncio.run(go())
    except service.InstallRefused as refused:
        err.print(refused.render(locale), style="red", markup=False)
        raise typer.Exit(1) from None
    key = "checklists.cli.installed" if done.new else "checklists.cli.already"
    count = len(checklist.questions())
    shown = t(key, locale, name=checklist.name, version=checklist.version, count=count, current=done.in_use)
    out.print(shown, markup=False)


def list_versions() -> None:
    settings = settings_or_exit()
    locale = settings.bot_locale
    upgrade_url(settings.db_url)

    async def go() -> list[service.Listed]:
        engine = make_engine(settings.db_url)
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                return await service.listing(session, list(SHIPPED))
        finally:
            await engine.dispose()

    rows = asyncio.run(go())
    out.print(t("checklists.cli.list_title", locale), markup=False)
    for row in rows:
        when = (
            row.stored_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
            if row.stored_at is not None
            else t("checklists.cli.not_stored", locale)
        )
        mark = t("checklists.cli.in_use" if row.in_use else "checklists.cli.not_in_use", locale)
        out.print(
            t(
                "checklists.cli.list_row",
                locale,
                mark=mark,
                name=row.name,
                version=row.version,
                count=row.questions,
                inspections=row.inspections,
                when=when,
            ),
            markup=False,
        )
