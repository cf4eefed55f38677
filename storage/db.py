"""The async engine, sessions and schema upgrades.

Everything the bot does with the database goes through an ``AsyncSession`` so that no
blocking database call runs on the bot's event loop.

SQLite lets one connection write at a time, and the others wait in its busy handler, which
retries with sleeps of up to 100 ms: a writer can lose to newer ones again and again until
its busy timeout runs out. So this process's writers take turns on a queue instead, first
come first served: the queries that write get their connection from ``writable``, which
waits for the turn; the turn ends with the transaction. A write without it is refused (the
engine checks), so forgetting fails loudly in the tests rather than slowly in production.
PostgreSQL needs none of this.
"""

from __future__ import annotations

import asyncio
import fcntl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any
from weakref import WeakKeyDictionary

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

MIGRATIONS = Path(__file__).parent / "migrations"

SessionMaker = async_sessionmaker[AsyncSession]

# Connections a process keeps open. More turns than this at once wait for one (no turn holds
# two), which costs less than opening connections for a moment and closing them again.
POOL_SIZE = 10


def sqlite_pragmas(dbapi_conn: Any, _record: Any, busy_timeout_ms: int = 10_000) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers go on while one writer commits; NORMAL is durable enough under WAL.
    for pragma in (
        f"busy_timeout={busy_timeout_ms}",
        "journal_mode=WAL",
        "foreign_keys=ON",
        "synchronous=NORMAL",
    ):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; for SQLite the file's folder is created and the pragmas set."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # A fixed set of connections, kept open: a connection made for a busy moment and closed
        # after it (the pool's "overflow") costs a thread and the pragmas each time, more than
        # the turn it serves. One writes at a time anyway; the others read.
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", 0)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        event.listen(engine.sync_engine, "before_cursor_execute", _only_the_writer_writes)
        event.listen(engine.sync_engine, "commit", _end_turn)
        event.listen(engine.sync_engine, "rollback", _end_turn)
        # A transaction cut short (its task cancelled, its connection lost) ends with the
        # connection back in the pool, or thrown away: its turn ends then at the latest.
        for name in ("checkin", "invalidate", "soft_invalidate", "close"):
            event.listen(engine.sync_engine.pool, name, _end_turn_of_record(engine.sync_engine))
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", 0)
    return create_async_engine(url, **kwargs)


class Session(AsyncSession):
    """A session whose ORM writes (objects added, changed or deleted, written at a flush or
    the commit) wait for the writer's turn like every other write."""

    async def flush(self, objects: Any = None) -> None:
        if self.new or self.dirty or self.deleted:
            await writable(self)
        await super().flush(objects)

    async def commit(self) -> None:
        if self.new or self.dirty or self.deleted:
            await writable(self)
        await super().commit()


def make_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, class_=Session, expire_on_commit=False)


# SQLite's writers, one at a time --------------------------------------------------------------

WRITER = "writer"  # set in a connection's info while its transaction holds the writer's turn
_turns: WeakKeyDictionary[Engine, asyncio.Lock] = WeakKeyDictionary()


async def take_writer(conn: AsyncConnection) -> None:
    """Wait for this transaction's turn to write (SQLite; at once on PostgreSQL)."""
    sync = conn.sync_connection
    if conn.dialect.name != "sqlite" or sync is None or sync.info.get(WRITER):
        return
    await _turns.setdefault(conn.sync_engine, asyncio.Lock()).acquire()
    sync.info[WRITER] = True


async def writable(session: AsyncSession) -> AsyncConnection:
    """The session's connection, to write with: every query that writes starts here."""
    conn = await session.connection()
    await take_writer(conn)
    return conn


def _end_turn(conn: Connection) -> None:
    if conn.info.pop(WRITER, False):
        _turns[conn.engine].release()


def _end_turn_of_record(engine: Engine) -> Any:
    def end(dbapi_connection: Any, record: Any, *more: Any) -> None:
        if record is not None and record.info.pop(WRITER, False):
            _turns[engine].release()

    return end


def _only_the_writer_writes(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    writes = context is not None and (context.isinsert or context.isupdate or context.isdelete)
    if writes and not conn.info.get(WRITER):
        raise RuntimeError(
            f"a write without its turn (get the connection from storage.db.writable): {statement[:80]}"
        )


@asynccontextmanager
async def transaction(sessions: SessionMaker) -> AsyncIterator[AsyncSession]:
    """A session that may write from its start, committed on success and rolled back on error."""
    async with sessions() as session, session.begin():
        await writable(session)
        yield session


async def ping(sessions: SessionMaker) -> None:
    """Raises unless the database answers (for /healthz)."""
    async with sessions() as session:
        await (await session.connection()).execute(text("SELECT 1"))


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _upgrade_sync(connection: Connection, revision: str = "head") -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


# Any number for the lock that orders schema changes between processes (PostgreSQL).
SCHEMA_LOCK = 0x61726368  # "arch"


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; running it again is harmless, and two processes
    running it at once take turns (the second finds the work done)."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        else:  # the file's write lock, before the version is read
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
        await take_writer(conn)
        await conn.run_sync(_upgrade_sync, revision)


def upgrade_url(url: str, revision: str = "head") -> None:
    """Upgrade from synchronous code (the CLI, before the bot's loop starts)."""

    async def _run() -> None:
        engine = make_engine(url)
        try:
            await upgrade(engine, revision)
        finally:
            await engine.dispose()

    asyncio.run(_run())


def _versions(connection: Connection) -> tuple[str | None, str | None]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return MigrationContext.configure(connection).get_current_revision(), head


def schema_versions(url: str) -> tuple[str | None, str | None]:
    """(the database's schema revision, this release's) — None for a database with no schema."""

    async def _run() -> tuple[str | None, str | None]:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(_versions)
        finally:
            await engine.dispose()

    return asyncio.run(_run())


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


class AlreadyRunning(Exception):
    """Another process holds the embedded database."""


def hold_database(url: str) -> IO[bytes] | None:
    """For the embedded SQLite database: a lock beside the file that only one bot process at
    a time can hold (released when the process ends, however it ends). None for PostgreSQL,
    where several processes are the way to run (one leads, see ``bot.leader``)."""
    parsed = make_url(url)
    if not is_sqlite(url) or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database).with_name(Path(parsed.database).name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("wb")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AlreadyRunning(str(Path(parsed.database))) from None
    return handle
