"""Shared fixtures: a migrated database on SQLite always, and on PostgreSQL when reachable
(REQUIRE_POSTGRES=1, as CI sets it, turns an unreachable server into a failure)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import SessionMaker, make_engine, make_sessionmaker, upgrade

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("REQUIRE_POSTGRES") == "1"


def pg_reachable() -> bool:
    url = make_url(PG_URL)
    try:
        with socket.create_connection((url.host or "127.0.0.1", url.port or 5432), timeout=1):
            return True
    except OSError:
        return False


def need_pg() -> None:
    if not pg_reachable():
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required (REQUIRE_POSTGRES=1) but {PG_URL} is unreachable")
        pytest.skip("PostgreSQL not reachable")


async def pg_admin(sql: str) -> None:
    import asyncpg

    url = make_url(PG_URL)
    conn = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[AsyncEngine]:
    """A freshly migrated database: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}")
        schema = None
    else:
        need_pg()
        schema = f"t_{uuid.uuid4().hex[:12]}"
        await pg_admin(f'CREATE SCHEMA "{schema}"')
        eng = make_engine(PG_URL, connect_args={"server_settings": {"search_path": schema}})
    try:
        await upgrade(eng)
        yield eng
    finally:
        await eng.dispose()
        if schema:
            await pg_admin(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sessions(engine: AsyncEngine) -> SessionMaker:
    return make_sessionmaker(engine)
