"""A fake Telegram Bot API server on loopback, for end-to-end tests and benchmarks.

The real python-telegram-bot ``Bot``/``Application`` talks to it over HTTP exactly as it would
talk to ``api.telegram.org``::

    async with FakeTelegramAPI(token=TOKEN) as api:
        app = ApplicationBuilder().token(TOKEN).base_url(api.base_url).base_file_url(api.base_file_url)...
        await api.send_text(42, "hello")
        reply = await api.wait_for(lambda call: call.chat_id == 42)

It serves what the bot uses, with the Bot API's semantics (https://core.telegram.org/bots/api):
``getUpdates`` (long polling; updates kept until a later call confirms them with ``offset``) or
a webhook (updates POSTed one at a time with the secret token), ``sendMessage``,
``editMessageText``, ``answerCallbackQuery``, ``sendPhoto``, ``sendDocument``, ``getFile`` and
the file download, ``sendChatAction``, ``setMyCommands``/``getMyCommands`` (by scope and
language), ``getMe``, ``setWebhook``/``deleteWebhook``/``getWebhookInfo``. It enforces
Telegram's length limits (4096 characters a message, 1024 a caption) and callback data of
1-64 bytes; on request, Telegram's flood limits (``enforce_limits``: 429 with
``retry_after``) and injected faults (``FaultPlan``). Everything runs on the test's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import random
import re
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

JSON = dict[str, Any]

SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
EDIT_METHODS = frozenset({"editMessageText"})
MESSAGE_METHODS = SEND_METHODS | EDIT_METHODS
DEFAULT_FAULT_METHODS = MESSAGE_METHODS | {"answerCallbackQuery"}
FAULT_KINDS = frozenset({"429", "500", "502", "drop", "late"})
MAX_TEXT = 4096
MAX_CAPTION = 1024
# Parameters PTB sends JSON-encoded; every other one is taken as the string it is.
_JSON_FIELDS = frozenset({"reply_markup", "allowed_updates", "commands", "scope"})
_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


class ApiError(Exception):
    """Raised by a method to answer ``{"ok": false, ...}``."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code, self.description = code, description


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


# Records ------------------------------------------------------------------------------------


@dataclass(slots=True)
class UploadedFile:
    """A file the bot uploaded (sendPhoto/sendDocument)."""

    filename: str | None
    data: bytes


@dataclass(slots=True)
class FakeFile:
    """A file known to the fake: served by getFile and ``GET /file/bot<token>/<file_path>``."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes


@dataclass(slots=True)
class BotCall:
    """One recorded call of the bot: a message sent or edited, a callback answer, a chat action."""

    seq: int
    method: str
    chat_id: int | None
    message_id: int | None = None
    text: str | None = None
    caption: str | None = None
    reply_markup: JSON | None = None
    params: JSON = field(default_factory=dict)
    upload: UploadedFile | None = None
    monotonic: float = 0.0

    @property
    def body(self) -> str | None:
        """``text`` of a text message, ``caption`` of a photo or document."""
        return self.text if self.text is not None else self.caption

    @property
    def keyboard(self) -> list[list[tuple[str, str | None]]]:
        """The inline keyboard as rows of ``(label, callback_data)``; ``[]`` if none."""
        return _rows(self.reply_markup)


def _rows(markup: JSON | None) -> list[list[tuple[str, str | None]]]:
    if not markup or "inline_keyboard" not in markup:
        return []
    return [
        [(str(b.get("text", "")), b.get("callback_data")) for b in row] for row in markup["inline_keyboard"]
    ]


@dataclass
class FakeStats:
    """Counters for assertions and benchmarks (times are ``time.monotonic()``)."""

    requests: Counter[str] = field(default_factory=Counter)
    delivered: int = 0  # messages sent (not edits)
    delivered_per_chat: Counter[int] = field(default_factory=Counter)
    edits: int = 0
    rate_limited: int = 0  # 429s answered by enforce_limits()
    refused: Counter[str] = field(default_factory=Counter)  # calls answered 400/403, by method and why
    faults: Counter[str] = field(default_factory=Counter)  # injected, by kind
    duplicates: int = 0  # sendMessage of a (chat, text) already delivered
    duplicate_keys: list[tuple[int, str]] = field(default_factory=list)
    first_delivery: float | None = None
    last_delivery: float | None = None
    polling: int = 0  # getUpdates calls being answered now
    poll_overlaps: int = 0  # getUpdates calls begun while another was open (Telegram: 409 Conflict)

    def achieved_rate(self) -> float:
        """Messages delivered a second, between the first delivery and the last."""
        if self.first_delivery is None or self.last_delivery is None:
            return 0.0
        span = self.last_delivery - self.first_delivery
        return self.delivered / span if span > 0 else float(self.delivered)


# Faults and flood limits --------------------------------------------------------------------


@dataclass
class FaultPlan:
    """Fail a share (``rate``) of the bot's calls of ``methods``, each fault of a kind drawn
    from ``kinds`` (repeat a kind to make it likelier):

    - ``"429"``: Too Many Requests with ``retry_after`` (PTB raises ``RetryAfter``);
    - ``"500"``, ``"502"``: a server error (PTB raises ``NetworkError``);
    - ``"drop"``: the connection is closed before the call is carried out;
    - ``"late"``: the call IS carried out (the message is in the chat), the answer comes
      ``late_by`` seconds later: a client with a shorter read time-out sees ``TimedOut``.
    """

    rate: float = 0.2
    kinds: Sequence[str] = ("429", "502")
    retry_after: float = 1
    late_by: float = 2.0
    seed: int | None = None
    methods: Collection[str] = DEFAULT_FAULT_METHODS

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - FAULT_KINDS
        if unknown or not self.kinds:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; use some of {sorted(FAULT_KINDS)}")
        self._rng = random.Random(self.seed)

    def pick(self, method: str) -> str | None:
        if method not in self.methods or self._rng.random() >= self.rate:
            return None
        return self._rng.choice(list(self.kinds))


class _Bucket:
    """A token bucket: ``rate`` a second, ``burst`` at once."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst, self.tokens, self.stamp = rate, burst, burst, time.monotonic()

    def wait(self, now: float) -> float:
        self.tokens = min(self.burst, self.tokens + max(now - self.stamp, 0) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass
class RateLimits:
    """Telegram's flood limits as token buckets: overall and per chat."""

    global_per_second: float = 30
    per_chat_per_second: float = 1
    global_burst: float | None = None  # None: one second's worth
    per_chat_burst: float = 3
    methods: Collection[str] = MESSAGE_METHODS

    def __post_init__(self) -> None:
        self._global = _Bucket(self.global_per_second, self.global_burst or self.global_per_second)
        self._chats: dict[int, _Bucket] = {}

    def check(self, chat_id: int | None) -> int:
        """0 if the call may pass (and it is counted), else ``retry_after`` in whole seconds."""
        now = time.monotonic()
        buckets = [self._global]
        if chat_id is not None:
            if chat_id not in self._chats:
                self._chats[chat_id] = _Bucket(self.per_chat_per_second, self.per_chat_burst)
            buckets.append(self._chats[chat_id])
        wait = max(b.wait(now) for b in buckets)
        if wait > 0:
            return max(1, math.ceil(wait))
        for b in buckets:
            b.tokens -= 1
        return 0


class _Signal:
    """Wakes every waiter at each ``fire()``."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        event = self._event  # taken before any suspension: no wake-up is lost
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(seconds, 0)):
                await event.wait()


# The server -----------------------------------------------------------------------------------


class FakeTelegramAPI:
    """The fake Bot API server (aiohttp) on 127.0.0.1.

    Args:
        token: only this token is accepted (others get 401, as from Telegram); None: any.
        webhook_retry_delay: a webhook POST that failed is retried after this many seconds.
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        bot_username: str = "archive_test_bot",
        default_language_code: str | None = "zh-hans",
        webhook_retry_delay: float = 0.2,
    ) -> None:
        self.token = token
        prefix = (token or "").split(":", 1)[0]
        self.bot_user: JSON = {
            "id": int(prefix) if prefix.isdigit() else 7_000_000_001,
            "is_bot": True,
            "first_name": "Archive Test Bot",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.default_language_code = default_language_code
        self.webhook_retry_delay = webhook_retry_delay
        self.port: int | None = None
        self.faults: FaultPlan | None = None
        self.limits: RateLimits | None = None
        self.stats = FakeStats()
        self.log: list[BotCall] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}  # (scope as JSON, language) → commands
        self.webhook: JSON | None = None  # {"url", "secret_token"}

        self._users: dict[int, JSON] = {}
        self._blocked: set[int] = set()
        self._next_message_id: dict[int, int] = {}
        self._bot_messages: dict[int, dict[int, JSON]] = {}  # chat → message id → Message now
        self._callback_queries: dict[str, int] = {}  # id → chat
        self._callback_ids = itertools.count(int(time.time()) * 1000)
        self._files: dict[str, FakeFile] = {}
        self._file_ids = itertools.count(1)
        self._sent: set[tuple[int, str]] = set()

        self._last_update_id = 999
        self._queue: deque[JSON] = deque()  # unconfirmed updates, oldest first
        self._redeliver: deque[JSON] = deque()  # push_duplicate(): delivered again regardless of offset
        self._pushed: dict[int, JSON] = {}
        self._updates = _Signal()
        self._logged = _Signal()
        self._webhook_task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._methods: dict[str, Callable[[JSON], Any]] = {
            "getMe": lambda p: self.bot_user,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": lambda p: self.commands.get(_scope_key(p), []),
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "sendPhoto": lambda p: self._send_media("sendPhoto", "photo", p),
            "sendDocument": lambda p: self._send_media("sendDocument", "document", p),
        }

    # Lifecycle ----------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``: PTB appends the token."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def __aenter__(self) -> FakeTelegramAPI:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stop_webhook_worker()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # Configuration ------------------------------------------------------------------------------

    def set_faults(self, plan: FaultPlan | None) -> None:
        self.faults = plan

    def enforce_limits(
        self, global_per_second: float = 30, per_chat_per_second: float = 1, *, per_chat_burst: float = 3
    ) -> RateLimits:
        """Answer 429 with a whole-second ``retry_after`` to messages over Telegram-like flood
        limits (``per_chat_burst`` messages to a chat pass before one a second applies)."""
        self.limits = RateLimits(global_per_second, per_chat_per_second, per_chat_burst=per_chat_burst)
        return self.limits

    def block_user(self, user_id: int) -> None:
        """Sends to the user are answered 403 "bot was blocked by the user"."""
        self._blocked.add(user_id)

    def user(self, user_id: int, first_name: str | None = None) -> JSON:
        """Declare (or rename) a simulated user; their Bot API ``User``."""
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name or f"User{user_id}"}
        if self.default_language_code:
            user["language_code"] = self.default_language_code
        self._users[user_id] = user
        return user

    # The users' side ----------------------------------------------------------------------------

    def _from(self, user_id: int) -> JSON:
        return self._users.get(user_id) or self.user(user_id)

    def _chat(self, chat_id: int) -> JSON:
        return {"id": chat_id, "type": "private", "first_name": self._from(chat_id)["first_name"]}

    def _new_message_id(self, chat_id: int) -> int:
        self._next_message_id[chat_id] = self._next_message_id.get(chat_id, 0) + 1
        return self._next_message_id[chat_id]

    def _push(self, update: JSON) -> int:
        self._last_update_id += 1
        update = {"update_id": self._last_update_id, **update}
        self._pushed[self._last_update_id] = update
        self._queue.append(update)
        self._updates.fire()
        return self._last_update_id

    async def _message(self, user_id: int, content: JSON) -> int:
        message = {
            "message_id": self._new_message_id(user_id),
            "from": self._from(user_id),
            "chat": self._chat(user_id),
            "date": int(time.time()),
            **content,
        }
        return self._push({"message": message})

    async def send_text(self, user_id: int, text: str) -> int:
        """The user types ``text`` (a leading /command gets its entity, as from Telegram)."""
        content: JSON = {"text": text}
        if command := _COMMAND.match(text):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command.group(0))}]
        return await self._message(user_id, content)

    async def edit_text(self, update_id: int, text: str) -> int:
        """The user edits the message they sent in update ``update_id``: an ``edited_message``."""
        message = {**self._pushed[update_id]["message"], "text": text, "edit_date": int(time.time())}
        message.pop("entities", None)
        return self._push({"edited_message": message})

    async def send_command(self, user_id: int, command: str, args: str = "") -> int:
        """``send_command(1, "/start", "code")``: what opening t.me/<bot>?start=code sends."""
        return await self.send_text(user_id, f"{command} {args}".strip())

    async def send_sticker(self, user_id: int) -> int:
        sticker = self._file(b"RIFF\x00\x00\x00\x00WEBP", "stickers")
        info = {"file_id": sticker.file_id, "file_unique_id": sticker.file_unique_id}
        return await self._message(
            user_id,
            {
                "sticker": {
                    **info,
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "emoji": "👍",
                }
            },
        )

    async def send_document(self, user_id: int, data: bytes, file_name: str, mime_type: str) -> int:
        """The user sends a file (a picture sent uncompressed is one too)."""
        f = self._file(data, "documents")
        document = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        return await self._message(user_id, {"document": document})

    async def send_photo(self, user_id: int, data: bytes, *, caption: str | None = None) -> int:
        """The user sends a photo: a thumbnail and the full size, both served by getFile."""
        sizes = []
        for width, height in ((90, 68), (1280, 960)):
            f = self._file(data, "photos")
            sizes.append(
                {
                    "file_id": f.file_id,
                    "file_unique_id": f.file_unique_id,
                    "width": width,
                    "height": height,
                    "file_size": len(data),
                }
            )
        content: JSON = {"photo": sizes}
        if caption is not None:
            content["caption"] = caption
        return await self._message(user_id, content)

    async def press(
        self, user_id: int, data: str, message_id: int | None = None, *, strict: bool = True
    ) -> int:
        """The user presses an inline button: a ``callback_query`` update. Without ``message_id``,
        on the newest message showing that button; with ``strict``, the button must be showing."""
        shown = self._bot_messages.get(user_id, {})
        if message_id is None:
            message = next((m for m in reversed(shown.values()) if _shows(m, data)), None)
            if message is None:
                raise LookupError(
                    f"no message in chat {user_id} shows {data!r}: {self.last_keyboard(user_id)}"
                )
        else:
            message = shown.get(message_id)
            if strict and (message is None or not _shows(message, data)):
                raise LookupError(f"message {message_id} in chat {user_id} does not show {data!r}")
            message = message or {"message_id": message_id, "chat": self._chat(user_id), "date": 0}
        query_id = str(next(self._callback_ids))
        self._callback_queries[query_id] = user_id
        query = {
            "id": query_id,
            "from": self._from(user_id),
            "message": message,
            "chat_instance": str(user_id),
            "data": data,
        }
        return self._push({"callback_query": query})

    async def press_text(self, user_id: int, label: str) -> int:
        """Press the inline button labelled ``label`` on the newest message showing it."""
        for message in reversed(self._bot_messages.get(user_id, {}).values()):
            for row in _rows(message.get("reply_markup")):
                for text, data in row:
                    if text == label and data is not None:
                        return await self.press(user_id, data, message["message_id"])
        raise LookupError(
            f"no button {label!r} in chat {user_id}; last keyboard: {self.last_keyboard(user_id)}"
        )

    async def push_duplicate(self, update_id: int) -> int:
        """Deliver an update again with the same id (as Telegram does after a bot crashed
        before confirming it), even if it was confirmed."""
        self._redeliver.append(self._pushed[update_id])
        self._updates.fire()
        return update_id

    # The log --------------------------------------------------------------------------------------

    def mark(self) -> int:
        """A position in the log: pass it as ``since=`` to see only later calls."""
        return len(self.log) + 1

    def calls(
        self, method: str | None = None, chat_id: int | None = None, *, since: int = 0
    ) -> list[BotCall]:
        return [
            c
            for c in self.log[max(since - 1, 0) :]
            if (method is None or c.method == method) and (chat_id is None or c.chat_id == chat_id)
        ]

    def messages(self, chat_id: int | None = None, *, since: int = 0, edits: bool = True) -> list[BotCall]:
        """Messages sent (and, unless ``edits=False``, edited), oldest first."""
        methods = MESSAGE_METHODS if edits else SEND_METHODS
        return [c for c in self.calls(chat_id=chat_id, since=since) if c.method in methods]

    def texts(self, chat_id: int, *, since: int = 0, edits: bool = True) -> list[str]:
        return [m.body or "" for m in self.messages(chat_id, since=since, edits=edits)]

    def last_message(self, chat_id: int, *, edits: bool = True) -> BotCall | None:
        found = self.messages(chat_id, edits=edits)
        return found[-1] if found else None

    def keyboard(self, chat_id: int, message_id: int) -> list[list[tuple[str, str | None]]]:
        """The inline keyboard the message shows now (after edits)."""
        return _rows(self._bot_messages.get(chat_id, {}).get(message_id, {}).get("reply_markup"))

    def last_keyboard(self, chat_id: int) -> list[list[tuple[str, str | None]]]:
        """The keyboard of the newest message in the chat that still shows one; ``[]`` if none."""
        for message in reversed(self._bot_messages.get(chat_id, {}).values()):
            if rows := _rows(message.get("reply_markup")):
                return rows
        return []

    async def wait_for(
        self,
        predicate: Callable[[BotCall], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        since: int = 0,
    ) -> BotCall:
        """The first logged call from ``since`` on that matches ``predicate``."""
        deadline = time.monotonic() + timeout
        seen = max(since - 1, 0)
        while True:
            while seen < len(self.log):
                call = self.log[seen]
                seen += 1
                if predicate(call):
                    return call
            if time.monotonic() >= deadline:
                tail = [(c.method, c.chat_id, c.body) for c in self.log[-5:]]
                raise TimeoutError(f"no matching call within {timeout} s; last calls: {tail}")
            await self._logged.wait(deadline - time.monotonic())

    # The webhook --------------------------------------------------------------------------------

    async def deliver_to_webhook(self, url: str, update: JSON, secret_token: str | None) -> int:
        """POST one update to ``url`` with ``secret_token``; the HTTP status."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        headers = {"Content-Type": "application/json"}
        if secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
        if "update_id" not in update:
            self._last_update_id += 1
            update = {"update_id": self._last_update_id, **update}
        async with self._session.post(url, data=json.dumps(update), headers=headers) as response:
            await response.read()
            return response.status

    async def _webhook_worker(self) -> None:
        """Like Telegram: one update at a time, the next once the bot answered 2xx."""
        while (hook := self.webhook) is not None:
            queue = self._redeliver or self._queue
            if not queue:
                await self._updates.wait(3600)
                continue
            try:
                status = await self.deliver_to_webhook(hook["url"], queue[0], hook.get("secret_token"))
            except (aiohttp.ClientError, OSError, TimeoutError):
                status = 0
            if 200 <= status < 300:
                queue.popleft()
            else:
                await asyncio.sleep(self.webhook_retry_delay)

    async def _stop_webhook_worker(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # HTTP ---------------------------------------------------------------------------------------

    @staticmethod
    def _answer(payload: JSON, status: int = 200) -> web.Response:
        return web.Response(
            body=json.dumps(payload, ensure_ascii=False).encode(),
            status=status,
            content_type="application/json",
        )

    def _error(self, code: int, description: str, parameters: JSON | None = None) -> web.Response:
        payload: JSON = {"ok": False, "error_code": code, "description": description}
        if parameters:
            payload["parameters"] = parameters
        return self._answer(payload, code)

    async def _params(self, request: web.Request) -> JSON:
        params: JSON = dict(request.query)
        if request.method == "POST" and request.body_exists:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                for key, value in (await request.post()).items():
                    if isinstance(value, web.FileField):
                        params[key] = UploadedFile(value.filename, value.file.read())
                    else:
                        params[key] = json.loads(value) if key in _JSON_FIELDS else str(value)
        return params

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if self.token is not None and request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        name = request.match_info["method"]
        method = self._methods.get(name)
        if method is None:
            return self._error(404, "Not Found")
        self.stats.requests[name] += 1
        params = await self._params(request)
        chat_id = _int(params.get("chat_id"))
        if name == "answerCallbackQuery":
            chat_id = self._callback_queries.get(str(params.get("callback_query_id")))

        fault = self.faults.pick(name) if self.faults is not None else None
        if fault is not None:
            self.stats.faults[fault] += 1
        if fault == "429":
            assert self.faults is not None
            seconds = self.faults.retry_after
            retry_after = int(seconds) if float(seconds).is_integer() else seconds
            return self._error(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        if fault in ("500", "502"):
            return self._error(int(fault), "Internal Server Error" if fault == "500" else "Bad Gateway")
        if fault == "drop":
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError  # nothing can be answered on a closed connection

        if self.limits is not None and name in self.limits.methods:
            if retry_after := self.limits.check(chat_id):
                self.stats.rate_limited += 1
                return self._error(
                    429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
                )

        try:
            result = method(params)
            if isinstance(result, Awaitable):
                result = await result
        except ApiError as exc:
            self.stats.refused[f"{name}: {exc.description}"] += 1
            return self._error(exc.code, exc.description)
        if fault == "late":
            assert self.faults is not None
            await asyncio.sleep(self.faults.late_by)
        return self._answer({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if self.token is not None and request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        found = next((f for f in self._files.values() if f.file_path == request.match_info["path"]), None)
        if found is None:
            return self._error(404, "Not Found")
        return web.Response(body=found.data, content_type="application/octet-stream")

    # Bot API methods ------------------------------------------------------------------------------

    async def _get_updates(self, params: JSON) -> list[JSON]:
        if self.stats.polling:
            self.stats.poll_overlaps += 1
        self.stats.polling += 1
        try:
            return await self._poll(params)
        finally:
            self.stats.polling -= 1

    async def _poll(self, params: JSON) -> list[JSON]:
        offset = _int(params.get("offset"))
        limit = max(1, min(100, _int(params.get("limit")) or 100))
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        if offset is not None:  # confirms every update before it
            while self._queue and self._queue[0]["update_id"] < offset:
                self._queue.popleft()
        while True:
            if self.webhook is not None:
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
            out: list[JSON] = []
            while self._redeliver and len(out) < limit:
                out.append(self._redeliver.popleft())
            out += list(itertools.islice(self._queue, limit - len(out)))
            if out or time.monotonic() >= deadline:
                return out
            await self._updates.wait(deadline - time.monotonic())

    def _set_webhook(self, params: JSON) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params)
        if params.get("drop_pending_updates") in (True, "true"):
            self._queue.clear()
        self.webhook = {"url": url, "secret_token": params.get("secret_token")}
        self._updates.fire()  # a pending long poll ends
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._webhook_worker())
        return True

    def _delete_webhook(self, params: JSON) -> bool:
        self.webhook = None
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None
        if params.get("drop_pending_updates") in (True, "true"):
            self._queue.clear()
        return True

    def _get_webhook_info(self, params: JSON) -> JSON:
        url = self.webhook["url"] if self.webhook else ""
        return {"url": url, "has_custom_certificate": False, "pending_update_count": len(self._queue)}

    def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("commands must be an array")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[_scope_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _chat_of(self, params: JSON) -> int:
        chat_id = _int(params.get("chat_id"))
        if chat_id is None:
            raise _bad("chat not found")
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _record(self, method: str, chat_id: int | None, params: JSON, **fields: Any) -> BotCall:
        call = BotCall(
            len(self.log) + 1, method, chat_id, params=params, monotonic=time.monotonic(), **fields
        )
        self.log.append(call)
        self._logged.fire()
        return call

    def _new_message(self, method: str, chat_id: int, params: JSON, content: JSON, **fields: Any) -> JSON:
        markup = _markup(params)
        message: JSON = {
            "message_id": self._new_message_id(chat_id),
            "from": self.bot_user,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **content,
        }
        if markup is not None:
            message["reply_markup"] = markup
        self._bot_messages.setdefault(chat_id, {})[message["message_id"]] = message
        self._record(method, chat_id, params, message_id=message["message_id"], reply_markup=markup, **fields)
        stats = self.stats
        stats.delivered += 1
        stats.delivered_per_chat[chat_id] += 1
        stats.last_delivery = time.monotonic()
        stats.first_delivery = stats.first_delivery or stats.last_delivery
        if method == "sendMessage":
            key = (chat_id, content["text"])
            if key in self._sent:
                stats.duplicates += 1
                stats.duplicate_keys.append(key)
            self._sent.add(key)
        return message

    def _send_message(self, params: JSON) -> JSON:
        chat_id = self._chat_of(params)
        text = _text(params.get("text"))
        return self._new_message("sendMessage", chat_id, params, {"text": text}, text=text)

    def _send_media(self, method: str, kind: str, params: JSON) -> JSON:
        chat_id = self._chat_of(params)
        upload = params.get(kind)
        if isinstance(upload, UploadedFile):
            f = self._file(upload.data, kind + "s")
        elif isinstance(upload, str) and upload in self._files:  # a file id sent before
            f, upload = self._files[upload], None
        else:
            raise _bad(f"there is no {kind} in the request")
        caption = params.get("caption")
        if caption is not None and len(caption) > MAX_CAPTION:
            raise _bad("message caption is too long")
        info = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_size": len(f.data)}
        content: JSON = (
            {"photo": [{**info, "width": 1280, "height": 960}]}
            if kind == "photo"
            else {"document": {**info, "file_name": getattr(upload, "filename", None) or "document"}}
        )
        if caption:
            content["caption"] = caption
        return self._new_message(method, chat_id, params, content, caption=caption, upload=upload)

    def _edit_message_text(self, params: JSON) -> JSON:
        chat_id = self._chat_of(params)
        message = self._bot_messages.get(chat_id, {}).get(_int(params.get("message_id")) or 0)
        if message is None:
            raise _bad("message to edit not found")
        text, markup = _text(params.get("text")), _markup(params)
        if message.get("text") == text and message.get("reply_markup") == markup:
            raise _bad(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        edited = {**message, "text": text, "edit_date": int(time.time())}
        edited.pop("reply_markup", None)
        if markup is not None:
            edited["reply_markup"] = markup
        self._bot_messages[chat_id][message["message_id"]] = edited
        self._record(
            "editMessageText",
            chat_id,
            params,
            message_id=message["message_id"],
            text=text,
            reply_markup=markup,
        )
        self.stats.edits += 1
        return edited

    def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self._callback_queries:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        self._record("answerCallbackQuery", self._callback_queries[query_id], params, text=params.get("text"))
        return True

    def _send_chat_action(self, params: JSON) -> bool:
        self._record("sendChatAction", self._chat_of(params), params, text=params.get("action"))
        return True

    def _get_file(self, params: JSON) -> JSON:
        f = self._files.get(str(params.get("file_id")))
        if f is None:
            raise _bad("invalid file_id")
        self._record("getFile", None, params)
        return {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_size": len(f.data),
            "file_path": f.file_path,
        }

    def _file(self, data: bytes, folder: str) -> FakeFile:
        n = next(self._file_ids)
        f = FakeFile(f"BQACAgUAAxk{n:06d}", f"AgAD{n:06d}", f"{folder}/file_{n}", bytes(data))
        self._files[f.file_id] = f
        return f


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str:
    text = "" if value is None else str(value)
    if not text.strip():
        raise _bad("message text is empty")
    if len(text) > MAX_TEXT:
        raise _bad("message is too long")
    return text


def _markup(params: JSON) -> JSON | None:
    markup = params.get("reply_markup")
    if markup is None:
        return None
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list):
        raise _bad("can't parse inline keyboard markup")
    for row in rows:
        for button in row:
            if not button.get("text"):
                raise _bad("can't parse inline keyboard button: text is empty")
            if not 1 <= len(str(button.get("callback_data", "")).encode()) <= 64:
                raise _bad("BUTTON_DATA_INVALID")
    return markup


def _shows(message: JSON, data: str) -> bool:
    return any(d == data for row in _rows(message.get("reply_markup")) for _, d in row)


def _scope_key(params: JSON) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")
