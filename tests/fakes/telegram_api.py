"""A fake Telegram Bot API server for end-to-end tests and benchmarks.

The real python-telegram-bot ``Bot``/``Application`` talks to it over HTTP on loopback, exactly as it
would talk to ``api.telegram.org``::

    async with FakeTelegramAPI(token=TOKEN) as api:
        app = (
            ApplicationBuilder().token(TOKEN)
            .base_url(api.base_url).base_file_url(api.base_file_url).build()
        )
        ...
        await api.send_text(42, "hello")
        [reply] = await api.wait_for_messages(42, 1)

Semantics follow the Bot API (https://core.telegram.org/bots/api): responses are
``{"ok": true, "result": ...}`` / ``{"ok": false, "error_code": ..., "description": ...}``;
``getUpdates`` long-polls and keeps updates until a later call confirms them with ``offset``; a
429 carries ``parameters.retry_after`` (PTB turns that into ``telegram.error.RetryAfter``).

Everything runs on one asyncio loop. When the bot under test lives in another process (or the test
wants to block), use :class:`ThreadedFakeTelegramAPI`, which runs the server on its own loop in a
daemon thread and offers thread-safe synchronous twins of the test-side methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import html.parser
import inspect
import itertools
import json
import math
import mimetypes
import random
import re
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Collection, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

__all__ = [
    "DEFAULT_FAULT_METHODS",
    "DEFAULT_LIMITED_METHODS",
    "ApiError",
    "BotCall",
    "FakeFile",
    "FakeStats",
    "FakeTelegramAPI",
    "FaultPlan",
    "RateLimits",
    "ThreadedFakeTelegramAPI",
    "UploadedFile",
]

T = TypeVar("T")
JSON = dict[str, Any]
MethodHandler = Callable[[JSON], Any]

# Bot methods that create a new message in a chat.
SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVideo",
        "sendAudio",
        "sendVoice",
        "sendAnimation",
        "sendSticker",
        "sendVideoNote",
        "sendMediaGroup",
        "sendLocation",
    }
)
EDIT_METHODS = frozenset({"editMessageText", "editMessageCaption", "editMessageReplyMarkup"})
MESSAGE_METHODS = SEND_METHODS | EDIT_METHODS
DEFAULT_FAULT_METHODS = MESSAGE_METHODS | {"answerCallbackQuery", "deleteMessage"}
DEFAULT_LIMITED_METHODS = MESSAGE_METHODS
FAULT_KINDS = frozenset({"429", "500", "502", "drop", "lost_response"})

# Update kinds Telegram leaves out when ``allowed_updates`` is empty / never given.
_NOT_DEFAULT_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

# Form/query fields that are plain strings (never JSON-decoded).  Everything else that looks
# like JSON (PTB json-dumps every non-string value) is decoded.
_TEXT_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "url",
        "secret_token",
        "file_id",
        "action",
        "language_code",
        "photo",
        "document",
        "video",
        "audio",
        "voice",
        "sticker",
        "animation",
        "video_note",
        "thumbnail",
        "emoji",
        "title",
        "description",
        "short_description",
        "name",
        "inline_message_id",
        "message_effect_id",
        "business_connection_id",
        "ip_address",
        "query",
        "phone_number",
        "first_name",
        "last_name",
        "address",
        "question",
        "explanation",
    }
)
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "allowed_updates",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "menu_button",
        "media",
        "reply_parameters",
        "link_preview_options",
    }
)
_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)
_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_PARSE = "can't parse entities:"
_TEXT_BUTTONS = "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
MAX_TEXT = 4096
MAX_CAPTION = 1024


class ApiError(Exception):
    """Raise from a method handler to answer ``{"ok": false, ...}``."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class UploadedFile:
    """A multipart file part the bot uploaded (sendPhoto/sendDocument/...)."""

    field: str
    filename: str | None
    mime_type: str | None
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(slots=True)
class FakeFile:
    """A file known to the fake: served by getFile and ``GET /file/bot<token>/<file_path>``."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    mime_type: str | None = None
    file_name: str | None = None

    def to_api(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass(slots=True)
class BotCall:
    """One recorded bot call: a sent/edited message, a delete, a callback answer, a chat action."""

    seq: int
    method: str
    chat_id: int | str | None
    message_id: int | None
    text: str | None = None
    caption: str | None = None
    parse_mode: str | None = None
    reply_markup: JSON | None = None
    params: JSON = field(default_factory=dict)
    time: float = 0.0  # time.time()
    monotonic: float = 0.0  # time.monotonic()
    upload: UploadedFile | None = None  # for sendPhoto/sendDocument/... with a multipart upload
    file_id: str | None = None  # file id of the sent media (uploaded or re-used)
    callback_query_id: str | None = None  # for answerCallbackQuery
    message: JSON | None = None  # the Message object returned to the bot

    @property
    def body(self) -> str | None:
        """``text`` for text messages, ``caption`` for media (as the bot sent them)."""
        return self.text if self.text is not None else self.caption

    @property
    def plain_text(self) -> str | None:
        """What the user sees: text/caption after Telegram parsed the HTML markup."""
        if self.message is None:
            return self.body
        return self.message.get("text", self.message.get("caption"))

    @property
    def is_edit(self) -> bool:
        return self.method in EDIT_METHODS

    @property
    def keyboard(self) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard of this call as rows of ``(text, callback_data)`` (``[]`` if none)."""
        return _inline_rows(self.reply_markup)

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        return [b for row in self.keyboard for b in row]


def _has_button(message: JSON, callback_data: str) -> bool:
    return any(data == callback_data for row in _inline_rows(message.get("reply_markup")) for _, data in row)


def _inline_rows(markup: JSON | None) -> list[list[tuple[str, str | None]]]:
    if not markup or "inline_keyboard" not in markup:
        return []
    return [
        [(str(b.get("text", "")), b.get("callback_data")) for b in row] for row in markup["inline_keyboard"]
    ]


@dataclass
class FakeStats:
    """Counters for assertions and benchmarks (times are ``time.monotonic()``)."""

    requests: Counter[str] = field(default_factory=Counter)
    delivered: int = 0  # successful send* (each message of a media group counts)
    delivered_per_chat: Counter[int | str] = field(default_factory=Counter)
    edits: int = 0
    rate_limited: int = 0  # 429 answered by enforce_limits()
    faults: Counter[str] = field(default_factory=Counter)  # injected faults by kind
    duplicates: int = 0  # sendMessage with a (chat_id, text) already delivered
    duplicate_keys: list[tuple[int | str, str]] = field(default_factory=list)
    first_delivery: float | None = None
    last_delivery: float | None = None
    updates_pushed: int = 0
    updates_delivered: int = 0  # update objects handed out (getUpdates + webhook), re-deliveries too
    webhook_posts: int = 0
    webhook_failures: int = 0

    def achieved_rate(self) -> float:
        """Delivered messages per second between the first and the last delivery."""
        if self.first_delivery is None or self.last_delivery is None:
            return 0.0
        span = self.last_delivery - self.first_delivery
        return self.delivered / span if span > 0 else float(self.delivered)

    def snapshot(self) -> JSON:
        return {
            "requests": dict(self.requests),
            "delivered": self.delivered,
            "delivered_per_chat": dict(self.delivered_per_chat),
            "edits": self.edits,
            "rate_limited": self.rate_limited,
            "faults": dict(self.faults),
            "duplicates": self.duplicates,
            "duplicate_keys": list(self.duplicate_keys),
            "achieved_rate": self.achieved_rate(),
            "updates_pushed": self.updates_pushed,
            "updates_delivered": self.updates_delivered,
            "webhook_posts": self.webhook_posts,
            "webhook_failures": self.webhook_failures,
        }


# --------------------------------------------------------------------------------------------
# Fault injection and rate limits
# --------------------------------------------------------------------------------------------


@dataclass
class FaultPlan:
    """Fail a share of the bot's send-type calls.

    kinds: ``"429"`` (Too Many Requests with ``parameters.retry_after`` → PTB ``RetryAfter``),
    ``"500"``/``"502"`` (→ PTB ``NetworkError``), ``"drop"`` (connection closed without an answer
    → ``NetworkError``).  None of those reach the chat: a faulted call is not recorded.
    ``"lost_response"`` is different on purpose: the message IS delivered and recorded, then the
    connection is dropped, so a retrying bot produces a duplicate (opt-in, for idempotency tests).

    ``retry_after`` is sent as given; Telegram sends whole seconds, PTB also accepts fractions
    (tests may use e.g. 0.05 to stay fast).  ``max_faults`` caps the total number of injected
    faults; ``chat_ids`` restricts faults to some chats.
    """

    rate: float = 0.2
    kinds: Sequence[str] = ("429", "502")
    retry_after: float = 1
    seed: int | None = None
    methods: Collection[str] = DEFAULT_FAULT_METHODS
    max_faults: int | None = None
    chat_ids: Collection[int | str] | None = None
    injected: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - FAULT_KINDS
        if unknown or not self.kinds:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; use some of {sorted(FAULT_KINDS)}")
        if not 0 <= self.rate <= 1:
            raise ValueError("rate must be within [0, 1]")
        self._rng = random.Random(self.seed)

    def pick(self, method: str, chat_id: int | str | None) -> str | None:
        """The fault to inject into this call, or None."""
        if method not in self.methods:
            return None
        if self.chat_ids is not None and chat_id not in self.chat_ids:
            return None
        if self.max_faults is not None and self.injected >= self.max_faults:
            return None
        if self._rng.random() >= self.rate:
            return None
        self.injected += 1
        return self._rng.choice(list(self.kinds))


class _TokenBucket:
    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = now

    def wait_time(self, now: float) -> float:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


@dataclass
class RateLimits:
    """Telegram-like flood limits, as token buckets (``burst`` = bucket size)."""

    global_per_second: float | None = 30
    per_chat_per_second: float | None = 1
    global_burst: float | None = None  # None → one second worth of global_per_second
    per_chat_burst: float = 3
    group_per_minute: float | None = 20  # extra limit for chats with a negative id
    methods: Collection[str] = DEFAULT_LIMITED_METHODS

    def __post_init__(self) -> None:
        now = time.monotonic()
        self._global = (
            _TokenBucket(self.global_per_second, self.global_burst or self.global_per_second, now)
            if self.global_per_second
            else None
        )
        self._chats: dict[int | str, _TokenBucket] = {}
        self._groups: dict[int | str, _TokenBucket] = {}

    def check(self, chat_id: int | str | None) -> int:
        """0 if the call may pass (and it is counted), else ``retry_after`` in whole seconds."""
        now = time.monotonic()
        buckets: list[_TokenBucket] = []
        if self._global is not None:
            buckets.append(self._global)
        if chat_id is not None and self.per_chat_per_second:
            b = self._chats.get(chat_id)
            if b is None:
                b = self._chats[chat_id] = _TokenBucket(self.per_chat_per_second, self.per_chat_burst, now)
            buckets.append(b)
        if chat_id is not None and self.group_per_minute and (isinstance(chat_id, str) or chat_id < 0):
            g = self._groups.get(chat_id)
            if g is None:
                rate = self.group_per_minute / 60
                g = self._groups[chat_id] = _TokenBucket(rate, self.group_per_minute, now)
            buckets.append(g)
        wait = max((b.wait_time(now) for b in buckets), default=0.0)
        if wait > 0:
            return max(1, math.ceil(wait))
        for b in buckets:
            b.take()
        return 0


class _Signal:
    """Edge-triggered broadcast: ``fire()`` wakes every current waiter. O(1) per fire."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    @property
    def event(self) -> asyncio.Event:
        """The event the next ``fire()`` sets (grab it *before* checking your condition)."""
        return self._event

    async def wait(self, seconds: float) -> bool:
        event = self._event  # captured before any suspension: no lost wake-ups
        if seconds <= 0:
            return False
        try:
            async with asyncio.timeout(seconds):
                await event.wait()
        except TimeoutError:
            return False
        return True


@dataclass(slots=True)
class _Pending:
    update_id: int
    update: JSON
    kind: str


_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}


class _HTMLCheck(html.parser.HTMLParser):
    """Parses Telegram's HTML subset like the Bot API: validates supported tags and nesting and
    produces the plain text plus ``MessageEntity`` dicts (offsets in UTF-16 code units)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.open: list[tuple[str, dict[str, str | None], int]] = []
        self.parts: list[str] = []
        self.pos = 0  # UTF-16 offset in the visible text
        self.entities: list[JSON] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            raise _bad(f'{_PARSE} Unsupported start tag "{tag}" at byte offset {self._offset()}')
        if tag == "span" and ("class", "tg-spoiler") not in attrs:
            raise _bad(f'{_PARSE} Tag "span" must have class "tg-spoiler" at byte offset {self._offset()}')
        self.stack.append(tag)
        self.open.append((tag, dict(attrs), self.pos))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise _bad(f'{_PARSE} Unsupported start tag "{tag}" at byte offset {self._offset()}')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            raise _bad(f"{_PARSE} Unexpected end tag at byte offset {self._offset()}")
        expected = self.stack.pop()
        if expected != tag:
            raise _bad(
                f'{_PARSE} Unmatched end tag at byte offset {self._offset()}, expected "</{expected}>", '
                f'found "</{tag}>"'
            )
        _, attrs, start = self.open.pop()
        if self.pos == start:
            return  # Telegram drops empty entities
        ent: JSON = {"type": _TAG_ENTITY[tag], "offset": start, "length": self.pos - start}
        if tag == "a":
            href = attrs.get("href") or ""
            m = re.fullmatch(r"tg://user\?id=(\d+)", href)
            if m:
                ent = {
                    **ent,
                    "type": "text_mention",
                    "user": {"id": int(m.group(1)), "is_bot": False, "first_name": ""},
                }
            else:
                ent["url"] = href
        elif tag == "tg-emoji":
            ent["custom_emoji_id"] = attrs.get("emoji-id") or ""
        elif tag == "pre" or (tag == "code" and self.stack and self.stack[-1] == "pre"):
            lang = (attrs.get("class") or "").removeprefix("language-")
            if tag == "code":
                # <pre><code class="language-x"> is one pre entity with a language
                if lang:
                    self.open[-1][1]["__lang"] = lang
                return
            lang = lang or attrs.get("__lang") or ""
            if lang:
                ent["language"] = lang
        elif tag == "blockquote" and "expandable" in attrs:
            ent["type"] = "expandable_blockquote"
        self.entities.append(ent)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.pos += _utf16_len(data)

    def _offset(self) -> int:
        return self.getpos()[1]

    def check(self, text: str) -> tuple[str, list[JSON]]:
        self.feed(text)
        self.close()
        if self.stack:
            raise _bad(f'{_PARSE} Can\'t find end tag corresponding to start tag "{self.stack[-1]}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), self.entities


def _parse_text(text: str, parse_mode: str | None, parse_html: bool) -> tuple[str, list[JSON]]:
    """(text as Telegram stores it, entities). HTML is parsed fully; Markdown is not parsed
    (escapes of MarkdownV2 are removed for the length check only, the text is kept as sent)."""
    mode = (parse_mode or "").lower()
    if mode == "html" and parse_html:
        return _HTMLCheck().check(text)
    return text, []


def _utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------

_USE_STORED: Any = object()


class FakeTelegramAPI:
    """Fake Bot API server (aiohttp) on 127.0.0.1.

    Args:
        token: only this token is accepted (others get 401 like Telegram); ``None`` accepts any.
        bot_username / bot_first_name / bot_id: what getMe answers (bot_id defaults to the numeric
            token prefix).
        default_language_code: ``language_code`` of users not declared with :meth:`user`.
        validate_html: reject malformed ``parse_mode=HTML`` like Telegram (unsupported tags, bad nesting).
        strict_not_modified: editing to identical text+markup answers 400 "message is not modified".
        conflict_on_concurrent_polls: a new getUpdates terminates a pending one with 409.
        webhook_auto_deliver: after setWebhook, push updates to the webhook URL by POST (like
            Telegram), sequentially, retrying failed ones after ``webhook_retry_delay``.
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "archive_test_bot",
        bot_first_name: str = "Archive Test Bot",
        bot_id: int | None = None,
        default_language_code: str | None = "zh-hans",
        validate_html: bool = True,
        strict_not_modified: bool = True,
        conflict_on_concurrent_polls: bool = True,
        webhook_auto_deliver: bool = True,
        webhook_retry_delay: float = 0.2,
        first_update_id: int = 1000,
    ) -> None:
        self.token = token
        self.host = host
        self._requested_port = port
        self.port: int | None = None
        if bot_id is None:
            prefix = (token or "").split(":", 1)[0]
            bot_id = int(prefix) if prefix.isdigit() else 7_000_000_001
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.default_language_code = default_language_code
        self.validate_html = validate_html
        self.strict_not_modified = strict_not_modified
        self.conflict_on_concurrent_polls = conflict_on_concurrent_polls
        self.webhook_auto_deliver = webhook_auto_deliver
        self.webhook_retry_delay = webhook_retry_delay

        self.faults: FaultPlan | None = None
        self.limits: RateLimits | None = None
        self.stats = FakeStats()

        # users, chats, messages
        self._users: dict[int, JSON] = {}
        self._chats: dict[int | str, JSON] = {}
        self._next_mid: dict[int | str, int] = {}
        self._bot_messages: dict[int | str, dict[int, JSON]] = {}  # chat → message_id → Message
        self._user_message_ids: dict[int | str, set[int]] = {}
        self._reply_keyboard: dict[int | str, JSON | None] = {}
        self._blocked: set[int | str] = set()
        self._callback_queries: dict[str, JSON] = {}
        self._cq_counter = itertools.count(int(time.time()) * 1000)

        # updates
        self._last_update_id = first_update_id - 1
        self._queue: deque[_Pending] = deque()  # unconfirmed, in update_id order
        self._redeliver: deque[_Pending] = deque()  # push_duplicate(): delivered regardless of offset
        self._all_updates: dict[int, _Pending] = {}
        self._allowed: frozenset[str] | None = None
        self._poll_generation = 0
        self._updates_signal: _Signal | None = None

        # log
        self.log: list[BotCall] = []
        self._last_seq = 0
        self._chat_signals: dict[int | str, _Signal] = {}
        self._by_chat: dict[int | str, list[BotCall]] = {}
        self._log_signal: _Signal | None = None
        self._sent_keys: set[tuple[int | str, str]] = set()

        # bot settings
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.menu_buttons: dict[int | None, JSON] = {}
        self.bot_settings: dict[str, Any] = {}
        self.webhook: JSON | None = None  # {"url", "secret_token", "allowed_updates", "max_connections"}
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_last_error: tuple[int, str] | None = None

        # files
        self._files: dict[str, FakeFile] = {}
        self._files_by_path: dict[str, FakeFile] = {}
        self._file_counter = itertools.count(1)

        self._methods: dict[str, tuple[str, MethodHandler]] = {}
        self._register_builtin_methods()

        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread_wrapper: ThreadedFakeTelegramAPI | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("FakeTelegramAPI is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)`` / ``Bot(base_url=...)``: PTB appends the token."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    async def start(self) -> FakeTelegramAPI:
        if self._runner is not None:
            return self
        self._loop = asyncio.get_running_loop()
        self._updates_signal = _Signal()
        self._log_signal = _Signal()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port, reuse_address=True)
        await site.start()
        self.port = int(runner.addresses[0][1])
        self._requested_port = self.port  # a restart keeps the same port
        self._runner = runner
        return self

    async def stop(self) -> None:
        await self._stop_webhook_worker()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegramAPI:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def start_in_thread(self) -> ThreadedFakeTelegramAPI:
        """Run this (not yet started) server on its own loop in a daemon thread."""
        self._thread_wrapper = ThreadedFakeTelegramAPI(api=self).start()
        return self._thread_wrapper

    def stop_thread(self) -> None:
        if self._thread_wrapper is not None:
            self._thread_wrapper.stop()
            self._thread_wrapper = None

    # ------------------------------------------------------------------ configuration

    def set_faults(self, plan: FaultPlan | None) -> None:
        self.faults = plan

    def enforce_limits(
        self,
        global_per_second: float | None = 30,
        per_chat_per_second: float | None = 1,
        *,
        global_burst: float | None = None,
        per_chat_burst: float = 3,
        group_per_minute: float | None = 20,
        methods: Collection[str] = DEFAULT_LIMITED_METHODS,
    ) -> RateLimits:
        """Answer 429 + integer ``retry_after`` to calls over Telegram-like flood limits (token
        buckets; ``per_chat_burst`` consecutive messages to a chat pass before 1/s applies)."""
        self.limits = RateLimits(
            global_per_second=global_per_second,
            per_chat_per_second=per_chat_per_second,
            global_burst=global_burst,
            per_chat_burst=per_chat_burst,
            group_per_minute=group_per_minute,
            methods=methods,
        )
        return self.limits

    def disable_limits(self) -> None:
        self.limits = None

    def reset_stats(self) -> FakeStats:
        old, self.stats = self.stats, FakeStats()
        self._sent_keys.clear()
        return old

    def block_user(self, user_id: int, blocked: bool = True) -> None:
        """Sends to a blocked user answer 403 "Forbidden: bot was blocked by the user"."""
        if blocked:
            self._blocked.add(user_id)
        else:
            self._blocked.discard(user_id)

    def add_method(self, name: str, handler: Callable[[JSON], Any]) -> None:
        """Serve (or override) a Bot API method. ``handler(params)`` returns the ``result`` (may be
        a coroutine) or raises :class:`ApiError`."""
        self._methods[name.lower()] = (name, handler)

    # ------------------------------------------------------------------ users, files

    def user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = _USE_STORED,
        is_premium: bool | None = None,
    ) -> JSON:
        """Declare (or update) a simulated user; returns its Bot API ``User`` object."""
        u: JSON = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name or f"User{user_id}",
        }
        if last_name:
            u["last_name"] = last_name
        if username:
            u["username"] = username
        lang = self.default_language_code if language_code is _USE_STORED else language_code
        if lang:
            u["language_code"] = lang
        if is_premium is not None:
            u["is_premium"] = is_premium
        self._users[user_id] = u
        chat: JSON = {"id": user_id, "type": "private", "first_name": u["first_name"]}
        if last_name:
            chat["last_name"] = last_name
        if username:
            chat["username"] = username
        self._chats[user_id] = chat
        return u

    def _get_user(self, user_id: int) -> JSON:
        u = self._users.get(user_id)
        return u if u is not None else self.user(user_id)

    def group(self, chat_id: int, title: str = "Test group", *, supergroup: bool | None = None) -> JSON:
        """Declare a group chat (negative id) so users can write there via ``chat_id=``."""
        if supergroup is None:
            supergroup = chat_id <= -1_000_000_000_000
        chat: JSON = {"id": chat_id, "type": "supergroup" if supergroup else "group", "title": title}
        self._chats[chat_id] = chat
        return chat

    def _chat(self, chat_id: int | str) -> JSON:
        chat = self._chats.get(chat_id)
        if chat is not None:
            return chat
        if isinstance(chat_id, int) and chat_id > 0:
            self._get_user(chat_id)
            return self._chats[chat_id]
        if isinstance(chat_id, int):
            return self.group(chat_id)
        raise _bad("chat not found")

    def register_file(
        self,
        data: bytes,
        *,
        kind: str = "documents",
        file_name: str | None = None,
        mime_type: str | None = None,
        file_id: str | None = None,
        file_unique_id: str | None = None,
        file_path: str | None = None,
    ) -> FakeFile:
        """Make bytes available by file_id (getFile) and download URL."""
        n = next(self._file_counter)
        ext = ""
        if file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[1]
        elif mime_type:
            ext = mimetypes.guess_extension(mime_type) or ""
        f = FakeFile(
            file_id=file_id or f"BQACAgUAAxk{n:06d}{secrets.token_hex(12)}",
            file_unique_id=file_unique_id or f"AgAD{n:06d}{secrets.token_hex(3)}",
            file_path=file_path or f"{kind}/file_{n}{ext}",
            data=bytes(data),
            mime_type=mime_type,
            file_name=file_name,
        )
        self._files[f.file_id] = f
        self._files_by_path[f.file_path] = f
        return f

    def file(self, file_id: str) -> FakeFile | None:
        return self._files.get(file_id)

    # ------------------------------------------------------------------ pushing updates

    def _message_id(self, chat_id: int | str) -> int:
        mid = self._next_mid.get(chat_id, 0) + 1
        self._next_mid[chat_id] = mid
        return mid

    def _user_message(self, user_id: int, chat_id: int | None, content: JSON) -> JSON:
        cid = user_id if chat_id is None else chat_id
        mid = self._message_id(cid)
        self._user_message_ids.setdefault(cid, set()).add(mid)
        return {
            "message_id": mid,
            "from": self._get_user(user_id),
            "chat": self._chat(cid),
            "date": int(time.time()),
            **content,
        }

    def _enqueue(self, update: JSON, update_id: int | None = None) -> int:
        if update_id is None:
            update_id = update.get("update_id")
        if update_id is None:
            update_id = self._new_update_id()
        else:
            self._last_update_id = max(self._last_update_id, update_id)
        update = {**update, "update_id": update_id}
        kinds = [k for k in update if k != "update_id"]
        pending = _Pending(update_id, update, kinds[0] if kinds else "")
        self._all_updates[update_id] = pending
        self._queue.append(pending)
        self.stats.updates_pushed += 1
        self._notify_updates()
        return update_id

    def _new_update_id(self) -> int:
        self._last_update_id += 1
        return self._last_update_id

    def _notify_updates(self) -> None:
        if self._updates_signal is not None:
            self._updates_signal.fire()

    async def push_raw(self, update: JSON, update_id: int | None = None) -> int:
        """Queue any update dict (``update_id`` assigned unless given); returns its update_id."""
        return self._enqueue(update, update_id)

    async def push_duplicate(self, update_id: int) -> int:
        """Deliver an already pushed update again with the same update_id (even if confirmed)."""
        pending = self._all_updates.get(update_id)
        if pending is None:
            raise KeyError(f"no update {update_id} was pushed")
        self._redeliver.append(pending)
        self.stats.updates_pushed += 1
        self._notify_updates()
        return update_id

    async def send_message_update(self, user_id: int, content: JSON, *, chat_id: int | None = None) -> int:
        """Push a ``message`` update from ``user_id`` with arbitrary Message fields."""
        return self._enqueue({"message": self._user_message(user_id, chat_id, content)})

    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        entities: list[JSON] | None = None,
        reply_to_message_id: int | None = None,
    ) -> int:
        """A user types ``text`` (a leading /command gets its bot_command entity, as in Telegram)."""
        content: JSON = {"text": text}
        if entities is None:
            m = _COMMAND_RE.match(text)
            if m:
                entities = [{"type": "bot_command", "offset": 0, "length": _utf16_len(m.group(0))}]
        if entities:
            content["entities"] = entities
        if reply_to_message_id is not None:
            cid = user_id if chat_id is None else chat_id
            replied = self._bot_messages.get(cid, {}).get(reply_to_message_id)
            content["reply_to_message"] = replied or {
                "message_id": reply_to_message_id,
                "chat": self._chat(cid),
                "date": int(time.time()),
            }
        return await self.send_message_update(user_id, content, chat_id=chat_id)

    async def send_command(
        self,
        user_id: int,
        command: str,
        args: str | Sequence[str] | None = None,
        *,
        chat_id: int | None = None,
        mention_bot: bool = False,
    ) -> int:
        """``send_command(1, "/start", "payload")`` → text "/start payload" with a bot_command entity."""
        cmd = command if command.startswith("/") else "/" + command
        if mention_bot:
            cmd += "@" + self.bot_user["username"]
        if args is None:
            arg_text = ""
        elif isinstance(args, str):
            arg_text = args
        else:
            arg_text = " ".join(args)
        text = f"{cmd} {arg_text}" if arg_text else cmd
        entities = [{"type": "bot_command", "offset": 0, "length": _utf16_len(cmd)}]
        return await self.send_text(user_id, text, chat_id=chat_id, entities=entities)

    async def send_sticker(self, user_id: int, emoji: str = "👍", *, chat_id: int | None = None) -> int:
        f = self.register_file(b"RIFF\x00\x00\x00\x00WEBPVP8 ", kind="stickers", mime_type="image/webp")
        sticker = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(f.data),
        }
        return await self.send_message_update(user_id, {"sticker": sticker}, chat_id=chat_id)

    async def send_voice(
        self,
        user_id: int,
        data: bytes = b"OggS\x00fake-voice",
        duration: int = 3,
        *,
        chat_id: int | None = None,
    ) -> int:
        f = self.register_file(data, kind="voice", file_name="voice.oga", mime_type="audio/ogg")
        voice = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(data),
        }
        return await self.send_message_update(user_id, {"voice": voice}, chat_id=chat_id)

    async def send_location(
        self,
        user_id: int,
        latitude: float = 39.9042,
        longitude: float = 116.4074,
        *,
        chat_id: int | None = None,
    ) -> int:
        content = {"location": {"latitude": latitude, "longitude": longitude}}
        return await self.send_message_update(user_id, content, chat_id=chat_id)

    async def send_contact(
        self, user_id: int, phone_number: str = "+8613800000000", first_name: str | None = None
    ) -> int:
        u = self._get_user(user_id)
        contact = {
            "phone_number": phone_number,
            "first_name": first_name or u["first_name"],
            "user_id": user_id,
        }
        return await self.send_message_update(user_id, {"contact": contact})

    async def send_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str = "document.pdf",
        mime_type: str | None = None,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> int:
        mime_type = mime_type or mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        f = self.register_file(data, kind="documents", file_name=file_name, mime_type=mime_type)
        doc = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        content: JSON = {"document": doc}
        if caption is not None:
            content["caption"] = caption
        return await self.send_message_update(user_id, content, chat_id=chat_id)

    async def send_photo(
        self,
        user_id: int,
        data: bytes,
        *,
        caption: str | None = None,
        width: int = 1280,
        height: int = 960,
        chat_id: int | None = None,
    ) -> int:
        """A user sends a photo: a thumbnail and a full size (both serve ``data`` via getFile)."""
        thumb = self.register_file(data, kind="photos", mime_type="image/jpeg")
        full = self.register_file(data, kind="photos", mime_type="image/jpeg")
        scale = 90 / max(width, height, 1)
        sizes = [
            {
                "file_id": thumb.file_id,
                "file_unique_id": thumb.file_unique_id,
                "width": max(1, round(width * scale)),
                "height": max(1, round(height * scale)),
                "file_size": len(data),
            },
            {
                "file_id": full.file_id,
                "file_unique_id": full.file_unique_id,
                "width": width,
                "height": height,
                "file_size": len(data),
            },
        ]
        content: JSON = {"photo": sizes}
        if caption is not None:
            content["caption"] = caption
        return await self.send_message_update(user_id, content, chat_id=chat_id)

    def _find_button_message(self, chat_id: int | str, callback_data: str) -> JSON | None:
        for msg in reversed(self._bot_messages.get(chat_id, {}).values()):
            if _has_button(msg, callback_data):
                return msg
        return None

    async def press(
        self,
        user_id: int,
        callback_data: str,
        message_id: int | None = None,
        *,
        chat_id: int | None = None,
        strict: bool = True,
    ) -> int:
        """The user presses an inline button → ``callback_query`` update; returns update_id.

        Without ``message_id`` the newest bot message currently showing a button with that
        ``callback_data`` is used. With ``strict`` the button must currently be on the message
        (keyboards edited away cannot be pressed) — raises LookupError otherwise.
        """
        cid = user_id if chat_id is None else chat_id
        msgs = self._bot_messages.get(cid, {})
        if message_id is None:
            msg = self._find_button_message(cid, callback_data)
            if msg is None:
                raise LookupError(
                    f"no bot message in chat {cid} shows a button with callback_data={callback_data!r}; "
                    f"last keyboard: {self.last_keyboard(cid)}"
                )
        else:
            msg = msgs.get(message_id)
            if msg is None:
                if strict:
                    raise LookupError(f"bot message {message_id} not found in chat {cid}")
                msg = {"message_id": message_id, "chat": self._chat(cid), "date": 0}
            elif strict and not _has_button(msg, callback_data):
                raise LookupError(
                    f"message {message_id} in chat {cid} has no button {callback_data!r}: "
                    f"{_inline_rows(msg.get('reply_markup'))}"
                )
        cq_id = str(next(self._cq_counter))
        self._callback_queries[cq_id] = {"user_id": user_id, "chat_id": cid, "answered": False}
        cq = {
            "id": cq_id,
            "from": self._get_user(user_id),
            "message": msg,
            "chat_instance": str(abs(hash(("chat_instance", cid))) % 10**19),
            "data": callback_data,
        }
        return self._enqueue({"callback_query": cq})

    async def press_text(self, user_id: int, label: str, message_id: int | None = None) -> int:
        """Press the inline button whose text is ``label`` (newest bot message showing it)."""
        candidates = self._bot_messages.get(user_id, {})
        order = [candidates[message_id]] if message_id is not None else reversed(candidates.values())
        for msg in order:
            for row in _inline_rows(msg.get("reply_markup")):
                for text, data in row:
                    if text == label and data is not None:
                        return await self.press(user_id, data, msg["message_id"])
        raise LookupError(
            f"no inline button {label!r} in chat {user_id}; last keyboard: {self.last_keyboard(user_id)}"
        )

    def pending_updates(self) -> int:
        """Pushed updates not yet confirmed by the bot (getUpdates offset / webhook 2xx)."""
        return len(self._queue) + len(self._redeliver)

    # ------------------------------------------------------------------ log queries

    def mark(self) -> int:
        """A position in the log; pass as ``since=`` to only see later calls."""
        return self._last_seq + 1

    def calls(
        self, method: str | None = None, chat_id: int | str | None = None, *, since: int | None = None
    ) -> list[BotCall]:
        src = self.log if chat_id is None else self._by_chat.get(chat_id, [])
        return [
            c for c in src if (method is None or c.method == method) and (since is None or c.seq >= since)
        ]

    def messages(
        self, chat_id: int | str | None = None, *, since: int | None = None, edits: bool = True
    ) -> list[BotCall]:
        """Sent (and, unless ``edits=False``, edited) messages, oldest first."""
        src = self.log if chat_id is None else self._by_chat.get(chat_id, [])
        methods = MESSAGE_METHODS if edits else SEND_METHODS
        return [c for c in src if c.method in methods and (since is None or c.seq >= since)]

    def texts(self, chat_id: int | str, *, since: int | None = None, edits: bool = True) -> list[str]:
        return [m.body or "" for m in self.messages(chat_id, since=since, edits=edits)]

    def last_message(self, chat_id: int | str, *, edits: bool = True) -> BotCall | None:
        methods = MESSAGE_METHODS if edits else SEND_METHODS
        for c in reversed(self._by_chat.get(chat_id, [])):
            if c.method in methods:
                return c
        return None

    def current_message(self, chat_id: int | str, message_id: int) -> JSON | None:
        """The bot message as it is now (after edits), or None if unknown/deleted."""
        return self._bot_messages.get(chat_id, {}).get(message_id)

    def keyboard(self, chat_id: int | str, message_id: int) -> list[list[tuple[str, str | None]]]:
        msg = self.current_message(chat_id, message_id)
        return _inline_rows(msg.get("reply_markup")) if msg else []

    def last_keyboard(self, chat_id: int | str) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard (rows of ``(text, callback_data)``) of the most recently sent/edited bot
        message in the chat that still shows one; ``[]`` if none."""
        seen: set[int] = set()
        for c in reversed(self._by_chat.get(chat_id, [])):
            if c.method not in MESSAGE_METHODS or c.message_id is None or c.message_id in seen:
                continue
            seen.add(c.message_id)
            rows = self.keyboard(chat_id, c.message_id)
            if rows:
                return rows
        return []

    def last_reply_keyboard(self, chat_id: int | str) -> list[list[str]] | None:
        """Rows of button texts of the reply keyboard currently shown, None if none/removed."""
        markup = self._reply_keyboard.get(chat_id)
        if not markup:
            return None
        return [
            [b if isinstance(b, str) else str(b.get("text", "")) for b in row] for row in markup["keyboard"]
        ]

    def clear_log(self) -> None:
        self.log.clear()
        self._by_chat.clear()

    async def wait_for(
        self,
        predicate: Callable[[BotCall], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        since: int | None = None,
    ) -> BotCall:
        """First logged call (from ``since``, default: whole log) matching ``predicate``."""
        assert self._log_signal is not None, "server not started"
        deadline = time.monotonic() + timeout
        idx = 0
        while True:
            log = self.log
            while idx < len(log):
                c = log[idx]
                idx += 1
                if (since is None or c.seq >= since) and predicate(c):
                    return c
            if idx > len(log):  # log was cleared meanwhile
                idx = 0
                continue
            if not await self._log_signal.wait(deadline - time.monotonic()) and time.monotonic() >= deadline:
                raise TimeoutError(f"no matching bot call within {timeout}s; last calls: {self._tail()}")

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until ``condition()`` holds (re-checked on every logged call / update change)."""
        assert self._log_signal is not None and self._updates_signal is not None, "server not started"
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s; last calls: {self._tail()}")
            # events captured synchronously right after the check: no lost wake-ups
            waiters = {
                asyncio.ensure_future(s.event.wait()) for s in (self._log_signal, self._updates_signal)
            }
            try:
                await asyncio.wait(waiters, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()

    async def wait_for_messages(
        self,
        chat_id: int | str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        since: int | None = None,
        edits: bool = True,
    ) -> list[BotCall]:
        """Wait until the chat has ≥ ``count`` sent/edited messages (from ``since``); return them all."""
        deadline = time.monotonic() + timeout
        signal = self._chat_signals.get(chat_id)
        if signal is None:
            signal = self._chat_signals[chat_id] = _Signal()
        while True:
            found = self.messages(chat_id, since=since, edits=edits)
            if len(found) >= count:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"chat {chat_id}: expected {count} messages within {timeout}s, got {len(found)}: "
                    f"{[m.body for m in found]}"
                )
            await signal.wait(remaining)

    async def wait_for_idle(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until every pushed update has been confirmed by the bot."""
        await self.wait_until(lambda: self.pending_updates() == 0, timeout)

    def _tail(self) -> list[tuple[str, int | str | None, str | None]]:
        return [(c.method, c.chat_id, c.body) for c in self.log[-5:]]

    def _record(self, call: BotCall) -> BotCall:
        self.log.append(call)
        if call.chat_id is not None:
            self._by_chat.setdefault(call.chat_id, []).append(call)
            sig = self._chat_signals.get(call.chat_id)
            if sig is not None:
                sig.fire()
        if self._log_signal is not None:
            self._log_signal.fire()
        return call

    def _new_call(
        self, method: str, chat_id: int | str | None, message_id: int | None, params: JSON, **kw: Any
    ) -> BotCall:
        markup = params.get("reply_markup")
        return BotCall(
            seq=self._next_seq(),
            method=method,
            chat_id=chat_id,
            message_id=message_id,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup if isinstance(markup, dict) else None,
            params=params,
            time=time.time(),
            monotonic=time.monotonic(),
            **kw,
        )

    def _next_seq(self) -> int:
        self._last_seq += 1
        return self._last_seq

    def _count_delivery(self, chat_id: int | str, text: str | None, method: str) -> None:
        st = self.stats
        now = time.monotonic()
        st.delivered += 1
        st.delivered_per_chat[chat_id] += 1
        if st.first_delivery is None:
            st.first_delivery = now
        st.last_delivery = now
        if method == "sendMessage" and text is not None:
            key = (chat_id, text)
            if key in self._sent_keys:
                st.duplicates += 1
                st.duplicate_keys.append(key)
            else:
                self._sent_keys.add(key)

    # ------------------------------------------------------------------ webhook helper

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    async def deliver_to_webhook(
        self,
        url: str | None = None,
        update: JSON | None = None,
        secret_token: str | None = _USE_STORED,
    ) -> int:
        """POST one update to a webhook (default: the URL/secret from setWebhook) and return the
        HTTP status. ``update_id`` is assigned if missing. Does not touch the getUpdates queue."""
        if url is None or secret_token is _USE_STORED:
            if self.webhook is None and url is None:
                raise RuntimeError("no webhook set and no url given")
            stored = self.webhook or {}
            url = url or stored["url"]
            if secret_token is _USE_STORED:
                secret_token = stored.get("secret_token")
        assert url is not None
        update = dict(update or {})
        if "update_id" not in update:
            update["update_id"] = self._new_update_id()
        return await self._post_update(url, update, secret_token)

    async def _post_update(self, url: str, update: JSON, secret_token: str | None) -> int:
        headers = {"Content-Type": "application/json"}
        if secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
        session = await self._client()
        self.stats.webhook_posts += 1
        async with session.post(url, data=json.dumps(update), headers=headers) as resp:
            await resp.read()
            return resp.status

    async def _webhook_worker(self) -> None:
        assert self._updates_signal is not None
        while self.webhook is not None:
            hook = self.webhook
            pending: _Pending | None = None
            from_redeliver = False
            if self._redeliver:
                pending, from_redeliver = self._redeliver[0], True
            else:
                pending = self._next_allowed(self._queue, hook.get("allowed_updates"))
            if pending is None:
                await self._updates_signal.wait(3600)
                continue
            try:
                status = await self._post_update(hook["url"], pending.update, hook.get("secret_token"))
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                status, reason = 0, repr(exc)
            else:
                reason = f"HTTP {status}"
            if 200 <= status < 300:
                self.stats.updates_delivered += 1
                q = self._redeliver if from_redeliver else self._queue
                if q and q[0] is pending:
                    q.popleft()
                self._notify_updates()
            else:
                self.stats.webhook_failures += 1
                self._webhook_last_error = (int(time.time()), reason)
                await asyncio.sleep(self.webhook_retry_delay)

    def _next_allowed(self, q: deque[_Pending], allowed: Iterable[str] | None) -> _Pending | None:
        allow = self._allowed_set(allowed)
        while q:
            if self._is_allowed(q[0], allow):
                return q[0]
            q.popleft()  # Telegram never creates updates of kinds that are not allowed
        return None

    async def _stop_webhook_worker(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ------------------------------------------------------------------ HTTP plumbing

    @staticmethod
    def _response(payload: JSON, status: int = 200) -> web.Response:
        return web.Response(
            body=json.dumps(payload, ensure_ascii=False).encode(),
            status=status,
            content_type="application/json",
        )

    def _error(self, code: int, description: str, parameters: JSON | None = None) -> web.Response:
        payload: JSON = {"ok": False, "error_code": code, "description": description}
        if parameters:
            payload["parameters"] = parameters
        return self._response(payload, code)

    @staticmethod
    def _coerce(key: str, value: str) -> Any:
        if key in _TEXT_FIELDS:
            return value
        if value and (value[0] in '[{"-0123456789' or value in ("true", "false", "null")):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    async def _read_params(self, request: web.Request) -> JSON:
        params: JSON = {k: self._coerce(k, v) for k, v in request.query.items()}
        if request.method != "POST" or not request.body_exists:
            return params
        ctype = request.content_type
        if ctype == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("JSON body must be an object")
            for k, v in body.items():
                if k in _JSON_FIELDS and isinstance(v, str):
                    with contextlib.suppress(ValueError):
                        v = json.loads(v)
                params[k] = v
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for k, v in form.items():
                if isinstance(v, web.FileField):
                    params[k] = UploadedFile(
                        field=k, filename=v.filename, mime_type=v.content_type, data=v.file.read()
                    )
                else:
                    params[k] = self._coerce(k, str(v))
        return params

    @staticmethod
    def _chat_id(params: JSON) -> int | str | None:
        v = params.get("chat_id")
        if v is None or v == "":
            return None
        if isinstance(v, bool):
            raise _bad("chat not found")
        if isinstance(v, int):
            return v
        if isinstance(v, float) and v.is_integer():
            return int(v)
        s = str(v)
        try:
            return int(s)
        except ValueError:
            return s

    async def _drop(self, request: web.Request) -> web.StreamResponse:
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError  # nothing can be answered on an aborted connection

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        if self.token is not None and token != self.token:
            return self._error(401, "Unauthorized")
        entry = self._methods.get(request.match_info["method"].lower())
        if entry is None:
            return self._error(404, "Not Found")
        name, handler = entry
        self.stats.requests[name] += 1
        try:
            params = await self._read_params(request)
        except ValueError as exc:
            return self._error(400, f"Bad Request: {exc}")
        chat_id = None
        with contextlib.suppress(ApiError):
            chat_id = self._chat_id(params)
        if name == "answerCallbackQuery":
            cq = self._callback_queries.get(str(params.get("callback_query_id")))
            chat_id = cq["chat_id"] if cq else None

        fault = self.faults.pick(name, chat_id) if self.faults is not None else None
        if fault is not None and fault != "lost_response":
            self.stats.faults[fault] += 1
            if fault == "429":
                ra = self.faults.retry_after if self.faults else 1
                ra_json = int(ra) if float(ra).is_integer() else ra
                return self._error(429, f"Too Many Requests: retry after {ra_json}", {"retry_after": ra_json})
            if fault == "500":
                return self._error(500, "Internal Server Error")
            if fault == "502":
                return self._error(502, "Bad Gateway")
            return await self._drop(request)

        if self.limits is not None and name in self.limits.methods:
            retry_after = self.limits.check(chat_id)
            if retry_after:
                self.stats.rate_limited += 1
                return self._error(
                    429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
                )

        try:
            result = handler(params)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as exc:
            return self._error(exc.code, exc.description, exc.parameters)
        if fault == "lost_response":
            self.stats.faults[fault] += 1
            return await self._drop(request)
        return self._response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        if self.token is not None and token != self.token:
            return self._error(401, "Unauthorized")
        f = self._files_by_path.get(request.match_info["path"])
        if f is None:
            return self._error(404, "Not Found")
        return web.Response(body=f.data, content_type=f.mime_type or "application/octet-stream")

    # ------------------------------------------------------------------ Bot API methods

    def _register_builtin_methods(self) -> None:
        builtin: dict[str, MethodHandler] = {
            "getMe": lambda p: self.bot_user,
            "logOut": lambda p: True,
            "close": lambda p: True,
            "getUpdates": self._m_get_updates,
            "setWebhook": self._m_set_webhook,
            "deleteWebhook": self._m_delete_webhook,
            "getWebhookInfo": self._m_get_webhook_info,
            "setMyCommands": self._m_set_my_commands,
            "getMyCommands": self._m_get_my_commands,
            "deleteMyCommands": self._m_delete_my_commands,
            "setChatMenuButton": self._m_set_chat_menu_button,
            "getChatMenuButton": self._m_get_chat_menu_button,
            "setMyDescription": lambda p: self._store_setting("description", p),
            "setMyShortDescription": lambda p: self._store_setting("short_description", p),
            "setMyName": lambda p: self._store_setting("name", p),
            "getChat": self._m_get_chat,
            "sendMessage": self._m_send_message,
            "editMessageText": self._m_edit_message_text,
            "editMessageCaption": self._m_edit_message_caption,
            "editMessageReplyMarkup": self._m_edit_message_reply_markup,
            "deleteMessage": self._m_delete_message,
            "answerCallbackQuery": self._m_answer_callback_query,
            "sendChatAction": self._m_send_chat_action,
            "getFile": self._m_get_file,
            "sendMediaGroup": self._m_send_media_group,
            "sendLocation": self._m_send_location,
        }
        for kind in ("photo", "document", "video", "audio", "voice", "animation", "sticker", "video_note"):
            method = "send" + "".join(part.capitalize() for part in kind.split("_"))
            builtin[method] = self._media_sender(method, kind)
        for name, fn in builtin.items():
            self.add_method(name, fn)

    def _store_setting(self, key: str, params: JSON) -> bool:
        self.bot_settings[f"{key}:{params.get('language_code') or ''}"] = params.get(key)
        return True

    # --- updates / webhook

    @staticmethod
    def _allowed_set(allowed: Iterable[str] | None) -> frozenset[str] | None:
        if not allowed:
            return None
        return frozenset(allowed)

    @staticmethod
    def _is_allowed(p: _Pending, allow: frozenset[str] | None) -> bool:
        if allow is None:
            return p.kind not in _NOT_DEFAULT_UPDATES
        return p.kind in allow

    def _collect(self, offset: int | None, limit: int) -> list[JSON]:
        q = self._queue
        before = len(q)
        if offset is not None:
            if offset < 0:
                keep = -offset
                while len(q) > keep:
                    q.popleft()
            else:
                while q and q[0].update_id < offset:
                    q.popleft()
        if len(q) != before:
            self._notify_updates()  # confirmations: wakes wait_for_idle()/wait_until()
        out: list[JSON] = []
        while self._redeliver and len(out) < limit:
            out.append(self._redeliver.popleft().update)
        allow = self._allowed
        i = 0
        while i < len(q) and len(out) < limit:
            p = q[i]
            if self._is_allowed(p, allow):
                out.append(p.update)
                i += 1
            else:
                del q[i]
        return out

    async def _m_get_updates(self, params: JSON) -> list[JSON]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        assert self._updates_signal is not None
        self._poll_generation += 1
        generation = self._poll_generation
        if self.conflict_on_concurrent_polls:
            self._notify_updates()  # wake an older poll so it can answer 409
        offset = params.get("offset")
        offset = int(offset) if offset is not None else None
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = max(0.0, float(params.get("timeout") or 0))
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self._allowed = self._allowed_set(allowed if isinstance(allowed, list) else None)
        deadline = time.monotonic() + timeout
        while True:
            if self.conflict_on_concurrent_polls and generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            result = self._collect(offset, limit)
            offset = None  # confirmation is applied once
            remaining = deadline - time.monotonic()
            if result or remaining <= 0:
                self.stats.updates_delivered += len(result)
                return result
            await self._updates_signal.wait(remaining)

    def _m_set_webhook(self, params: JSON) -> bool:
        url = params.get("url") or ""
        if not url:
            return self._m_delete_webhook(params)
        if not str(url).startswith(("http://", "https://")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        if params.get("drop_pending_updates"):
            self._queue.clear()
            self._redeliver.clear()
        allowed = params.get("allowed_updates")
        self.webhook = {
            "url": url,
            "secret_token": params.get("secret_token"),
            "allowed_updates": allowed if isinstance(allowed, list) else None,
            "max_connections": int(params.get("max_connections") or 40),
            "ip_address": params.get("ip_address"),
        }
        self._poll_generation += 1
        self._notify_updates()
        if self.webhook_auto_deliver and (self._webhook_task is None or self._webhook_task.done()):
            self._webhook_task = asyncio.get_running_loop().create_task(self._webhook_worker())
        return True

    def _m_delete_webhook(self, params: JSON) -> bool:
        self.webhook = None
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None
        if params.get("drop_pending_updates"):
            self._queue.clear()
            self._redeliver.clear()
        return True

    def _m_get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": self.pending_updates(),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
            if self.webhook.get("ip_address"):
                info["ip_address"] = self.webhook["ip_address"]
            if self._webhook_last_error:
                info["last_error_date"], info["last_error_message"] = self._webhook_last_error
        return info

    # --- commands, menu

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _m_set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("commands must be an array")
        for c in commands:
            cmd = str(c.get("command", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", cmd):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(c.get("description", ""))) <= 256:
                raise _bad(
                    "BOT_COMMAND_DESCRIPTION_INVALID"
                    if c.get("description")
                    else "command description is empty"
                )
        self.commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _m_get_my_commands(self, params: JSON) -> list[JSON]:
        return self.commands.get(self._commands_key(params), [])

    def _m_delete_my_commands(self, params: JSON) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _m_set_chat_menu_button(self, params: JSON) -> bool:
        chat_id = self._chat_id(params)
        self.menu_buttons[chat_id if isinstance(chat_id, int) else None] = params.get("menu_button") or {
            "type": "default"
        }
        return True

    def _m_get_chat_menu_button(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        return self.menu_buttons.get(chat_id if isinstance(chat_id, int) else None, {"type": "default"})

    def _m_get_chat(self, params: JSON) -> JSON:
        chat_id = self._require_chat(params)
        chat = dict(self._chat(chat_id))
        chat.setdefault("accent_color_id", 0)
        chat.setdefault("max_reaction_count", 11)
        return chat

    # --- messages

    def _require_chat(self, params: JSON) -> int | str:
        chat_id = self._chat_id(params)
        if chat_id is None:
            raise _bad("chat_id is empty")
        if isinstance(chat_id, str):
            raise _bad("chat not found")
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _check_markup(self, params: JSON) -> JSON | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
            for row in rows:
                for b in row:
                    if not isinstance(b, dict) or not b.get("text"):
                        raise _bad(_TEXT_BUTTONS)
                    data = b.get("callback_data")
                    if data is not None and not 1 <= len(str(data).encode()) <= 64:
                        raise _bad("BUTTON_DATA_INVALID")
                    actions = [k for k in b if k != "text"]
                    if not actions:
                        raise _bad(_TEXT_BUTTONS)
        elif "keyboard" in markup:
            if not isinstance(markup["keyboard"], list):
                raise _bad("can't parse reply keyboard markup JSON object")
        elif not ({"remove_keyboard", "force_reply"} & markup.keys()):
            raise _bad("can't parse reply keyboard markup JSON object")
        return markup

    def _note_reply_keyboard(self, chat_id: int | str, markup: JSON | None) -> None:
        if markup is None:
            return
        if "keyboard" in markup:
            self._reply_keyboard[chat_id] = markup
        elif markup.get("remove_keyboard"):
            self._reply_keyboard[chat_id] = None

    def _check_text(
        self, text: Any, parse_mode: Any, entities: Any = None, *, caption: bool = False
    ) -> tuple[str, JSON]:
        """Validate like Telegram; returns (text as sent, Message fields: text/caption + entities)."""
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        mode = parse_mode if isinstance(parse_mode, str) else None
        visible, parsed = _parse_text(text, mode, self.validate_html)
        if not parsed and isinstance(entities, list):
            parsed = entities
        length = len(re.sub(r"\\(.)", r"\1", visible) if (mode or "").lower() == "markdownv2" else visible)
        key, ent_key = ("caption", "caption_entities") if caption else ("text", "entities")
        if caption:
            if length > MAX_CAPTION:
                raise _bad("message caption is too long")
        else:
            if not visible.strip():
                raise _bad("message text is empty")
            if length > MAX_TEXT:
                raise _bad("message is too long")
        fields: JSON = {key: visible, ent_key: parsed or None}
        return text, fields

    def _new_bot_message(self, chat_id: int | str, content: JSON, markup: JSON | None) -> JSON:
        msg: JSON = {
            "message_id": self._message_id(chat_id),
            "from": self.bot_user,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **{k: v for k, v in content.items() if v is not None},
        }
        if markup is not None and "inline_keyboard" in markup:
            msg["reply_markup"] = markup
        self._bot_messages.setdefault(chat_id, {})[msg["message_id"]] = msg
        self._note_reply_keyboard(chat_id, markup)
        return msg

    def _m_send_message(self, params: JSON) -> JSON:
        chat_id = self._require_chat(params)
        text, fields = self._check_text(params.get("text"), params.get("parse_mode"), params.get("entities"))
        markup = self._check_markup(params)
        msg = self._new_bot_message(chat_id, fields, markup)
        self._record(
            self._new_call("sendMessage", chat_id, msg["message_id"], params, text=text, message=msg)
        )
        self._count_delivery(chat_id, text, "sendMessage")
        return msg

    def _m_send_location(self, params: JSON) -> JSON:
        chat_id = self._require_chat(params)
        markup = self._check_markup(params)
        loc = {"latitude": float(params.get("latitude", 0)), "longitude": float(params.get("longitude", 0))}
        msg = self._new_bot_message(chat_id, {"location": loc}, markup)
        self._record(self._new_call("sendLocation", chat_id, msg["message_id"], params, message=msg))
        self._count_delivery(chat_id, None, "sendLocation")
        return msg

    def _target_message(self, params: JSON) -> tuple[int | str, JSON] | None:
        """(chat_id, message) for an edit; None for inline messages."""
        if params.get("inline_message_id"):
            return None
        chat_id = self._require_chat(params)
        try:
            message_id = int(params.get("message_id") or 0)
        except (TypeError, ValueError) as exc:
            raise _bad("message identifier is not specified") from exc
        if not message_id:
            raise _bad("message identifier is not specified")
        msg = self._bot_messages.get(chat_id, {}).get(message_id)
        if msg is None:
            if message_id in self._user_message_ids.get(chat_id, ()):
                raise _bad("message can't be edited")
            raise _bad("message to edit not found")
        return chat_id, msg

    def _not_modified(self) -> ApiError:
        return _bad(
            "message is not modified: specified new message content and reply markup are exactly the same "
            "as a current content and reply markup of the message"
        )

    def _apply_edit(self, method: str, params: JSON, changes: JSON, raw: str | None = None) -> JSON | bool:
        markup = self._check_markup(params)
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad("can't parse inline keyboard button: reply markup must be an inline keyboard")
        target = self._target_message(params)
        if target is None:  # inline message: nothing to track
            self._record(
                self._new_call(
                    method,
                    None,
                    None,
                    params,
                    text=raw if "text" in changes else None,
                    caption=raw if "caption" in changes else None,
                )
            )
            return True
        chat_id, msg = target
        new = dict(msg)
        for k, v in changes.items():
            if v is None:
                new.pop(k, None)
            else:
                new[k] = v
        if markup is not None:
            new["reply_markup"] = markup
        else:
            new.pop("reply_markup", None)
        compared = ("text", "entities", "caption", "caption_entities", "reply_markup")
        if self.strict_not_modified and all(new.get(k) == msg.get(k) for k in compared):
            raise self._not_modified()
        new["edit_date"] = int(time.time())
        self._bot_messages[chat_id][msg["message_id"]] = new
        self._record(
            self._new_call(
                method,
                chat_id,
                msg["message_id"],
                params,
                text=raw if "text" in changes else None,
                caption=raw if "caption" in changes else None,
                message=new,
            )
        )
        self.stats.edits += 1
        return new

    def _m_edit_message_text(self, params: JSON) -> JSON | bool:
        text, fields = self._check_text(params.get("text"), params.get("parse_mode"), params.get("entities"))
        return self._apply_edit("editMessageText", params, fields, text)

    def _m_edit_message_caption(self, params: JSON) -> JSON | bool:
        caption, fields = self._check_text(
            params.get("caption") or "",
            params.get("parse_mode"),
            params.get("caption_entities"),
            caption=True,
        )
        if not caption:
            fields = {"caption": None, "caption_entities": None}
        return self._apply_edit("editMessageCaption", params, fields, caption)

    def _m_edit_message_reply_markup(self, params: JSON) -> JSON | bool:
        return self._apply_edit("editMessageReplyMarkup", params, {})

    def _m_delete_message(self, params: JSON) -> bool:
        chat_id = self._require_chat(params)
        message_id = int(params.get("message_id") or 0)
        msgs = self._bot_messages.get(chat_id, {})
        user_ids = self._user_message_ids.get(chat_id, set())
        if message_id in msgs:
            del msgs[message_id]
        elif message_id in user_ids:
            user_ids.discard(message_id)
        else:
            raise _bad("message to delete not found")
        self._record(self._new_call("deleteMessage", chat_id, message_id, params))
        return True

    def _m_answer_callback_query(self, params: JSON) -> bool:
        cq_id = str(params.get("callback_query_id") or "")
        cq = self._callback_queries.get(cq_id)
        if cq is None:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        cq["answered"] = True
        self._record(
            self._new_call(
                "answerCallbackQuery",
                cq["chat_id"],
                None,
                params,
                text=params.get("text"),
                callback_query_id=cq_id,
            )
        )
        return True

    def _m_send_chat_action(self, params: JSON) -> bool:
        chat_id = self._require_chat(params)
        self._record(self._new_call("sendChatAction", chat_id, None, params, text=params.get("action")))
        return True

    def _m_get_file(self, params: JSON) -> JSON:
        f = self._files.get(str(params.get("file_id") or ""))
        if f is None:
            raise _bad("invalid file_id")
        return f.to_api()

    # --- media

    def _media_file(self, kind: str, value: Any) -> tuple[FakeFile, UploadedFile | None]:
        if isinstance(value, UploadedFile):
            mime = value.mime_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(value.filename or "")[0] or mime
            folder = {"photo": "photos", "sticker": "stickers", "voice": "voice"}.get(kind, kind + "s")
            f = self.register_file(value.data, kind=folder, file_name=value.filename, mime_type=mime)
            return f, value
        if isinstance(value, str) and value:
            known = self._files.get(value)
            if known is not None:
                return known, None
            if value.startswith(("http://", "https://")):
                return self.register_file(b"", kind="remote", file_name=value.rsplit("/", 1)[-1]), None
        raise _bad("wrong file identifier/HTTP URL specified")

    @staticmethod
    def _media_object(kind: str, f: FakeFile, params: JSON) -> Any:
        base: JSON = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_size": len(f.data)}
        if kind == "photo":
            return [{**base, "width": 1280, "height": 960}]
        if kind == "document":
            return {
                **base,
                "file_name": f.file_name or "document",
                "mime_type": f.mime_type or "application/octet-stream",
            }
        if kind in ("voice", "audio"):
            return {
                **base,
                "duration": int(params.get("duration") or 1),
                "mime_type": f.mime_type or "audio/ogg",
            }
        if kind in ("video", "animation"):
            return {**base, "width": 640, "height": 480, "duration": int(params.get("duration") or 1)}
        if kind == "video_note":
            return {**base, "length": 240, "duration": int(params.get("duration") or 1)}
        if kind == "sticker":
            return {
                **base,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        return base

    def _media_sender(self, method: str, kind: str) -> MethodHandler:
        def send(params: JSON) -> JSON:
            chat_id = self._require_chat(params)
            caption = params.get("caption")
            content: JSON = {}
            if caption:
                caption, content = self._check_text(
                    caption, params.get("parse_mode"), params.get("caption_entities"), caption=True
                )
            markup = self._check_markup(params)
            if params.get(kind) is None:
                raise _bad(f"there is no {kind} in the request")
            f, upload = self._media_file(kind, params[kind])
            content[kind] = self._media_object(kind, f, params)
            msg = self._new_bot_message(chat_id, content, markup)
            self._record(
                self._new_call(
                    method,
                    chat_id,
                    msg["message_id"],
                    params,
                    caption=caption,
                    upload=upload,
                    file_id=f.file_id,
                    message=msg,
                )
            )
            self._count_delivery(chat_id, None, method)
            return msg

        return send

    def _m_send_media_group(self, params: JSON) -> list[JSON]:
        chat_id = self._require_chat(params)
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise _bad(
                "wrong number of media specified" if isinstance(media, list) else "media must be an array"
            )
        prepared: list[tuple[str, FakeFile, UploadedFile | None, str | None, JSON, JSON]] = []
        for item in media:
            kind = str(item.get("type", ""))
            ref = item.get("media")
            if isinstance(ref, str) and ref.startswith("attach://"):
                ref = params.get(ref[len("attach://") :])
            f, upload = self._media_file(kind, ref)
            caption = item.get("caption")
            fields: JSON = {}
            if caption:
                caption, fields = self._check_text(
                    caption, item.get("parse_mode"), item.get("caption_entities"), caption=True
                )
            prepared.append((kind, f, upload, caption, item, fields))
        group_id = str(next(self._file_counter) * 1000 + 7)
        out = []
        for kind, f, upload, caption, item, fields in prepared:
            content: JSON = {**fields, kind: self._media_object(kind, f, item), "media_group_id": group_id}
            msg = self._new_bot_message(chat_id, content, None)
            self._record(
                self._new_call(
                    "sendMediaGroup",
                    chat_id,
                    msg["message_id"],
                    {**params, "item": item},
                    caption=caption,
                    upload=upload,
                    file_id=f.file_id,
                    message=msg,
                )
            )
            self._count_delivery(chat_id, None, "sendMediaGroup")
            out.append(msg)
        return out


# --------------------------------------------------------------------------------------------
# Threaded mode
# --------------------------------------------------------------------------------------------


class ThreadedFakeTelegramAPI:
    """Runs a :class:`FakeTelegramAPI` on its own event loop in a daemon thread.

    For a bot under test in another process (which can be SIGKILLed and restarted while the fake
    keeps its state), or for synchronous test code. Every method below is thread-safe: it runs
    on the server's loop and blocks the caller until done. From async test code running the bot
    in the *same* process use ``await threaded.acall(threaded.api.wait_for_messages(...))``
    instead of the blocking twins (blocking the bot's own loop would deadlock).

        with ThreadedFakeTelegramAPI(token=TOKEN) as api:
            env = {"BOT_API_BASE_URL": api.base_url, ...}
            ...
            api.send_text(42, "hi")
            api.wait_for_messages(42, 1)
    """

    def __init__(
        self, token: str | None = None, *, api: FakeTelegramAPI | None = None, **kwargs: Any
    ) -> None:
        self.api = api if api is not None else FakeTelegramAPI(token, **kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self, timeout: float = 10.0) -> ThreadedFakeTelegramAPI:
        if self._thread is not None:
            return self
        started = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                loop.run_until_complete(self.api.start())
            except BaseException as exc:
                errors.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.api.stop())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="FakeTelegramAPI", daemon=True)
        self._thread.start()
        if not started.wait(timeout):
            raise TimeoutError("FakeTelegramAPI thread did not start")
        if errors:
            self._thread = None
            raise errors[0]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._thread = None
        self._loop = None

    def __enter__(self) -> ThreadedFakeTelegramAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # bridging
    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = 60.0) -> T:
        """Run a coroutine of ``self.api`` on the server loop; block for its result."""
        if self._loop is None:
            coro.close()
            raise RuntimeError("ThreadedFakeTelegramAPI is not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def acall(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await a coroutine of ``self.api`` from another event loop without blocking it."""
        if self._loop is None:
            coro.close()
            raise RuntimeError("ThreadedFakeTelegramAPI is not started")
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    def run_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a plain function on the server loop (safe access to its state)."""

        async def inner() -> T:
            return fn(*args, **kwargs)

        return self.call(inner())

    # properties
    @property
    def base_url(self) -> str:
        return self.api.base_url

    @property
    def base_file_url(self) -> str:
        return self.api.base_file_url

    @property
    def url(self) -> str:
        return self.api.url

    @property
    def stats(self) -> FakeStats:
        """Live object (read-only use); see :meth:`stats_snapshot` for a consistent copy."""
        return self.api.stats

    def stats_snapshot(self) -> JSON:
        return self.run_sync(self.api.stats.snapshot)

    # configuration
    def set_faults(self, plan: FaultPlan | None) -> None:
        self.run_sync(self.api.set_faults, plan)

    def enforce_limits(self, *args: Any, **kwargs: Any) -> RateLimits:
        return self.run_sync(self.api.enforce_limits, *args, **kwargs)

    def disable_limits(self) -> None:
        self.run_sync(self.api.disable_limits)

    def reset_stats(self) -> FakeStats:
        return self.run_sync(self.api.reset_stats)

    def block_user(self, user_id: int, blocked: bool = True) -> None:
        self.run_sync(self.api.block_user, user_id, blocked)

    def user(self, user_id: int, first_name: str | None = None, **kwargs: Any) -> JSON:
        return self.run_sync(self.api.user, user_id, first_name, **kwargs)

    def register_file(self, data: bytes, **kwargs: Any) -> FakeFile:
        return self.run_sync(self.api.register_file, data, **kwargs)

    # pushing updates
    def send_text(self, user_id: int, text: str, **kwargs: Any) -> int:
        return self.call(self.api.send_text(user_id, text, **kwargs))

    def send_command(
        self, user_id: int, command: str, args: str | Sequence[str] | None = None, **kwargs: Any
    ) -> int:
        return self.call(self.api.send_command(user_id, command, args, **kwargs))

    def press(self, user_id: int, callback_data: str, message_id: int | None = None, **kwargs: Any) -> int:
        return self.call(self.api.press(user_id, callback_data, message_id, **kwargs))

    def press_text(self, user_id: int, label: str, message_id: int | None = None) -> int:
        return self.call(self.api.press_text(user_id, label, message_id))

    def send_sticker(self, user_id: int, emoji: str = "👍", **kwargs: Any) -> int:
        return self.call(self.api.send_sticker(user_id, emoji, **kwargs))

    def send_voice(
        self, user_id: int, data: bytes = b"OggS\x00fake-voice", duration: int = 3, **kwargs: Any
    ) -> int:
        return self.call(self.api.send_voice(user_id, data, duration, **kwargs))

    def send_location(
        self, user_id: int, latitude: float = 39.9042, longitude: float = 116.4074, **kwargs: Any
    ) -> int:
        return self.call(self.api.send_location(user_id, latitude, longitude, **kwargs))

    def send_contact(
        self, user_id: int, phone_number: str = "+8613800000000", first_name: str | None = None
    ) -> int:
        return self.call(self.api.send_contact(user_id, phone_number, first_name))

    def send_document(self, user_id: int, data: bytes, file_name: str = "document.pdf", **kwargs: Any) -> int:
        return self.call(self.api.send_document(user_id, data, file_name, **kwargs))

    def send_photo(self, user_id: int, data: bytes, **kwargs: Any) -> int:
        return self.call(self.api.send_photo(user_id, data, **kwargs))

    def send_message_update(self, user_id: int, content: JSON, **kwargs: Any) -> int:
        return self.call(self.api.send_message_update(user_id, content, **kwargs))

    def push_raw(self, update: JSON, update_id: int | None = None) -> int:
        return self.call(self.api.push_raw(update, update_id))

    def push_duplicate(self, update_id: int) -> int:
        return self.call(self.api.push_duplicate(update_id))

    def pending_updates(self) -> int:
        return self.run_sync(self.api.pending_updates)

    def deliver_to_webhook(
        self, url: str | None = None, update: JSON | None = None, secret_token: Any = _USE_STORED
    ) -> int:
        return self.call(self.api.deliver_to_webhook(url, update, secret_token))

    # log
    @property
    def webhook(self) -> JSON | None:
        return self.run_sync(lambda: dict(self.api.webhook) if self.api.webhook else None)

    def mark(self) -> int:
        return self.run_sync(self.api.mark)

    def calls(
        self, method: str | None = None, chat_id: int | str | None = None, **kwargs: Any
    ) -> list[BotCall]:
        return self.run_sync(self.api.calls, method, chat_id, **kwargs)

    def messages(self, chat_id: int | str | None = None, **kwargs: Any) -> list[BotCall]:
        return self.run_sync(self.api.messages, chat_id, **kwargs)

    def texts(self, chat_id: int | str, **kwargs: Any) -> list[str]:
        return self.run_sync(self.api.texts, chat_id, **kwargs)

    def last_message(self, chat_id: int | str, **kwargs: Any) -> BotCall | None:
        return self.run_sync(self.api.last_message, chat_id, **kwargs)

    def current_message(self, chat_id: int | str, message_id: int) -> JSON | None:
        return self.run_sync(self.api.current_message, chat_id, message_id)

    def last_keyboard(self, chat_id: int | str) -> list[list[tuple[str, str | None]]]:
        return self.run_sync(self.api.last_keyboard, chat_id)

    def last_reply_keyboard(self, chat_id: int | str) -> list[list[str]] | None:
        return self.run_sync(self.api.last_reply_keyboard, chat_id)

    def clear_log(self) -> None:
        self.run_sync(self.api.clear_log)

    def wait_for(self, predicate: Callable[[BotCall], bool], timeout: float = 5.0, **kwargs: Any) -> BotCall:
        return self.call(self.api.wait_for(predicate, timeout, **kwargs), timeout + 5)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        self.call(self.api.wait_until(condition, timeout), timeout + 5)

    def wait_for_messages(
        self, chat_id: int | str, count: int = 1, timeout: float = 5.0, **kwargs: Any
    ) -> list[BotCall]:
        return self.call(self.api.wait_for_messages(chat_id, count, timeout, **kwargs), timeout + 5)

    def wait_for_idle(self, timeout: float = 5.0) -> None:
        self.call(self.api.wait_for_idle(timeout), timeout + 5)
