"""Every command, button and screen of the dialog, and the handler each goes to — all in
one place, as python-telegram-bot's examples register their handlers in ``main()``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.dialog import access, deadlines, general, history, inspect, reports, returns
from bot.dialog.state import IDLE
from bot.dialog.turn import STATELESS, Handler, Turn
from bot.dialog.types import Input, Reply


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
    # Commands a stranger may use (``/start CODE`` binds an invitation).
    open_commands: frozenset[str] = frozenset()
    # Actions whose buttons stay valid whatever came after them; each checks access itself.
    stateless: frozenset[str] = field(default_factory=frozenset)

    async def route(self, turn: Turn, inp: Input) -> list[Reply]:
        turn.repeat = self.again
        if inp.kind == "command":
            handler = self.commands.get(inp.command)
            if handler is None:
                return [
                    Reply(turn.t("general.unknown_command", command=inp.command)),
                    *await self.again(turn),
                ]
            return await handler(turn, inp)
        if inp.kind == "button":
            mark, _, rest = inp.data.partition(":")
            action = rest.partition(":")[0]
            handler = self.actions.get(action)
            fresh = action in self.stateless if mark == STATELESS else mark == str(turn.seq)
            if handler is None or not fresh:
                return [Reply(notice=turn.t("general.stale_button"))]
            return await handler(turn, inp)
        return await self._screen(turn).on_input(turn, inp)

    async def again(self, turn: Turn) -> list[Reply]:
        """The screen the person is on, shown again."""
        turn.repeat = self.again
        return await self._screen(turn).again(turn, Input("text"))

    def _screen(self, turn: Turn) -> Screen:
        return self.screens.get(turn.state.step) or self.screens[IDLE]


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
    },
    actions={
        # An inspection: the township and year, the answers, the review.
        "township": inspect.act_township,
        "year": inspect.act_year,
        "answer": inspect.act_answer,
        "toggle": inspect.act_toggle,
        "done": inspect.act_multi_done,
        "skip": inspect.act_skip,
        "back": inspect.act_back,
        "keep": inspect.act_keep,
        "photos_done": inspect.act_photos_done,
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
        "group": reports.act_group,
        "summary": reports.act_summary,
        "history": history.act_history,
        # Inviting someone from the chat.
        "invite_role": access.act_invite_role,
        "invite_area": access.act_invite_area,
        "invite_township": access.act_invite_township,
        "invite_done": access.act_invite_done,
        "invite_cancel": access.act_invite_cancel,
    },
    screens={
        IDLE: Screen(general.idle, general.idle_prompt),
        "pick_township": Screen(inspect.step_pick_township, inspect.again_pick_township),
        "pick_year": Screen(inspect.step_pick_year, inspect.again_pick_year),
        "question": Screen(inspect.step_question, inspect.again_on_inspection),
        "review": Screen(inspect.step_buttons_only, inspect.again_on_inspection),
        "edit_section": Screen(inspect.step_buttons_only, inspect.again_on_inspection),
        "confirm_reopen": Screen(inspect.step_buttons_only, inspect.again_on_inspection),
        "return": Screen(returns.step_return, returns.again),
        "return_pick": Screen(returns.step_return_pick, returns.again),
        "invite": Screen(access.step_invite, access.again),
    },
    open_commands=frozenset({"start"}),
    stateless=frozenset({"fix", "return", "status", "group", "summary", "history"}),
)
