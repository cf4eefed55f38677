"""``archive-bot report`` and ``archive-bot export``: the documents from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy import select

from bot.cli_support import HELP_LOCALE
from bot.config import Settings, SettingsError, load_settings
from bot.i18n import t
from bot.reports.team_cli import team_app
from storage.db import make_engine, make_sessionmaker
from storage.models import Area, table
from storage.queries.people import area_and_below
from storage.queries.summary import Scope

__all__ = ["export", "report", "report_app", "team_app"]

err = Console(stderr=True, soft_wrap=True)

YEAR = typer.Option(None, "--year", help="The inspection year (default: this year).")
AREA = typer.Option(None, "--area", help="Only this area and the areas under it (default: all).")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from None


async def _scope(session: object, area: str | None) -> Scope:
    if area is None:
        return Scope()
    a = table(Area)
    conn = await session.connection()  # type: ignore[attr-defined]
    found = (await conn.execute(select(a.c.id).where(a.c.name == area))).first()
    if found is None:
        err.print(f"[red]No area named {area!r}.[/red]", highlight=False)
        raise typer.Exit(1)
    return Scope(area_ids=frozenset(await area_and_below(session, found[0])))  # type: ignore[arg-type]


async def _report(
    settings: Settings, year: int | None, out: Path, area: str | None, pdf: Path | None
) -> tuple[int, int]:
    from bot.reports.docx_report import APPENDIX_LIMIT, ReportOptions, report_text, write_text
    from bot.reports.pdf_report import write_pdf
    from bot.reports.summary import build_summary, local_today
    from storage.queries.summary import inspections_in_year

    engine = make_engine(settings.db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            year = year or local_today(settings.tz).year
            scope = await _scope(session, area)
            summary = await build_summary(session, scope, year, tz=settings.tz, with_team=True)
            listed = summary.total <= APPENDIX_LIMIT  # the appendix names each one's inspector and date
            details = {r.id: r for r in await inspections_in_year(session, scope, year)} if listed else {}
    finally:
        await engine.dispose()
    options = ReportOptions(
        issuer=settings.report_issuer,
        addressee=settings.report_addressee,
        tz=settings.tz,
        locale=settings.bot_locale,
        names_limit=settings.report_names_limit,
    )
    text = report_text(summary, options, details)
    write_text(text, out, options)
    if pdf is not None:
        write_pdf(text, pdf)
    return year, summary.total


async def _export(settings: Settings, year: int | None, out: Path, area: str | None) -> tuple[int, int]:
    from bot.reports.summary import local_today
    from bot.reports.xlsx_export import load_export, write_export

    engine = make_engine(settings.db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            year = year or local_today(settings.tz).year
            data = await load_export(
                session, await _scope(session, area), year, tz=settings.tz, locale=settings.bot_locale
            )
    finally:
        await engine.dispose()
    write_export(data, out)
    return year, sum(1 for r in data.rows if r.inspection is not None)


report_app = typer.Typer(no_args_is_help=False)


@report_app.callback(invoke_without_command=True)
def report(
    ctx: typer.Context,
    out: Path = typer.Option(None, "--out", help="The Word file to write (.docx)."),
    year: int = YEAR,
    area: str = AREA,
    pdf: Path = typer.Option(None, "--pdf", help="Also write the same report as a PDF here."),
) -> None:
    """Write the year's supervision report (督查情况汇报) as a Word document (and a PDF)."""
    if ctx.invoked_subcommand is not None:
        return
    if out is None:
        err.print("[red]Missing option '--out'.[/red]", highlight=False)
        raise typer.Exit(2)
    year, total = asyncio.run(_report(_settings(), year, out, area, pdf))
    typer.echo(f"Report {year} ({total} townships): {out}" + (f", {pdf}" if pdf else ""))


def export(
    out: Path = typer.Option(..., "--out", help="The Excel file to write (.xlsx)."),
    year: int = YEAR,
    area: str = AREA,
) -> None:
    """Export the year's inspections, answers and answer history as an Excel workbook."""
    year, rows = asyncio.run(_export(_settings(), year, out, area))
    typer.echo(f"Export {year} ({rows} inspections): {out}")


def _h(key: str) -> str:
    return t(key, HELP_LOCALE)


async def _notice(settings: Settings, township: str, year: int | None, out: Path) -> tuple[str, int] | None:
    from bot.engine import builtin_checklist
    from bot.reports.notice_docx import write_notice
    from bot.reports.summary import local_today
    from storage.queries.registry import townships_named

    engine = make_engine(settings.db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            today = local_today(settings.tz)
            year = year or today.year
            found = [tw for tw, _area in await townships_named(session, township)]
            if len(found) != 1:
                key = "rectification.cli.no_township" if not found else "rectification.cli.ambiguous"
                err.print(f"[red]{t(key, settings.bot_locale, township=township)}[/red]", highlight=False)
                raise typer.Exit(1)
            written = await write_notice(
                session, found[0].id or 0, year, out, settings.bot_locale, builtin_checklist(), today
            )
    finally:
        await engine.dispose()
    return (found[0].name, year) if written is not None else None


@report_app.command("notice", help=_h("rectification.cli.notice_help"))
def notice(
    township: str = typer.Option(..., "--township", help=_h("rectification.cli.township_help")),
    year: int = YEAR,
    out: Path = typer.Option(..., "--out", help=_h("rectification.cli.out_help")),
) -> None:
    locale = _settings().bot_locale
    done = asyncio.run(_notice(_settings(), township, year, out))
    if done is None:
        err.print(f"[red]{t('rectification.cli.no_items', locale, township=township)}[/red]", highlight=False)
        raise typer.Exit(1)
    typer.echo(t("rectification.cli.written", locale, township=done[0], year=done[1], out=str(out)))
