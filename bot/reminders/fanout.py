"""Sending planned reminders: each claimed in the log before it is sent, so a crash or a
restart neither loses nor doubles one. The fan-out paces nothing: each channel's sender keeps
its own limits (Telegram's Bot its rate limiter, WeCom its per-member pace)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from bot import metrics
from bot.dialog.types import Reply
from bot.outbox import Outcome, Sender
from bot.reminders.plan import Planned
from storage.db import SessionMaker, transaction
from storage.queries.people import set_blocked
from storage.queries.reminders import claim_reminder, finish_reminder

log = logging.getLogger(__name__)

# A claim this old without a record of its send belongs to a run that died. Longer than the
# slowest send (flood-control waits and retries included), so a live run is never overtaken.
STALE_CLAIM = timedelta(minutes=30)


@dataclass
class FanOutReport:
    sent: int = 0
    skipped: int = 0
    blocked: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"sent {self.sent}, skipped {self.skipped}, blocked {self.blocked}, failed {self.failed}"


async def fan_out(
    sessions: SessionMaker,
    planned: list[Planned],
    sender: Sender,
    *,
    stale_after: timedelta = STALE_CLAIM,
    workers: int = 8,
    owner: int | None = None,
) -> FanOutReport:
    """Send ``planned``; ``owner``: this run's key in its claims (see claim_reminder)."""
    report = FanOutReport()
    queue: asyncio.Queue[Planned] = asyncio.Queue()
    for item in planned:
        queue.put_nowait(item)

    async def worker() -> None:
        while not queue.empty():
            await _one(sessions, queue.get_nowait(), sender, stale_after, report, owner)

    async with asyncio.TaskGroup() as group:  # one failing worker stops the others, as a crash would
        for _ in range(max(1, min(workers, len(planned)))):
            group.create_task(worker())
    if planned:
        log.info("reminders: %s", report)
    return report


async def _one(
    sessions: SessionMaker,
    item: Planned,
    sender: Sender,
    stale_after: timedelta,
    report: FanOutReport,
    owner: int | None,
) -> None:
    who = item.recipient
    async with transaction(sessions) as session:
        claim = await claim_reminder(
            session, item.rule, who.person_id, item.occasion, stale_after=stale_after, owner=owner
        )
    if claim == "done":
        report.skipped += 1
        return
    # Once sending starts it is finished and recorded even if this run is being cancelled:
    # only a hard kill between the send and the record can leave a claim to be resent.
    outcome = await asyncio.shield(_send_and_record(sessions, item, sender))
    metrics.REMINDERS.labels(outcome).inc()
    setattr(report, outcome, getattr(report, outcome) + 1)


async def _send_and_record(sessions: SessionMaker, item: Planned, sender: Sender) -> Outcome:
    who = item.recipient
    outcome = await sender.send(who.channel, who.external_id, Reply(item.text, item.buttons))
    async with transaction(sessions) as session:
        await finish_reminder(session, item.rule, who.person_id, item.occasion, outcome)
        if outcome == "blocked":
            await set_blocked(session, who.channel, who.external_id, True)
    return outcome
