"""``/healthz`` and ``/metrics`` on a small aiohttp server (METRICS_PORT; off when 0).

``/healthz`` answers 200 with ``{"status": "ok", "database": "reachable", "role": "leader"}``
(or ``"standby"``) while the database answers, 503 with ``"database": "unreachable"`` when it
does not: a load balancer sends webhooks to any process that answers 200, a monitor alerts
when no process says leader. ``/metrics`` is the Prometheus text format (bot/metrics.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

log = logging.getLogger(__name__)

PING_TIMEOUT = 3.0


class HealthServer:
    def __init__(self, ping: Callable[[], Awaitable[None]], role: Callable[[], str]) -> None:
        """``ping``: raises when the database does not answer; ``role``: "leader" or "standby"."""
        self.ping, self.role = ping, role
        self._runner: web.AppRunner | None = None
        self.url: str | None = None

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def _healthz(self, request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(PING_TIMEOUT):
                await self.ping()
            reachable = True
        except Exception as exc:
            log.warning("health: the database does not answer (%s)", exc)
            reachable = False
        body = {
            "status": "ok" if reachable else "unavailable",
            "database": "reachable" if reachable else "unreachable",
            "role": self.role(),
        }
        return web.json_response(body, status=200 if reachable else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        response = web.Response(body=generate_latest())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    async def start(self, host: str, port: int) -> str:
        self._runner = web.AppRunner(self.application(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound = self._runner.addresses[0][1] if self._runner.addresses else port
        self.url = f"http://{host}:{bound}"
        log.info("health and metrics on %s/healthz and %s/metrics", self.url, self.url)
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
