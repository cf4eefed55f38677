"""Each person's place in the dialog, written with an optimistic version check."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Executable, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import DialogState, table
from storage.types import utcnow


async def load_state(session: AsyncSession, person_id: int) -> tuple[dict[str, Any], int | None]:
    """The state and its version; version None when the person has none yet."""
    t = table(DialogState)
    stmt = select(t.c.state, t.c.version).where(t.c.person_id == person_id)
    row = (await (await session.connection()).execute(stmt)).first()
    return (dict(row[0] or {}), int(row[1])) if row else ({}, None)


async def save_state(
    session: AsyncSession, person_id: int, state: dict[str, Any], version: int | None
) -> bool:
    """Write the state if it is still at ``version``; False if someone else wrote it meanwhile."""
    stmt: Executable
    if version is None:
        insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        stmt = (
            insert(table(DialogState))
            .values(person_id=person_id, state=state, version=1, updated_at=utcnow())
            .on_conflict_do_nothing()
        )
    else:
        stmt = (
            update(table(DialogState))
            .where(table(DialogState).c.person_id == person_id, table(DialogState).c.version == version)
            .values(state=state, version=version + 1, updated_at=utcnow())
        )
    result = await (await session.connection()).execute(stmt)
    return bool(result.rowcount)
