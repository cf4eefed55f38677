"""A fake WeCom (企业微信) server for end-to-end tests, on loopback.

It plays both sides of a self-built application in callback mode:

- WeCom's server API under ``/cgi-bin``: ``gettoken``, ``message/send`` (text, markdown,
  template_card of type button_interaction, file, image), ``message/update_template_card``,
  ``media/upload``, ``media/get`` and ``menu/create``. Answers are ``{"errcode": 0, ...}`` or an
  error; errors can be scripted per API (``fail``), tokens expired (``expire_tokens``) and
  members removed from the application's range (``remove_member``: 81013). Everything sent is
  recorded, in order.
- The members: ``send_text``, ``send_image``, ``press``… build the callback XML, encrypt and
  sign it as WeCom does, and POST it to the bot's callback URL; ``redeliver`` posts the same
  request again (WeCom's retry), ``forge=True`` signs with the wrong token.

Usage::

    async with FakeWeCom() as api:
        ...  # run the bot with WECOM_API_BASE_URL=api.base_url, then set api.callback_url
        await api.send_text("ChenJiaShun", "/inspect")
        card = await api.wait_for(lambda m: m.is_card)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.wecom.crypto import WeComCrypto

JSON = dict[str, Any]

CORP_ID = "ww1436e0e65a779aee"
AGENT_ID = 1000002
SECRET = "fake-secret-0123456789abcdefghijklmnopqrstu"
TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"

TASK_ID = re.compile(r"^[A-Za-z0-9_\-@]{1,128}$")
INVALID = 40058  # 不合法的参数


@dataclass
class Sent:
    """One message the application sent (``message/send``)."""

    seq: int
    touser: str
    msgtype: str
    body: JSON
    response_code: str | None = None
    greyed: str | None = None  # the replace_name once the card was updated

    @property
    def is_card(self) -> bool:
        return self.msgtype == "template_card"

    @property
    def card(self) -> JSON:
        return dict(self.body.get("template_card") or {})

    @property
    def task_id(self) -> str:
        return str(self.card.get("task_id", ""))

    @property
    def text(self) -> str:
        if self.msgtype in ("text", "markdown"):
            return str(self.body[self.msgtype]["content"])
        if self.is_card:
            card = self.card
            parts = [card.get("main_title", {}).get("title", ""), card.get("sub_title_text", "")]
            return "\n".join(p for p in parts if p)
        return ""

    @property
    def buttons(self) -> list[tuple[str, str]]:
        return [(b["text"], b["key"]) for b in self.card.get("button_list", [])]


@dataclass
class Call:
    seq: int
    api: str
    errcode: int


@dataclass
class Delivery:
    """One callback POST, kept to be posted again."""

    status: int
    text: str
    params: dict[str, str]
    body: bytes
    user: str = ""


@dataclass
class Upload:
    kind: str
    filename: str
    data: bytes


@dataclass
class _Card:
    """A card as the member's client holds it: pressable until greyed out."""

    task_id: str
    touser: str
    keys: dict[str, str]  # key -> label
    message: Sent
    codes: set[str] = field(default_factory=set)


class FakeWeCom:
    def __init__(
        self,
        *,
        corp_id: str = CORP_ID,
        agent_id: int = AGENT_ID,
        secret: str = SECRET,
        token: str = TOKEN,
        aes_key: str = AES_KEY,
        token_lifetime: int = 7200,
    ) -> None:
        self.corp_id, self.agent_id, self.secret = corp_id, agent_id, secret
        self.token, self.aes_key = token, aes_key
        self.crypto = WeComCrypto(token, aes_key, corp_id)
        self.token_lifetime = token_lifetime
        self.callback_url: str | None = None
        # Set by a test harness: waits until the bot has handled every callback posted so far.
        self.settle: Callable[[], Awaitable[None]] | None = None
        self.sent: list[Sent] = []
        self.updates: list[JSON] = []
        self.calls: list[Call] = []
        self.uploads: dict[str, Upload] = {}
        self.menus: list[JSON] = []
        self.token_requests = 0
        self._seq = itertools.count(1)
        self._msg_ids = itertools.count(7_000_000_000_000_000_001)
        self._clock = int(time.time())
        self._script: dict[str, deque[int]] = {}
        self._tokens: dict[str, bool] = {}  # token -> still valid
        self._codes: dict[str, str] = {}  # response code -> task id
        self._used_codes: set[str] = set()
        self._cards: dict[str, _Card] = {}
        self._task_ids: set[str] = set()
        self._media: dict[str, bytes] = {}  # what members sent (media/get)
        self._removed: set[str] = set()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self.port = 0

    # Life -----------------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeWeCom:
        app = web.Application()
        app.router.add_route("*", "/cgi-bin/{api:.+}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._client = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cgi-bin"

    # Scripting ------------------------------------------------------------------------------------

    def fail(self, api: str, *errcodes: int) -> None:
        """The next calls of ``api`` (e.g. ``message/send``) answer these errcodes, in turn."""
        self._script.setdefault(api, deque()).extend(errcodes)

    def expire_tokens(self) -> None:
        """Every token issued so far answers 42001 (access_token expired) from now on."""
        for token in self._tokens:
            self._tokens[token] = False

    def remove_member(self, user: str) -> None:
        """The member leaves the application's visible range: sends to them answer 81013."""
        self._removed.add(user)

    def errors(self, api: str | None = None) -> list[int]:
        return [c.errcode for c in self.calls if c.errcode and (api is None or c.api == api)]

    # Observing ------------------------------------------------------------------------------------

    def mark(self) -> int:
        return self.sent[-1].seq if self.sent else 0

    def messages(self, user: str | None = None, since: int = 0) -> list[Sent]:
        return [m for m in self.sent if m.seq > since and (user is None or m.touser == user)]

    def texts(self, user: str, since: int = 0) -> list[str]:
        return [m.text for m in self.messages(user, since)]

    def last_card(self, user: str) -> Sent | None:
        return next((m for m in reversed(self.messages(user)) if m.is_card), None)

    async def wait_for(
        self,
        predicate: Callable[[Sent], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        since: int = 0,
    ) -> Sent:
        deadline = time.monotonic() + timeout
        while True:
            found = next((m for m in self.sent if m.seq > since and predicate(m)), None)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                tail = [(m.touser, m.msgtype, m.text[:60]) for m in self.sent[-5:]]
                raise TimeoutError(f"no matching message within {timeout} s; last: {tail}")
            await asyncio.sleep(0.005)

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not met")
            await asyncio.sleep(0.005)

    # The members' side: callbacks -----------------------------------------------------------------

    def _tick(self) -> str:
        self._clock += 1
        return str(self._clock)

    def message_xml(
        self, user: str, msg_type: str, fields: dict[str, str], create_time: str | None = None
    ) -> str:
        base = {
            "ToUserName": self.corp_id,
            "FromUserName": user,
            "CreateTime": create_time or self._tick(),
            "MsgType": msg_type,
            **fields,
            "AgentID": str(self.agent_id),
        }
        return _xml(base, numeric={"CreateTime", "MsgId", "AgentID"})

    async def post(
        self, plaintext: str, *, user: str = "", forge: bool = False, corp_id: str | None = None
    ) -> Delivery:
        """Encrypt, sign and POST one callback to the bot."""
        assert self.callback_url, "set callback_url to the bot's callback URL first"
        crypto = self.crypto if corp_id is None else WeComCrypto(self.token, self.aes_key, corp_id)
        timestamp, nonce = self._tick(), str(secrets.randbelow(10**10))
        encrypted, signature = crypto.seal(plaintext, timestamp, nonce)
        if forge:
            signature = WeComCrypto("forged" + self.token[6:], self.aes_key, self.corp_id).sign(
                timestamp, nonce, encrypted
            )
        envelope = _xml({"ToUserName": self.corp_id, "Encrypt": encrypted, "AgentID": str(self.agent_id)})
        params = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}
        return await self._post(params, envelope.encode("utf-8"), user)

    async def redeliver(self, delivery: Delivery) -> Delivery:
        """WeCom's retry: the very same request again."""
        return await self._post(delivery.params, delivery.body, delivery.user)

    async def post_raw(self, body: bytes, params: dict[str, str] | None = None) -> Delivery:
        return await self._post(params or {"msg_signature": "0", "timestamp": "1", "nonce": "2"}, body, "")

    async def _post(self, params: dict[str, str], body: bytes, user: str) -> Delivery:
        assert self._client is not None and self.callback_url
        async with self._client.post(self.callback_url, params=params, data=body) as resp:
            return Delivery(resp.status, await resp.text(), dict(params), body, user)

    async def verify_url(self, *, forge: bool = False) -> tuple[int, str]:
        """WeCom's URL check (GET): returns the status and the body the bot answered."""
        assert self._client is not None and self.callback_url
        echo = str(secrets.randbelow(10**18))
        timestamp, nonce = self._tick(), str(secrets.randbelow(10**10))
        encrypted, signature = self.crypto.seal(echo, timestamp, nonce)
        if forge:
            signature = "0" * 40
        params = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": encrypted}
        async with self._client.get(self.callback_url, params=params) as resp:
            text = await resp.text()
            return resp.status, (text if text != echo else "<echo>")

    async def send_text(self, user: str, content: str, *, forge: bool = False) -> Delivery:
        fields = {"Content": content, "MsgId": str(next(self._msg_ids))}
        return await self.post(self.message_xml(user, "text", fields), user=user, forge=forge)

    async def send_image(self, user: str, data: bytes) -> Delivery:
        media_id = "m" + secrets.token_hex(16)
        self._media[media_id] = data
        fields = {
            "PicUrl": f"https://wework.qpic.cn/{media_id}",
            "MediaId": media_id,
            "MsgId": str(next(self._msg_ids)),
        }
        return await self.post(self.message_xml(user, "image", fields), user=user)

    async def send_voice(self, user: str) -> Delivery:
        fields = {"MediaId": "v" + secrets.token_hex(8), "Format": "amr", "MsgId": str(next(self._msg_ids))}
        return await self.post(self.message_xml(user, "voice", fields), user=user)

    async def click_menu(self, user: str, key: str) -> Delivery:
        fields = {"Event": "click", "EventKey": key}
        return await self.post(self.message_xml(user, "event", fields), user=user)

    async def event(self, user: str, event: str, **extra: str) -> Delivery:
        return await self.post(self.message_xml(user, "event", {"Event": event, **extra}), user=user)

    async def press(self, user: str, key: str, task_id: str | None = None) -> Delivery:
        """Press the button ``key`` on a card (by default the newest one that has it)."""
        card = self._cards.get(task_id) if task_id else self._find_card(user, lambda k, _label: k == key)
        assert card is not None and card.touser == user, f"no card for {user} with key {key!r}"
        code = self.press_code(card.task_id)
        fields = {
            "Event": "template_card_event",
            "EventKey": key,
            "TaskId": card.task_id,
            "CardType": "button_interaction",
            "ResponseCode": code,
        }
        return await self.post(self.message_xml(user, "event", fields), user=user)

    def press_code(self, task_id: str) -> str:
        """The response code WeCom hands out with a press of the card ``task_id``."""
        code = "rc" + secrets.token_hex(12)
        self._codes[code] = task_id
        self._cards[task_id].codes.add(code)
        return code

    async def press_label(self, user: str, label: str) -> Delivery:
        """Press the button labelled ``label`` (exactly, else containing it) on the newest card
        that has one."""
        card = self._find_card(user, lambda _k, text: text == label) or self._find_card(
            user, lambda _k, text: label in text
        )
        assert card is not None, f"no card for {user} with a button {label!r}"
        key = (
            next(k for k, text in card.keys.items() if text == label)
            if label in card.keys.values()
            else next(k for k, text in card.keys.items() if label in text)
        )
        return await self.press(user, key, card.task_id)

    def _find_card(self, user: str, match: Callable[[str, str], bool]) -> _Card | None:
        for message in reversed(self.messages(user)):
            card = self._cards.get(message.task_id) if message.is_card else None
            if card is not None and any(match(k, text) for k, text in card.keys.items()):
                return card
        return None

    def labels(self, user: str) -> list[str]:
        card = self.last_card(user)
        return [text for text, _ in card.buttons] if card else []

    # WeCom's server API ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        api = request.match_info["api"]
        try:
            result = await self._dispatch(api, request)
        except _ApiError as exc:
            result = {"errcode": exc.errcode, "errmsg": exc.errmsg}
        if isinstance(result, web.StreamResponse):
            self.calls.append(Call(next(self._seq), api, 0))
            return result
        self.calls.append(Call(next(self._seq), api, int(result.get("errcode", 0))))
        return web.json_response(result, dumps=lambda o: json.dumps(o, ensure_ascii=False))

    async def _dispatch(self, api: str, request: web.Request) -> JSON | web.StreamResponse:
        query = request.query
        if api == "gettoken":
            self.token_requests += 1
            self._scripted(api)
            if query.get("corpid") != self.corp_id:
                raise _ApiError(40013, "invalid corpid")
            if query.get("corpsecret") != self.secret:
                raise _ApiError(40001, "invalid credential")
            token = "tok" + secrets.token_hex(24)
            self._tokens[token] = True
            return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.token_lifetime}
        token = query.get("access_token")
        if not token:
            raise _ApiError(41001, "access_token missing")
        if token not in self._tokens:
            raise _ApiError(40014, "invalid access_token")
        if not self._tokens[token]:
            raise _ApiError(42001, "access_token expired")
        self._scripted(api)
        if api == "message/send":
            return self._send(await _json(request))
        if api == "message/update_template_card":
            return self._update(await _json(request))
        if api == "media/upload":
            return await self._upload(request)
        if api == "media/get":
            data = self._media.get(query.get("media_id", ""))
            if data is None:
                raise _ApiError(40007, "invalid media_id")
            return web.Response(body=data, content_type="image/jpeg")
        if api == "menu/create":
            if query.get("agentid") != str(self.agent_id):
                raise _ApiError(INVALID, "invalid agentid")
            self.menus.append(await _json(request))
            return {"errcode": 0, "errmsg": "ok"}
        raise _ApiError(404, f"no api {api}")

    def _scripted(self, api: str) -> None:
        script = self._script.get(api)
        if script:
            code = script.popleft()
            raise _ApiError(code, "scripted error")

    def _send(self, body: JSON) -> JSON:
        if body.get("agentid") != self.agent_id:
            raise _ApiError(INVALID, "invalid agentid")
        user, msgtype = str(body.get("touser", "")), body.get("msgtype")
        if not user or "|" in user:
            raise _ApiError(INVALID, "one touser expected")
        if user in self._removed:
            raise _ApiError(81013, "user & party & tag all invalid")
        response_code = None
        if msgtype in ("text", "markdown"):
            content = str((body.get(msgtype) or {}).get("content", ""))
            if not content.strip():
                raise _ApiError(44004, "empty content")
            if len(content.encode("utf-8")) > 2048:
                raise _ApiError(INVALID, "content longer than 2048 bytes")
        elif msgtype == "template_card":
            self._check_card(body.get("template_card") or {})
            response_code = "rc" + secrets.token_hex(12)
        elif msgtype in ("file", "image"):
            media = self.uploads.get(str((body.get(msgtype) or {}).get("media_id", "")))
            if media is None or media.kind != msgtype:
                raise _ApiError(40007, "invalid media_id")
        else:
            raise _ApiError(INVALID, f"unexpected msgtype {msgtype!r}")
        message = Sent(next(self._seq), user, str(msgtype), body, response_code)
        self.sent.append(message)
        if message.is_card:
            card = _Card(message.task_id, user, {k: text for text, k in message.buttons}, message)
            self._cards[card.task_id] = card
            if response_code:
                self._codes[response_code] = card.task_id
        result: JSON = {"errcode": 0, "errmsg": "ok", "msgid": f"msg{message.seq}"}
        if response_code:
            result["response_code"] = response_code
        return result

    def _check_card(self, card: JSON) -> None:
        if card.get("card_type") != "button_interaction":
            raise _ApiError(INVALID, "card_type must be button_interaction here")
        task_id = str(card.get("task_id", ""))
        if not TASK_ID.match(task_id) or task_id in self._task_ids:
            raise _ApiError(INVALID, f"bad or repeated task_id {task_id!r}")
        self._task_ids.add(task_id)
        if not (card.get("main_title") or {}).get("title"):
            raise _ApiError(INVALID, "main_title.title is required")
        buttons = card.get("button_list") or []
        if not 1 <= len(buttons) <= 6:
            raise _ApiError(INVALID, "button_list takes 1 to 6 buttons")
        keys = [str(b.get("key", "")) for b in buttons]
        if len(set(keys)) != len(keys) or any(not k or len(k.encode("utf-8")) > 1024 for k in keys):
            raise _ApiError(INVALID, "button keys must be unique, 1-1024 bytes")
        if any(not str(b.get("text", "")).strip() for b in buttons):
            raise _ApiError(INVALID, "a button needs text")

    def _update(self, body: JSON) -> JSON:
        code = str(body.get("response_code", ""))
        if body.get("agentid") != self.agent_id or code not in self._codes or code in self._used_codes:
            raise _ApiError(INVALID, "invalid or used response_code")
        name = str((body.get("button") or {}).get("replace_name", ""))
        if not name:
            raise _ApiError(INVALID, "button.replace_name is required")
        self._used_codes.add(code)
        card = self._cards.pop(self._codes[code], None)  # greyed out: no longer pressable
        if card is not None:
            card.message.greyed = name
        self.updates.append({**body, "task_id": self._codes[code]})
        return {"errcode": 0, "errmsg": "ok"}

    async def _upload(self, request: web.Request) -> JSON:
        kind = request.query.get("type", "")
        if kind not in ("file", "image", "voice", "video"):
            raise _ApiError(40004, "invalid media type")
        reader = await request.multipart()
        part = await reader.next()
        if part is None or not isinstance(part, aiohttp.BodyPartReader) or part.name != "media":
            raise _ApiError(INVALID, "a media part is required")
        data = await part.read()
        media_id = "u" + secrets.token_hex(16)
        self.uploads[media_id] = Upload(kind, part.filename or "", bytes(data))
        return {
            "errcode": 0,
            "errmsg": "ok",
            "type": kind,
            "media_id": media_id,
            "created_at": str(self._clock),
        }


class _ApiError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errcode, self.errmsg = errcode, errmsg


async def _json(request: web.Request) -> JSON:
    try:
        body = json.loads(await request.read())
    except json.JSONDecodeError:
        raise _ApiError(47001, "data format error") from None
    if not isinstance(body, dict):
        raise _ApiError(47001, "data format error")
    return body


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml(fields: dict[str, str], numeric: set[str] | None = None) -> str:
    inner = "".join(f"<{k}>{v if k in (numeric or set()) else _cdata(v)}</{k}>" for k, v in fields.items())
    return f"<xml>{inner}</xml>"
