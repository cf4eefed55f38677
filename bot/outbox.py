"""The outbox: each running channel's sender, by channel name.

Built once at start and handed to every transport and to the reminders. A reply the dialog
addresses to someone else (``Reply.to``) is handed to the outbox, which gives it to the sender
of that person's channel: no transport knows another. Each sender keeps its own channel's
limits (Telegram's through the Bot's rate limiter, WeCom's per-member pace)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Literal, Protocol

from bot.dialog.types import Reply

log = logging.getLogger(__name__)

Outcome = Literal["sent", "blocked", "failed"]


class Sender(Protocol):
    """Sends one reply as a new message to an account; never raises for the channel's faults."""

    async def send(self, channel: str, external_id: str, reply: Reply) -> Outcome: ...


class Outbox:
    def __init__(self, senders: Mapping[str, Sender] | None = None, *, others: Sender | None = None) -> None:
        self.senders: dict[str, Sender] = dict(senders or {})
        self.others = others  # for channels without a sender here (the console shows them instead)

    def add(self, channel: str, sender: Sender) -> None:
        self.senders[channel] = sender

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels that can be sent to, in the order they were added."""
        return tuple(self.senders)

    async def send(self, channel: str, external_id: str, reply: Reply) -> Outcome:
        sender = self.senders.get(channel, self.others)
        if sender is None:
            log.warning(
                "a message for %s:%s was not sent: that channel is not running here", channel, external_id
            )
            return "failed"
        return await sender.send(channel, external_id, reply)

    async def forward(self, replies: Iterable[Reply]) -> None:
        """Send the replies addressed to someone else, each as a new message in their chat."""
        for reply in replies:
            if reply.to is not None:
                await self.send(*reply.to, replace(reply, to=None, edit=False))
