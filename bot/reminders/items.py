"""Reminders of rectification items, on the deadline reminders' engine and working calendar:
the township's contact as an item's due date nears and after it; once it is overdue, the
inspector who found it (or those assigned to the township) on each overdue occasion; and each
overdue item once to the supervisors over the township. Each reminder is one row of the
reminder log, claimed before it is sent; ``/mute`` silences only what it silences for the
deadline reminders (nothing in the last week or after)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dialog.turn import STATELESS
from bot.dialog.types import Button
from bot.engine import Checklist, builtin_checklist
from bot.i18n import normalise_locale, t
from bot.rectification import findings as rf
from bot.rectification.texts import item_line
from bot.reminders.planned import Planned
from bot.reminders.rules import Occasion, ReminderRules, occasion
from storage.models import RectificationItem, Role, Township
from storage.queries import rectification as q_items
from storage.queries.people import area_parents
from storage.queries.recipients import Recipient, assignments

MAX_LISTED = 10
MAX_BUTTONS = 5

# Rule names in the reminder log (one reminder per rule, person and occasion).
CONTACT, INSPECTOR, SUPERVISOR = "item-contact", "item-inspector", "item-supervisor"


async def plan_items(
    session: AsyncSession, today: date, rules: ReminderRules, people: Sequence[Recipient]
) -> list[Planned]:
    items = await q_items.open_items(session)
    if not items or not people:
        return []
    townships = {
        tid: tw
        for tid, (tw, _a) in (
            await q_items.townships_with_areas(session, {i.township_id for i in items})
        ).items()
    }
    contacts = await q_items.contact_townships(session)
    assigned = await assignments(session)
    parents = await area_parents(session)  # one read: the areas are few
    chains = {tid: _chain(parents, tw.area_id) for tid, tw in townships.items()}
    checklist = builtin_checklist()
    # (rule, person, occasion key) → the items it lists, and whether it is urgent.
    due: dict[tuple[str, int, str], tuple[Recipient, Occasion, list[RectificationItem]]] = {}

    def add(rule: str, person: Recipient, occ: Occasion, key: str, item: RectificationItem) -> None:
        if person.muted and not occ.urgent:
            return
        due.setdefault((rule, person.person_id, key), (person, occ, []))[2].append(item)

    for item in items:
        occ = occasion(today, item.year, item.due, rules)
        if occ is None:
            continue
        for person in people:
            if person.role == Role.contact and contacts.get(person.person_id) == item.township_id:
                add(CONTACT, person, occ, occ.key, item)
            elif occ.kind == "overdue" and person.role == Role.inspector:
                if (
                    item.township_id in assigned.get(person.person_id, ())
                    or item.opened_by == person.person_id
                ):
                    add(INSPECTOR, person, occ, occ.key, item)
            elif occ.kind == "overdue" and person.role == Role.supervisor:
                if person.area_id is not None and person.area_id in chains.get(item.township_id, set()):
                    add(SUPERVISOR, person, occ, f"item-{item.id}", item)  # escalated once
    return [
        _planned(rule, person, occ, key, listed, townships, checklist)
        for (rule, _pid, key), (person, occ, listed) in sorted(due.items(), key=lambda kv: kv[0])
    ]


def _chain(parents: dict[int, int | None], area_id: int) -> set[int]:
    """The area and those it is nested in."""
    chain = [area_id]
    while (parent := parents.get(chain[-1])) is not None and parent not in chain:
        chain.append(parent)
    return set(chain)


def _planned(
    rule: str,
    person: Recipient,
    occ: Occasion,
    key: str,
    listed: list[RectificationItem],
    townships: dict[int, Township],
    checklist: Checklist,
) -> Planned:
    loc = normalise_locale(person.locale)
    when = (
        t("rectification.remind.overdue", loc, days=-occ.days_left)
        if occ.days_left < 0
        else t("rectification.remind.days_left", loc, days=occ.days_left)
    )
    lines = [t(f"rectification.remind.{rule.removeprefix('item-')}", loc, when=when, n=len(listed))]
    for item in listed[:MAX_LISTED]:
        name = townships[item.township_id].name if item.township_id in townships else ""
        lines.append(f"{name} · {item_line(checklist, item, loc)}")
    if len(listed) > MAX_LISTED:
        lines.append(t("rectification.more", loc, n=len(listed) - MAX_LISTED))
    buttons: list[list[Button]] = []
    if rule == CONTACT:
        for item in listed[:MAX_BUTTONS]:
            label = rf.label(checklist, item.finding, loc)[:20]
            done = t("rectification.remind.done_button", loc, finding=label)
            buttons.append([Button(done, f"{STATELESS}:item_done:{item.id}")])
    return Planned(rule, person, key, occ.urgent, "\n".join(lines), buttons)
