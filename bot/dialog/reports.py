"""Status, summary and the documents: /status, /summary, /report, /export, /chart.

None of these change where the person is in an inspection: the state is left as it is,
and an inspector in the middle of a checklist is shown the current question again.
Buttons here are stateless (they stay valid whatever comes after them).
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any

from bot.dialog import render
from bot.dialog.photos import outgoing
from bot.dialog.state import IDLE
from bot.dialog.turn import Turn, argument
from bot.dialog.types import Button, Input, Reply
from bot.engine import Checklist, Derived, QType, derive, effective_answers, format_value
from bot.rectification.progress import tally
from bot.rectification.texts import counts_text, item_line, summary_lines
from bot.rectification.yoy import compare_years
from bot.reports.summary import (
    NOT_INSPECTED,
    Summary,
    TownshipYear,
    build_summary,
    join_names,
    percent,
)
from storage.models import InspectionStatus, ItemStatus, Role
from storage.queries.inspections import answered_values, answers_of
from storage.queries.people import visible_inspection
from storage.queries.rectification import items_of
from storage.queries.registry import villages_of
from storage.queries.summary import (
    InspectionRow,
    Scope,
    TownshipRow,
    answers_of_inspections,
    find_townships,
    inspections_in_year,
    inspections_of_township,
    keep_facts,
    scope_of,
    scope_townships,
    township_row,
    village_statuses,
)
from storage.queries.targets import inspection_team, set_inspection_team

log = logging.getLogger(__name__)

FOLD = 8  # names shown per group before "… and N more"
MAX_BUTTONS = 24  # township buttons offered at once
CHUNK = 3500  # characters per message when listing a whole group
KEEP_FILES = 5  # generated files kept per person


def _is_overseer(turn: Turn) -> bool:
    return turn.person.role in (Role.supervisor, Role.admin)


async def _resume(turn: Turn, replies: list[Reply]) -> list[Reply]:
    """An inspector in the middle of a checklist sees the current question again."""
    if turn.state.step != IDLE:
        replies += await turn.again()
    return replies


def _year(turn: Turn, text: str) -> int | None:
    """The year asked for (``2023``, ``2023年``), this year when none; None if unreadable."""
    text = text.strip()
    if not text:
        return turn.services.now_year()
    match = re.fullmatch(r"(\d{4})\s*年?(度)?", text)
    if match and 2000 <= int(match.group(1)) <= turn.services.now_year() + 1:
        return int(match.group(1))
    return None


# /status ------------------------------------------------------------------------------------


_OVERALL = re.compile(r"总体|整体|全部|全市|全县|全区|汇总|大家|各乡镇|overall|all")
_NOISE = re.compile(r"[\s?？!！。，,]+|怎么样了?|情况如何|进展如何|进展|情况|的$|现在")


async def cmd_status(turn: Turn, inp: Input) -> list[Reply]:
    scope = await scope_of(turn.session, turn.person)
    wanted = inp.text.strip()
    if not wanted:
        if scope.township_ids is None:  # a whole area: ask for a name
            return await _resume(turn, [Reply(turn.t("status.usage"))])
        townships = await scope_townships(turn.session, scope)
        if not townships:
            return await _resume(turn, [Reply(turn.t("status.no_townships"))])
        if len(townships) == 1:
            return await _resume(turn, await _card(turn, townships[0]))
        if len(townships) > MAX_BUTTONS:
            return await _resume(turn, [Reply(turn.t("status.usage"))])
        return await _resume(turn, [Reply(turn.t("status.pick"), _township_buttons(turn, townships))])
    found = await find_townships(turn.session, scope, wanted, MAX_BUTTONS + 1)
    cleaned = _NOISE.sub("", wanted)
    shown = cleaned or wanted  # the township asked about, not the whole sentence
    if not found and cleaned and cleaned != wanted:
        found = await find_townships(turn.session, scope, cleaned, MAX_BUTTONS + 1)
    if not found:
        return await _resume(turn, [Reply(turn.t("status.not_found", text=render.quote(shown)))])
    if len(found) == 1:
        return await _resume(turn, await _card(turn, found[0]))
    text = turn.t("status.ambiguous", text=render.quote(shown))
    if len(found) > MAX_BUTTONS:
        text += "\n" + turn.t("status.too_many", shown=MAX_BUTTONS)
    return await _resume(turn, [Reply(text, _township_buttons(turn, found[:MAX_BUTTONS]))])


async def status_by_message(turn: Turn, inp: Input) -> list[Reply] | None:
    """ "太平乡怎么样？" typed outside any question: the status card, if it names a township the
    person may see (None otherwise, and the usual idle answer follows)."""
    wanted = _NOISE.sub("", inp.text.strip())
    if inp.kind != "text" or not wanted:
        return None
    scope = await scope_of(turn.session, turn.person)
    if await find_townships(turn.session, scope, wanted, 1):
        return await cmd_status(turn, Input("command", text=inp.text, command="status"))
    if wanted == inp.text.strip():  # not asked as a question: the usual idle answer
        return None
    if _is_overseer(turn) and _OVERALL.search(wanted):  # 今年总体怎么样？
        return [Reply(turn.t("status.overall_hint"))]
    next_step = "general.idle_staff" if _is_overseer(turn) else "general.idle"
    return [Reply(turn.t("status.not_found", text=render.quote(wanted)) + "\n" + turn.t(next_step))]


def _township_buttons(turn: Turn, townships: list[TownshipRow]) -> list[list[Button]]:
    names = [tw.name for tw in townships]
    buttons = [
        turn.button(
            tw.name if names.count(tw.name) == 1 else f"{tw.name}（{tw.area_name}）",
            "status",
            tw.id,
            stateless=True,
        )
        for tw in townships
    ]
    return render.pairs(buttons)


async def act_status(turn: Turn, inp: Input) -> list[Reply]:
    arg = argument(inp)
    township = await township_row(turn.session, int(arg)) if arg.isdigit() else None
    scope = await scope_of(turn.session, turn.person)
    if township is None or not _in_scope(scope, township):
        return [Reply(notice=turn.t("access.township_denied"))]
    return await _card(turn, township)


def _in_scope(scope: Scope, township: TownshipRow) -> bool:
    if scope.area_ids is not None and township.area_id not in scope.area_ids:
        return False
    return scope.township_ids is None or township.id in scope.township_ids


async def _card(turn: Turn, township: TownshipRow) -> list[Reply]:
    inspections = await inspections_of_township(turn.session, township.id)
    lines = [turn.t("status.title", township=township.name, area=township.area_name)]
    villages = await _villages_line(turn, township.id)
    if not inspections:
        lines += [turn.t("status.never"), *villages]
        return [Reply("\n".join(lines))]
    latest = inspections[0]
    checklist, values, derived = await _derived(turn, latest)
    lines.append(_year_line(turn, latest, derived, answered=len(values)))
    if latest.status != InspectionStatus.submitted:
        lines.append(turn.t("status.not_counted"))
    lines += _facts(turn, checklist, values, derived, complete=latest.status == InspectionStatus.submitted)
    if len(inspections) > 1:
        earlier = inspections[1]
        before_checklist, before, before_derived = await _derived(turn, earlier)
        lines.append(
            _change(turn, checklist, values, derived, earlier, before_checklist, before, before_derived)
        )
        lines.append(turn.t("status.history"))
        for row in inspections[1:4]:
            d = before_derived if row is earlier else (await _derived(turn, row))[2]
            lines.append("· " + _year_line(turn, row, d))
    lines += villages
    lines += await _township_items(turn, township.id, checklist)
    photos = len(render.photos_of(checklist, values))
    buttons = [[turn.button(turn.t("status.see_photos", n=photos), "photos", latest.id, stateless=True)]]
    return [Reply("\n".join(lines), buttons if photos else [])]


async def _villages_line(turn: Turn, township_id: int) -> list[str]:
    """This year's village inspections of the township (the village checklist), where it has
    villages in the registry: each with its status, and how many have none yet."""
    registered = await villages_of(turn.session, township_id)
    if not registered:
        return []
    year = turn.services.now_year()
    done = await village_statuses(turn.session, township_id, year)
    sep = turn.t("people.list_separator")
    shown = sep.join(
        turn.t("status.village", village=v, status=turn.t(f"people.status.{st}")) for v, st in done
    )
    rest = len(registered) - len(done)
    if not done:
        return [turn.t("status.villages_none", year=year, n=len(registered))]
    line = turn.t("status.villages", year=year, list=shown)
    return [line + (turn.t("status.villages_rest", n=rest) if rest else "")]


async def _township_items(turn: Turn, township_id: int, checklist: Checklist) -> list[str]:
    """The township's rectification items: how many stand where, and the ones not closed."""
    found = await items_of(turn.session, [township_id])
    if not found:
        return []
    today = turn.services.today()
    lines = [turn.t("rectification.status_card", counts=counts_text(tally(found, today), turn.locale))]
    for year in sorted(
        {i.year for i in found}, reverse=True
    ):  # what each inspection raised, and where it stands
        raised = [i for i in found if i.year == year]
        counts = counts_text(tally(raised, today), turn.locale)
        lines.append(turn.t("rectification.card_year", year=year, n=len(raised), counts=counts))
    lines += ["· " + item_line(checklist, i, turn.locale) for i in found if i.status != ItemStatus.closed]
    return lines


MAX_PHOTOS = 10  # photos sent for one press (a message each)


async def act_photos(turn: Turn, inp: Input) -> list[Reply]:
    """The photos of an inspection, for whoever may see its township."""
    found = await visible_inspection(
        turn.session, turn.person, int(argument(inp) or 0) if argument(inp).isdigit() else 0
    )
    if found is None:
        return [Reply(notice=turn.t("access.township_denied"))]
    inspection, township = found
    checklist = await turn.services.checklist_of(turn.session, inspection.checklist_version_id)
    values = answered_values(await answers_of(turn.session, inspection.id or 0))
    photos = render.photos_of(checklist, values)
    replies = []
    for n, photo in enumerate(photos[:MAX_PHOTOS], 1):
        caption = turn.t(
            "status.photo_caption", township=township.name, year=inspection.year, n=n, total=len(photos)
        )
        data = await turn.services.photos.read(turn.session, photo)
        if data is not None:
            path = await asyncio.to_thread(outgoing, turn.services.data_dir, data)
            replies.append(Reply(caption, file=path, photo=True))
        else:
            replies.append(Reply(turn.t("status.photo_missing", caption=caption)))
    if len(photos) > MAX_PHOTOS:
        replies.append(Reply(turn.t("status.more_photos", n=len(photos) - MAX_PHOTOS)))
    return replies or [Reply(notice=turn.t("status.no_photos"))]


async def _derived(turn: Turn, row: InspectionRow) -> tuple[Checklist, dict[str, Any], Derived]:
    checklist = await turn.services.checklist_of(turn.session, row.checklist_version_id)
    # Only answers to questions that apply count (an answer left over from before an earlier
    # answer changed is not shown), as in the summary.
    values = effective_answers(checklist, answered_values(await answers_of(turn.session, row.id)), row.year)
    return checklist, values, derive(checklist, values, row.year)


def _date(turn: Turn, row: InspectionRow) -> str:
    stamp = row.submitted_at if row.status != InspectionStatus.draft and row.submitted_at else row.updated_at
    return stamp.astimezone(turn.services.tz).strftime("%Y-%m-%d")


def _year_line(turn: Turn, row: InspectionRow, derived: Derived, answered: int | None = None) -> str:
    """The inspection in one line; one not submitted has no score yet, only its answers so far."""
    if row.status != InspectionStatus.submitted and answered is not None:
        return turn.t(
            "status.year_line_open",
            year=row.year,
            state=turn.t(f"status.state.{row.status}"),
            inspector=row.inspector_name or "—",
            date=_date(turn, row),
            answered=answered,
        )
    return turn.t(
        "status.year_line",
        year=row.year,
        state=turn.t(f"status.state.{row.status}"),
        inspector=row.inspector_name or "—",
        date=_date(turn, row),
        score=derived.score,
    )


SHOWN_TYPES = (QType.photo, QType.text)  # not on the card: photos are sent, notes are long


def _facts(
    turn: Turn, checklist: Checklist, values: dict[str, Any], derived: Derived, *, complete: bool = True
) -> list[str]:
    """One line per checklist section with its answers, then the derived facts and flags. An
    inspection not ``complete`` (a draft, a returned one) says what its answers so far show and
    nothing of what they do not: no "no problems found", no score."""
    loc = turn.locale
    sep = turn.t("status.sep")
    lines = []
    for section in checklist.sections:
        parts = [
            turn.t("status.answer", question=q.short_text(loc), value=format_value(q, values[q.key], loc))
            for q in section.questions
            if q.key in values and q.type not in SHOWN_TYPES
        ]
        if parts:
            lines.append(turn.t("status.section", section=section.text(loc), answers=sep.join(parts)))
    if derived.filing_lag is not None:
        lines.append(turn.t("status.lag", lag=derived.filing_lag))
    if derived.village_rate is not None:
        lines.append(turn.t("status.rate", rate=percent(derived.village_rate)))
    flags = sorted(derived.flags, key=lambda f: render.SEVERITY_ORDER.get(f.severity, 9))
    if flags:
        lines.append(turn.t("status.flags" if complete else "status.flags_so_far"))
        lines += [f"{render.SEVERITY_MARK.get(f.severity, '•')} {f.text(loc)}" for f in flags]
    elif complete:
        lines.append(turn.t("status.no_flags"))
    if complete:
        lines.append(turn.t("status.score", score=derived.score))
    return lines


def _change(
    turn: Turn,
    checklist: Checklist,
    values: dict[str, Any],
    derived: Derived,
    earlier: InspectionRow,
    before_checklist: Checklist,
    before: dict[str, Any],
    before_derived: Derived,
) -> str:
    """What changed since the township's previous inspection."""
    loc = turn.locale
    parts = [turn.t("status.change_score", delta=f"{derived.score - before_derived.score:+d}")]
    old_lag, new_lag = before_derived.filing_lag, derived.filing_lag
    spec, old_spec = checklist.facts.filing_lag, before_checklist.facts.filing_lag
    if spec and old_spec and old_lag is not None and new_lag is not None:
        old_year, new_year = before.get(old_spec.year), values.get(spec.year)
        if old_year != new_year:
            parts.append(turn.t("status.change_filed", old=old_year, new=new_year))
    if before_derived.village_rate != derived.village_rate:
        parts.append(
            turn.t(
                "status.change_rate",
                old=percent(before_derived.village_rate),
                new=percent(derived.village_rate),
            )
        )
    old = {f.key: f for f in before_derived.problems()}
    new = {f.key: f for f in derived.problems()}
    sep = turn.t("summary.sep")
    if added := [f.text(loc) for k, f in new.items() if k not in old]:
        parts.append(turn.t("status.change_new", flags=sep.join(added)))
    if solved := [f.text(loc) for k, f in old.items() if k not in new]:
        parts.append(turn.t("status.change_solved", flags=sep.join(solved)))
    return turn.t("status.change", year=earlier.year, changes=turn.t("status.change_sep").join(parts))


# /summary -----------------------------------------------------------------------------------


async def _overseer_year(turn: Turn, inp: Input) -> tuple[int | None, list[Reply]]:
    """The year asked for, or the replies that refuse or explain."""
    if not _is_overseer(turn):
        return None, await _resume(turn, [Reply(turn.t("summary.denied"))])
    year = _year(turn, inp.text)
    if year is None:
        return None, [
            Reply(turn.t("summary.bad_year", text=render.quote(inp.text), year=turn.services.now_year()))
        ]
    return year, []


async def _summary(
    turn: Turn,
    year: int,
    *,
    with_team: bool = False,
    with_areas: bool = False,
    keep: bool = False,
    with_previous: bool = False,
) -> Summary:
    """The year's summary for the person's scope. With ``keep``, facts it had to compute
    are written for the next reader (the turn then holds the right to write: only where
    nothing slow follows)."""

    async def write(rows: list[dict[str, Any]]) -> None:
        await keep_facts(turn.session, rows)

    scope = await scope_of(turn.session, turn.person)
    return await build_summary(
        turn.session,
        scope,
        year,
        tz=turn.services.tz,
        checklists=turn.services.checklist_of,
        with_team=with_team,
        with_areas=with_areas,
        keep=write if keep else None,
        with_previous=with_previous,
    )


async def cmd_summary(turn: Turn, inp: Input) -> list[Reply]:
    year, refusal = await _overseer_year(turn, inp)
    if year is None:
        return refusal
    # The comparison with the year before is a button: it reads a second year, which at
    # national scale would double the time of every /summary (0.45 s a year at 40,000 townships).
    return [summary_reply(turn, await _summary(turn, year, keep=True))]


async def act_compare(turn: Turn, inp: Input) -> list[Reply]:
    """The summary's year against the year before, in the person's scope."""
    if not _is_overseer(turn):
        return [Reply(notice=turn.t("summary.denied"))]
    year = _year(turn, argument(inp)) if argument(inp).isdigit() else None
    if year is None:
        return [Reply(notice=turn.t("general.stale_button"))]
    s = await _summary(turn, year, with_previous=True)
    lines = compare_years(s, summary_groups(s), turn.locale)
    return [Reply("\n".join(lines) or turn.t("summary.no_record"))]


def _deadline_line(turn: Turn, s: Summary) -> str:
    days = s.days_left
    key = (
        "summary.deadline_future"
        if days > 0
        else "summary.deadline_today"
        if days == 0
        else "summary.deadline_past"
    )
    return turn.t(key, deadline=s.deadline.isoformat(), days=abs(days))


async def act_summary(turn: Turn, inp: Input) -> list[Reply]:
    """The button on a reminder: the year's full summary (same checks as /summary)."""
    return await cmd_summary(turn, Input("command", text=argument(inp), command="summary"))


def summary_groups(s: Summary) -> list[str]:
    """The groups /summary lists: the checklist's choice, else the target's and the problems."""
    report = s.rules.report if s.rules else None
    if report is None:
        return []
    if report.summary:
        return list(report.summary)
    keys = [s.target_group] if s.target_group else []
    return keys + [g.key for g in report.groups if g.polarity == "problem" and g.key not in keys]


def completion_line(turn: Turn, s: Summary) -> str:
    """Completion of the year's task over every township in scope (the same words as the
    report and the reminders)."""
    missing = s.total - len(s.counted)
    return turn.t(
        "summary.completion",
        label=s.label(s.target_group, turn.locale) if s.target_group else "",
        done=len(s.completed),
        total=s.total,
        share=percent(s.completion),
        target=percent(s.target.township_target),
        verdict=turn.t("summary.met") if s.completion_met else turn.t("summary.short", n=s.completion_needed),
        partial=turn.t("summary.partial", n=missing) if missing else "",
    )


def villages_line(turn: Turn, s: Summary) -> str:
    v = s.villages
    return turn.t(
        "summary.villages",
        part=v.part,
        total=v.total,
        rate=percent(v.rate),
        target=percent(s.target.village_target),
        verdict=turn.t("summary.met_rate") if s.village_met else turn.t("summary.short_rate"),
        partial=(turn.t("summary.villages_partial", n=v.townships_registry) if v.townships_registry else "")
        + (
            turn.t("checklists.summary.from_villages", n=v.townships_villages) if v.townships_villages else ""
        ),
    )


def summary_reply(turn: Turn, s: Summary) -> Reply:
    lines = [turn.t("summary.title", year=s.year, region=s.region or turn.t("summary.all_region"), n=s.total)]
    if s.total == 0:
        return Reply("\n".join([*lines, turn.t("summary.empty")]))
    lines.append(_deadline_line(turn, s))
    counts = {status: len(s.by_status[status]) for status in s.by_status}
    lines.append(
        turn.t(
            "summary.counts",
            submitted=counts[InspectionStatus.submitted],
            draft=counts[InspectionStatus.draft],
            returned=counts[InspectionStatus.returned],
            not_inspected=counts[NOT_INSPECTED],
        )
    )
    buttons: list[Button] = []
    for status in (NOT_INSPECTED, InspectionStatus.draft, InspectionStatus.returned):
        group = s.by_status[status]
        if group:
            label = turn.t(f"summary.label.{status}")
            lines.append(turn.t("summary.status_line", label=label, names=_shown(turn, group)))
            if len(group) > FOLD:
                buttons.append(_more_button(turn, s, f"status.{status}", len(group)))
    if s.target_group:
        lines.append(completion_line(turn, s))
    if s.village_keys:
        lines.append(villages_line(turn, s))
    lines += _items_lines(turn, s)
    lines += compare_years(s, summary_groups(s), turn.locale)  # when the year before was read
    if s.previous is None and s.counted:
        compare = turn.t("rectification.yoy.button", year=s.year - 1)
        buttons.append(turn.button(compare, "compare", s.year, stateless=True))
    lines.append("")
    if not s.counted:
        lines.append(turn.t("summary.no_record"))
        return Reply("\n".join(lines), render.pairs(buttons))
    lines.append(turn.t("summary.counted", n=counts[InspectionStatus.submitted]))
    for key in summary_groups(s):
        cov = s.coverage(key)
        label = s.label(key, turn.locale)
        if cov.form == "silent":
            lines.append(turn.t("summary.group_silent", label=label))
        elif cov.members:
            lines.append(
                turn.t("summary.group_line", label=label, n=len(cov.members), names=_shown(turn, cov.members))
            )
            buttons.append(_more_button(turn, s, key, len(cov.members)))
        else:
            lines.append(turn.t("summary.group_none", label=label, n=cov.checked))
    return Reply("\n".join(lines), render.pairs(buttons))


def _items_lines(turn: Turn, s: Summary) -> list[str]:
    """The year's rectification items, by county; where none were raised, said only of the
    inspections submitted (no record is not "nothing to rectify")."""
    if s.items:
        area_of = {ty.township.id: ty.township.area_name for ty in s.townships}
        return summary_lines(s.items, area_of, s.today, turn.locale)
    if s.counted:
        return [turn.t("rectification.summary.none", n=len(s.counted))]
    return []


def _shown(turn: Turn, group: list[TownshipYear]) -> str:
    """The names of a group, the first FOLD of a longer one with the count."""
    names = [ty.township.name for ty in group[: FOLD + 1]]  # (more than FOLD: only the count is shown)
    return (
        join_names(names, turn.locale, FOLD)
        if len(group) <= FOLD
        else turn.t("summary.names_more", names=turn.t("summary.sep").join(names[:FOLD]), n=len(group))
    )


def _more_button(turn: Turn, s: Summary, key: str, n: int) -> Button:
    label = _label(turn, s, key)
    return turn.button(turn.t("summary.more", label=label, n=n), "group", f"{s.year}.{key}", stateless=True)


def _label(turn: Turn, s: Summary, key: str) -> str:
    if key.startswith("status."):
        return turn.t(f"summary.label.{key.partition('.')[2]}")
    return s.label(key, turn.locale)


async def act_group(turn: Turn, inp: Input) -> list[Reply]:
    """One group of the summary in full: each township with the answers that put it there."""
    if not _is_overseer(turn):
        return [Reply(notice=turn.t("summary.denied"))]
    year_text, _, key = argument(inp).partition(".")
    if not year_text.isdigit() or not key:
        return [Reply(notice=turn.t("general.stale_button"))]
    s = await _summary(turn, int(year_text), keep=True)
    if key.startswith("status."):
        members = s.by_status.get(key.partition(".")[2], [])
        items = [_township_name(ty, members) for ty in members]
    elif s.rules is not None and key in s.group_keys:
        members = s.group(key)
        items = await _evidence(turn, s, key, members)
    else:
        return [Reply(notice=turn.t("general.stale_button"))]
    head = turn.t("summary.full_list", year=s.year, label=_label(turn, s, key), n=len(members))
    return [Reply(text) for text in _chunks(head, items, "\n")]


def _township_name(ty: TownshipYear, members: list[TownshipYear]) -> str:
    twice = sum(1 for other in members if other.name == ty.name) > 1
    return f"{ty.name}（{ty.township.area_name}）" if twice else ty.name


async def _evidence(turn: Turn, s: Summary, key: str, members: list[TownshipYear]) -> list[str]:
    """ "太平乡：整档经费 否" — each township with its answers to the questions the group reads."""
    answers = await answers_of_inspections(
        turn.session, [ty.inspection.id for ty in members if ty.inspection]
    )
    assert s.rules is not None
    loc = turn.locale
    out = []
    for ty in members:
        assert ty.inspection is not None
        checklist = await turn.services.checklist_of(turn.session, ty.inspection.checklist_version_id)
        values = effective_answers(checklist, answers.get(ty.inspection.id, {}), s.year)
        shown = [
            turn.t(
                "status.answer",
                question=checklist.question(q).short_text(loc),
                value=format_value(checklist.question(q), values[q], loc),
            )
            for q in s.rules.evidence(key)
            if checklist.has_question(q) and q in values
        ]
        name = _township_name(ty, members)
        out.append(
            turn.t("summary.evidence", name=name, answers=turn.t("status.sep").join(shown)) if shown else name
        )
    return out


def _chunks(head: str, items: list[str], sep: str) -> list[str]:
    """``head`` and the items, in as many messages as it takes (each under CHUNK)."""
    out: list[str] = []
    current, line, size = head, list[str](), 0
    for item in items:
        if line and len(current) + size + len(sep) + len(item) + 1 > CHUNK:
            out.append((current + "\n" if current else "") + sep.join(line))
            current, line, size = "", [], 0
        size += len(item) + (len(sep) if line else 0)
        line.append(item)
    out.append((current + "\n" if current else "") + sep.join(line))
    return out


# The documents ------------------------------------------------------------------------------


def _out_dir(turn: Turn) -> Path:
    folder = turn.services.data_dir / "reports" / str(turn.person.id or 0)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _fresh(folder: Path, name: str) -> Path:
    """A new file name in ``folder``; older generated files beyond KEEP_FILES are removed."""
    from storage.types import utcnow

    stamp = utcnow().strftime("%Y%m%d-%H%M%S-%f")
    old = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime)
    for stale in old[: max(0, len(old) - KEEP_FILES + 1)]:
        stale.unlink(missing_ok=True)
    stem, dot, ext = name.rpartition(".")
    return folder / f"{stem}-{stamp}{dot}{ext}"


async def cmd_report(turn: Turn, inp: Input) -> list[Reply]:
    """The Word report, and the same report as a PDF to read on the phone. Nothing is
    written to the database here, so no write lock is held while the documents are made."""
    year, refusal = await _overseer_year(turn, inp)
    if year is None:
        return refusal
    from bot.config import get_settings
    from bot.reports.docx_report import APPENDIX_LIMIT, ReportOptions, report_text, write_text
    from bot.reports.pdf_report import write_pdf

    summary = await _summary(turn, year, with_team=True, with_previous=True)
    scope = await scope_of(turn.session, turn.person)
    settings = get_settings()
    listed = summary.total <= APPENDIX_LIMIT  # the appendix lists them one by one: their dates, inspectors
    details = {row.id: row for row in await inspections_in_year(turn.session, scope, year)} if listed else {}
    options = ReportOptions(
        issuer=settings.report_issuer,
        addressee=settings.report_addressee,
        tz=turn.services.tz,
        locale=turn.locale,
        names_limit=settings.report_names_limit,
    )
    folder = _out_dir(turn)
    path = _fresh(folder, turn.t("report.file_name", year=year))
    pdf_path = _fresh(folder, turn.t("report.pdf_name", year=year))
    text = report_text(summary, options, details)
    await asyncio.to_thread(write_text, text, path, options)
    caption = turn.t("report.caption", year=year, n=summary.total)
    try:
        await asyncio.to_thread(write_pdf, text, pdf_path)
    except Exception as exc:  # the Word report stands on its own; say why there is no PDF
        log.exception("the report's PDF could not be made")
        return [
            Reply(caption + turn.t("report.pdf_missing", reason=str(exc) or type(exc).__name__), file=path)
        ]
    return [
        Reply(caption, file=path),
        Reply(turn.t("report.pdf_caption", year=year), file=pdf_path),
    ]


async def cmd_export(turn: Turn, inp: Input) -> list[Reply]:
    year, refusal = await _overseer_year(turn, inp)
    if year is None:
        return refusal
    from bot.reports.xlsx_export import load_export, write_export

    scope = await scope_of(turn.session, turn.person)
    data = await load_export(
        turn.session,
        scope,
        year,
        checklists=turn.services.checklist_of,
        tz=turn.services.tz,
        locale=turn.locale,
    )
    path = _fresh(_out_dir(turn), turn.t("export.file_name", year=year))
    await asyncio.to_thread(write_export, data, path)
    return [
        Reply(
            turn.t("export.caption", year=year, n=sum(1 for r in data.rows if r.inspection is not None)),
            file=path,
        )
    ]


async def cmd_chart(turn: Turn, inp: Input) -> list[Reply]:
    year, refusal = await _overseer_year(turn, inp)
    if year is None:
        return refusal
    from bot.reports.chart import write_chart

    summary = await _summary(turn, year, with_areas=True)
    path = _fresh(_out_dir(turn), turn.t("chart.file_name", year=year))
    await asyncio.to_thread(write_chart, summary, path, turn.locale)
    caption = turn.t("chart.caption", year=year, n=summary.total, counted=len(summary.counted))
    return [Reply(caption, file=path, photo=True)]


# The inspection team -------------------------------------------------------------------------


def _year_first(turn: Turn, text: str) -> tuple[int | None, str]:
    """``2024 rest`` → (2024, rest); this year when the text does not start with a year."""
    head, _, rest = text.strip().partition(" ")
    year = _year(turn, head) if head else turn.services.now_year()
    return (year, rest.strip()) if year is not None and head else (turn.services.now_year(), text.strip())


async def cmd_team(turn: Turn, inp: Input) -> list[Reply]:
    """``/team [year]`` shows the year's inspection team; an administrator sets it with
    ``/team 2024 张三（督查室主任）；李四（档案局）、王五（信访办）`` (the leader, then the members)."""
    from bot.reports.team import describe, parse_people, parse_person

    if not _is_overseer(turn):
        return await _resume(turn, [Reply(turn.t("summary.denied"))])
    year, rest = _year_first(turn, inp.text)
    assert year is not None
    if rest:
        if turn.person.role != Role.admin:
            return [Reply(turn.t("team.admins_only"))]
        leader_text, _, members_text = rest.replace(";", "；").partition("；")
        leader = parse_person(leader_text)
        if leader is None:
            return [Reply(turn.t("team.usage", year=year))]
        await set_inspection_team(
            turn.session,
            year,
            leader=leader["name"],
            leader_title=leader.get("title"),
            members=parse_people(members_text),
        )
        await turn.session.flush()
    return [Reply(describe(await inspection_team(turn.session, year), year, turn.locale))]


async def cmd_asks(turn: Turn, inp: Input) -> list[Reply]:
    """``/asks 2024 TEXT``: what the report asks of its addressee beyond what the data shows
    (``/asks 2024 -`` clears it)."""
    from bot.reports.team import describe

    if not _is_overseer(turn):
        return await _resume(turn, [Reply(turn.t("summary.denied"))])
    year, rest = _year_first(turn, inp.text)
    assert year is not None
    if not rest:
        return [Reply(turn.t("team.asks_usage", year=year))]
    await set_inspection_team(turn.session, year, asks="" if rest == "-" else rest)
    await turn.session.flush()
    return [Reply(describe(await inspection_team(turn.session, year), year, turn.locale))]
