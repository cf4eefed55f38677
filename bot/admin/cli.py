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
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from bot.admin import service
from bot.cli_support import settings_or_exit
from bot.config import Settings
from bot.i18n import t
from storage.db import SessionMaker, make_engine, make_sessionmaker, upgrade_url
from storage.models import Role

T = TypeVar("T")
PROGRESS_FROM = 200  # rows; smaller files are done before a bar would be seen
SHOW_AT_MOST = 30  # new areas and changed counts listed after an import; the rest are counted

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

townships_app = typer.Typer(help="乡镇名录：导入、查看 (the township registry).", no_args_is_help=True)
users_app = typer.Typer(help="人员：添加、查看、移除 (people).", no_args_is_help=True)


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
        err.print(f"[red]{problem.render(settings.bot_locale)}[/red]")
        raise typer.Exit(1) from None


def _role(value: str) -> str:
    aliases = {
        "管理员": Role.admin,
        "督查室": Role.supervisor,
        "督查员": Role.inspector,
        "乡镇联系人": Role.contact,
    }
    return str(aliases.get(value.strip(), value.strip().lower()))


ROLE_HELP = "admin | supervisor | inspector | contact（管理员 / 督查室 / 督查员 / 乡镇联系人）"
TOWNSHIP_HELP = "乡镇名称；同名时写「县/乡镇」。Repeat for several."


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


@townships_app.command("import")
def townships_import(
    file: Path = typer.Argument(
        ..., help="CSV（UTF-8 或 GBK）或 XLSX，第一行为表头：县(市、区)、乡镇、村(社区)数"
    ),
    city: str = typer.Option(None, "--city", help="所属的市（文件里没有「市」一列时）"),
) -> None:
    """Import or update townships from a CSV or XLSX file (nothing is imported if any row is bad)."""
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
    if result.areas_added:
        areas = sep.join(result.areas_added[:SHOW_AT_MOST])
        if len(result.areas_added) > SHOW_AT_MOST:
            areas += t("admin.import.and_more", locale, n=len(result.areas_added))
        out.print(t("admin.import.areas_added", locale, areas=areas))
    for area, township, old, new in result.updated[:SHOW_AT_MOST]:
        out.print(t("admin.import.changed", locale, area=area, township=township, old=old, new=new))
    if len(result.updated) > SHOW_AT_MOST:
        out.print(t("admin.import.more_changes", locale, n=len(result.updated) - SHOW_AT_MOST))


@townships_app.command("list")
def townships_list(area: str = typer.Option(None, "--area", help="只列出这个市或县的乡镇")) -> None:
    """List the townships, with the number of villages and of inspectors assigned."""
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
    area: str = typer.Option(None, "--area", help="所属的市或县（督查室必填）"),
    township: list[str] = typer.Option([], "--township", help=TOWNSHIP_HELP),
    name: str = typer.Option(None, "--name", help="对方的姓名（不填则用其 Telegram 名字）"),
    days: float = typer.Option(7, "--days", help="有效天数"),
) -> None:
    """Make a one-time invitation code and its Telegram link."""
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
            role=t(f"people.role.{made.role}", locale),
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


# users ------------------------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    telegram_id: str = typer.Option(None, "--telegram-id", help="对方的 Telegram 数字 ID"),
    name: str = typer.Option(..., "--name"),
    role: str = typer.Option(..., "--role", help=ROLE_HELP),
    area: str = typer.Option(None, "--area", help="所属的市或县（督查室必填）"),
    township: list[str] = typer.Option([], "--township", help=TOWNSHIP_HELP),
    wecom_id: str = typer.Option(None, "--wecom-id", help="对方的企业微信账号（UserID，通讯录里的“账号”）"),
) -> None:
    """Add a person bound to a Telegram account and/or a WeCom account (no invitation needed)."""
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
            role=t(f"people.role.{person.role}", locale),
        )
    )


@users_app.command("list")
def users_list(all_: bool = typer.Option(False, "--all", help="也列出已移除的人员")) -> None:
    """List people: role, area, townships, accounts."""
    rows, settings = _run(lambda s: service.list_users(s, include_removed=all_))
    locale = settings.bot_locale
    sep = t("people.list_separator", locale)
    columns = ("id", "name", "role", "area", "townships", "accounts")
    table = Table(*(t(f"admin.users.{c}", locale) for c in columns))
    for row in rows:
        person = row.person
        name = person.name if person.active else f"{person.name} {t('admin.users.removed', locale)}"
        role = t(f"people.role.{person.role}", locale) if person.role in tuple(Role) else person.role
        table.add_row(
            f"#{person.id}",
            name,
            role,
            row.area or "-",
            sep.join(row.townships) or "-",
            ", ".join(row.accounts) or "-",
        )
    out.print(table)


@users_app.command("remove")
def users_remove(person: str = typer.Argument(..., help="编号（#12）或姓名")) -> None:
    """Remove a person: their access ends at once; their inspections and answers stay."""
    removed, settings = _run(lambda s: service.remove_user(s, person))
    out.print(t("admin.users.removed_done", settings.bot_locale, person=removed.name, pid=removed.id))


# assign / unassign ------------------------------------------------------------------------------


def assign(
    person: str = typer.Argument(..., help="编号（#12）或姓名"),
    townships: list[str] = typer.Argument(..., help=TOWNSHIP_HELP),
) -> None:
    """Assign townships to an inspector."""
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
    person: str = typer.Argument(..., help="编号（#12）或姓名"),
    townships: list[str] = typer.Argument(..., help=TOWNSHIP_HELP),
) -> None:
    """Take townships away from an inspector (their answers stay)."""
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
