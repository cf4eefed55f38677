"""The Telegram webhook, for any number of workers behind a reverse proxy.

An update is handled before it is acknowledged: Telegram sends it again when the answer does
not come (a worker killed mid-update), and the dialog applies a redelivered update once. Handled
before the answer also keeps one person's updates in order across workers, as Telegram sends
the next only once the last was answered; two turns of one person that do meet (a redelivery
racing the original) take turns on a row lock of the person, taken as the turn reads their state
(storage/queries/turns.py). The secret token is checked on every request."""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024


class WebhookServer:
    def __init__(self, app: Application, path: str, secret: str | None) -> None:
        self.app, self.path, self.secret = app, path, secret
        self._runner: web.AppRunner | None = None
        self.url: str | None = None

    def application(self) -> web.Application:
        web_app = web.Application(client_max_size=MAX_BODY)
        web_app.router.add_post(self.path, self.on_update)
        return web_app

    async def on_update(self, request: web.Request) -> web.Response:
        if self.secret is not None and not hmac.compare_digest(
            request.headers.get(SECRET_HEADER, ""), self.secret
        ):
            log.warning("webhook request without the secret token from %s refused", request.remote)
            return web.Response(status=403, text="forbidden")
        try:
            update = Update.de_json(json.loads(await request.read()), self.app.bot)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("webhook request that is not an update: %s", exc)
            return web.Response(status=400, text="bad request")
        # Handled before the answer (errors go to the Application's error handler).
        await self.app.update_processor.process_update(update, self.app.process_update(update))
        return web.Response(text="")

    async def start(self, host: str, port: int) -> str:
        self._runner = web.AppRunner(self.application(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound = self._runner.addresses[0][1] if self._runner.addresses else port
        self.url = f"http://{host}:{bound}{self.path}"
        log.info("Telegram webhook listening on %s", self.url)
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
