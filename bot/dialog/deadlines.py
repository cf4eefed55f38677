"""/deadlines for everyone registered, /deadline for admins, /mute and /unmute."""

from __future__ import annotations

from datetime import date

from bot.dialog.render import quote
from bot.dialog.turn import Turn
from bot.dialog.types import Input, Reply
from bot.reminders.targets_input import BadTarget, parse_deadline, parse_share
from storage.models import Role
from storage.queries.people import set_muted
from storage.queries.targets import set_year_target, year_target, year_targets


def _line(turn: Turn, year: int, deadline: date, township: float, village: float) -> str:
    return turn.t(
        "deadlines.line",
        year=year,
        deadline=deadline.isoformat(),
        township=round(township * 100),
        village=round(village * 100),
    )


async def cmd_deadlines(turn: Turn, inp: Input) -> list[Reply]:
    rows = {row.year: row for row in await year_targets(turn.session)}
    this_year = turn.services.now_year()
    rows.setdefault(this_year, await year_target(turn.session, this_year))
    lines = [turn.t("deadlines.title")]
    lines += [
        _line(turn, y, r.deadline, r.township_target, r.village_target) for y, r in sorted(rows.items())
    ]
    return [Reply("\n".join(lines))]


async def cmd_deadline(turn: Turn, inp: Input) -> list[Reply]:
    """``/deadline 2026 2026-12-31 80 85`` (the date also as 2026/12/31, targets as 80 or 80%)."""
    if turn.person.role != Role.admin:
        return [Reply(turn.t("deadlines.admins_only"))]
    parts = inp.text.split()
    if not 2 <= len(parts) <= 4 or not parts[0].isdigit() or not 2000 <= int(parts[0]) <= 2100:
        return [Reply(turn.t("deadlines.usage", year=turn.services.now_year()))]
    year = int(parts[0])
    try:
        deadline = parse_deadline(parts[1], year)
        shares = [parse_share(p) for p in (*parts[2:], None, None)[:2]]
    except BadTarget as exc:
        return [Reply(turn.t(exc.args[0], date=quote(exc.args[1])))]
    row = await set_year_target(turn.session, year, deadline, shares[0], shares[1])
    done = _line(turn, row.year, row.deadline, row.township_target, row.village_target)
    return [Reply(turn.t("deadlines.saved", line=done))]


async def cmd_mute(turn: Turn, inp: Input) -> list[Reply]:
    await set_muted(turn.session, turn.person.id or 0, True)
    return [Reply(turn.t("reminders.muted"))]


async def cmd_unmute(turn: Turn, inp: Input) -> list[Reply]:
    await set_muted(turn.session, turn.person.id or 0, False)
    return [Reply(turn.t("reminders.unmuted"))]
