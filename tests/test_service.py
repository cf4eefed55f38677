"""The service's parts, in-process: the leader's lock (a standby waits, takes over when the
leader's connection goes), reminder claims of a dead run taken over at once, /healthz and
/metrics, JSON log lines, two schema upgrades at once."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import timedelta

import aiohttp
import pytest

from bot import metrics
from bot.health import HealthServer
from bot.leader import Leadership
from bot.logs import JsonLines
from storage.advisory import AdvisoryLocks
from storage.db import SessionMaker, make_engine, ping, schema_versions, transaction, upgrade
from storage.queries.reminders import claim_reminder
from tests.conftest import PG_URL, need_pg, pg_admin
from tests.dialog_driver import seed


async def test_a_standby_leads_once_the_leaders_connection_is_gone() -> None:
    need_pg()
    first, second = Leadership(PG_URL, retry=0.1, check=0.1), Leadership(PG_URL, retry=0.1, check=0.1)
    try:
        await first.acquire()
        assert first.role == "leader" and metrics.LEADER._value.get() == 1
        waiting = asyncio.create_task(second.acquire())
        await asyncio.sleep(0.5)
        assert not waiting.done() and second.role == "standby"
        watching = asyncio.create_task(first.watch())
        await first.locks.close()  # as when its process dies: the server frees the lock
        await asyncio.wait_for(watching, 2)  # the old leader knows it no longer leads
        assert first.role == "standby"
        await asyncio.wait_for(waiting, 2)
        assert second.role == "leader"
    finally:
        await first.close()
        await second.close()


async def test_a_dead_runs_claim_is_taken_over_at_once_on_postgresql(sessions: SessionMaker) -> None:
    ids = await seed(sessions, channel="telegram")
    person = ids["inspector"]
    postgres = sessions.kw["bind"].dialect.name == "postgresql"
    live = dead = None
    if postgres:  # a live run's owner lock, and one that was let go
        live, dead = AdvisoryLocks(PG_URL), AdvisoryLocks(PG_URL)
        await live.open()
        await dead.open()
        assert await live.try_lock(101) and await dead.try_lock(202)
        await dead.close()
    try:
        hour = timedelta(hours=1)
        async with transaction(sessions) as s:
            assert await claim_reminder(s, "inspector", person, "a", stale_after=hour, owner=101) == "new"
            assert await claim_reminder(s, "inspector", person, "b", stale_after=hour, owner=202) == "new"
        async with transaction(sessions) as s:
            # The live run's claim is left to it; the dead run's is taken over (PostgreSQL knows
            # it is dead; SQLite waits for the claim to go stale).
            assert await claim_reminder(s, "inspector", person, "a", stale_after=hour, owner=303) == "done"
            taken = await claim_reminder(s, "inspector", person, "b", stale_after=hour, owner=303)
            assert taken == ("resume" if postgres else "done")
            stale = await claim_reminder(s, "inspector", person, "a", stale_after=timedelta(0), owner=303)
            assert stale == "resume"
    finally:
        for locks in (live, dead):
            if locks is not None:
                await locks.dispose()


async def test_healthz_and_metrics_are_read(sessions: SessionMaker) -> None:
    down = False

    async def check() -> None:
        if down:
            raise ConnectionError("the database is gone")
        await ping(sessions)

    metrics.handled("telegram", 0.02)
    metrics.REMINDERS.labels("sent").inc()
    server = HealthServer(check, lambda: "standby")
    url = await server.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/healthz") as r:
                assert r.status == 200
                assert await r.json() == {"status": "ok", "database": "reachable", "role": "standby"}
            down = True
            async with http.get(f"{url}/healthz") as r:
                assert r.status == 503
                assert (await r.json())["database"] == "unreachable"
            async with http.get(f"{url}/metrics") as r:
                assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
                text = await r.text()
    finally:
        await server.stop()
    for name in (
        'archive_bot_updates_handled_total{channel="telegram"}',
        'archive_bot_update_seconds_bucket{channel="telegram",le="0.025"}',
        'archive_bot_reminders_total{outcome="sent"}',
        "archive_bot_replies_total",
        "archive_bot_rate_limited_total",
        "archive_bot_leader",
    ):
        assert name in text, name


def test_json_log_lines() -> None:
    record = logging.LogRecord("bot.updates", logging.INFO, __file__, 1, "update %s handled", ("7",), None)
    record.update_id, record.channel, record.ms = 7, "telegram", 12.5
    line = json.loads(JsonLines().format(record))
    assert line["message"] == "update 7 handled" and line["level"] == "INFO"
    assert (line["update_id"], line["channel"], line["ms"]) == (7, "telegram", 12.5)
    assert line["time"].endswith("+00:00")


async def test_two_upgrades_at_once_take_turns() -> None:
    need_pg()
    name = f"upgrade_{uuid.uuid4().hex[:10]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    engines = [make_engine(url), make_engine(url)]
    try:
        await asyncio.gather(*(upgrade(e) for e in engines))  # two deploys: neither fails
        current, head = await asyncio.to_thread(schema_versions, url)
        assert current == head
    finally:
        for e in engines:
            await e.dispose()
        await pg_admin(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def _leader_gauge_reset() -> None:
    metrics.LEADER.set(0)


async def test_a_command_line_run_holds_its_owner_key_while_it_lives(sessions: SessionMaker) -> None:
    from bot.leader import run_owner
    from storage.queries.reminders import owner_alive

    url = PG_URL if sessions.kw["bind"].dialect.name == "postgresql" else "sqlite+aiosqlite:///unused"
    async with run_owner(url) as owner:
        if owner is None:  # SQLite: one process, claims go stale by age
            return
        async with sessions() as s:
            assert await owner_alive(s, owner)
    async with sessions() as s:
        assert not await owner_alive(s, owner)
