"""``archive-bot townships|invite|users|assign|unassign``: the administrator's command line.

Every command upgrades the schema first (harmless when current), works in one transaction,
and on a problem prints what to fix and exits with status 1 without changing anything."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from bot.admin import service
from bot.cli_support import err, fail, h, out, settings_or_exit
from bot.config import Settings
from bot.i18n import t
from bot.roles import role_text
from storage.db import SessionMaker, make_engine, make_sessionmaker, upgrade_url
from storage.models import Role

T = TypeVar("T")
PROGRESS_FROM = 200  # rows; smaller files are done before a bar would be seen
SHOW_AT_MOST = 30  # new areas and changed counts listed after an import; the rest are counted

townships_app = typer.Typer(help=h("townships"), no_args_is_help=True)
users_app = typer.Typer(help=h("users"), no_args_is_help=True)


def _settings() -> Settings:
    return settings_or_exit()


def _run(work: Callable[[SessionMaker], Awaitable[T]]) -> tuple[T, Settings]:
    """Run ``work`` on the configured database; an ``AdminError`` is printed and exits 1."""
    settings = _settings()
    upgrade_url(settings.db_url)

    async def go() -> T:
        engine = make_engine(settings.db_url)
        try:
            return await work(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go()), settings
    except service.AdminError as problem:
        raise fail(problem.render(settings.bot_locale)) from None


def _role(value: str) -> str:
    aliases = {
        "管理员": Role.admin,
        "督查室": Role.supervisor,
        "督查员": Role.inspector,
        "乡镇联系人": Role.contact,
    }
    return str(aliases.get(value.strip(), value.strip().lower()))


ROLE_HELP = h("role")
TOWNSHIP_HELP = h("township")
PERSON_HELP = h("person")
AREA_HELP = h("person_area")


# townships --------------------------------------------------------------------------------------


@contextmanager
def _bar(locale: str) -> Iterator[Callable[[int], Callable[[int], None]]]:
    progress = Progress(
        TextColumn(t("admin.import.progress", locale)),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )

    def start(total: int) -> Callable[[int], None]:
        if total < PROGRESS_FROM:
            return lambda n: None
        progress.start()
        task = progress.add_task("import", total=total)
        return lambda n: progress.advance(task, n)

    try:
        yield start
    finally:
        progress.stop()


@townships_app.command("import", help=h("townships_import"))
def townships_import(
    file: Path = typer.Argument(..., help=h("townships_import_file")),
    city: str = typer.Option(None, "--city", help=h("townships_import_city")),
) -> None:
    locale = _settings().bot_locale
    with _bar(locale) as bar:
        report, _ = _run(lambda s: service.import_townships(s, file, city=city, locale=locale, progress=bar))
    result = report.result
    out.print(
        t(
            "admin.import.done",
            locale,
            file=file.name,
            added=result.added,
            updated=len(result.updated),
            unchanged=result.unchanged,
        )
    )
    sep = t("people.list_separator", locale)
    if result.villages_added:
        out.print(t("checklists.registry.villages_added", locale, n=result.villages_added))
    if result.areas_added:
        areas = sep.join(result.areas_added[:SHOW_AT_MOST])
        if len(result.areas_added) > SHOW_AT_MOST:
            areas += t("admin.import.and_more", locale, n=len(result.areas_added))
        out.print(t("admin.import.areas_added", locale, areas=areas))
    for area, township, old, new in result.updated[:SHOW_AT_MOST]:
        out.print(t("admin.import.changed", locale, area=area, township=township, old=old, new=new))
    if len(result.updated) > SHOW_AT_MOST:
        out.print(t("admin.import.more_changes", locale, n=len(result.updated) - SHOW_AT_MOST))


@townships_app.command("list", help=h("townships_list"))
def townships_list(area: str = typer.Option(None, "--area", help=h("townships_list_area"))) -> None:
    rows, settings = _run(lambda s: service.list_townships(s, area))
    locale = settings.bot_locale
    table = Table(*(t(f"admin.list.{c}", locale) for c in ("area", "township", "villages", "inspectors")))
    for area_name, township, inspectors in rows:
        table.add_row(area_name, township.name, str(township.villages), str(inspectors))
    out.print(table)
    out.print(t("admin.list.total", locale, n=len(rows)))


# invite -----------------------------------------------------------------------------------------


def invite(
    role: str = typer.Option(..., "--role", help=ROLE_HELP),
    area: str = typer.Option(None, "--area", help=AREA_HELP),
    township: list[str] = typer.Option([], "--township", help=TOWNSHIP_HELP),
    name: str = typer.Option(None, "--name", help=h("invite_name")),
    days: float = typer.Option(7, "--days", help=h("invite_days")),
) -> None:
    made, settings = _run(
        lambda s: service.make_invite(s, _role(role), area=area, townships=township, name=name, days=days)
    )
    locale = settings.bot_locale
    scope = (
        t("people.list_separator", locale).join(made.townships) or made.area or t("people.all_areas", locale)
    )
    expires = made.expires_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
    out.print(
        t(
            "admin.invite.made",
            locale,
            role=role_text(made.role, locale),
            scope=scope,
            expires=expires,
        )
    )
    out.print(t("admin.invite.code", locale, code=made.code))
    link = service.invite_link(settings.telegram_bot_username, made.code)
    if link:
        out.print(t("admin.invite.link", locale, link=link))
    else:
        out.print(t("admin.invite.no_username", locale, code=made.code))
    if made.role == Role.inspector and not made.townships:
        err.print(t("admin.invite.no_townships", locale), style="yellow")


# users ------------------------------------------------------------------------------------------


@users_app.command("add", help=h("users_add"))
def users_add(
    telegram_id: str = typer.Option(None, "--telegram-id", help=h("users_telegram_id")),
    name: str = typer.Option(..., "--name", help=h("users_name")),
    role: str = typer.Option(..., "--role", help=ROLE_HELP),
    area: str = typer.Option(None, "--area", help=AREA_HELP),
    township: list[str] = typer.Option([], "--township", help=TOWNSHIP_HELP),
    wecom_id: str = typer.Option(None, "--wecom-id", help=h("users_wecom_id")),
) -> None:
    person, settings = _run(
        lambda s: service.add_user(
            s,
            telegram_id=telegram_id,
            name=name,
            role=_role(role),
            area=area,
            townships=township,
            wecom_id=wecom_id,
        )
    )
    locale = settings.bot_locale
    out.print(
        t(
            "admin.users.added",
            locale,
            person=person.name,
            pid=person.id,
            role=role_text(person.role, locale),
        )
    )


@users_app.command("list", help=h("users_list"))
def users_list(all_: bool = typer.Option(False, "--all", help=h("users_all"))) -> None:
    rows, settings = _run(lambda s: service.list_users(s, include_removed=all_))
    locale = settings.bot_locale
    sep = t("people.list_separator", locale)
    columns = ("id", "name", "role", "area", "townships", "accounts")
    table = Table(*(t(f"admin.users.{c}", locale) for c in columns))
    for row in rows:
        person = row.person
        name = person.name if person.active else f"{person.name} {t('admin.users.removed', locale)}"
        role = role_text(person.role, locale)
        table.add_row(
            f"#{person.id}",
            name,
            role,
            row.area or "-",
            sep.join(row.townships) or "-",
            ", ".join(row.accounts) or "-",
        )
    out.print(table)


@users_app.command("remove", help=h("users_remove"))
def users_remove(person: str = typer.Argument(..., help=PERSON_HELP)) -> None:
    removed, settings = _run(lambda s: service.remove_user(s, person))
    out.print(t("admin.users.removed_done", settings.bot_locale, person=removed.name, pid=removed.id))


# assign / unassign ------------------------------------------------------------------------------


def assign(
    person: str = typer.Argument(..., help=PERSON_HELP),
    townships: list[str] = typer.Argument(..., help=TOWNSHIP_HELP),
) -> None:
    done, settings = _run(lambda s: service.assign(s, person, townships))
    sep = t("people.list_separator", settings.bot_locale)
    out.print(
        t(
            "admin.assign.done",
            settings.bot_locale,
            person=done.person.name,
            townships=sep.join(done.townships),
            n=done.changed,
        )
    )


def unassign(
    person: str = typer.Argument(..., help=PERSON_HELP),
    townships: list[str] = typer.Argument(..., help=TOWNSHIP_HELP),
) -> None:
    done, settings = _run(lambda s: service.assign(s, person, townships, add=False))
    sep = t("people.list_separator", settings.bot_locale)
    out.print(
        t(
            "admin.unassign.done",
            settings.bot_locale,
            person=done.person.name,
            townships=sep.join(done.townships),
            n=done.changed,
        )
    )
