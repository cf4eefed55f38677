"""``archive-bot team set`` / ``team show``: the year's inspection team and the asks the
report puts to its addressee."""

from __future__ import annotations

import asyncio

import typer

from bot.cli_support import h, out, settings_or_exit
from bot.reports.team import describe, parse_person
from storage.db import make_engine, make_sessionmaker, transaction
from storage.queries.targets import inspection_team, set_inspection_team

team_app = typer.Typer(help=h("team"), no_args_is_help=True)


async def _run(year: int, leader: str | None, members: list[str] | None, asks: str | None) -> str:
    settings = settings_or_exit()
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


@team_app.command("set", help=h("team_set"))
def set_team(
    year: int = typer.Option(..., "--year", help=h("team_year")),
    leader: str = typer.Option(None, "--leader", help=h("team_leader")),
    member: list[str] = typer.Option(None, "--member", help=h("team_member")),
    asks: str = typer.Option(None, "--asks", help=h("team_asks")),
) -> None:
    out.print(asyncio.run(_run(year, leader, member or None, asks)))


@team_app.command("show", help=h("team_show"))
def show_team(year: int = typer.Option(..., "--year", help=h("team_year"))) -> None:
    out.print(asyncio.run(_run(year, None, None, None)))
