"""Rectification items in the chat: opened when an inspection is submitted, sent to the
township's contact as a 整改通知 with a button per item to report it done (photos and a note)
or ask for guidance; a report goes to the township's inspector, who accepts it (closed) or
sends it back with a reason (open again, the contact told why).

Every item button is stateless (``x:item_*:<item id>``) and checks, on every press, that the
person may act on that item: a copied button does nothing for anyone else."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import date

from bot.dialog.access import is_staff
from bot.dialog.current import Current
from bot.dialog.photos import outgoing
from bot.dialog.state import ItemDraft
from bot.dialog.turn import STATELESS, Turn, argument, int_argument, locale_of
from bot.dialog.types import Button, Input, Reply
from bot.engine import Checklist
from bot.i18n import t
from bot.rectification import findings as rf
from bot.rectification.texts import item_line
from storage.models import Identity, ItemStatus, Person, RectificationItem, Role, Township
from storage.queries import rectification as q_items
from storage.queries.people import (
    accounts_of,
    assignees_of,
    supervisors_over,
    township_by_id,
    visible_township,
    visible_townships,
)
from storage.queries.targets import year_target

MAX_NOTE = 1000
MAX_PHOTOS = 10
MAX_LISTED = 30


# Who may do what ---------------------------------------------------------------------------------


def is_contact(person: Person) -> bool:
    return person.role == Role.contact


async def may_see_item(turn: Turn, item: RectificationItem) -> bool:
    """A contact their own township's items; anyone else the items of townships they see."""
    if is_contact(turn.person):
        return turn.person.township_id == item.township_id
    return await visible_township(turn.session, turn.person, item.township_id) is not None


async def may_review(turn: Turn, item: RectificationItem) -> bool:
    """The township's inspector, a supervisor or an administrator over it (never a contact)."""
    return not is_contact(turn.person) and await may_see_item(turn, item)


async def _item(turn: Turn, inp: Input) -> RectificationItem | None:
    item = await q_items.item_by_id(turn.session, int_argument(inp))
    return item if item is not None and await may_see_item(turn, item) else None


# Texts ---------------------------------------------------------------------------------------------


def _checklist(turn: Turn) -> Checklist:
    return turn.services.checklists.current


def _contact_buttons(item: RectificationItem, loc: str, n: int) -> list[Button]:
    return [
        Button(t("rectification.done_button", loc, n=n), f"{STATELESS}:item_done:{item.id}"),
        Button(t("rectification.help_button", loc, n=n), f"{STATELESS}:item_help:{item.id}"),
    ]


def _review_buttons(item: RectificationItem, loc: str) -> list[Button]:
    return [
        Button(t("rectification.accept_button", loc), f"{STATELESS}:item_accept:{item.id}"),
        Button(t("rectification.reject_button", loc), f"{STATELESS}:item_reject:{item.id}"),
    ]


def notice_button(township_id: int, year: int, loc: str) -> Button:
    return Button(t("rectification.notice_button", loc), f"{STATELESS}:item_notice:{township_id}-{year}")


def notice(
    checklist: Checklist, township: Township, year: int, items: Sequence[RectificationItem], loc: str
) -> Reply:
    """The 整改通知: the township's items not closed, a button pair for each open one."""
    lines = [t("rectification.notice_title", loc, township=township.name, year=year)]
    rows: list[list[Button]] = []
    for n, item in enumerate(items, 1):
        lines.append(item_line(checklist, item, loc, n))
        if item.comment and item.status == ItemStatus.open:
            lines.append(t("rectification.sent_back_why", loc, comment=item.comment))
        if item.status == ItemStatus.open:
            rows.append(_contact_buttons(item, loc, n))
    lines.append(t("rectification.notice_hint", loc))
    rows.append([notice_button(township.id or 0, year, loc)])
    return Reply("\n".join(lines), rows)


# People to tell ------------------------------------------------------------------------------------


async def _contacts(turn: Turn, township_id: int) -> list[tuple[Person, Identity]]:
    people = await q_items.contacts_of(turn.session, township_id)
    return await accounts_of(turn.session, [p.id for p in people if p.id is not None])


async def _reviewers(turn: Turn, item: RectificationItem) -> list[tuple[Person, Identity]]:
    """The inspector of the inspection that found it, else those assigned to the township now,
    else the supervisors over it: whoever of them may still see the township."""
    township = await township_by_id(turn.session, item.township_id)
    if township is None:
        return []
    candidates: list[list[int]] = []
    if item.opened_by is not None:
        candidates.append([item.opened_by])
    candidates.append(await assignees_of(turn.session, item.township_id))
    candidates.append([p.id for p in await supervisors_over(turn.session, township) if p.id is not None])
    for ids in candidates:
        accounts = await accounts_of(turn.session, ids)
        allowed = [
            (p, i)
            for p, i in accounts
            if p.role != Role.contact and await visible_township(turn.session, p, item.township_id)
        ]
        if allowed:
            return allowed
    return []


# At submit -------------------------------------------------------------------------------------------


async def after_submit(turn: Turn, cur: Current) -> list[Reply]:
    """Open, keep or close the township's items by the findings of the inspection just
    submitted; tell the inspector what happened and the township's contacts what to put right."""
    inspection, township = cur.inspection, cur.township
    assert inspection.id is not None and township.id is not None
    raised = rf.findings(cur.checklist, cur.values, inspection.year)
    deadline = (await year_target(turn.session, inspection.year)).deadline
    owners = await q_items.contacts_of(turn.session, township.id)  # the township's contact owns it
    synced = await q_items.sync_items(
        turn.session,
        township_id=township.id,
        year=inspection.year,
        inspection_id=inspection.id,
        findings=raised,
        known=[f.key for f in rf.rectify_flags(cur.checklist)],
        due=deadline,
        by=turn.person.id,
        owner=owners[0].id if owners else None,
    )
    if not (synced.opened or synced.resolved or synced.kept):
        return [Reply(turn.t("rectification.none_found"))]
    contacts = await _contacts(turn, township.id)
    names = turn.t("people.list_separator").join(dict.fromkeys(p.name for p, _ in contacts))
    told = [
        turn.t(
            "rectification.submitted",
            opened=len(synced.opened),
            kept=len(synced.kept),
            resolved=len(synced.resolved),
        )
    ]
    notes: list[Reply] = []
    if synced.opened or synced.resolved:  # a resubmission that changed nothing tells nobody again
        live = await q_items.items_of(turn.session, [township.id], [ItemStatus.open, ItemStatus.reported])
        for person, identity in contacts:
            loc = locale_of(person, turn.services.locale)
            if live:
                note = notice(_checklist(turn), township, inspection.year, live, loc)
            else:
                note = Reply(t("rectification.all_resolved", loc, township=township.name))
            if synced.resolved:
                gone = t("people.list_separator", loc).join(
                    rf.label(_checklist(turn), i.finding, loc) for i in synced.resolved
                )
                note.text = t("rectification.resolved_by_answers", loc, findings=gone) + "\n" + note.text
            note.to = (identity.channel, identity.external_id)
            notes.append(note)
        told.append(
            turn.t("rectification.told_contacts", names=names)
            if contacts
            else turn.t("rectification.no_contact")
        )
    return [Reply("\n".join(told)), *notes]


def opening_note(turn: Turn, checklist: Checklist, items: Sequence[RectificationItem]) -> str:
    """At the start of a township's next inspection: what was found before and is still open."""
    loc = turn.locale
    return "\n".join(
        turn.t("rectification.ask_again", finding=rf.label(checklist, i.finding, loc), year=i.year)
        for i in items
    )


async def open_before(turn: Turn, township_id: int, year: int) -> list[RectificationItem]:
    """The township's items from earlier years not closed yet."""
    items = await q_items.items_of(turn.session, [township_id], [ItemStatus.open, ItemStatus.reported])
    return [i for i in items if i.year < year]


# /items ---------------------------------------------------------------------------------------------


async def cmd_items(turn: Turn, inp: Input) -> list[Reply]:
    loc, checklist = turn.locale, _checklist(turn)
    if is_contact(turn.person):
        township = await township_by_id(turn.session, turn.person.township_id or 0)
        if township is None or township.id is None:
            return [Reply(turn.t("rectification.no_township"))]
        items = await q_items.items_of(turn.session, [township.id])
        live = [i for i in items if i.status != ItemStatus.closed]
        closed = len(items) - len(live)
        if not items:
            return [Reply(turn.t("rectification.none_yet", township=township.name))]
        if not live:
            return [Reply(turn.t("rectification.all_closed", township=township.name, closed=closed))]
        reply = notice(checklist, township, max(i.year for i in live), live, loc)
        reply.text += "\n" + turn.t("rectification.closed_count", closed=closed)
        return [reply]
    townships = {tw.id: tw for tw in await visible_townships(turn.session, turn.person) if tw.id is not None}
    # Read by status and kept to the townships seen (an administrator may see tens of thousands).
    items = [i for i in await q_items.live_items(turn.session) if i.township_id in townships]
    if not items:
        return [Reply(turn.t("rectification.none_open"))]
    today = turn.services.today()
    lines = [turn.t("rectification.list_title", n=len(items))]
    rows: list[list[Button]] = []
    for item in items[:MAX_LISTED]:
        name = townships[item.township_id].name
        overdue = turn.t("rectification.overdue_mark") if item.due < today else ""
        lines.append(f"{name} · {item_line(checklist, item, loc)}{overdue}")
        if item.status == ItemStatus.reported:
            if item.note:
                lines.append(turn.t("rectification.reported_note", note=item.note))
            rows.append(_review_buttons(item, loc))
    if len(items) > MAX_LISTED:
        lines.append(turn.t("rectification.more", n=len(items) - MAX_LISTED))
    return [Reply("\n".join(lines), rows)]


# The contact: done (photos and a note), or guidance -------------------------------------------------


async def act_done(turn: Turn, inp: Input) -> list[Reply]:
    item = await _item(turn, inp)
    if item is None or not is_contact(turn.person):
        return [Reply(notice=turn.t("rectification.denied"))]
    if item.status != ItemStatus.open:
        return [Reply(turn.t(f"rectification.not_open.{item.status}"))]
    turn.go("item_report", item=ItemDraft(item_id=item.id or 0))
    return _report_prompt(turn, item)


def _report_prompt(turn: Turn, item: RectificationItem, note: str | None = None) -> list[Reply]:
    draft = turn.state.item or ItemDraft()
    lines = [note] if note else []
    lines.append(
        turn.t(
            "rectification.report_prompt",
            finding=rf.label(_checklist(turn), item.finding, turn.locale),
            photos=len(draft.photos),
            note=draft.note or turn.t("rectification.no_note"),
        )
    )
    turn.next_seq()
    buttons = [
        [
            turn.button(turn.t("rectification.send_button", n=len(draft.photos)), "item_send"),
            turn.button(turn.t("people.cancel"), "item_cancel"),
        ]
    ]
    return [Reply("\n".join(lines), buttons)]


async def _drafted(turn: Turn, step: str) -> RectificationItem | None:
    if turn.state.step != step or turn.state.item is None:
        return None
    item = await q_items.item_by_id(turn.session, turn.state.item.item_id)
    return item if item is not None and await may_see_item(turn, item) else None


async def step_report(turn: Turn, inp: Input) -> list[Reply]:
    """A photo is added; typed text is the note (a new one replaces the old)."""
    item = await _drafted(turn, "item_report")
    draft = turn.state.item
    if item is None or draft is None or item.status != ItemStatus.open:
        turn.reset()
        return [Reply(turn.t("rectification.gone"))]
    if inp.kind == "photo" and inp.photo is not None and inp.photo.fetch is not None:
        if len(draft.photos) >= MAX_PHOTOS:
            return _report_prompt(turn, item, turn.t("rectification.too_many_photos", n=MAX_PHOTOS))
        if all(p.get("unique_id") != inp.photo.unique_id for p in draft.photos):
            data = await inp.photo.fetch()
            store = turn.services.photos
            if store.too_big(data):
                size, limit = len(data) / 2**20, store.max_bytes / 2**20
                refusal = turn.t("service.photo_too_big", size=f"{size:.1f}", limit=f"{limit:g}")
                return _report_prompt(turn, item, refusal)
            # Kept as photo answers are (the database, or PHOTO_DIR), beside the inspection
            # that raised the item, under a key of the item's own.
            assert item.inspection_id is not None
            where = await store.put(
                turn.session, item.inspection_id, f"item{item.id}:{inp.photo.unique_id}", data
            )
            draft.photos.append({"file_id": inp.photo.file_id, "unique_id": inp.photo.unique_id, **where})
        return _report_prompt(turn, item, turn.t("rectification.photo_received", n=len(draft.photos)))
    if inp.kind == "text" and inp.text.strip():
        draft.note = inp.text.strip()[:MAX_NOTE]
        return _report_prompt(turn, item, turn.t("rectification.note_kept"))
    return _report_prompt(turn, item, turn.t("rectification.photo_or_note"))


async def act_send(turn: Turn, inp: Input) -> list[Reply]:
    item = await _drafted(turn, "item_report")
    draft = turn.state.item
    if item is None or draft is None:
        return [Reply(notice=turn.t("general.stale_button"))]
    if not draft.photos:
        return [Reply(notice=turn.t("rectification.need_photo"))]
    assert turn.person.id is not None
    turn.reset()
    if not await q_items.report_done(turn.session, item, turn.person.id, draft.note, draft.photos):
        return [Reply(turn.t("rectification.changed_meanwhile"))]
    township = await township_by_id(turn.session, item.township_id)
    reviewers = await _reviewers(turn, item)
    notes = []
    for person, identity in reviewers:
        loc = locale_of(person, turn.services.locale)
        text = t(
            "rectification.reported",
            loc,
            who=turn.person.name,
            township=township.name if township else "",
            line=item_line(_checklist(turn), item, loc),
            note=draft.note or t("rectification.no_note", loc),
            photos=len(draft.photos),
        )
        to = (identity.channel, identity.external_id)
        notes.append(Reply(text, [_review_buttons(item, loc)], to=to))
        for photo in draft.photos:
            data = await turn.services.photos.read(turn.session, photo)
            if data is not None:
                path = await asyncio.to_thread(outgoing, turn.services.data_dir, data)
                notes.append(Reply(file=path, photo=True, to=to))
    names = turn.t("people.list_separator").join(dict.fromkeys(p.name for p, _ in reviewers))
    key = "rectification.report_sent" if reviewers else "rectification.report_sent_nobody"
    return [Reply(turn.t(key, names=names), edit=not inp.typed), *notes]


async def act_cancel(turn: Turn, inp: Input) -> list[Reply]:
    turn.reset()
    return [Reply(turn.t("rectification.cancelled"), edit=not inp.typed)]


async def act_help(turn: Turn, inp: Input) -> list[Reply]:
    item = await _item(turn, inp)
    if item is None or not is_contact(turn.person):
        return [Reply(notice=turn.t("rectification.denied"))]
    if item.status == ItemStatus.closed:
        return [Reply(turn.t("rectification.not_open.closed"))]
    turn.go("item_guidance", item=ItemDraft(item_id=item.id or 0))
    return _text_prompt(turn, item, "guidance_prompt")


async def step_guidance(turn: Turn, inp: Input) -> list[Reply]:
    item = await _drafted(turn, "item_guidance")
    if item is None:
        turn.reset()
        return [Reply(turn.t("rectification.gone"))]
    if inp.kind != "text" or not inp.text.strip():
        return _text_prompt(turn, item, "guidance_prompt")
    question = inp.text.strip()[:MAX_NOTE]
    assert turn.person.id is not None
    turn.reset()
    await q_items.ask_guidance(turn.session, item, turn.person.id, question)
    township = await township_by_id(turn.session, item.township_id)
    reviewers = await _reviewers(turn, item)
    notes = [
        Reply(
            t(
                "rectification.guidance_asked",
                locale_of(p, turn.services.locale),
                who=turn.person.name,
                township=township.name if township else "",
                line=item_line(_checklist(turn), item, locale_of(p, turn.services.locale)),
                question=question,
            ),
            [
                [
                    Button(
                        t("rectification.reply_button", locale_of(p, turn.services.locale)),
                        f"{STATELESS}:item_reply:{item.id}",
                    )
                ]
            ],
            to=(i.channel, i.external_id),
        )
        for p, i in reviewers
    ]
    names = turn.t("people.list_separator").join(dict.fromkeys(p.name for p, _ in reviewers))
    key = "rectification.guidance_sent" if reviewers else "rectification.report_sent_nobody"
    return [Reply(turn.t(key, names=names)), *notes]


# The reviewer answers a question --------------------------------------------------------------------


async def act_reply(turn: Turn, inp: Input) -> list[Reply]:
    item = await _item(turn, inp)
    if item is None or not await may_review(turn, item):
        return [Reply(notice=turn.t("rectification.denied"))]
    turn.go("item_answer", item=ItemDraft(item_id=item.id or 0))
    return _reply_prompt(turn, item)


def _reply_prompt(turn: Turn, item: RectificationItem) -> list[Reply]:
    return _text_prompt(turn, item, "reply_prompt")


def _text_prompt(turn: Turn, item: RectificationItem, key: str) -> list[Reply]:
    """Asking for a text about the item's finding (a reply, a reason, a question), or 取消."""
    finding = rf.label(_checklist(turn), item.finding, turn.locale)
    cancel = turn.button(turn.t("people.cancel"), "item_cancel")
    return [Reply(turn.t(f"rectification.{key}", finding=finding), [[cancel]])]


async def step_answer(turn: Turn, inp: Input) -> list[Reply]:
    item = await _drafted(turn, "item_answer")
    if item is None or not await may_review(turn, item):
        turn.reset()
        return [Reply(turn.t("rectification.gone"))]
    if inp.kind != "text" or not inp.text.strip():
        return _reply_prompt(turn, item)
    answer = inp.text.strip()[:MAX_NOTE]
    assert turn.person.id is not None
    turn.reset()
    await q_items.answer_guidance(turn.session, item, turn.person.id, answer)
    township = await township_by_id(turn.session, item.township_id)
    notes = []
    for person, identity in await _contacts(turn, item.township_id):
        loc = locale_of(person, turn.services.locale)
        text = t(
            "rectification.replied",
            loc,
            who=turn.person.name,
            finding=rf.label(_checklist(turn), item.finding, loc),
            answer=answer,
        )
        buttons = [_contact_buttons(item, loc, 1)] if item.status == ItemStatus.open else []
        notes.append(Reply(text, buttons, to=(identity.channel, identity.external_id)))
    key = "rectification.reply_sent" if notes else "rectification.no_contact"
    return [Reply(turn.t(key, township=township.name if township else "")), *notes]


async def again_answer(turn: Turn, inp: Input) -> list[Reply]:
    item = await _drafted(turn, "item_answer")
    return _reply_prompt(turn, item) if item is not None else []


# The reviewer: accept, or send back with a reason ---------------------------------------------------


async def act_accept(turn: Turn, inp: Input) -> list[Reply]:
    item = await _item(turn, inp)
    if item is None or not await may_review(turn, item):
        return [Reply(notice=turn.t("rectification.denied"))]
    if item.status != ItemStatus.reported:
        return [Reply(turn.t(f"rectification.not_reported.{item.status}"))]
    assert turn.person.id is not None
    if not await q_items.accept(turn.session, item, turn.person.id):
        return [Reply(turn.t("rectification.changed_meanwhile"))]
    township = await township_by_id(turn.session, item.township_id)
    name = township.name if township else ""
    notes = []
    for person, identity in await _contacts(turn, item.township_id):
        loc = locale_of(person, turn.services.locale)
        finding = rf.label(_checklist(turn), item.finding, loc)
        text = t("rectification.accepted_note", loc, township=name, finding=finding, by=turn.person.name)
        notes.append(Reply(text, to=(identity.channel, identity.external_id)))
    finding = rf.label(_checklist(turn), item.finding, turn.locale)
    return [
        Reply(turn.t("rectification.accepted", township=name, finding=finding), edit=not inp.typed),
        *notes,
    ]


async def act_reject(turn: Turn, inp: Input) -> list[Reply]:
    item = await _item(turn, inp)
    if item is None or not await may_review(turn, item):
        return [Reply(notice=turn.t("rectification.denied"))]
    if item.status != ItemStatus.reported:
        return [Reply(turn.t(f"rectification.not_reported.{item.status}"))]
    turn.go("item_comment", item=ItemDraft(item_id=item.id or 0))
    return _text_prompt(turn, item, "reject_prompt")


async def step_comment(turn: Turn, inp: Input) -> list[Reply]:
    item = await _drafted(turn, "item_comment")
    if item is None or not await may_review(turn, item):
        turn.reset()
        return [Reply(turn.t("rectification.gone"))]
    if inp.kind != "text" or not inp.text.strip():
        return _text_prompt(turn, item, "reject_prompt")
    comment = inp.text.strip()[:MAX_NOTE]
    assert turn.person.id is not None
    turn.reset()
    if not await q_items.send_back(turn.session, item, turn.person.id, comment):
        return [Reply(turn.t("rectification.changed_meanwhile"))]
    township = await township_by_id(turn.session, item.township_id)
    name = township.name if township else ""
    notes = []
    for person, identity in await _contacts(turn, item.township_id):
        loc = locale_of(person, turn.services.locale)
        text = t(
            "rectification.sent_back_note",
            loc,
            township=name,
            line=item_line(_checklist(turn), item, loc),
            by=turn.person.name,
            comment=comment,
        )
        notes.append(
            Reply(text, [_contact_buttons(item, loc, 1)], to=(identity.channel, identity.external_id))
        )
    finding = rf.label(_checklist(turn), item.finding, turn.locale)
    return [Reply(turn.t("rectification.sent_back", township=name, finding=finding)), *notes]


# A due date other than the year's deadline -------------------------------------------------------


async def cmd_due(turn: Turn, inp: Input) -> list[Reply]:
    """``/due <item number> <date>``: a supervisor or an administrator sets an item's due date."""
    if not is_staff(turn.person):
        return [Reply(turn.t("rectification.due.staff_only"))]
    head, _, rest = inp.text.strip().partition(" ")
    number = head.lstrip("#")
    day = _date(rest.strip())
    if not number.isdigit() or day is None:
        return [Reply(turn.t("rectification.due.usage"))]
    item = await q_items.item_by_id(turn.session, int(number))
    if item is None or not await may_review(turn, item):
        return [Reply(turn.t("rectification.due.not_found", n=number))]
    if item.status == ItemStatus.closed:
        return [Reply(turn.t("rectification.not_open.closed"))]
    assert turn.person.id is not None
    await q_items.set_due(turn.session, item, turn.person.id, day)
    township = await township_by_id(turn.session, item.township_id)
    line = item_line(_checklist(turn), item, turn.locale)
    notes = []
    for person, identity in await _contacts(turn, item.township_id):
        loc = locale_of(person, turn.services.locale)
        text = t(
            "rectification.due.told",
            loc,
            township=township.name if township else "",
            line=item_line(_checklist(turn), item, loc),
        )
        notes.append(Reply(text, to=(identity.channel, identity.external_id)))
    return [Reply(turn.t("rectification.due.set", line=line)), *notes]


def _date(text: str) -> date | None:
    match = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text)
    if match is None:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


# The 整改通知书 ------------------------------------------------------------------------------------


async def act_notice(turn: Turn, inp: Input) -> list[Reply]:
    """The rectification notice of a township and year as a Word document."""
    from bot.reports.notice_docx import write_notice  # python-docx loads slowly: only when asked

    head, _, tail = argument(inp).partition("-")
    if not (head.isdigit() and tail.isdigit()):
        return [Reply(notice=turn.t("general.stale_button"))]
    township_id, year = int(head), int(tail)
    if is_contact(turn.person):
        allowed = turn.person.township_id == township_id
    else:
        allowed = await visible_township(turn.session, turn.person, township_id) is not None
    if not allowed:
        return [Reply(notice=turn.t("rectification.denied"))]
    path = turn.services.data_dir / "notices" / f"notice-{township_id}-{year}.docx"
    written = await write_notice(
        turn.session, township_id, year, path, turn.locale, _checklist(turn), turn.services.today()
    )
    if written is None:
        return [Reply(turn.t("rectification.none_yet", township=""))]
    return [Reply(turn.t("rectification.notice_caption"), file=path)]


# A screen shown again ------------------------------------------------------------------------------


async def again_report(turn: Turn, inp: Input) -> list[Reply]:
    item = await _drafted(turn, "item_report")
    return _report_prompt(turn, item) if item is not None else []


async def again_guidance(turn: Turn, inp: Input) -> list[Reply]:
    item = await _drafted(turn, "item_guidance")
    if item is None:
        return []
    return _text_prompt(turn, item, "guidance_prompt")


async def again_comment(turn: Turn, inp: Input) -> list[Reply]:
    item = await _drafted(turn, "item_comment")
    if item is None:
        return []
    return _text_prompt(turn, item, "reject_prompt")
