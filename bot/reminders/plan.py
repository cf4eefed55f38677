"""Who is told what on an occasion: supervisors how their area stands against the year's
targets, inspectors which of their townships they still owe."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dialog.types import Button
from bot.i18n import normalise_locale, t
from bot.reminders.items import plan_items
from bot.reminders.planned import Planned
from bot.reminders.rules import Occasion, ReminderRules, occasion
from bot.reports.summary import ChecklistCache, Summary, build_summary
from storage.models import Role, YearTarget
from storage.queries.people import area_parents, nested_areas
from storage.queries.progress import TownshipState, township_states
from storage.queries.recipients import CHANNEL_PREFERENCE, Recipient, assignments, reachable_people
from storage.queries.summary import Scope
from storage.queries.targets import year_target

NAMES_SHOWN = 10  # townships named in a reminder before "and N more"


async def plan(
    session: AsyncSession,
    now: datetime,
    tz: ZoneInfo,
    rules: ReminderRules,
    channels: Sequence[str] = CHANNEL_PREFERENCE,
) -> list[Planned]:
    """The reminders due at ``now`` (every year whose deadline still calls for one), to people
    reachable on ``channels`` (the ones the running sender serves, preferred in that order)."""
    today = now.astimezone(tz).date()
    people = await reachable_people(session, channels)
    if not people:
        return []
    tree, assigned = await area_parents(session), await assignments(session)
    checklists = ChecklistCache()
    planned: list[Planned] = []
    for year in (today.year - 1, today.year):
        target = await year_target(session, year)
        occ = occasion(today, year, target.deadline, rules)
        if occ is None:
            continue
        states = await township_states(session, year)
        for person in people:
            if person.muted and not occ.urgent:
                continue
            if person.role == Role.supervisor and person.area_id is not None:
                areas = nested_areas(tree, person.area_id)
                scope = [s for s in states if s.area_id in areas]
                if scope:
                    # The same summary as /summary and the report, so the numbers always agree.
                    summary = await build_summary(
                        session,
                        Scope(area_ids=frozenset(areas)),
                        year,
                        tz=tz,
                        checklists=checklists,
                        today=today,
                    )
                    planned.append(_supervisor(person, summary, occ, scope, assigned, people))
            elif person.role == Role.inspector:
                owed = [
                    s
                    for s in states
                    if s.township_id in assigned.get(person.person_id, ()) and not s.submitted
                ]
                if owed:
                    planned.append(_inspector(person, year, target, occ, owed))
    planned += await plan_items(session, today, rules, people)  # rectification items, same engine
    return planned


def _when(locale: str, target: YearTarget, occ: Occasion) -> str:
    deadline = (
        f"{target.deadline.month}月{target.deadline.day}日"
        if locale == "zh-CN"
        else target.deadline.isoformat()
    )
    if occ.days_left > 0:
        return t("reminders.days_left", locale, deadline=deadline, days=occ.days_left)
    if occ.days_left == 0:
        return t("reminders.due_today", locale, deadline=deadline)
    return t("reminders.overdue", locale, deadline=deadline, days=-occ.days_left)


def _names(locale: str, names: Sequence[str]) -> str:
    sep = "、" if locale == "zh-CN" else ", "
    shown = sep.join(names[:NAMES_SHOWN])
    if len(names) > NAMES_SHOWN:
        return t("reminders.and_more", locale, names=shown, count=len(names))
    return shown


def _supervisor(
    person: Recipient,
    summary: Summary,
    occ: Occasion,
    scope: list[TownshipState],
    assigned: dict[int, set[int]],
    people: list[Recipient],
) -> Planned:
    loc = normalise_locale(person.locale)
    target = summary.target
    done = {ty.township.id for ty in summary.completed}
    behind = [ty.name for ty in summary.townships if ty.township.id not in done]
    rate = summary.village_rate
    lines = [
        t("reminders.supervisor_title", loc, year=summary.year, when=_when(loc, target, occ)),
        t(
            "reminders.townships_done",
            loc,
            done=len(done),
            total=summary.total,
            percent=round(100 * summary.completion),
            target=round(target.township_target * 100),
        ),
        t(
            "reminders.village_rate",
            loc,
            percent="—" if rate is None else round(100 * rate),
            target=round(target.village_target * 100),
        ),
    ]
    missing = summary.total - len(summary.counted)
    if missing:  # the figures above count those as not done, none established: say so
        lines.append(
            t("reminders.coverage", loc, n=len(summary.counted), total=summary.total, missing=missing)
        )
    if behind:
        lines.append(t("reminders.behind", loc, names=_names(loc, behind)))
    if occ.kind == "overdue":  # escalation: who owes what, by inspector
        owing = {s.township_id: s.name for s in scope if not s.submitted}
        for inspector in people:
            if inspector.role == Role.inspector:
                theirs = [owing[tid] for tid in sorted(assigned.get(inspector.person_id, ())) if tid in owing]
                if theirs:
                    lines.append(
                        t("reminders.inspector_owes", loc, name=inspector.name, names=_names(loc, theirs))
                    )
    buttons = [[Button(t("reminders.full_summary", loc), f"x:summary:{summary.year}")]]
    return Planned("supervisor", person, occ.key, occ.urgent, "\n".join(lines), buttons)


def _inspector(
    person: Recipient, year: int, target: YearTarget, occ: Occasion, owed: list[TownshipState]
) -> Planned:
    loc = normalise_locale(person.locale)
    lines = [t("reminders.inspector_title", loc, year=year, when=_when(loc, target, occ))]
    for state in owed:
        if state.status is None:
            lines.append(t("reminders.not_started", loc, name=state.name))
        elif state.status == "returned":
            lines.append(t("reminders.returned", loc, name=state.name))
        else:
            lines.append(t("reminders.draft", loc, name=state.name, answered=state.answered))
    lines.append(t("reminders.how_to_continue", loc))
    return Planned("inspector", person, occ.key, occ.urgent, "\n".join(lines))
