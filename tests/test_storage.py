"""The schema: migrations equal the models, upgrades are idempotent, SQLite is tuned."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, select

from storage.db import SessionMaker, upgrade
from storage.models import Area, Township
from storage.types import utcnow


def _diff(conn) -> list:
    ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
    return compare_metadata(ctx, SQLModel.metadata)


async def test_migrations_equal_models(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []


async def test_upgrade_twice_is_harmless(engine: AsyncEngine, sessions: SessionMaker) -> None:
    async with sessions() as s:
        s.add(Area(name="某市", kind="city"))
        await s.commit()
    await upgrade(engine)
    async with sessions() as s:
        assert [a.name for a in (await s.exec(select(Area))).all()] == ["某市"]


async def test_foreign_keys_are_enforced(sessions: SessionMaker) -> None:
    import pytest
    import sqlalchemy.exc

    async with sessions() as s:
        s.add(Township(area_id=999, name="太平乡", villages=10))
        with pytest.raises(sqlalchemy.exc.IntegrityError):
            await s.commit()


async def test_datetimes_come_back_aware(sessions: SessionMaker) -> None:
    from storage.models import Person

    now = utcnow()
    async with sessions() as s:
        s.add(Person(name="张三", role="inspector", created_at=now))
        await s.commit()
    async with sessions() as s:
        person = (await s.exec(select(Person))).one()
        assert person.created_at == now
        assert person.created_at.tzinfo is not None


async def test_sqlite_pragmas(tmp_path) -> None:
    from storage.db import make_engine

    eng = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'sub' / 'x.sqlite3'}")
    try:
        async with eng.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 10000
            assert (await conn.execute(text("PRAGMA synchronous"))).scalar() == 1  # NORMAL
    finally:
        await eng.dispose()
