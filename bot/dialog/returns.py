"""The send-back loop: a supervisor returns a submitted inspection with a comment (and, if
they like, the questions to fix); the inspector is notified with a button that opens the
inspection at those questions; resubmitting notifies the supervisor.

``/return <township> [year] <comment>``, or the ↩ button on an inspection's history card
(``return_button`` makes it, for any card that shows a submitted inspection)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.dialog import render
from bot.dialog.access import is_staff, split_year
from bot.dialog.current import Current
from bot.dialog.state import ReturnDraft
from bot.dialog.turn import STATELESS, Turn, int_argument, locale_of
from bot.dialog.types import Button, Input, Reply
from bot.engine import applicable
from bot.i18n import t
from storage.models import Identity, Inspection, InspectionStatus, Person, Township
from storage.queries import inspections as q_insp
from storage.queries.history import inspections_of
from storage.queries.people import (
    accounts_of,
    assignees_of,
    names_of,
    search_visible_townships,
    supervisors_over,
    visible_inspection,
    visible_township,
)

MAX_COMMENT = 1000
MAX_CHOICES = 12
LABEL = 30


def return_button(turn: Turn, inspection_id: int | None) -> Button:
    """A button that starts returning this inspection (stateless: valid on any card)."""
    return turn.button(turn.t("returns.button"), "return", inspection_id or 0, stateless=True)


# Starting ---------------------------------------------------------------------------------------


def _parse(text: str) -> tuple[str, int | None, str]:
    """``太平乡 2025 意见…`` → township, year, comment (the year may be left out)."""
    head, _, rest = text.strip().partition(" ")
    rest = rest.strip()
    year_match = re.match(r"(\d{4})\s*年?度?(?:\s+|$)", rest)
    if year_match:
        return head, int(year_match.group(1)), rest[year_match.end() :].strip()
    township, year = split_year(head)
    return township, year, rest


async def cmd_return(turn: Turn, inp: Input) -> list[Reply]:
    if not is_staff(turn.person):
        return [Reply(turn.t("returns.staff_only"))]
    query, year, comment = _parse(inp.text)
    if not query:
        return [Reply(turn.t("returns.usage"))]
    found = await search_visible_townships(turn.session, turn.person, query, MAX_CHOICES + 1)
    if not found:
        return [Reply(turn.t("history.not_found", text=render.quote(query)))]
    if len(found) > 1:
        turn.go("return_pick", ret=ReturnDraft(year=year, comment=comment))
        buttons = [[turn.button(t.name, "return_township", t.id)] for t in found[:MAX_CHOICES]]
        return [Reply(turn.t("history.which", text=render.quote(query)), buttons)]
    return await _start(turn, found[0], year, comment)


async def act_pick_township(turn: Turn, inp: Input) -> list[Reply]:
    if not is_staff(turn.person) or turn.state.step != "return_pick":
        return [Reply(notice=turn.t("general.stale_button"))]
    township = await visible_township(turn.session, turn.person, int_argument(inp))
    if township is None:
        return [Reply(notice=turn.t("access.township_denied"))]
    wanted = turn.state.ret or ReturnDraft()
    return await _start(turn, township, wanted.year, wanted.comment)


async def act_return(turn: Turn, inp: Input) -> list[Reply]:
    """The ↩ button on a card: return that inspection."""
    if not is_staff(turn.person):
        return [Reply(notice=turn.t("returns.staff_only"))]
    found = await visible_inspection(turn.session, turn.person, int_argument(inp))
    if found is None:
        return [Reply(notice=turn.t("access.township_denied"))]
    inspection, township = found
    return await _start(turn, township, inspection.year, "")


async def _start(turn: Turn, township: Township, year: int | None, comment: str) -> list[Reply]:
    inspections = await inspections_of(turn.session, township.id or 0)
    if year is not None:
        inspection = next((i for i in inspections if i.year == year), None)
    else:
        submitted = [i for i in inspections if i.status == InspectionStatus.submitted]
        inspection = submitted[0] if submitted else (inspections[0] if inspections else None)
    if inspection is None:
        year_text = " " + turn.t("history.year", year=year) if year else ""
        return [Reply(turn.t("returns.no_inspection", township=township.name, year=year_text))]
    if inspection.status != InspectionStatus.submitted:
        key = (
            "returns.already_returned"
            if inspection.status == InspectionStatus.returned
            else "returns.not_submitted"
        )
        return [Reply(turn.t(key, township=township.name, year=inspection.year))]
    turn.state = turn.state.go(
        "return", ret=ReturnDraft(inspection_id=inspection.id, comment=comment[:MAX_COMMENT])
    )
    return await _card(turn, inspection, township)


# The card the supervisor confirms ---------------------------------------------------------------


async def _returning(turn: Turn) -> tuple[Inspection, Township, ReturnDraft] | None:
    if not is_staff(turn.person) or turn.state.step != "return" or turn.state.ret is None:
        return None
    draft = turn.state.ret
    found = await visible_inspection(turn.session, turn.person, draft.inspection_id or 0)
    if found is None:
        return None
    return found[0], found[1], draft


async def _card(turn: Turn, inspection: Inspection, township: Township, *, edit: bool = False) -> list[Reply]:
    turn.next_seq()
    draft = turn.state.ret or ReturnDraft()
    names = await names_of(turn.session, [inspection.inspector_id])
    header = turn.t(
        "returns.card",
        township=township.name,
        year=inspection.year,
        inspector=names.get(inspection.inspector_id or 0, "-"),
    )
    cancel = turn.button(turn.t("people.cancel"), "return_cancel")
    if not draft.comment:
        return [Reply(header + "\n" + turn.t("returns.ask_comment"), [[cancel]], edit=edit)]
    checklist = await turn.services.checklist_of(turn.session, inspection.checklist_version_id)
    chosen = [checklist.question(k).text(turn.locale) for k in draft.questions if checklist.has_question(k)]
    lines = [
        header,
        turn.t("returns.comment", comment=draft.comment),
        turn.t(
            "returns.questions",
            questions=turn.t("people.list_separator").join(chosen)
            if chosen
            else turn.t("returns.no_questions"),
        ),
        turn.t("returns.confirm_hint"),
    ]
    buttons = [
        [
            turn.button(turn.t("returns.confirm"), "return_confirm"),
            turn.button(turn.t("returns.pick"), "return_sections"),
        ],
        [cancel],
    ]
    return [Reply("\n".join(lines), buttons, edit=edit)]


async def step_return(turn: Turn, inp: Input) -> list[Reply]:
    """Typed text on the card is the comment (a new one replaces the old)."""
    found = await _returning(turn)
    if found is None:
        turn.reset()
        return [Reply(turn.t("returns.gone"))]
    inspection, township, draft = found
    if inp.kind == "text" and inp.text.strip():
        draft.comment = inp.text.strip()[:MAX_COMMENT]
    return await _card(turn, inspection, township)


async def act_sections(turn: Turn, inp: Input) -> list[Reply]:
    found = await _returning(turn)
    if found is None:
        return [Reply(notice=turn.t("general.stale_button"))]
    inspection, _township, draft = found
    checklist = await turn.services.checklist_of(turn.session, inspection.checklist_version_id)
    chosen = set(draft.questions)
    turn.next_seq()
    buttons = []
    for index, section in enumerate(checklist.sections):
        marked = sum(1 for q in section.questions if q.key in chosen)
        label = section.text(turn.locale) + (f" ({marked})" if marked else "")
        buttons.append(turn.button(label, "return_section", index))
    rows = [*render.pairs(buttons), [turn.button(turn.t("returns.back"), "return_back")]]
    return [Reply(turn.t("returns.pick_section"), rows, edit=True)]


async def _section_questions(
    turn: Turn, inspection: Inspection, index: int, draft: ReturnDraft
) -> list[Reply]:
    checklist = await turn.services.checklist_of(turn.session, inspection.checklist_version_id)
    section = checklist.sections[index]
    answers = q_insp.answered_values(await q_insp.answers_of(turn.session, inspection.id or 0))
    chosen = set(draft.questions)
    turn.next_seq()
    rows = [
        [
            turn.button(
                ("☑ " if q.key in chosen else "☐ ") + _short(q.text(turn.locale)),
                "return_question",
                checklist.index(q.key),
            )
        ]
        for q in section.questions
        if applicable(q, answers)
    ]
    rows.append([turn.button(turn.t("returns.back"), "return_sections")])
    return [Reply(turn.t("returns.pick_question", section=section.text(turn.locale)), rows, edit=True)]


async def act_section(turn: Turn, inp: Input) -> list[Reply]:
    found = await _returning(turn)
    if found is None:
        return [Reply(notice=turn.t("general.stale_button"))]
    inspection, _township, draft = found
    checklist = await turn.services.checklist_of(turn.session, inspection.checklist_version_id)
    index = int_argument(inp, -1)
    if not 0 <= index < len(checklist.sections):
        return [Reply(notice=turn.t("general.stale_button"))]
    return await _section_questions(turn, inspection, index, draft)


async def act_toggle(turn: Turn, inp: Input) -> list[Reply]:
    found = await _returning(turn)
    if found is None:
        return [Reply(notice=turn.t("general.stale_button"))]
    inspection, _township, draft = found
    checklist = await turn.services.checklist_of(turn.session, inspection.checklist_version_id)
    index = int_argument(inp, -1)
    if not 0 <= index < len(checklist.questions()):
        return [Reply(notice=turn.t("general.stale_button"))]
    key = checklist.questions()[index].key
    chosen = set(draft.questions) ^ {key}
    draft.questions = [q.key for q in checklist.questions() if q.key in chosen]
    section = checklist.section_of(key)
    return await _section_questions(turn, inspection, checklist.sections.index(section), draft)


async def act_back(turn: Turn, inp: Input) -> list[Reply]:
    found = await _returning(turn)
    if found is None:
        return [Reply(notice=turn.t("general.stale_button"))]
    return await _card(turn, found[0], found[1], edit=True)


async def act_cancel(turn: Turn, inp: Input) -> list[Reply]:
    turn.reset()
    return [Reply(turn.t("returns.cancelled"), edit=True)]


# Returning and notifying ------------------------------------------------------------------------


async def _entitled(
    turn: Turn, person_ids: Sequence[int | None], township: Township
) -> list[tuple[Person, Identity]]:
    """The accounts of those people who may still see the township: nobody else is told."""
    accounts = await accounts_of(turn.session, [i for i in person_ids if i is not None])
    allowed = {
        person.id
        for person, _ in accounts
        if await visible_township(turn.session, person, township.id or 0) is not None
    }
    return [(p, i) for p, i in accounts if p.id in allowed]


async def act_confirm(turn: Turn, inp: Input) -> list[Reply]:
    found = await _returning(turn)
    if found is None:
        return [Reply(notice=turn.t("general.stale_button"))]
    inspection, township, draft = found
    comment = draft.comment
    if not comment:
        return [Reply(notice=turn.t("returns.ask_comment"))]
    questions = list(draft.questions)
    assert turn.person.id is not None
    turn.reset()
    if not await q_insp.return_inspection(turn.session, inspection, turn.person.id, comment, questions):
        return [
            Reply(
                turn.t("returns.changed_meanwhile", township=township.name, year=inspection.year), edit=True
            )
        ]
    checklist = await turn.services.checklist_of(turn.session, inspection.checklist_version_id)
    targets = await _entitled(turn, [inspection.inspector_id, inspection.submitted_by], township)
    if not targets:  # the inspector is gone: whoever is assigned now
        targets = await _entitled(turn, await assignees_of(turn.session, township.id or 0), township)
    notes = []
    for person, identity in targets:
        loc = locale_of(person, turn.services.locale)
        labels = [checklist.question(k).text(loc) for k in questions if checklist.has_question(k)]
        lines = [
            t("returns.notify", loc, township=township.name, year=inspection.year, by=turn.person.name),
            t("returns.comment", loc, comment=comment),
        ]
        if labels:
            lines.append(t("returns.questions", loc, questions=t("people.list_separator", loc).join(labels)))
        fix = Button(t("returns.fix", loc), f"{STATELESS}:fix:{inspection.id}")
        notes.append(Reply("\n".join(lines), [[fix]], to=(identity.channel, identity.external_id)))
    told = turn.t("people.list_separator").join(dict.fromkeys(p.name for p, _ in targets))
    key = "returns.done" if targets else "returns.done_nobody"
    return [Reply(turn.t(key, township=township.name, year=inspection.year, names=told), edit=True), *notes]


def next_to_fix(cur: Current, after: str | None) -> str | None:
    """In a returned inspection, the next question the supervisor asked to fix after ``after``
    (all answered questions come first; after the last one, the review)."""
    wanted = cur.inspection.return_questions
    if cur.inspection.status != InspectionStatus.returned or not wanted:
        return None
    values = cur.values
    keys = [q.key for q in cur.checklist.questions() if q.key in wanted and applicable(q, values)]
    if after is None:
        return keys[0] if keys else None
    start = cur.checklist.index(after) if cur.checklist.has_question(after) else -1
    return next((k for k in keys if cur.checklist.index(k) > start), None)


async def after_submit(turn: Turn, inspection: Inspection, township: Township, was: str) -> list[Reply]:
    """A returned inspection submitted again: tell the supervisor who returned it (or, if they
    are gone, the supervisors over the township), with a button to see what changed."""
    if was != InspectionStatus.returned:
        return []
    targets = await _entitled(turn, [inspection.returned_by], township)
    if not targets:  # the supervisor who returned it is gone: those over the township now
        targets = await _entitled(
            turn, [p.id for p in await supervisors_over(turn.session, township)], township
        )
    notes = []
    for person, identity in targets:
        if person.id == turn.person.id:
            continue
        loc = locale_of(person, turn.services.locale)
        text = t(
            "returns.resubmitted", loc, who=turn.person.name, township=township.name, year=inspection.year
        )
        if inspection.return_comment:
            text += "\n" + t("returns.comment", loc, comment=inspection.return_comment)
        see = Button(t("returns.see_changes", loc), f"{STATELESS}:history:i{inspection.id}")
        notes.append(Reply(text, [[see]], to=(identity.channel, identity.external_id)))
    names = turn.t("people.list_separator").join(
        dict.fromkeys(p.name for p, _ in targets if p.id != turn.person.id)
    )
    told = [Reply(turn.t("returns.told_supervisor", names=names))] if names else []
    return told + notes


async def step_return_pick(turn: Turn, inp: Input) -> list[Reply]:
    """Typed text while choosing among townships of the same name: the choice by name."""
    if not is_staff(turn.person):
        turn.reset()
        return [Reply(turn.t("returns.staff_only"))]
    wanted = turn.state.ret or ReturnDraft()
    text = f"{inp.text.strip()} {wanted.year or ''} {wanted.comment}".strip()
    return await cmd_return(turn, Input("command", text=text, command="return"))


def _short(text: str) -> str:
    return text if len(text) <= LABEL else text[: LABEL - 1] + "…"


async def again(turn: Turn, inp: Input) -> list[Reply]:
    """The return card once more, as the supervisor left it."""
    found = await _returning(turn)
    return await _card(turn, found[0], found[1]) if found is not None else []
