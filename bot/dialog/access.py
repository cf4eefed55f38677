"""Who may use the bot: ``/start <code>`` binds an invitation, ``/invite`` lets an administrator
make one from the chat, and ``/help`` lists what the person's role allows."""

from __future__ import annotations

import re

from bot.dialog import render
from bot.dialog.state import InviteDraft
from bot.dialog.turn import Turn, argument, int_argument
from bot.dialog.types import Button, Input, Reply
from bot.roles import role_text
from storage.models import Area, Person, Role, Township
from storage.queries.invites import DEFAULT_DAYS, Redeemed, create_invite, redeem_invite
from storage.queries.people import area_and_below, search_visible_townships, visible_township
from storage.queries.registry import area_by_id
from storage.queries.registry import areas as all_areas

ROLES = (Role.inspector, Role.supervisor, Role.admin)
INVITED = (*ROLES, Role.contact)  # the roles an administrator may invite from the chat
BY_TOWNSHIP = (Role.inspector, Role.contact)  # invited to townships (a contact to exactly one)
MAX_PICK_BUTTONS = 24


def role_name(turn: Turn, role: str) -> str:
    return role_text(role, turn.locale)


def is_staff(person: Person) -> bool:
    """Supervisors and administrators: they read everything in their area."""
    return person.role in (Role.supervisor, Role.admin)


def invite_link(turn: Turn, code: str) -> str | None:
    username = turn.services.bot_username
    return f"https://t.me/{username}?start={code}" if username else None


def split_year(text: str) -> tuple[str, int | None]:
    """``太平乡 2025`` → (``太平乡``, 2025); a year written last, with or without 年/年度."""
    match = re.fullmatch(r"\s*(.*?)\s*(?:(\d{4})\s*年?度?)?\s*", text)
    if match and match.group(2) and match.group(1):
        return match.group(1), int(match.group(2))
    return text.strip(), None


# /start -----------------------------------------------------------------------------------------


async def cmd_start(turn: Turn, inp: Input) -> list[Reply]:
    code = inp.text.strip()
    if turn.person.id is not None:  # already someone
        if code:
            known = turn.t(
                "people.already_registered", name=turn.person.name, role=role_name(turn, turn.person.role)
            )
            return [Reply(known)]
        return [Reply(turn.t("general.welcome", name=turn.person.name) + "\n\n" + help_text(turn))]
    if not code or len(code) > 64:
        return [Reply(turn.t("access.stranger"))]
    found = await redeem_invite(turn.session, code, turn.who.channel, turn.who.external_id, turn.who.name)
    if found.outcome != Redeemed.ok or found.person is None:
        return [Reply(turn.t(f"people.invite_{found.outcome.value}"))]
    turn.person = found.person
    welcome = turn.t("people.bound", name=found.person.name, role=role_name(turn, found.person.role))
    return [Reply(welcome + "\n\n" + help_text(turn))]


# /help ------------------------------------------------------------------------------------------


def role_help(turn: Turn) -> str:
    """The commands the person's role adds to the general help."""
    lines = []
    if turn.person.role == Role.contact:
        return turn.t("rectification.help_contact")
    if turn.person.role == Role.inspector:
        lines.append(turn.t("rectification.help_inspector"))
    if is_staff(turn.person):
        lines.append(turn.t("people.help_supervisor"))
        lines.append(turn.t("rectification.help_staff"))
    if turn.person.role == Role.admin:
        lines.append(turn.t("people.help_admin"))
    return "\n".join(lines)


def help_text(turn: Turn) -> str:
    if turn.person.role == Role.contact:  # none of the inspection's commands are theirs
        return role_help(turn)
    return "\n".join(part for part in (turn.t("general.help"), role_help(turn)) if part)


# /invite ----------------------------------------------------------------------------------------


def _draft(turn: Turn) -> InviteDraft | None:
    """The invitation being put together, if an administrator is on that screen."""
    if turn.person.role != Role.admin or turn.state.step != "invite":
        return None
    if turn.state.invite is None:
        turn.state.invite = InviteDraft()
    return turn.state.invite


async def cmd_invite(turn: Turn, inp: Input) -> list[Reply]:
    if turn.person.role != Role.admin:
        return [Reply(turn.t("people.admins_only"))]
    turn.state = turn.state.go("invite", invite=InviteDraft())
    return _role_picker(turn, edit=False)


def _role_picker(turn: Turn, *, edit: bool) -> list[Reply]:
    turn.next_seq()
    buttons = [turn.button(role_name(turn, r), "invite_role", r) for r in INVITED]
    return [Reply(turn.t("people.invite_pick_role"), [*render.pairs(buttons), [_cancel(turn)]], edit=edit)]


def _cancel(turn: Turn) -> Button:
    return turn.button(turn.t("people.cancel"), "invite_cancel")


async def act_invite_role(turn: Turn, inp: Input) -> list[Reply]:
    draft = _draft(turn)
    role = argument(inp)
    if draft is None or role not in INVITED:
        return [Reply(notice=turn.t("general.stale_button"))]
    draft = turn.state.invite = InviteDraft(role=role)
    if role in BY_TOWNSHIP:  # a short list is offered whole; a long one is searched by name
        some = await search_visible_townships(turn.session, turn.person, "", MAX_PICK_BUTTONS + 1)
        offered = some if len(some) <= MAX_PICK_BUTTONS else []
        draft.names.update({str(t.id): t.name for t in offered})
        return _township_picker(turn, draft, edit=True)
    return await _area_picker(turn, draft, edit=True)


async def _scope_areas(turn: Turn) -> list[Area]:
    """The areas the administrator may invite people to."""
    everything = list(await all_areas(turn.session))
    if turn.person.area_id is None:
        return everything
    mine = await area_and_below(turn.session, turn.person.area_id)
    return [a for a in everything if a.id in mine]


async def _area_picker(turn: Turn, draft: InviteDraft, *, edit: bool) -> list[Reply]:
    turn.next_seq()
    areas = await _scope_areas(turn)
    buttons = [turn.button(a.name, "invite_area", a.id) for a in areas[:MAX_PICK_BUTTONS]]
    rows = render.pairs(buttons)
    if draft.role == Role.admin and turn.person.area_id is None:
        rows.append([turn.button(turn.t("people.all_areas"), "invite_area", 0)])
    rows.append([_cancel(turn)])
    text = turn.t("people.invite_pick_area", role=role_name(turn, draft.role))
    return [Reply(text, rows, edit=edit)]


async def act_invite_area(turn: Turn, inp: Input) -> list[Reply]:
    draft = _draft(turn)
    if draft is None or draft.role not in (Role.supervisor, Role.admin):
        return [Reply(notice=turn.t("general.stale_button"))]
    area_id = int_argument(inp, -1)
    if area_id == 0 and draft.role == Role.admin and turn.person.area_id is None:
        return await _make_invite(turn, draft.role, None, [])
    if area_id not in {a.id for a in await _scope_areas(turn)}:
        return [Reply(notice=turn.t("access.township_denied"))]
    return await _make_invite(turn, draft.role, area_id, [])


def _township_picker(turn: Turn, draft: InviteDraft, *, edit: bool, note: str = "") -> list[Reply]:
    """The townships offered so far (all of a short list, or those found by name), the chosen
    ones ticked and first."""
    turn.next_seq()
    offered = sorted(draft.names.items(), key=lambda item: int(item[0]) not in draft.townships)
    buttons = [
        turn.button(("☑ " if int(tid) in draft.townships else "☐ ") + name, "invite_township", tid)
        for tid, name in offered[:MAX_PICK_BUTTONS]
    ]
    rows = render.pairs(buttons)
    rows.append(
        [turn.button(turn.t("people.invite_done", n=len(draft.townships)), "invite_done"), _cancel(turn)]
    )
    text = turn.t("people.invite_pick_townships")
    return [Reply(f"{note}\n{text}" if note else text, rows, edit=edit)]


async def step_invite(turn: Turn, inp: Input) -> list[Reply]:
    """Typed text while inviting: township names to look up (for an inspector), else a pointer
    to the buttons."""
    draft = _draft(turn)
    if draft is None:
        turn.reset()
        return [Reply(turn.t("people.invite_cancelled"))]
    if draft.role not in BY_TOWNSHIP or inp.kind != "text":
        replies = [Reply(turn.t("people.use_buttons"))]
        if draft.role in BY_TOWNSHIP:
            return replies + _township_picker(turn, draft, edit=False)
        if draft.role:
            return replies + await _area_picker(turn, draft, edit=False)
        return replies + _role_picker(turn, edit=False)
    found: list[Township] = []
    for word in re.split(r"[\s,，、;；]+", inp.text):
        if word:
            found += await search_visible_townships(turn.session, turn.person, word, MAX_PICK_BUTTONS)
    # The names found come first among those not chosen yet.
    kept = {k: v for k, v in draft.names.items() if int(k) in draft.townships}
    draft.names = {**kept, **{str(t.id): t.name for t in found}, **draft.names}
    note = "" if found else turn.t("inspect.township_not_found", text=render.quote(inp.text))
    return _township_picker(turn, draft, edit=False, note=note)


async def act_invite_township(turn: Turn, inp: Input) -> list[Reply]:
    draft = _draft(turn)
    if draft is None or draft.role not in BY_TOWNSHIP:
        return [Reply(notice=turn.t("general.stale_button"))]
    township = await visible_township(turn.session, turn.person, int_argument(inp, -1))
    if township is None or township.id is None:
        return [Reply(notice=turn.t("access.township_denied"))]
    if township.id in draft.townships:
        draft.townships.remove(township.id)
    elif draft.role == Role.contact:  # one township: the new choice replaces the old
        draft.townships = [township.id]
    else:
        draft.townships.append(township.id)
    draft.names.setdefault(str(township.id), township.name)
    return _township_picker(turn, draft, edit=True)


async def act_invite_done(turn: Turn, inp: Input) -> list[Reply]:
    draft = _draft(turn)
    if draft is None or draft.role not in BY_TOWNSHIP:
        return [Reply(notice=turn.t("general.stale_button"))]
    townships = [
        found
        for tid in draft.townships
        if (found := await visible_township(turn.session, turn.person, tid)) is not None
    ]
    if not townships:
        return [Reply(notice=turn.t("people.invite_need_township"))]
    area_ids = {t.area_id for t in townships}
    area_id = area_ids.pop() if len(area_ids) == 1 else turn.person.area_id
    return await _make_invite(turn, draft.role, area_id, townships)


async def _make_invite(turn: Turn, role: str, area_id: int | None, townships: list[Township]) -> list[Reply]:
    code, _invite = await create_invite(
        turn.session,
        role,
        area_id=area_id,
        township_ids=[t.id for t in townships if t.id is not None],
        created_by=turn.person.id,
    )
    turn.reset()
    area = await area_by_id(turn.session, area_id) if area_id is not None else None
    if townships:
        scope = turn.t("people.list_separator").join(t.name for t in townships)
    else:
        scope = area.name if area else turn.t("people.all_areas")
    lines = [turn.t("people.invite_made", role=role_name(turn, role), scope=scope, days=DEFAULT_DAYS)]
    link = invite_link(turn, code)
    if link:
        lines.append(turn.t("people.invite_link", link=link))
    lines.append(turn.t("people.invite_code", code=code))
    return [Reply("\n".join(lines), edit=True)]


async def act_invite_cancel(turn: Turn, inp: Input) -> list[Reply]:
    if _draft(turn) is None:
        return [Reply(notice=turn.t("general.stale_button"))]
    turn.reset()
    return [Reply(turn.t("people.invite_cancelled"), edit=True)]


async def again(turn: Turn, inp: Input) -> list[Reply]:
    """The invitation screen once more, where the administrator left it."""
    draft = _draft(turn)
    if draft is None:
        return []
    if draft.role in BY_TOWNSHIP:
        return _township_picker(turn, draft, edit=False)
    if draft.role:
        return await _area_picker(turn, draft, edit=False)
    return _role_picker(turn, edit=False)
