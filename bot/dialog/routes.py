"""Every command, button and screen of the dialog, and the handler each goes to — all in
one place, as python-telegram-bot's examples register their handlers in ``main()``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.dialog import access, checklist_upload, deadlines, general, history, inspect, items, reports, returns
from bot.dialog.render import quote
from bot.dialog.state import IDLE, typed_label
from bot.dialog.turn import STATELESS, Handler, Turn
from bot.dialog.types import Input, Reply
from storage.models import Role


@dataclass(frozen=True)
class Screen:
    """A step of the dialog: what typed input on it does, and how it is shown again (after a
    note about an unexpected input, or when an update is delivered a second time)."""

    on_input: Handler
    again: Handler


@dataclass(frozen=True)
class Routes:
    commands: Mapping[str, Handler]
    # Button payloads read ``<prompt>:<action>:<argument>``; see ``Turn.button``.
    actions: Mapping[str, Handler]
    screens: Mapping[str, Screen]
    # A message sent earlier, edited (Telegram): the answer it gave changes.
    edited: Handler
    # Commands a stranger may use (``/start CODE`` binds an invitation).
    open_commands: frozenset[str] = frozenset()
    # Actions whose buttons stay valid whatever came after them; each checks access itself.
    stateless: frozenset[str] = field(default_factory=frozenset)
    # Roles kept to some commands and actions (a township contact: their items and nothing else).
    only: Mapping[str, frozenset[str]] = field(default_factory=dict)

    async def route(self, turn: Turn, inp: Input) -> list[Reply]:
        """The input's handler, and the labels of the prompt it leaves on screen kept, so that
        typing one of them next does what pressing its button does."""
        before = turn.seq
        replies = await self._route(turn, self._pressed(turn, inp))
        if turn.seq != before:  # a new prompt: its buttons are the ones on screen now
            turn.state.labels = _labels(replies, turn.seq)
        return replies

    def _pressed(self, turn: Turn, inp: Input) -> Input:
        """Text that is the label of a button on screen (提交, 跳过, 完成) as that button. An
        answer's own buttons are left to the question, which reads its labels as answers."""
        if inp.kind == "text" and turn.state.labels and len(inp.text) <= 40:
            payload = turn.state.labels.get(typed_label(inp.text))
            if payload is not None and payload.split(":")[1] not in TYPED_AS_ANSWERS:
                return Input("button", data=payload, update_id=inp.update_id, typed=True)
        return inp

    async def _route(self, turn: Turn, inp: Input) -> list[Reply]:
        turn.repeat = self.again
        allowed = self.only.get(turn.person.role)
        if allowed is not None and inp.kind == "command" and inp.command not in allowed:
            return [Reply(turn.t("rectification.contact_only"))]
        if allowed is not None and inp.kind == "button":
            action = inp.data.partition(":")[2].partition(":")[0]
            if action not in allowed:
                return [Reply(notice=turn.t("rectification.denied"))]
        if inp.kind == "command":
            handler = self.commands.get(inp.command)
            if handler is None:
                return [
                    Reply(turn.t("general.unknown_command", command=quote(inp.command))),
                    *await self.again(turn),
                ]
            return await handler(turn, inp)
        if inp.kind == "edit":
            return await self.edited(turn, inp)
        if inp.kind == "button":
            mark, _, rest = inp.data.partition(":")
            action = rest.partition(":")[0]
            handler = self.actions.get(action)
            fresh = action in self.stateless if mark == STATELESS else mark == str(turn.seq)
            if handler is None or not fresh:
                return [Reply(notice=turn.t("general.stale_button"))]
            return await handler(turn, inp)
        if inp.kind == "document":
            if checklist_upload.is_checklist_file(turn, inp):
                return await checklist_upload.on_checklist_file(turn, inp)
            inp = Input("unsupported", update_id=inp.update_id, message_id=inp.message_id)
        return await self._screen(turn).on_input(turn, inp)

    async def again(self, turn: Turn) -> list[Reply]:
        """The screen the person is on, shown again."""
        turn.repeat = self.again
        before = turn.seq
        replies = await self._screen(turn).again(turn, Input("text"))
        if turn.seq != before:
            turn.state.labels = _labels(replies, turn.seq)
        return replies

    def _screen(self, turn: Turn) -> Screen:
        return self.screens.get(turn.state.step) or self.screens[IDLE]


# Buttons whose labels typed are an answer the screen reads itself (是, 兼职, 防火, 太平乡, 2026).
TYPED_AS_ANSWERS = frozenset({"answer", "toggle", "township", "year"})


def _labels(replies: list[Reply], seq: int) -> dict[str, str] | None:
    """The buttons of the prompt now current (its number ``seq``), by typed label."""
    fresh = f"{seq}:"
    found = {
        typed_label(b.label): b.data
        for r in replies
        if r.to is None
        for row in r.buttons
        for b in row
        if b.data.startswith(fresh) and typed_label(b.label)
    }
    return found or None


ROUTES = Routes(
    commands={
        "start": access.cmd_start,
        "help": general.cmd_help,
        "cancel": general.cmd_cancel,
        "inspect": inspect.cmd_inspect,
        "status": reports.cmd_status,
        "summary": reports.cmd_summary,
        "report": reports.cmd_report,
        "export": reports.cmd_export,
        "chart": reports.cmd_chart,
        "team": reports.cmd_team,
        "asks": reports.cmd_asks,
        "history": history.cmd_history,
        "return": returns.cmd_return,
        "deadlines": deadlines.cmd_deadlines,
        "deadline": deadlines.cmd_deadline,
        "mute": deadlines.cmd_mute,
        "unmute": deadlines.cmd_unmute,
        "invite": access.cmd_invite,
        "items": items.cmd_items,
        "due": items.cmd_due,
    },
    actions={
        # An inspection: the township and year, the answers, the review.
        "township": inspect.act_township,
        "resume": inspect.act_resume,
        "year": inspect.act_year,
        "village": inspect.act_village,
        "answer": inspect.act_answer,
        "toggle": inspect.act_toggle,
        "done": inspect.act_multi_done,
        "skip": inspect.act_skip,
        "back": inspect.act_back,
        "keep": inspect.act_keep,
        "same_section": inspect.act_same_section,
        "photos_done": inspect.act_photos_done,
        "remove_photo": inspect.act_remove_photo,
        "confirm_answer": inspect.act_confirm_answer,
        "answer_again": inspect.act_answer_again,
        "submit": inspect.act_submit,
        "edit": inspect.act_edit,
        "section": inspect.act_edit_section,
        "question": inspect.act_edit_question,
        "review": inspect.act_review,
        "later": inspect.act_later,
        "reopen": inspect.act_reopen,
        "keep_closed": inspect.act_keep_closed,
        "fix": inspect.act_fix,
        # Returning an inspection to its inspector.
        "return": returns.act_return,
        "return_township": returns.act_pick_township,
        "return_sections": returns.act_sections,
        "return_section": returns.act_section,
        "return_question": returns.act_toggle,
        "return_back": returns.act_back,
        "return_confirm": returns.act_confirm,
        "return_cancel": returns.act_cancel,
        # Reading: a township's card, a group of the summary, the summary, the history.
        "status": reports.act_status,
        "photos": reports.act_photos,
        "group": reports.act_group,
        "summary": reports.act_summary,
        "compare": reports.act_compare,
        "history": history.act_history,
        # Inviting someone from the chat.
        "invite_role": access.act_invite_role,
        "invite_area": access.act_invite_area,
        "invite_township": access.act_invite_township,
        "invite_done": access.act_invite_done,
        "invite_cancel": access.act_invite_cancel,
        # Rectification items: the township reports, the inspector reviews.
        "item_done": items.act_done,
        "item_help": items.act_help,
        "item_send": items.act_send,
        "item_cancel": items.act_cancel,
        "item_accept": items.act_accept,
        "item_reject": items.act_reject,
        "item_notice": items.act_notice,
        "item_reply": items.act_reply,
    },
    screens={
        IDLE: Screen(general.idle, general.idle_prompt),
        "pick_township": Screen(inspect.step_pick_township, inspect.again_pick_township),
        "pick_village": Screen(inspect.step_pick_village, inspect.again_pick_village),
        "pick_year": Screen(inspect.step_pick_year, inspect.again_pick_year),
        "question": Screen(inspect.step_question, inspect.again_on_inspection),
        "confirm_answer": Screen(inspect.step_confirm_answer, inspect.again_confirm_answer),
        "review": Screen(inspect.step_buttons_only, inspect.again_on_inspection),
        "edit_section": Screen(inspect.step_buttons_only, inspect.again_on_inspection),
        "confirm_reopen": Screen(inspect.step_buttons_only, inspect.again_on_inspection),
        "return": Screen(returns.step_return, returns.again),
        "return_pick": Screen(returns.step_return_pick, returns.again),
        "invite": Screen(access.step_invite, access.again),
        "item_report": Screen(items.step_report, items.again_report),
        "item_guidance": Screen(items.step_guidance, items.again_guidance),
        "item_comment": Screen(items.step_comment, items.again_comment),
        "item_answer": Screen(items.step_answer, items.again_answer),
    },
    edited=inspect.on_edit,
    open_commands=frozenset({"start"}),
    stateless=frozenset(
        {"fix", "return", "status", "photos", "group", "summary", "compare", "history"}
        | {"item_done", "item_help", "item_accept", "item_reject", "item_notice", "item_reply"}
    ),
    only={
        Role.contact: frozenset(
            {"start", "help", "cancel", "items", "mute", "unmute"}
            | {"item_done", "item_help", "item_send", "item_cancel", "item_notice"}
        )
    },
)


# The command menu each role sees (Telegram's command list, by chat); someone the bot does not
# know sees only how to start.
MENUS: dict[str, tuple[str, ...]] = {
    "": ("start", "help"),
    "inspector": ("inspect", "cancel", "status", "items", "deadlines", "mute", "unmute", "help"),
    "contact": ("items", "cancel", "mute", "unmute", "help"),
    "supervisor": (
        *("status", "summary", "items", "report", "export", "chart", "history", "return"),
        *("deadlines", "mute", "unmute", "help"),
    ),
    "admin": (
        *("inspect", "status", "summary", "items", "report", "export", "chart", "history", "return"),
        *("invite", "deadline", "deadlines", "team", "asks", "help"),
    ),
}
