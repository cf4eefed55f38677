"""``archive-bot report`` and ``archive-bot export``: the documents from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli_support import fail, h, out, settings_or_exit
from bot.config import Settings
from bot.i18n import t
from bot.reports.team_cli import team_app
from storage.db import make_engine, make_sessionmaker
from storage.queries.people import area_and_below
from storage.queries.registry import area_by_name
from storage.queries.summary import Scope

__all__ = ["export", "report", "team_app"]

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


def report(
    path: Path = typer.Option(..., "--out", help=h("report_out")),
    year: int = YEAR,
    area: str = AREA,
    pdf: Path = typer.Option(None, "--pdf", help=h("report_pdf")),
) -> None:
    settings = settings_or_exit()
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
