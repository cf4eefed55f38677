"""Two webhook workers behind a round-robin proxy on one PostgreSQL: one inspector's rapid
answers, each handled by whichever worker the proxy picks, are applied in order, none swapped
or lost; a request without the secret token is refused."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import col, select
from telegram.ext import Application

from bot.main import build_application
from bot.webhook import WebhookServer
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.models import AnswerChange
from tests.conftest import PG_URL, need_pg, pg_admin
from tests.dialog_driver import make_dialog, seed, stored_answers
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram_harness import INSPECTOR, TOKEN, settings_for
from tests.test_dialog import TYPED
from tests.test_telegram_e2e import _year, open_inspection

SECRET = "s3cret-token"
# The first questions in the checklist's order for these answers (没有 to target_management
# skips what follows it in the section).
RAPID = [
    "leader_named",
    "target_management",
    "has_room",
    "room_standard",
    "room_mixed",
    "iron_door",
    "window_bars",
    "protections",
    "has_equipment",
    "equipment_state",
]


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    need_pg()
    name = f"webhook_{uuid.uuid4().hex[:10]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        await pg_admin(f'DROP DATABASE "{name}" WITH (FORCE)')


class RoundRobin:
    """A reverse proxy sending each request to the next worker in turn."""

    def __init__(self, targets: list[str]) -> None:
        self.targets, self.turn = targets, itertools.cycle(range(len(targets)))
        self.handled: Counter[int] = Counter()
        self.http: aiohttp.ClientSession | None = None

    async def forward(self, request: web.Request) -> web.Response:
        assert self.http is not None
        n = next(self.turn)
        self.handled[n] += 1
        async with self.http.post(self.targets[n], data=await request.read(), headers=request.headers) as r:
            return web.Response(status=r.status, body=await r.read())


async def test_two_workers_keep_one_inspectors_rapid_answers_in_order(pg_url: str, tmp_path: Path) -> None:
    engine = make_engine(pg_url)
    await upgrade(engine)
    world = await seed(make_sessionmaker(engine), channel="telegram")
    engines = [make_engine(pg_url), make_engine(pg_url)]  # two processes' worth of pools and locks
    apps: list[Application] = []  # type: ignore[type-arg]
    servers: list[WebhookServer] = []
    runner: web.AppRunner | None = None
    try:
        async with FakeTelegramAPI(token=TOKEN) as api:
            for n, worker_engine in enumerate(engines):
                dialog = make_dialog(make_sessionmaker(worker_engine), tmp_path / f"w{n}")
                app = build_application(settings_for(api, tmp_path / f"w{n}"), dialog)
                app.bot_data["background"] = False
                await app.initialize()
                await app.start()
                server = WebhookServer(app, "/hook", SECRET)
                await server.start("127.0.0.1", 0)
                apps.append(app)
                servers.append(server)
            proxy = RoundRobin([s.url or "" for s in servers])
            proxy.http = aiohttp.ClientSession()
            web_app = web.Application()
            web_app.router.add_post("/hook", proxy.forward)
            runner = web.AppRunner(web_app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            proxy_url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
            await apps[0].bot.set_webhook(proxy_url, secret_token=SECRET)

            await open_inspection(api)
            mark = api.mark()
            for key in RAPID:  # typed one after another, without waiting for the questions
                await api.send_text(INSPECTOR, TYPED[key][0])
            await api.wait_for(
                lambda c: "【" in (c.body or "") and "filed" not in (c.body or ""), 30, since=mark
            )
            for _ in range(100):  # until every answer is in
                stored = await stored_answers(make_sessionmaker(engine), world["taiping"], _year())
                if all(k in stored for k in RAPID):
                    break
                await asyncio.sleep(0.1)
            async with aiohttp.ClientSession() as http:  # the secret token is checked
                async with http.post(servers[0].url or "", json={"update_id": 1}) as r:
                    assert r.status == 403
            await proxy.http.close()
            assert min(proxy.handled.values()) >= len(RAPID) // 2  # both workers took their share
        stored = await stored_answers(make_sessionmaker(engine), world["taiping"], _year())
        assert {k: stored.get(k) for k in RAPID} == {k: TYPED[k][1] for k in RAPID}  # none swapped or lost
        async with make_sessionmaker(engine)() as s:
            order = (
                await s.exec(
                    select(AnswerChange.question_key).order_by(
                        col(AnswerChange.changed_at), col(AnswerChange.id)
                    )
                )
            ).all()
        assert list(order) == RAPID  # applied in the order typed, each once
    finally:
        for server in servers:
            await server.stop()
        for app in apps:
            await app.stop()
            await app.shutdown()
        if runner is not None:
            await runner.cleanup()
        for e in [*engines, engine]:
            await e.dispose()


async def test_archive_bot_run_serves_the_webhook(tmp_path: Path) -> None:
    """The real command in webhook mode (SQLite: it leads at once): it registers the webhook with
    its secret token, handles what Telegram posts, and stops cleanly on SIGTERM."""
    import signal

    from tests.test_standby import free_port, start_bot

    db_url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    engine = make_engine(db_url)
    await upgrade(engine)
    await seed(make_sessionmaker(engine), channel="telegram")
    await engine.dispose()
    port = free_port()
    async with FakeTelegramAPI(token=TOKEN) as api:
        bot = await start_bot(
            "hook",
            api,
            db_url,
            tmp_path,
            REMINDERS_ENABLED="false",
            TELEGRAM_MESSAGES_PER_SECOND="0",
            WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/webhook",
            WEBHOOK_SECRET_TOKEN=SECRET,
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(port),
        )
        try:
            await bot.wait_role("leader")
            for _ in range(100):
                if api.webhook is not None:
                    break
                await asyncio.sleep(0.1)
            assert api.webhook == {"url": f"http://127.0.0.1:{port}/telegram/webhook", "secret_token": SECRET}
            await open_inspection(api)  # delivered by POST, answered
            forged = {
                "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "x"}
            }
            assert await api.deliver_to_webhook(api.webhook["url"], forged, "wrong") == 403
        finally:
            bot.proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(bot.proc.wait(), 20) == 0, bot.log.read_text()[-2000:]
