"""``archive-bot report`` and ``archive-bot export``: the documents from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli_support import HELP_LOCALE, fail, h, out, settings_or_exit
from bot.config import Settings
from bot.i18n import t
from bot.reports.team_cli import team_app
from storage.db import make_engine, make_sessionmaker
from storage.queries.people import area_and_below
from storage.queries.registry import area_by_name
from storage.queries.summary import Scope

__all__ = ["export", "report", "report_app", "team_app"]

YEAR = typer.Option(None, "--year", help=h("year"))
AREA = typer.Option(None, "--area", help=h("area"))
REPORT_SUFFIXES = (".docx", ".pdf")


async def _scope(session: AsyncSession, area: str | None, locale: str) -> Scope:
    if area is None:
        return Scope()
    found = await area_by_name(session, area)
    if found is None or found.id is None:
        raise fail(t("cli.report.no_area", locale, area=area))
    return Scope(area_ids=frozenset(await area_and_below(session, found.id)))


async def _report(
    settings: Settings, year: int | None, area: str | None, files: list[Path]
) -> tuple[int, int]:
    from bot.reports.docx_report import APPENDIX_LIMIT, ReportOptions, report_text, write_text
    from bot.reports.pdf_report import PdfUnavailable, write_pdf
    from bot.reports.summary import build_summary, local_today
    from storage.queries.summary import inspections_in_year

    engine = make_engine(settings.db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            year = year or local_today(settings.tz).year
            scope = await _scope(session, area, settings.bot_locale)
            summary = await build_summary(
                session, scope, year, tz=settings.tz, with_team=True, with_previous=True
            )
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
    for path in files:
        if path.suffix.lower() == ".pdf":
            try:
                write_pdf(text, path)
            except PdfUnavailable as exc:
                raise fail(t("cli.report.no_pdf", settings.bot_locale, reason=str(exc))) from None
        else:
            write_text(text, path, options)
    return year, summary.total


async def _export(settings: Settings, year: int | None, path: Path, area: str | None) -> tuple[int, int]:
    from bot.reports.summary import local_today
    from bot.reports.xlsx_export import load_export, write_export

    engine = make_engine(settings.db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            year = year or local_today(settings.tz).year
            scope = await _scope(session, area, settings.bot_locale)
            data = await load_export(session, scope, year, tz=settings.tz, locale=settings.bot_locale)
    finally:
        await engine.dispose()
    write_export(data, path)
    return year, sum(1 for r in data.rows if r.inspection is not None)


report_app = typer.Typer(no_args_is_help=False)


@report_app.callback(invoke_without_command=True)
def report(
    ctx: typer.Context,
    path: Path = typer.Option(None, "--out", help=h("report_out")),
    year: int = YEAR,
    area: str = AREA,
    pdf: Path = typer.Option(None, "--pdf", help=h("report_pdf")),
) -> None:
    if ctx.invoked_subcommand is not None:  # ``report notice``: its own options
        return
    settings = settings_or_exit()
    if path is None:
        raise fail(t("rectification.cli.need_out", settings.bot_locale), 2)
    files = [path] + ([pdf] if pdf is not None else [])
    for given, suffixes in ((path, REPORT_SUFFIXES), *(((pdf, (".pdf",)),) if pdf else ())):
        if given.suffix.lower() not in suffixes:
            raise fail(
                t("cli.report.bad_suffix", settings.bot_locale, path=str(given), allowed=" ".join(suffixes))
            )
    year, total = asyncio.run(_report(settings, year, area, files))
    names = "、".join(str(f) for f in files)
    out.print(t("cli.report.written", settings.bot_locale, year=year, total=total, files=names))


def export(
    path: Path = typer.Option(..., "--out", help=h("export_out")),
    year: int = YEAR,
    area: str = AREA,
) -> None:
    settings = settings_or_exit()
    if path.suffix.lower() != ".xlsx":
        raise fail(t("cli.report.bad_suffix", settings.bot_locale, path=str(path), allowed=".xlsx"))
    year, rows = asyncio.run(_export(settings, year, path, area))
    out.print(t("cli.export.written", settings.bot_locale, year=year, rows=rows, file=str(path)))


def _h(key: str) -> str:
    return t(key, HELP_LOCALE)


async def _notice(settings: Settings, township: str, year: int | None, path: Path) -> tuple[str, int] | None:
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
                raise fail(t(key, settings.bot_locale, township=township))
            written = await write_notice(
                session, found[0].id or 0, year, path, settings.bot_locale, builtin_checklist(), today
            )
    finally:
        await engine.dispose()
    return (found[0].name, year) if written is not None else None


@report_app.command("notice", help=_h("rectification.cli.notice_help"))
def notice(
    township: str = typer.Option(..., "--township", help=_h("rectification.cli.township_help")),
    year: int = YEAR,
    path: Path = typer.Option(..., "--out", help=_h("rectification.cli.out_help")),
) -> None:
    settings = settings_or_exit()
    if path.suffix.lower() != ".docx":
        raise fail(t("cli.report.bad_suffix", settings.bot_locale, path=str(path), allowed=".docx"))
    done = asyncio.run(_notice(settings, township, year, path))
    if done is None:
        raise fail(t("rectification.cli.no_items", settings.bot_locale, township=township))
    out.print(
        t("rectification.cli.written", settings.bot_locale, township=done[0], year=done[1], out=str(path))
    )
