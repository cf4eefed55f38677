"""Reminder fan-out to many recipients against the fake Bot API enforcing Telegram's limits
(30 messages/s overall, 1/s per chat), through the bot's own sending path: the outbox, the
Telegram sender and the Bot's rate limiter (the fan-out paces nothing). Prints the achieved
rate as a ratio of the limit (target >= 0.9), the count of 429 answers (target 0) and of
duplicates (must be 0).

    python -m bench.reminder_fanout [--recipients 3000] [--db sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from telegram.ext import ExtBot

from bot.handlers.flood import FloodLimiter
from bot.handlers.sender import TelegramSender
from bot.outbox import Outbox
from bot.reminders.rules import ReminderRules
from bot.reminders.service import ReminderService
from storage.db import make_engine, make_sessionmaker, transaction, upgrade
from storage.models import Area, Assignment, Identity, Person, Township, table
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
LIMIT = 30.0
TZ = ZoneInfo("Asia/Shanghai")


async def seed(url: str, count: int) -> None:
    """``count`` inspectors, each owing one township: one reminder each."""
    engine = make_engine(url)
    await upgrade(engine)
    async with transaction(make_sessionmaker(engine)) as s:
        conn = await s.connection()
        await conn.execute(insert(table(Area)).values(id=1, name="压测县", kind="county"))
        await conn.execute(
            insert(table(Township)),
            [{"id": n + 1, "area_id": 1, "name": f"乡{n:05d}", "villages": 10} for n in range(count)],
        )
        await conn.execute(
            insert(table(Person)),
            [
                {
                    "id": n + 1,
                    "name": f"督查员{n}",
                    "role": "inspector",
                    "area_id": 1,
                    "active": True,
                    "muted": False,
                    "created_at": datetime.now(TZ),
                }
                for n in range(count)
            ],
        )
        await conn.execute(
            insert(table(Identity)),
            [
                {"person_id": n + 1, "channel": "telegram", "external_id": str(100_000 + n), "blocked": False}
                for n in range(count)
            ],
        )
        await conn.execute(
            insert(table(Assignment)), [{"person_id": n + 1, "township_id": n + 1} for n in range(count)]
        )
    await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=LIMIT, help="the bot's pace, messages/s")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if opts.db == "sqlite":
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'fanout.sqlite3'}"
        else:
            from tests.conftest import PG_URL, pg_admin

            name = f"fanout_{uuid.uuid4().hex[:8]}"
            await pg_admin(f'CREATE DATABASE "{name}"')
            url = PG_URL.rsplit("/", 1)[0] + "/" + name
        try:
            await seed(url, opts.recipients)
            engine = make_engine(url)
            async with FakeTelegramAPI(token=TOKEN) as api:
                api.enforce_limits(global_per_second=LIMIT, per_chat_per_second=1, per_chat_burst=1)
                limiter = FloodLimiter(opts.rate)
                async with ExtBot(TOKEN, base_url=api.base_url, rate_limiter=limiter) as bot:
                    outbox = Outbox({"telegram": TelegramSender(bot)})
                    service = ReminderService(make_sessionmaker(engine), outbox, TZ, ReminderRules())
                    started = time.perf_counter()
                    report = await service.run_due(datetime(2026, 12, 28, 9, 0, tzinfo=TZ))
                    elapsed = time.perf_counter() - started
                stats = api.stats
            await engine.dispose()
        finally:
            if opts.db == "postgresql":
                await pg_admin(f'DROP DATABASE "{name}" WITH (FORCE)')
    rate = stats.achieved_rate()
    print(f"{opts.recipients} recipients on {opts.db}: {report} in {elapsed:.1f} s")
    print(f"achieved {rate:.2f} messages/s = {rate / LIMIT:.2f} of the {LIMIT:.0f}/s limit (target >= 0.90)")
    print(
        f"429 answers: {stats.rate_limited} (target 0); duplicates: {stats.duplicates} (must be 0); "
        f"delivered {stats.delivered}"
    )


if __name__ == "__main__":
    asyncio.run(main())
