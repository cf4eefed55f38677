"""PostgreSQL session advisory locks, on a connection of their own.

A session lock lasts as long as the connection that took it: when a process dies, however it
dies, its server backend sees the socket close and the lock is free for another process at
once. That is all the leader election needs (bot/leader.py): the leader holds ``LEADER``, the
standbys try for it every second. Each running process also holds a lock of its own (its
"owner" key), which it writes into the reminder claims it makes: a claim whose owner's lock is
free belongs to a run that died (storage/queries/reminders.py).

The connection keeps TCP keepalives short, so that the server notices a leader that vanished
from the network (not only one that died) within seconds, and frees its locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

# The two-key form of the advisory locks (classid, objid): this namespace, and in it 1 for the
# leader and random keys for the owners. (The one-key form, storage.db.SCHEMA_LOCK, is apart.)
NAMESPACE = 0x61726368  # "arch"
LEADER = 1
CHECK_TIMEOUT = 5.0  # seconds a liveness query of the lock's connection may take

_KEEPALIVES = {
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "3",
    "application_name": "archive-bot leader lock",
}


def new_owner_key() -> int:
    """A key for one process's run, positive and within int4 (pg_locks shows it as an oid)."""
    return secrets.randbelow(2**31 - 2**16) + 2**16


class AdvisoryLocks:
    """One connection, outside any pool, in autocommit (a lock is not a transaction)."""

    def __init__(self, url: str) -> None:
        self.engine: AsyncEngine = create_async_engine(
            url, poolclass=NullPool, connect_args={"server_settings": dict(_KEEPALIVES)}
        )
        self._conn: AsyncConnection | None = None

    async def open(self) -> None:
        await self.close()
        conn = await self.engine.connect()
        self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    async def _scalar(self, sql: str, **params: int) -> object:
        assert self._conn is not None, "open() first"
        async with asyncio.timeout(CHECK_TIMEOUT):
            return (await self._conn.execute(text(sql), params)).scalar()

    async def try_lock(self, key: int) -> bool:
        """Take the lock ``key`` if free (at once, never waits)."""
        return bool(await self._scalar("SELECT pg_try_advisory_lock(:ns, :key)", ns=NAMESPACE, key=key))

    async def holds(self, key: int) -> bool:
        """Whether this connection still holds ``key``: False once the connection is gone."""
        try:
            return bool(
                await self._scalar(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
                    " AND pid = pg_backend_pid() AND classid::bigint = :ns"
                    " AND objid::bigint = :key AND objsubid = 2 AND granted)",
                    ns=NAMESPACE,
                    key=key,
                )
            )
        except Exception:  # the connection is gone (or hangs): the lock with it
            return False

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a dead connection: its locks went with it
                await conn.close()

    async def dispose(self) -> None:
        await self.close()
        await self.engine.dispose()
