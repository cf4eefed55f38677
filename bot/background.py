"""The bot's background jobs, on its one scheduler (APScheduler, in the bot's event loop):
forgetting old processed update ids every night, sending the notices a crash kept from going
out, and the reminders. Started the same way whichever channels run."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Settings
from bot.dialog.core import Dialog
from bot.outbox import Outbox
from bot.reminders.service import ReminderService, rules_from


def start_background(
    settings: Settings, dialog: Dialog, outbox: Outbox, owner: int | None = None
) -> AsyncIOScheduler:
    """Start the jobs (call it in the running event loop); ``shutdown()`` the result to stop.
    ``owner``: the leader's key for its reminder claims (bot/leader.py)."""
    scheduler = AsyncIOScheduler(timezone=settings.tz)
    scheduler.add_job(dialog.prune, CronTrigger(hour=3, minute=17, timezone=settings.tz), id="prune")
    # Notices a crash kept from going out (each turn keeps its own until it has sent them).
    scheduler.add_job(dialog.send_unsent, IntervalTrigger(minutes=1), args=[outbox], id="unsent")
    if settings.reminders_enabled:
        # The jobs come from the settings and the database, which stays the source of truth:
        # a restart rebuilds them.
        service = ReminderService(
            dialog.sessions, outbox, settings.tz, rules_from(settings), channels=outbox.channels, owner=owner
        )
        service.schedule(scheduler)
    scheduler.start()
    return scheduler
