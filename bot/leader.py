"""Active and standby on PostgreSQL: the process that holds the leader's advisory lock polls
Telegram (or owns the webhook), runs the scheduler and the reminders; the others try for the
lock every second and take over when the leader's connection to the database dies (its
process killed, its host gone: the server frees the lock when it sees the socket close, or
after the lock connection's short TCP keepalives).

The leader checks its own lock every few seconds too: a leader whose lock connection broke may
have been replaced, so it stops (and its supervisor starts it again, as a standby).

Each process also holds a lock of its own, its "owner" key, which the reminder claims carry:
the new leader finishes a dead leader's claims at once instead of after the stale-claim window.
On the embedded SQLite database there is one process (storage.db.hold_database), always the
leader."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot import metrics
from storage.advisory import LEADER, AdvisoryLocks, new_owner_key
from storage.db import is_sqlite

log = logging.getLogger(__name__)


class Leadership:
    def __init__(self, url: str, *, retry: float = 1.0, check: float = 2.0) -> None:
        self.locks = AdvisoryLocks(url)
        self.retry, self.check = retry, check
        self.owner = new_owner_key()
        self.leading = False

    @property
    def role(self) -> str:
        return "leader" if self.leading else "standby"

    async def _connect(self) -> None:
        await self.locks.open()
        while not await self.locks.try_lock(self.owner):  # taken: another process drew the same key
            self.owner = new_owner_key()

    async def acquire(self) -> None:
        """Wait until this process leads (a standby until then)."""
        announced = False
        while True:
            try:
                if not self.locks.is_open:
                    await self._connect()
                if await self.locks.try_lock(LEADER):
                    break
                if not announced:
                    log.info("standby: another process leads; taking over when it stops")
                    announced = True
            except Exception as exc:  # the database unreachable: try again, as a standby
                log.warning("standby: the leader's lock cannot be tried (%s); retrying", exc)
                await self.locks.close()
            await asyncio.sleep(self.retry)
        self.leading = True
        metrics.LEADER.set(1)
        log.info("leading (owner key %d)", self.owner)

    async def watch(self) -> None:
        """Return when this process no longer surely leads (its lock connection broke)."""
        while True:
            if not await self.locks.holds(LEADER):
                break
            await asyncio.sleep(self.check)
        self.leading = False
        metrics.LEADER.set(0)
        log.error("the leader's lock was lost (its database connection broke): stopping")

    async def close(self) -> None:
        self.leading = False
        metrics.LEADER.set(0)
        await self.locks.dispose()


@asynccontextmanager
async def run_owner(url: str) -> AsyncIterator[int | None]:
    """An owner key held for a run outside the bot process (``archive-bot reminders run``), so
    that its claims too are known dead the moment it dies (PostgreSQL; None on SQLite)."""
    if is_sqlite(url):
        yield None
        return
    locks = AdvisoryLocks(url)
    await locks.open()
    try:
        key = new_owner_key()
        while not await locks.try_lock(key):
            key = new_owner_key()
        yield key
    finally:
        await locks.dispose()
