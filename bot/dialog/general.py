"""What is not about one inspection: /help, /cancel, and messages outside any screen."""

from __future__ import annotations

from bot.dialog import access, reports
from bot.dialog.state import IDLE
from bot.dialog.turn import Turn
from bot.dialog.types import Input, Reply
from storage.models import Role

# Screens an inspection is open on: leaving them keeps the draft.
INSPECTION_STEPS = ("question", "review", "edit_section", "edit_question")


async def cmd_help(turn: Turn, inp: Input) -> list[Reply]:
    replies = [Reply(access.help_text(turn))]
    if turn.state.step != IDLE:
        replies += await turn.again()
    return replies


async def cmd_cancel(turn: Turn, inp: Input) -> list[Reply]:
    was = turn.state.step
    turn.reset()
    if was in INSPECTION_STEPS:
        return [Reply(turn.t("general.cancelled_draft"))]
    return [Reply(turn.t("general.cancelled"))]


async def idle(turn: Turn, inp: Input) -> list[Reply]:
    """A message outside any screen: "太平乡怎么样？" shows that township, anything else a hint."""
    if inp.kind == "unsupported":
        return [Reply(turn.t("general.idle_unsupported"))]
    if turn.person.role == Role.contact:  # a township contact reads their items, nothing else
        return await idle_prompt(turn, inp)
    return await reports.status_by_message(turn, inp) or await idle_prompt(turn, inp)


async def idle_prompt(turn: Turn, inp: Input) -> list[Reply]:
    """What to send next: an inspector inspects; a supervisor asks about townships and the year."""
    if turn.person.role == Role.contact:
        return [Reply(turn.t("rectification.idle_contact"))]
    return [Reply(turn.t("general.idle_staff" if access.is_staff(turn.person) else "general.idle"))]
