"""Group commit: turns decided from memory are checked and written together, in one
transaction per batch, while the next batch gathers.

On SQLite the batch runs right on the event loop, on a plain ``sqlite3`` connection with
``BEGIN IMMEDIATE`` (its checks and writes see one state of the file) and statements compiled
once (``storage.executors.RawSqlite``): a batch takes a fraction of a millisecond, less than
handing it to a thread, which then waits for the loop's GIL at every statement. The connection
never waits in SQLite's busy handler: when another process holds the write lock, the batch
waits here, asynchronously, and tries again. This process's other writers queue behind it on
the ``Writer`` lock. On PostgreSQL the batch runs on a pooled async connection and locks the
rows it checks.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Sequence
from contextlib import suppress

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import SessionMaker, Writer, sqlite_pragmas
from storage.executors import RawSqlite, SqlAlchemy
from storage.queries.turns import Outcome, TurnWrite, commit_turns

log = logging.getLogger(__name__)

# Waits (seconds) while another process holds SQLite's write lock: about 10 s in all, as the
# busy timeout of the other connections.
BUSY_WAITS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05) + (0.1,) * 98


class GroupCommit:
    def __init__(self, sessions: SessionMaker) -> None:
        self._sessions = sessions
        self._engine: AsyncEngine = sessions.kw["bind"]
        self._sqlite: sqlite3.Connection | None = None  # made at the first commit
        self._queue: list[tuple[TurnWrite, asyncio.Future[Outcome]]] = []
        self._flusher: asyncio.Task[None] | None = None

    @staticmethod
    def supports(sessions: SessionMaker) -> bool:
        """Not for an in-memory SQLite database (a second connection would see another one) nor
        for a SQLite URL with options, which the plain connection would not honour."""
        url = sessions.kw["bind"].url
        if url.get_backend_name() != "sqlite":
            return True
        return url.database not in (None, "", ":memory:") and not url.query

    async def commit(self, turn: TurnWrite) -> Outcome:
        """Check and write the turn with whatever else is waiting; raises what the batch raised."""
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.append((turn, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await done  # if the caller is cancelled, its turn is still written or not as a whole

    async def _flush(self) -> None:
        batch: list[tuple[TurnWrite, asyncio.Future[Outcome]]] = []
        try:
            await asyncio.sleep(0)  # let the turns already runnable join this batch
            while self._queue:
                batch, self._queue = self._queue, []
                started = time.perf_counter()
                try:
                    outcomes = await self._write([turn for turn, _ in batch])
                except Exception as exc:  # every turn of the batch is run again on its own
                    log.warning("group commit of %d turns failed: %r", len(batch), exc)
                    _fail(batch, exc)
                    continue
                log.debug("committed %d turns in %.2f ms", len(batch), (time.perf_counter() - started) * 1000)
                for (_, done), outcome in zip(batch, outcomes, strict=True):
                    if not done.done():
                        done.set_result(outcome)
        finally:  # cancelled (shutdown): nobody may wait for ever, holding a person's lock
            stopped = RuntimeError("the group commit stopped")
            _fail(batch, stopped)
            queued, self._queue = self._queue, []
            _fail(queued, stopped)

    async def _write(self, turns: Sequence[TurnWrite]) -> list[Outcome]:
        async with Writer(self._sessions) as writer:
            await writer.acquire()
            if self._engine.dialect.name != "sqlite":
                async with self._engine.begin() as conn:
                    await conn.execution_options(group_commit=True)  # tells its statements apart in logs
                    return await conn.run_sync(lambda sync: commit_turns(SqlAlchemy(sync), turns))
            for wait in BUSY_WAITS:
                try:
                    return self._commit_sqlite(turns)
                except sqlite3.OperationalError as exc:
                    if not _busy(exc):
                        raise
                await asyncio.sleep(wait)
            return self._commit_sqlite(turns)

    def _commit_sqlite(self, turns: Sequence[TurnWrite]) -> list[Outcome]:
        """One try; after any failure but a busy file the connection is replaced."""
        if self._sqlite is None:
            self._sqlite = _sqlite_connection(self._engine)
        try:
            return _commit_sqlite(self._sqlite, turns)
        except BaseException as exc:
            if not _busy(exc):
                self._drop_connection()
            raise

    def _drop_connection(self) -> None:
        if self._sqlite is not None:
            with suppress(sqlite3.Error):
                self._sqlite.close()
            self._sqlite = None

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        self._drop_connection()


def _busy(exc: BaseException) -> bool:
    """Another connection holds the write lock (BEGIN IMMEDIATE with no busy timeout)."""
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


def _fail(batch: Sequence[tuple[TurnWrite, asyncio.Future[Outcome]]], exc: BaseException) -> None:
    for _, done in batch:
        if not done.done():
            done.set_exception(exc)
            done.exception()  # retrieved here: a caller that was cancelled meanwhile never will


def _commit_sqlite(conn: sqlite3.Connection, turns: Sequence[TurnWrite]) -> list[Outcome]:
    conn.execute("BEGIN IMMEDIATE")  # raises at once while another process writes
    try:
        outcomes = commit_turns(RawSqlite(conn), turns)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # a failed COMMIT can leave it open, holding the write lock
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    return outcomes


def _sqlite_connection(engine: AsyncEngine) -> sqlite3.Connection:
    """A connection to the engine's file, with its pragmas; transactions are begun here
    (``isolation_level=None``) and never wait for the lock (``timeout=0``)."""
    conn = sqlite3.connect(engine.url.database or "", timeout=0, isolation_level=None)
    sqlite_pragmas(conn, None, busy_timeout_ms=0)
    return conn
