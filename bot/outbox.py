"""The outbox: each running channel's sender, by channel name.

Built once at start and handed to every transport and to the reminders. A reply the dialog
addresses to someone else (``Reply.to``) is handed to the outbox, which gives it to the sender
of that person's channel: no transport knows another. Each sender keeps its own channel's
limits (Telegram's through the Bot's rate limiter, WeCom's per-member pace)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, Protocol

from bot.dialog.types import Button, Reply

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

    def reaches(self, channel: str) -> bool:
        return channel in self.senders or self.others is not None

    async def forward(self, replies: Iterable[Reply]) -> list[int]:
        """Send the replies addressed to someone else, each as a new message in their chat;
        the kept notices (``Reply.queued``) that were handed to a sender, to forget as sent.
        One for a channel not running here stays kept, for the process that runs it."""
        handed: list[int] = []
        for reply in replies:
            if reply.to is not None:
                await self.send(*reply.to, replace(reply, to=None, edit=False, queued=None))
                if reply.queued is not None and self.reaches(reply.to[0]):
                    handed.append(reply.queued)
        return handed


def reply_data(reply: Reply) -> dict[str, Any]:
    """A notice as kept in the database until it is sent."""
    return {
        "text": reply.text,
        "buttons": [[[b.label, b.data] for b in row] for row in reply.buttons],
        "file": str(reply.file) if reply.file is not None else None,
        "photo": reply.photo,
    }


def reply_from(data: dict[str, Any]) -> Reply:
    """The kept notice again; a file that is no longer here (a scratch copy on another host,
    or cleared) is left out, the text still sent."""
    file = Path(data["file"]) if data.get("file") else None
    return Reply(
        str(data.get("text") or ""),
        [[Button(label, payload) for label, payload in row] for row in data.get("buttons") or []],
        file=file if file is not None and file.is_file() else None,
        photo=bool(data.get("photo")) and file is not None and file.is_file(),
    )
