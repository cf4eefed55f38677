"""The async engine, sessions and schema upgrades.

Everything the bot does with the database goes through an ``AsyncSession`` so that no
blocking database call runs on the bot's event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

MIGRATIONS = Path(__file__).parent / "migrations"

SessionMaker = async_sessionmaker[AsyncSession]


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
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def make_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: SessionMaker) -> AsyncIterator[AsyncSession]:
    """A session whose work is committed on success and rolled back on error."""
    async with sessions() as session, session.begin():
        yield session


_writers: WeakKeyDictionary[AsyncEngine, asyncio.Lock] = WeakKeyDictionary()


class Writer:
    """The right to write for the rest of a transaction. SQLite has one writer at a time:
    queueing this process's writers on a lock is much faster than letting them collide in
    SQLite's busy handler, which sleeps up to 100 ms at a time (other processes still meet
    the busy timeout). Reads before ``acquire`` run without it. PostgreSQL needs no lock."""

    def __init__(self, sessions: SessionMaker) -> None:
        engine = sessions.kw["bind"]
        self._lock = _writers.setdefault(engine, asyncio.Lock()) if engine.dialect.name == "sqlite" else None
        self._held = False

    async def acquire(self) -> None:
        if self._lock is not None and not self._held:
            await self._lock.acquire()
            self._held = True

    async def __aenter__(self) -> Writer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._held and self._lock is not None:
            self._held = False
            self._lock.release()


@asynccontextmanager
async def write_transaction(sessions: SessionMaker) -> AsyncIterator[AsyncSession]:
    """A transaction that writes from its start, holding the writer lock (see ``Writer``)."""
    async with Writer(sessions) as writer:
        await writer.acquire()
        async with transaction(sessions) as session:
            yield session


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


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; running it again is harmless."""
    async with engine.begin() as conn:
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
