"""``/history <township> [year]``: who changed which answer when, from what to what, and every
submission and return, newest first, a page at a time. For supervisors and administrators."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.dialog.access import is_staff, split_year
from bot.dialog.render import photos_of, quote
from bot.dialog.returns import return_button
from bot.dialog.turn import Turn, argument
from bot.dialog.types import Button, Input, Reply
from bot.engine import Checklist, format_value
from storage.models import Inspection, InspectionStatus, Township
from storage.queries.history import Entry, history, inspections_of
from storage.queries.inspections import answered_values, answers_of
from storage.queries.people import names_of, search_visible_townships, visible_inspection, visible_township

PAGE = 15
MAX_VALUE = 40
MAX_LABEL = 24
MAX_CHOICES = 12


async def cmd_history(turn: Turn, inp: Input) -> list[Reply]:
    if not is_staff(turn.person):
        return [Reply(turn.t("history.staff_only"))]
    query, year = split_year(inp.text)
    if not query:
        return [Reply(turn.t("history.usage"))]
    found = await search_visible_townships(turn.session, turn.person, query, MAX_CHOICES + 1)
    if not found:
        return [Reply(turn.t("history.not_found", text=quote(query)))]
    if len(found) > 1:
        buttons = [[turn.button(t.name, "history", f"t{t.id}", stateless=True)] for t in found[:MAX_CHOICES]]
        return [Reply(turn.t("history.which", text=quote(query)), buttons)]
    return await show_township(turn, found[0], year)


async def show_township(
    turn: Turn, township: Township, year: int | None, *, edit: bool = False
) -> list[Reply]:
    inspections = await inspections_of(turn.session, township.id or 0)
    if not inspections:
        return [Reply(turn.t("history.none", township=township.name), edit=edit)]
    chosen = next((i for i in inspections if i.year == year), None) if year else inspections[0]
    if chosen is None:
        years = turn.t("people.list_separator").join(str(i.year) for i in inspections)
        return [Reply(turn.t("history.no_year", township=township.name, year=year, years=years), edit=edit)]
    return await page(turn, chosen, township, 0, inspections, edit=edit)


def _when(turn: Turn, at: datetime) -> str:
    local = at.astimezone(turn.services.tz)
    return local.strftime("%m-%d %H:%M" if local.year == turn.services.now_year() else "%Y-%m-%d %H:%M")


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _value(turn: Turn, checklist: Checklist, key: str, value: Any) -> str:
    if checklist.has_question(key):
        shown = format_value(checklist.question(key), value, turn.locale)
    else:
        shown = str(value)
    return _short(shown, MAX_VALUE)


def _label(turn: Turn, checklist: Checklist, key: str) -> str:
    return (
        _short(checklist.question(key).text(turn.locale), MAX_LABEL) if checklist.has_question(key) else key
    )


def entry_line(turn: Turn, checklist: Checklist, entry: Entry, names: dict[int, str]) -> str:
    who = names.get(entry.by or 0, turn.t("history.someone"))
    when = _when(turn, entry.at)
    if entry.status is not None:
        line = turn.t(f"history.status.{entry.status}", when=when, who=who)
        if entry.comment:
            line += turn.t("history.comment", comment=_short(entry.comment, 60))
        return line
    assert entry.key is not None
    label = _label(turn, checklist, entry.key)
    if entry.new is None:
        return turn.t("history.skipped", when=when, who=who, question=label)
    new = _value(turn, checklist, entry.key, entry.new)
    if entry.old is None:
        return turn.t("history.answered", when=when, who=who, question=label, new=new)
    old = _value(turn, checklist, entry.key, entry.old)
    return turn.t("history.changed", when=when, who=who, question=label, old=old, new=new)


async def page(
    turn: Turn,
    inspection: Inspection,
    township: Township,
    offset: int,
    inspections: list[Inspection] | None = None,
    *,
    edit: bool = False,
) -> list[Reply]:
    assert inspection.id is not None
    entries, total = await history(turn.session, inspection.id, offset=offset, limit=PAGE)
    checklist = await turn.services.checklist_of(turn.session, inspection.checklist_version_id)
    names = await names_of(turn.session, [e.by for e in entries] + [inspection.inspector_id])
    lines = [
        turn.t("history.title", township=township.name, year=inspection.year),
        turn.t(
            "history.state",
            status=turn.t(f"people.status.{inspection.status}"),
            inspector=names.get(inspection.inspector_id or 0, "-"),
        ),
    ]
    if inspection.status == InspectionStatus.returned and inspection.return_comment:
        lines.append(turn.t("history.return_comment", comment=inspection.return_comment))
    if total:
        lines.append(turn.t("history.count", total=total, first=offset + 1, last=offset + len(entries)))
        lines += [entry_line(turn, checklist, e, names) for e in entries]
    else:
        lines.append(turn.t("history.empty"))
    rows: list[list[Button]] = []
    paging = []
    if offset > 0:
        paging.append(
            turn.button(
                turn.t("history.newer"),
                "history",
                f"i{inspection.id}.{max(0, offset - PAGE)}",
                stateless=True,
            )
        )
    if offset + PAGE < total:
        more = total - offset - PAGE
        paging.append(
            turn.button(
                turn.t("history.older", n=more),
                "history",
                f"i{inspection.id}.{offset + PAGE}",
                stateless=True,
            )
        )
    if paging:
        rows.append(paging)
    if inspections is None:
        inspections = await inspections_of(turn.session, township.id or 0)
    years = [
        turn.button(turn.t("history.year", year=i.year), "history", f"i{i.id}", stateless=True)
        for i in inspections
        if i.id != inspection.id
    ][:4]
    if years:
        rows.append(years)
    if inspection.status == InspectionStatus.submitted:
        rows.append([return_button(turn, inspection.id)])
    photos = len(photos_of(checklist, answered_values(await answers_of(turn.session, inspection.id))))
    if photos:
        rows.append(
            [turn.button(turn.t("status.see_photos", n=photos), "photos", inspection.id, stateless=True)]
        )
    return [Reply("\n".join(lines), rows, edit=edit)]


async def act_history(turn: Turn, inp: Input) -> list[Reply]:
    """``t<township id>``, ``i<inspection id>`` or ``i<inspection id>.<offset>``; stateless,
    so access is checked again on every press."""
    if not is_staff(turn.person):
        return [Reply(notice=turn.t("history.staff_only"))]
    arg = argument(inp)
    if match := re.fullmatch(r"t(\d+)", arg):
        township = await visible_township(turn.session, turn.person, int(match.group(1)))
        if township is None:
            return [Reply(notice=turn.t("access.township_denied"))]
        return await show_township(turn, township, None, edit=True)
    if match := re.fullmatch(r"i(\d+)(?:\.(\d+))?", arg):
        found = await visible_inspection(turn.session, turn.person, int(match.group(1)))
        if found is None:
            return [Reply(notice=turn.t("access.township_denied"))]
        return await page(turn, *found, int(match.group(2) or 0), edit=True)
    return [Reply(notice=turn.t("general.stale_button"))]
