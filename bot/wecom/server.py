"""The WeCom callback endpoint (aiohttp) around the dialog core, and running it.

``GET`` verifies the URL (signature, then the decrypted ``echostr`` as plain text). ``POST``
verifies and decrypts a callback, answers at once with an empty body (WeCom retries what is
not answered within 5 s) and does the dialog's work in a background task, one member's
callbacks strictly in the order they arrived, the replies going out through the send API.
A retried callback is applied once: the dialog core deduplicates by ``MsgId`` (events: member
and ``CreateTime``)."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot import metrics
from bot.background import start_background
from bot.dialog import Reply, Who
from bot.dialog.core import Dialog
from bot.i18n import t
from bot.ordering import KeyedLocks
from bot.outbox import Outbox
from bot.shutdown import stop_on_signals
from bot.wecom.client import WeComClient
from bot.wecom.crypto import CryptoError, WeComCrypto
from bot.wecom.inbound import MAX_BODY, BadCallback, Message, parse_envelope, parse_message, to_input
from bot.wecom.outbound import CHANNEL, Pressed, WeComSender
from bot.wecom.pacing import Pacer
from storage.db import transaction
from storage.queries.inbox import mark_processed, store_message, unprocessed

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.config import Settings

log = logging.getLogger(__name__)
updates_log = logging.getLogger("bot.updates")

DRAIN_SECONDS = 10.0


class WeComChannel:
    def __init__(
        self,
        dialog: Dialog,
        crypto: WeComCrypto,
        client: WeComClient,
        sender: WeComSender,
        outbox: Outbox | None = None,
        *,
        path: str = "/wecom/callback",
        max_body: int = MAX_BODY,
    ) -> None:
        """The channel's sender joins ``outbox`` (a new one if none), through which replies
        addressed to others go."""
        self.dialog, self.crypto, self.client, self.sender = dialog, crypto, client, sender
        self.outbox = outbox if outbox is not None else Outbox()
        self.outbox.add(CHANNEL, sender)
        self.path, self.max_body = path, max_body
        self.locks = KeyedLocks()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self.url: str | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        dialog: Dialog,
        outbox: Outbox | None = None,
        *,
        pacer: Pacer | None = None,
        **client_options: Any,
    ) -> WeComChannel:
        assert settings.wecom_enabled, "the WECOM_* settings are needed to build the WeCom channel"
        assert settings.wecom_corp_id and settings.wecom_agent_id is not None
        assert settings.wecom_secret and settings.wecom_token and settings.wecom_aes_key
        client = WeComClient(
            settings.wecom_corp_id,
            settings.wecom_secret.get_secret_value(),
            settings.wecom_agent_id,
            base_url=settings.wecom_api_base_url,
            **client_options,
        )

        async def unreachable(user: str) -> None:
            await dialog.mark_blocked(CHANNEL, user)

        sender = WeComSender(client, pacer, locale=dialog.locale, on_unreachable=unreachable)
        crypto = WeComCrypto(
            settings.wecom_token.get_secret_value(),
            settings.wecom_aes_key.get_secret_value(),
            settings.wecom_corp_id,
        )
        return cls(dialog, crypto, client, sender, outbox, path=settings.wecom_callback_path)

    # The web application ---------------------------------------------------------------------

    def application(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body)
        app.router.add_get(self.path, self.on_verify)
        app.router.add_post(self.path, self.on_callback)
        return app

    async def on_verify(self, request: web.Request) -> web.StreamResponse:
        """URL verification: answer the decrypted ``echostr``, nothing else, at once."""
        query = request.query
        try:
            sig, stamp, nonce = (query[k] for k in ("msg_signature", "timestamp", "nonce"))
            echostr = _b64(query["echostr"])
        except KeyError:
            return web.Response(status=400, text="missing parameters")
        try:
            plain = self.crypto.open(sig, stamp, nonce, echostr)
            _fresh(stamp)
        except CryptoError as exc:
            log.warning("WeCom URL verification refused: %s", exc)
            return web.Response(status=403, text="forbidden")
        return web.Response(text=plain, content_type="text/plain")

    async def on_callback(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        try:
            sig, stamp, nonce = (query[k] for k in ("msg_signature", "timestamp", "nonce"))
        except KeyError:
            return web.Response(status=400, text="missing parameters")
        if request.content_length is not None and request.content_length > self.max_body:
            return web.Response(status=413, text="too large")
        body = await request.read()  # aiohttp refuses more than client_max_size with 413
        try:
            envelope = parse_envelope(body)
            plain = self.crypto.open(sig, stamp, nonce, envelope.encrypt)
            _fresh(stamp)  # a recorded callback posted again later (a replay) is refused
        except BadCallback as exc:
            log.warning("WeCom callback refused: %s", exc)
            return web.Response(status=400, text="bad request")
        except CryptoError as exc:
            log.warning("WeCom callback refused (%s) from %s", exc, request.remote)
            return web.Response(status=403, text="forbidden")
        try:
            message = parse_message(plain)
        except BadCallback as exc:
            log.warning("WeCom callback without a message: %s", exc)
            return web.Response(status=400, text="bad request")
        if message.agent_id and message.agent_id != str(self.client.agent_id):
            log.info("WeCom callback for application %s ignored", message.agent_id)
            return web.Response(text="")
        try:  # kept before it is acknowledged: WeCom does not send an acknowledged callback again
            async with transaction(self.dialog.sessions) as session:
                pending = await store_message(session, CHANNEL, message.update_id, plain)
        except Exception:
            log.exception(
                "WeCom callback %s could not be stored; WeCom will send it again", message.update_id
            )
            return web.Response(status=503, text="unavailable")
        if pending:  # not when it was processed before (a retry of one acknowledged late)
            self.spawn(message)
        return web.Response(text="")  # acknowledged; the replies follow through the send API

    # The work, in the background -------------------------------------------------------------

    def spawn(self, message: Message) -> asyncio.Task[None]:
        """Handle a callback in the background. Tasks start in arrival order and take the
        member's lock before anything else, so one member's callbacks run in that order."""
        task = asyncio.create_task(self.process(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def process(self, message: Message) -> None:
        user = message.user
        async with self.locks.hold(user):
            started = time.perf_counter()
            try:
                await self._process(message)
            except Exception:
                log.exception("WeCom callback %s from %s failed", message.update_id, user)
                with suppress(Exception):
                    await self.sender.deliver(user, [Reply(t("general.error", self.dialog.locale))])
            else:
                await self._processed(message)
            finally:
                seconds = time.perf_counter() - started
                metrics.handled(CHANNEL, seconds)
                updates_log.info(
                    "update %s from wecom:%s handled in %.1f ms",
                    message.update_id,
                    user,
                    seconds * 1000,
                    extra={
                        "update_id": message.update_id,
                        "channel": CHANNEL,
                        "ms": round(seconds * 1000, 1),
                    },
                )

    async def _processed(self, message: Message) -> None:
        """Done with it (a crash before this: processed again at the next start, which the
        dialog applies once, answering nothing the second time)."""
        try:
            async with transaction(self.dialog.sessions) as session:
                await mark_processed(session, CHANNEL, message.update_id)
        except Exception:
            log.exception("WeCom callback %s processed but not marked so", message.update_id)

    async def resume(self) -> int:
        """Process what was kept but not processed (the process stopped in between)."""
        async with self.dialog.sessions() as session:
            rows = await unprocessed(session, CHANNEL)
        for update_id, body in rows:
            try:
                self.spawn(parse_message(body))
            except BadCallback:  # cannot be: it was parsed before it was kept
                log.warning("WeCom callback %s in the inbox is unreadable; skipped", update_id)
        if rows:
            log.info("WeCom: %d callbacks received before a restart are processed now", len(rows))
        return len(rows)

    async def _process(self, message: Message) -> None:
        if message.msg_type == "event" and message.event == "unsubscribe":
            await self.dialog.mark_blocked(CHANNEL, message.user)
            return
        inp = to_input(message, self.client.download)
        if inp is None:
            return
        # A callback WeCom sends again was acknowledged (late): its replies went out already.
        replies = await self.dialog.handle(Who(CHANNEL, message.user), inp, answer_redelivery=False)
        pressed = None
        if inp.kind == "button" and message.response_code:
            pressed = Pressed(message.task_id, message.event_key, message.response_code)
        await self.sender.deliver(message.user, [r for r in replies if r.to is None], pressed)
        await self.dialog.forward(self.outbox, replies)

    async def drain(self, timeout: float = DRAIN_SECONDS) -> None:  # noqa: ASYNC109
        """Wait for the callbacks being handled (at shutdown, or in tests)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    # Serving -----------------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> str:
        """Listen on ``host:port`` (port 0: any free one); returns the callback URL. What was
        received before a restart and not processed is processed first."""
        await self.resume()
        self._runner = web.AppRunner(self.application(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0][1] if self._runner.addresses else port
        self.url = f"http://{host}:{bound}{self.path}"
        log.info("WeCom callback listening on %s", self.url)
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()  # stop taking callbacks first
            self._runner = None
        await self.drain()
        await self.client.close()


MAX_AGE = 300  # seconds a callback's timestamp may be off the clock, either way


def _fresh(stamp: str, now: float | None = None) -> None:
    """Refuse a callback whose signed timestamp is more than ``MAX_AGE`` from now."""
    try:
        age = (time.time() if now is None else now) - int(stamp)
    except ValueError:
        raise CryptoError("the timestamp is not a number") from None
    if abs(age) > MAX_AGE:
        raise CryptoError(f"the timestamp is {age:.0f} s off (a replay, or a wrong clock)")


def _b64(value: str) -> str:
    """WeCom URL-encodes base64 text; a ``+`` that arrives unencoded reads as a space."""
    return value.replace(" ", "+")


# Running ----------------------------------------------------------------------------------------


async def serve(
    settings: Settings,
    dialog: Dialog,
    outbox: Outbox | None = None,
    stop: asyncio.Event | None = None,
    *,
    owner: int | None = None,
    close_dialog: bool = True,
) -> None:
    """WeCom alone: the callback server and the background jobs, until SIGINT/SIGTERM (or ``stop``)."""
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    channel = WeComChannel.from_settings(settings, dialog, outbox)
    await channel.start(settings.wecom_callback_host, settings.wecom_callback_port)
    scheduler = start_background(settings, dialog, channel.outbox, owner)
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        await channel.stop()
        if close_dialog:
            await dialog.close()


def run_wecom(settings: Settings, dialog: Dialog, outbox: Outbox | None = None) -> None:
    asyncio.run(serve(settings, dialog, outbox))


def attach_to_application(
    app: Application, settings: Settings, dialog: Dialog, outbox: Outbox | None = None
) -> WeComChannel:
    """Run the WeCom callback server beside Telegram, in the Application's own event loop, its
    sender in the Application's outbox: started before the Application's ``post_init`` (which
    starts the background jobs on every channel of the outbox), stopped before its
    ``post_shutdown`` disposes of the database engine."""
    channel = WeComChannel.from_settings(settings, dialog, outbox or app.bot_data["outbox"])
    post_init, post_shutdown = app.post_init, app.post_shutdown

    async def init(application: Application) -> None:
        await channel.start(settings.wecom_callback_host, settings.wecom_callback_port)
        if post_init is not None:
            await post_init(application)

    async def shutdown(application: Application) -> None:
        await channel.stop()
        if post_shutdown is not None:
            await post_shutdown(application)

    app.post_init = init
    app.post_shutdown = shutdown
    return channel
