"""The WeCom server API for a self-built application: the access token, sending messages,
updating template cards, uploading and downloading media.

Every answer carries ``errcode``. An expired or invalid access token (40014, 42001) is
refreshed once and the call retried once; "busy" (-1), the frequency limit (45009) and network
faults are retried with back-off, at most three tries in all; a wrong secret (40001), a server
IP outside the application's trusted list (60020) and an unreachable recipient (81013) are
never retried. The token is never logged."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import aiohttp

from bot import metrics

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com/cgi-bin"
TOKEN_EXPIRED = frozenset({40014, 42001})  # invalid access_token, access_token expired
FREQUENCY_LIMIT = 45009
BUSY = frozenset({-1, FREQUENCY_LIMIT})  # system busy, frequency limit
WRONG_SECRET, UNTRUSTED_IP, UNREACHABLE = 40001, 60020, 81013
TRIES = 3
TOKEN_MARGIN = 300.0  # refresh this many seconds before WeCom says the token expires
MAX_DOWNLOAD = 20 * 1024 * 1024

JSON = dict[str, Any]


class WeComError(Exception):
    def __init__(self, errcode: int, errmsg: str, api: str) -> None:
        super().__init__(f"{api}: errcode {errcode}: {errmsg}")
        self.errcode, self.errmsg, self.api = errcode, errmsg, api

    @property
    def unreachable(self) -> bool:
        """The recipient is not a member the application may reach (left, or outside its range)."""
        return self.errcode == UNREACHABLE


class _Transient(Exception):
    """A network fault or a 5xx: worth another try, like errcode -1."""


class WeComClient:
    def __init__(
        self,
        corp_id: str,
        secret: str,
        agent_id: int,
        *,
        base_url: str = DEFAULT_BASE_URL,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        backoff: float = 0.5,
        timeout: float = 30.0,
    ) -> None:
        self.corp_id, self._secret, self.agent_id = corp_id, secret, agent_id
        self.base_url = base_url.rstrip("/")
        self._session, self._own_session = session, session is None
        self.clock, self.sleep, self.backoff = clock, sleep, backoff
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._token: str | None = None
        self._expires = 0.0
        self._token_lock = asyncio.Lock()

    def __repr__(self) -> str:  # no secret in reprs, hence none in tracebacks' locals
        return f"WeComClient(corp_id={self.corp_id!r}, agent_id={self.agent_id}, base_url={self.base_url!r})"

    async def __aenter__(self) -> WeComClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
            self._own_session = True
        return self._session

    # The access token ---------------------------------------------------------------------------

    async def token(self) -> str:
        """The cached access token, fetched when missing or about to expire."""
        if self._token is not None and self.clock() < self._expires:
            return self._token
        async with self._token_lock:
            if self._token is not None and self.clock() < self._expires:
                return self._token  # another caller refreshed it meanwhile
            params = {"corpid": self.corp_id, "corpsecret": self._secret}
            result = await self._with_backoff("gettoken", lambda: self._request("GET", "gettoken", params))
            assert isinstance(result, dict)
            lifetime = float(result.get("expires_in", 7200))
            self._token = str(result["access_token"])
            self._expires = self.clock() + max(lifetime - min(TOKEN_MARGIN, lifetime / 10), 1.0)
            log.info("WeCom access token fetched (valid %.0f s)", lifetime)
            return self._token

    def _forget(self, token: str) -> None:
        if self._token == token:
            self._token = None

    # Calls -----------------------------------------------------------------------------------------

    async def call(
        self,
        api: str,
        *,
        body: JSON | None = None,
        params: dict[str, str] | None = None,
        form: Callable[[], aiohttp.FormData] | None = None,
        method: str = "POST",
        raw: bool = False,
    ) -> JSON | bytes:
        """One API call with the token; see the module's doc for what is retried."""
        refreshed = False
        while True:
            token = await self.token()
            query = {**(params or {}), "access_token": token}
            try:
                return await self._with_backoff(
                    api, partial(self._request, method, api, query, body=body, form=form, raw=raw)
                )
            except WeComError as exc:
                if exc.errcode in TOKEN_EXPIRED and not refreshed:
                    refreshed = True
                    log.info("WeCom %s: access token %s; fetching a new one", api, exc.errcode)
                    self._forget(token)
                    continue
                raise

    async def _with_backoff(self, api: str, attempt: Callable[[], Awaitable[JSON | bytes]]) -> JSON | bytes:
        for n in range(1, TRIES + 1):
            try:
                result = await attempt()
            except _Transient as exc:
                code, message = -1, str(exc)
            else:
                if isinstance(result, bytes):
                    return result
                code, message = int(result.get("errcode", 0) or 0), str(result.get("errmsg", ""))
                if code == 0:
                    return result
            if code == FREQUENCY_LIMIT:
                metrics.RATE_LIMITED.labels("wecom").inc()
            if code not in BUSY or n == TRIES:
                _log_refusal(api, code, message)
                raise WeComError(code, message, api)
            delay = self.backoff * 2 ** (n - 1)
            log.warning(
                "WeCom %s: errcode %s (%s); try %d of %d in %.1f s", api, code, message, n + 1, TRIES, delay
            )
            await self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _request(
        self,
        method: str,
        api: str,
        query: dict[str, str],
        *,
        body: JSON | None = None,
        form: Callable[[], aiohttp.FormData] | None = None,
        raw: bool = False,
    ) -> JSON | bytes:
        url = f"{self.base_url}/{api}"
        data: Any = None
        if form is not None:
            data = form()  # a FormData is spent once sent: a new one for every try
        elif body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"} if body is not None else None
        try:
            async with self._http().request(method, url, params=query, data=data, headers=headers) as resp:
                if resp.status >= 500:
                    raise _Transient(f"HTTP {resp.status}")
                if resp.status != 200:
                    return {"errcode": -2, "errmsg": f"HTTP {resp.status}"}
                kind = resp.headers.get("Content-Type", "")
                if raw and "json" not in kind and not kind.startswith("text/"):
                    payload = await resp.content.read(MAX_DOWNLOAD + 1)
                    if len(payload) > MAX_DOWNLOAD:
                        return {"errcode": -3, "errmsg": "file larger than the download limit"}
                    return payload
                text = await resp.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _Transient(type(exc).__name__) from None  # the URL holds the token: not logged
        try:
            result = json.loads(text)
        except json.JSONDecodeError:
            raise _Transient("an answer that is not JSON") from None
        if not isinstance(result, dict):
            raise _Transient("an answer that is not a JSON object")
        return result

    # The application's messages ------------------------------------------------------------------

    async def send(self, touser: str, msgtype: str, content: JSON) -> JSON:
        """``message/send`` to one member; raises WeComError(81013) when they are unreachable,
        also when WeCom reports them only as ``invaliduser``."""
        # A send retried after a timeout may have gone through: WeCom drops the repeat itself.
        body = {
            "touser": touser,
            "agentid": self.agent_id,
            "msgtype": msgtype,
            msgtype: content,
            "enable_duplicate_check": 1,
            "duplicate_check_interval": 1800,
        }
        result = await self.call("message/send", body=body)
        assert isinstance(result, dict)
        invalid = str(result.get("invaliduser") or "")
        if touser in invalid.split("|"):
            raise WeComError(UNREACHABLE, f"invaliduser {touser}", "message/send")
        return result

    async def send_text(self, touser: str, text: str) -> JSON:
        return await self.send(touser, "text", {"content": text})

    async def send_card(self, touser: str, card: JSON) -> JSON:
        return await self.send(touser, "template_card", card)

    async def send_media(self, touser: str, kind: str, media_id: str) -> JSON:
        return await self.send(touser, kind, {"media_id": media_id})

    async def grey_out(self, touser: str, response_code: str, replace_name: str) -> None:
        """``message/update_template_card``: the card's buttons become one grey, unclickable
        button reading ``replace_name``. A response code can be used once, within 72 hours."""
        body = {
            "userids": [touser],
            "agentid": self.agent_id,
            "response_code": response_code,
            "button": {"replace_name": replace_name},
        }
        await self.call("message/update_template_card", body=body)

    async def upload(self, kind: str, filename: str, data: bytes, content_type: str | None = None) -> str:
        """``media/upload`` (kind ``file`` or ``image``): a media id valid for three days."""

        # The file name as UTF-8, as WeCom shows it to the member (not percent-encoded).
        name = "".join(c for c in filename if c not in '"\\\r\n') or "file"

        def form() -> aiohttp.FormData:
            fields = aiohttp.FormData(quote_fields=False)
            fields.add_field(
                "media", data, filename=name, content_type=content_type or "application/octet-stream"
            )
            return fields

        result = await self.call("media/upload", params={"type": kind}, form=form)
        assert isinstance(result, dict)
        return str(result["media_id"])

    async def download(self, media_id: str) -> bytes:
        """``media/get``: the bytes of a member's picture."""
        result = await self.call("media/get", params={"media_id": media_id}, method="GET", raw=True)
        if isinstance(result, dict):  # an answer without errcode but without a file either
            raise WeComError(int(result.get("errcode", -3) or -3), str(result.get("errmsg", "")), "media/get")
        return result

    async def create_menu(self, buttons: list[JSON]) -> None:
        await self.call("menu/create", params={"agentid": str(self.agent_id)}, body={"button": buttons})


def _log_refusal(api: str, code: int, message: str) -> None:
    if code in TOKEN_EXPIRED:
        return  # refreshed and retried by ``call``; logged there
    if code == UNTRUSTED_IP:
        log.error(
            "WeCom %s refused (60020): this server's IP address is not in the application's trusted IP "
            "list (企业可信IP). Add it in the WeCom admin console under the application's settings. %s",
            api,
            message,
        )
    elif code == WRONG_SECRET:
        log.error("WeCom %s refused (40001): WECOM_SECRET is not this application's Secret", api)
    elif code == UNREACHABLE:
        log.info("WeCom %s: the member is outside the application's visible range (81013)", api)
    else:
        log.warning("WeCom %s failed: errcode %s: %s", api, code, message)
