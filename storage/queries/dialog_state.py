"""Each person's place in the dialog, written with an optimistic version check."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import writable
from storage.models import DialogState, table
from storage.types import utcnow


async def load_state(session: AsyncSession, person_id: int) -> tuple[dict[str, Any], int | None]:
    """The state and its version; version None when the person has none yet."""
    t = table(DialogState)
    stmt = select(t.c.state, t.c.version).where(t.c.person_id == person_id)
    row = (await (await session.connection()).execute(stmt)).first()
    return (dict(row[0] or {}), int(row[1])) if row else ({}, None)


_ds = table(DialogState)
_INSERT = {  # built once; a state another writer created first is left alone
    "sqlite": sqlite_insert(_ds).on_conflict_do_nothing(),
    "postgresql": pg_insert(_ds).on_conflict_do_nothing(),
}
_UPDATE = (
    update(_ds)
    .where(_ds.c.person_id == bindparam("b_person"), _ds.c.version == bindparam("b_version"))
    .values(state=bindparam("b_state"), version=_ds.c.version + 1, updated_at=bindparam("b_at"))
)


async def save_state(
    session: AsyncSession, person_id: int, state: dict[str, Any], version: int | None
) -> bool:
    """Write the state if it is still at ``version``; False if someone else wrote it meanwhile."""
    conn = await writable(session)
    if version is None:
        values = {"person_id": person_id, "state": state, "version": 1, "updated_at": utcnow()}
        result = await conn.execute(_INSERT[conn.dialect.name], values)
    else:
        params = {"b_person": person_id, "b_version": version, "b_state": state, "b_at": utcnow()}
        result = await conn.execute(_UPDATE, params)
    return bool(result.rowcount)
