"""/deadlines for everyone registered, /deadline for admins, /mute and /unmute."""

from __future__ import annotations

import re
from datetime import date

from bot.dialog.turn import Turn
from bot.dialog.types import Input, Reply
from storage.models import Role
from storage.queries.people import set_muted
from storage.queries.targets import set_year_target, year_target, year_targets

_DEADLINE = re.compile(r"^\s*(\d{4})\s+(\d{4}-\d{1,2}-\d{1,2})(?:\s+(\d{1,3})%?)?(?:\s+(\d{1,3})%?)?\s*$")


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
    if turn.person.role != Role.admin:
        return [Reply(turn.t("deadlines.admins_only"))]
    found = _DEADLINE.match(inp.text)
    if not found:
        return [Reply(turn.t("deadlines.usage", year=turn.services.now_year()))]
    year, day, township, village = found.groups()
    try:
        deadline = date.fromisoformat("-".join(part.zfill(2) for part in day.split("-")))
    except ValueError:
        return [Reply(turn.t("deadlines.bad_date", date=day))]
    shares = [int(v) / 100 if v is not None else None for v in (township, village)]
    if any(s is not None and s > 1 for s in shares) or not 2000 <= int(year) <= 2100:
        return [Reply(turn.t("deadlines.usage", year=turn.services.now_year()))]
    row = await set_year_target(turn.session, int(year), deadline, shares[0], shares[1])
    done = _line(turn, row.year, row.deadline, row.township_target, row.village_target)
    return [Reply(turn.t("deadlines.saved", line=done))]


async def cmd_mute(turn: Turn, inp: Input) -> list[Reply]:
    await set_muted(turn.session, turn.person.id or 0, True)
    return [Reply(turn.t("reminders.muted"))]


async def cmd_unmute(turn: Turn, inp: Input) -> list[Reply]:
    await set_muted(turn.session, turn.person.id or 0, False)
    return [Reply(turn.t("reminders.unmuted"))]
