"""What goes into the dialog core and what comes out: no channel's types, only these."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

InputKind = Literal["text", "command", "button", "photo", "document", "unsupported", "edit"]


@dataclass(frozen=True)
class Who:
    """The sender as the channel knows them."""

    channel: str
    external_id: str
    name: str = ""
    locale: str | None = None


@dataclass(frozen=True)
class Photo:
    file_id: str
    unique_id: str
    fetch: Callable[[], Awaitable[bytes]] | None = None


@dataclass(frozen=True)
class Document:
    """A file sent that is not a picture (an administrator's checklist workbook, say)."""

    file_id: str
    name: str
    size: int | None = None
    fetch: Callable[[], Awaitable[bytes]] | None = None


@dataclass(frozen=True)
class Input:
    kind: InputKind
    text: str = ""  # the text, or a command's arguments
    command: str = ""  # without the slash, lower case
    data: str = ""  # a button's payload
    photo: Photo | None = None
    document: Document | None = None
    update_id: str | None = None  # the channel's id of this delivery, for deduplication
    typed: bool = False  # a button "pressed" by typing its label: no message of it to edit
    # The channel's id of the message this input came in (an "edit" is a change to that message).
    message_id: str | None = None

    @staticmethod
    def parse_text(text: str, update_id: str | None = None, message_id: str | None = None) -> Input:
        """Text as typed: ``/cmd args`` is a command, anything else text."""
        stripped = text.strip()
        if stripped.startswith("/") and len(stripped) > 1:
            head, _, rest = stripped[1:].partition(" ")
            command = head.split("@")[0].lower()
            return Input(
                "command", text=rest.strip(), command=command, update_id=update_id, message_id=message_id
            )
        return Input("text", text=text, update_id=update_id, message_id=message_id)


@dataclass(frozen=True)
class Button:
    label: str
    data: str


@dataclass
class Reply:
    """One message to show. ``edit`` asks to replace the message whose button was pressed;
    ``notice`` is a short toast for a button press (Telegram's callback answer). ``to``
    addresses the message to someone else's account (channel, external id) instead of the
    sender: a notification, sent by the channel that account is on."""

    text: str = ""
    buttons: list[list[Button]] = field(default_factory=list)
    edit: bool = False
    notice: str | None = None
    file: Path | None = None  # a document or picture to send with ``text`` as caption
    photo: bool = False  # send ``file`` as a picture rather than a document
    to: tuple[str, str] | None = None
    queued: int | None = None  # a notice to someone else: its row in outgoingmessage, until sent
