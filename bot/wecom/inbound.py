"""What WeCom posts to the callback, as the dialog's ``Input``.

The outer envelope carries ``ToUserName``, ``AgentID`` and ``Encrypt``; the decrypted message
carries ``FromUserName`` (the member's WeCom user id), ``CreateTime``, ``MsgType`` and, by type,
``Content``/``MsgId`` (text), ``MediaId``/``PicUrl`` (image), or ``Event`` with ``EventKey``
(a menu click), ``TaskId`` and ``ResponseCode`` (a template card's button)."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.dialog.types import Input, Photo

MAX_BODY = 64 * 1024  # a callback is a few KiB; anything larger is not WeCom's
UPDATE_ID_MAX = 64  # the width of the processed-update key column


class BadCallback(ValueError):
    """The body is not a WeCom callback (not XML, or a field is missing)."""


def parse_xml(text: str) -> dict[str, str]:
    """The top-level fields of a flat WeCom XML document. Documents with a DTD are refused
    outright: WeCom never sends one, and refusing it rules out entity expansion attacks."""
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise BadCallback("a document type declaration is not allowed")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise BadCallback(f"not XML: {exc}") from None
    return {child.tag: (child.text or "").strip() for child in root}


@dataclass(frozen=True)
class Envelope:
    to_user: str
    agent_id: str
    encrypt: str


def parse_envelope(body: bytes) -> Envelope:
    try:
        fields = parse_xml(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadCallback("not UTF-8") from None
    if not fields.get("Encrypt"):
        raise BadCallback("no Encrypt field")
    return Envelope(fields.get("ToUserName", ""), fields.get("AgentID", ""), fields["Encrypt"])


@dataclass(frozen=True)
class Message:
    """One decrypted callback."""

    user: str
    create_time: str
    msg_type: str
    content: str = ""
    msg_id: str = ""
    event: str = ""
    event_key: str = ""
    task_id: str = ""
    response_code: str = ""
    media_id: str = ""
    agent_id: str = ""

    @property
    def update_id(self) -> str:
        """The deduplication key: the MsgId of a message; for an event, which carries none, the
        member and CreateTime (with the event and its key, so two different presses in the
        same second stay two). Hashed when longer than the column."""
        if self.msg_type != "event" and self.msg_id:
            return self.msg_id
        key = f"{self.user}:{self.create_time}:{self.event}:{self.event_key}"
        if len(key) > UPDATE_ID_MAX:
            key = "h:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
        return key


def parse_message(plaintext: str) -> Message:
    fields = parse_xml(plaintext)
    user, msg_type = fields.get("FromUserName", ""), fields.get("MsgType", "").lower()
    if not user or not msg_type:
        raise BadCallback("no FromUserName or MsgType")
    return Message(
        user=user,
        create_time=fields.get("CreateTime", ""),
        msg_type=msg_type,
        content=fields.get("Content", ""),
        msg_id=fields.get("MsgId", ""),
        event=fields.get("Event", "").lower(),
        event_key=fields.get("EventKey", ""),
        task_id=fields.get("TaskId", ""),
        response_code=fields.get("ResponseCode", ""),
        media_id=fields.get("MediaId", ""),
        agent_id=fields.get("AgentID", ""),
    )


Download = Callable[[str], Awaitable[bytes]]


def to_input(msg: Message, download: Download) -> Input | None:
    """The dialog's input for a message, or None for events that are not input (entering the
    application, location reports, contact changes…)."""
    update_id = msg.update_id
    if msg.msg_type == "text":
        return Input.parse_text(msg.content, update_id=update_id)
    if msg.msg_type == "image" and msg.media_id:
        media_id = msg.media_id

        async def fetch() -> bytes:
            return await download(media_id)

        photo = Photo(file_id=media_id, unique_id=f"wecom-{msg.msg_id or update_id}", fetch=fetch)
        return Input("photo", photo=photo, update_id=update_id)
    if msg.msg_type == "event":
        if msg.event == "template_card_event" and msg.event_key:
            return Input("button", data=msg.event_key, update_id=update_id)
        if msg.event == "click" and msg.event_key:  # a menu item: its key is a command
            key = msg.event_key.strip()
            return Input.parse_text(key if key.startswith("/") else "/" + key, update_id=update_id)
        return None
    return Input("unsupported", update_id=update_id)  # voice, video, file, location, link…
