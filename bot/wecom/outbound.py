"""The dialog's replies as WeCom messages.

- Text goes as ``text`` messages, split at line ends to stay within WeCom's 2048 bytes.
- A reply with buttons becomes ``template_card`` messages of card type ``button_interaction``
  (at most 6 buttons a card, so a longer choice spans several cards); each button's ``key`` is
  the dialog's payload. Text too long for the card's title and subtitle goes first as text.
- After a button press, the pressed card is greyed out through ``update_template_card`` with
  the press's response code: it reads the answer (an ``edit`` reply, as Telegram edits the
  message) or the pressed button's label.
- A notice (Telegram's toast) is sent as text when a press produced nothing else.
- Files and pictures are uploaded (``media/upload``) and sent as ``file``/``image``.
- Every message to a member waits for the per-member pace (30 a minute, 1000 an hour).

Replies addressed to someone else (``Reply.to``) are the outbox's (``bot.outbox``), which hands
those for WeCom members back to ``send``."""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot import metrics
from bot.dialog.types import Button, Reply
from bot.i18n import t
from bot.outbox import Outcome
from bot.wecom.client import JSON, WeComClient, WeComError
from bot.wecom.pacing import Pacer

log = logging.getLogger(__name__)

CHANNEL = "wecom"
TEXT_BYTES = 2048
CARD_BUTTONS = 6
TITLE_CHARS = 36  # main_title.title, as WeCom advises
SUBTITLE_CHARS = 160  # sub_title_text
LABEL_CHARS = 20
REPLACE_CHARS = 20  # the grey button of a pressed card
REMEMBERED_CARDS = 4096


@dataclass(frozen=True)
class Pressed:
    """The card whose button was pressed; its response code may update it once."""

    task_id: str
    key: str
    response_code: str


def split_text(text: str, limit: int = TEXT_BYTES) -> list[str]:
    """Pieces of at most ``limit`` UTF-8 bytes, cut at line ends where a line allows it."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode("utf-8")) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while len(line.encode("utf-8")) > limit:  # one line too long for a message: cut it
            cut = _fit(line, limit)
            pieces.append(line[:cut])
            line = line[cut:]
        current = line
    if current:
        pieces.append(current)
    return [p for p in pieces if p.strip()]


def _fit(text: str, limit: int) -> int:
    """The number of leading characters of ``text`` within ``limit`` bytes (at least one)."""
    size = 0
    for n, ch in enumerate(text):
        size += len(ch.encode("utf-8"))
        if size > limit:
            return max(n, 1)
    return len(text)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def new_task_id() -> str:
    return "t" + uuid.uuid4().hex  # letters and digits, unique per application as WeCom asks


def cards_for(reply: Reply, locale: str | None) -> tuple[str | None, list[JSON]]:
    """The text to send before the cards (None when it fits on the card) and the cards."""
    buttons: list[Button] = []
    seen: set[str] = set()
    for row in reply.buttons:
        for button in row:
            if button.data and button.data not in seen:  # keys must differ within a card
                seen.add(button.data)
                buttons.append(button)
    lines = reply.text.strip().split("\n")
    first, rest = (lines[0], "\n".join(lines[1:]).strip()) if reply.text.strip() else ("", "")
    lead: str | None = None
    if first and len(first) <= TITLE_CHARS and len(rest) <= SUBTITLE_CHARS:
        title, subtitle = first, rest
    else:
        lead = reply.text if reply.text.strip() else None
        title = shorten(first, TITLE_CHARS) if first else t("wecom.use_buttons", locale)
        subtitle = t("wecom.use_buttons", locale) if first else ""
    chunks = [buttons[i : i + CARD_BUTTONS] for i in range(0, len(buttons), CARD_BUTTONS)]
    cards: list[JSON] = []
    for n, chunk in enumerate(chunks, 1):
        card: JSON = {
            "card_type": "button_interaction",
            "main_title": {"title": title},
            "task_id": new_task_id(),
            "button_list": [
                {"text": shorten(b.label, LABEL_CHARS), "style": 1, "key": b.data} for b in chunk
            ],
        }
        if n == 1 and subtitle:
            card["sub_title_text"] = subtitle
        if len(chunks) > 1:
            more = t("wecom.more", locale, n=n, total=len(chunks))
            card["main_title"] = {"title": shorten(title, TITLE_CHARS - len(more)) + more}
        cards.append(card)
    return lead, cards


class WeComSender:
    def __init__(
        self,
        client: WeComClient,
        pacer: Pacer | None = None,
        *,
        locale: str | None = None,
        on_unreachable: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.client = client
        self.pacer = pacer if pacer is not None else Pacer()
        self.locale = locale
        self.on_unreachable = on_unreachable
        self._labels: OrderedDict[str, dict[str, str]] = OrderedDict()

    # The outbox's sender: notifications and reminders -----------------------------------------

    async def send(self, channel: str, external_id: str, reply: Reply) -> Outcome:
        return await self.deliver(external_id, [reply])

    # Replies ---------------------------------------------------------------------------------

    async def deliver(self, user: str, replies: list[Reply], pressed: Pressed | None = None) -> Outcome:
        """Send the replies of one input to ``user`` in order (after greying out the pressed card)."""
        try:
            await self._deliver(user, replies, pressed)
        except WeComError as exc:
            metrics.REPLIES.labels(CHANNEL, "failed").inc()
            if exc.unreachable:
                log.info("WeCom member %s is unreachable; marking them blocked", user)
                if self.on_unreachable is not None:
                    await self.on_unreachable(user)
                return "blocked"
            log.warning("sending to WeCom member %s failed: %s", user, exc)
            return "failed"
        metrics.REPLIES.labels(CHANNEL, "sent").inc()
        return "sent"

    async def _deliver(self, user: str, replies: list[Reply], pressed: Pressed | None) -> None:
        visible = [r for r in replies if r.text or r.buttons or r.file is not None]
        if not visible:
            notice = next((r.notice for r in replies if r.notice), None)
            if notice:
                await self.text(user, notice)
            return
        if pressed is not None and await self._settle(user, visible[0], pressed):
            visible = visible[1:]
        for reply in visible:
            await self._one(user, reply)

    async def _settle(self, user: str, first: Reply, pressed: Pressed) -> bool:
        """Grey out the pressed card. True when that said all of ``first`` (an edit that fits)."""
        labels = self._labels.pop(pressed.task_id, {})
        said = False
        if first.edit and not first.buttons and first.file is None and first.text.strip():
            last = first.text.strip().split("\n")[-1]
            name, said = shorten(last, REPLACE_CHARS), len(last) <= REPLACE_CHARS
        elif first.edit and first.buttons:  # the same prompt, changed (a toggled choice): it follows
            name = t("wecom.updated", self.locale)
        elif pressed.key in labels:
            name = shorten(t("wecom.chosen", self.locale, label=labels[pressed.key]), REPLACE_CHARS)
        else:
            name = t("wecom.done", self.locale)
        try:
            await self.client.grey_out(user, pressed.response_code, name)
        except WeComError as exc:
            if exc.unreachable:
                raise
            log.info("could not grey out WeCom card %s: %s", pressed.task_id, exc)
            return False
        return said

    async def _one(self, user: str, reply: Reply) -> None:
        if reply.file is not None:
            if reply.text.strip():
                await self.text(user, reply.text)
            await self.file(user, reply)
            if reply.buttons:
                await self.cards(user, Reply("", reply.buttons))
        elif reply.buttons:
            await self.cards(user, reply)
        elif reply.text.strip():
            await self.text(user, reply.text)

    async def text(self, user: str, text: str) -> None:
        for piece in split_text(text):
            await self.pacer.acquire(user)
            await self.client.send_text(user, piece)

    async def cards(self, user: str, reply: Reply) -> None:
        lead, cards = cards_for(reply, self.locale)
        if lead:
            await self.text(user, lead)
        for card in cards:
            await self.pacer.acquire(user)
            await self.client.send_card(user, card)
            self._remember(card)

    async def file(self, user: str, reply: Reply) -> None:
        assert reply.file is not None
        path = reply.file
        data = await asyncio.to_thread(path.read_bytes)
        kind = "image" if reply.photo else "file"
        media_id = await self.client.upload(kind, path.name, data, mimetypes.guess_type(path.name)[0])
        await self.pacer.acquire(user)
        await self.client.send_media(user, kind, media_id)

    def _remember(self, card: JSON) -> None:
        """The labels of a card's buttons, to show the one pressed when the card is greyed out."""
        buttons: list[dict[str, Any]] = card.get("button_list", [])
        self._labels[card["task_id"]] = {b["key"]: b["text"] for b in buttons}
        while len(self._labels) > REMEMBERED_CARDS:
            self._labels.popitem(last=False)
