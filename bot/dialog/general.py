"""Commands that are not about one inspection: /start, /help, /cancel, and idle chatter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.dialog.types import Input, Reply

if TYPE_CHECKING:
    from bot.dialog.core import Routes, Turn


async def start(turn: Turn, inp: Input) -> list[Reply]:
    return [Reply(turn.t("general.welcome", name=turn.person.name) + "\n\n" + turn.t("general.help"))]


async def help_(turn: Turn, inp: Input) -> list[Reply]:
    replies = [Reply(turn.t("general.help"))]
    if turn.state.get("step", "idle") != "idle":
        replies += await turn.dialog.routes.steps["again"](turn, inp)
    return replies


async def cancel(turn: Turn, inp: Input) -> list[Reply]:
    was = turn.state.get("step", "idle")
    turn.state = {"seq": turn.next_seq()}
    if was in ("question", "review", "edit_section", "edit_question"):
        return [Reply(turn.t("general.cancelled_draft"))]
    return [Reply(turn.t("general.cancelled"))]


async def idle(turn: Turn, inp: Input) -> list[Reply]:
    if inp.kind == "unsupported":
        return [Reply(turn.t("general.idle_unsupported"))]
    return [Reply(turn.t("general.idle"))]


def register(routes: Routes) -> None:
    routes.commands.update({"start": start, "help": help_, "cancel": cancel})
    routes.steps["idle"] = idle
