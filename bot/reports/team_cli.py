"""``archive-bot team set`` / ``team show``: the year's inspection team and the asks the
report puts to its addressee."""

from __future__ import annotations

import asyncio

import typer

from bot.config import load_settings
from bot.reports.team import describe, parse_person
from storage.db import make_engine, make_sessionmaker, transaction
from storage.queries.targets import inspection_team, set_inspection_team

team_app = typer.Typer(
    help="The year's inspection team (督查组), as the report names it.", no_args_is_help=True
)


async def _run(year: int, leader: str | None, members: list[str] | None, asks: str | None) -> str:
    settings = load_settings()
    engine = make_engine(settings.db_url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            if leader is not None or members is not None or asks is not None:
                head = parse_person(leader) if leader is not None else None
                people = [p for m in members or [] if (p := parse_person(m)) is not None]
                await set_inspection_team(
                    session,
                    year,
                    leader=head["name"] if head else None,
                    leader_title=head.get("title") if head else None,
                    members=people if members is not None else None,
                    asks=asks,
                )
                await session.flush()
            return describe(await inspection_team(session, year), year, settings.bot_locale)
    finally:
        await engine.dispose()


@team_app.command("set")
def set_team(
    year: int = typer.Option(..., "--year", help="The inspection year."),
    leader: str = typer.Option(
        None, "--leader", help='The leader, with the title in brackets: "张三（督查室主任）".'
    ),
    member: list[str] = typer.Option(
        None, "--member", help='A member, e.g. "李四（档案局）"; repeat for each.'
    ),
    asks: str = typer.Option(
        None, "--asks", help='What the report asks of its addressee beyond the data ("" clears).'
    ),
) -> None:
    """Set the year's inspection team (what is not given stays as it was)."""
    typer.echo(asyncio.run(_run(year, leader, member or None, asks)))


@team_app.command("show")
def show_team(year: int = typer.Option(..., "--year", help="The inspection year.")) -> None:
    """Show the year's inspection team."""
    typer.echo(asyncio.run(_run(year, None, None, None)))
