"""Reminders in the bot process: APScheduler runs them at the set local time every day (the
rules pick the working days), and once at start-up to catch up on what downtime missed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from bot.config import Settings
from bot.outbox import Sender
from bot.reminders.fanout import STALE_CLAIM, FanOutReport, fan_out
from bot.reminders.plan import Planned, plan
from bot.reminders.rules import ReminderRules
from storage.db import SessionMaker
from storage.queries.recipients import CHANNEL_PREFERENCE
from storage.types import utcnow

log = logging.getLogger(__name__)

LAST_HOUR = 20  # retries of the day's reminders stop after this local hour


def rules_from(settings: Settings) -> ReminderRules:
    hour, minute = (int(part) for part in settings.reminder_time.split(":"))
    return ReminderRules(
        monthly_from_month=settings.reminder_monthly_from_month,
        weekly_within_days=settings.reminder_weekly_within_days,
        daily_within_days=settings.reminder_daily_within_days,
        overdue_for_days=settings.reminder_overdue_for_days,
        send_hour=hour,
        send_minute=minute,
    )


class ReminderService:
    def __init__(
        self,
        sessions: SessionMaker,
        sender: Sender,
        tz: ZoneInfo,
        rules: ReminderRules,
        *,
        clock: Callable[[], datetime] = utcnow,
        workers: int = 8,
        channels: Sequence[str] = CHANNEL_PREFERENCE,
        owner: int | None = None,
    ) -> None:
        """``owner``: the key of the advisory lock this process holds while it lives (bot.leader),
        written into its claims, so that a run that died is known dead at once."""
        self.workers, self.channels, self.owner = workers, tuple(channels), owner
        self.sessions, self.sender, self.tz, self.rules, self.clock = sessions, sender, tz, rules, clock
        self._running = asyncio.Lock()

    @property
    def send_time(self) -> time:
        return time(self.rules.send_hour, self.rules.send_minute)

    async def due(self, now: datetime | None = None) -> list[Planned]:
        """What is due at ``now``: nothing before the day's send time."""
        now = now or self.clock()
        if now.astimezone(self.tz).time() < self.send_time:
            return []
        async with self.sessions() as session:
            return await plan(session, now, self.tz, self.rules, self.channels)

    async def run_due(
        self, now: datetime | None = None, *, stale_after: timedelta = STALE_CLAIM
    ) -> FanOutReport:
        """Send what is due; what was sent already (by this or another run) is skipped."""
        async with self._running:  # one fan-out at a time in this process
            planned = await self.due(now)
            return await fan_out(
                self.sessions,
                planned,
                self.sender,
                stale_after=stale_after,
                workers=self.workers,
                owner=self.owner,
            )

    def schedule(self, scheduler: AsyncIOScheduler, start_in: float = 5.0) -> None:
        """The daily job at the send time, then hourly until the evening (what failed or was
        missed goes out then; the log keeps everything to once), and a catch-up run shortly after
        start (a missed period's reminder is sent once, if it is still relevant)."""
        hours = f"{self.rules.send_hour}-{max(self.rules.send_hour, LAST_HOUR)}"
        daily = CronTrigger(hour=hours, minute=self.rules.send_minute, timezone=self.tz)
        scheduler.add_job(
            self._job, daily, id="reminders", replace_existing=True, coalesce=True, misfire_grace_time=3600
        )
        soon = DateTrigger(run_date=datetime.now(self.tz) + timedelta(seconds=start_in), timezone=self.tz)
        scheduler.add_job(self._job, soon, id="reminders-catch-up", replace_existing=True)

    async def _job(self) -> None:
        try:
            await self.run_due()
        except Exception:  # a failed run must not stop tomorrow's
            log.exception("reminder run failed")
