"""Photo answers' pictures kept in the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import writable
from storage.models import PhotoBlob, table
from storage.types import utcnow


async def put_photo(session: AsyncSession, inspection_id: int, unique_id: str, data: bytes) -> int:
    """Keep a picture; its id (the one kept before, for the same picture sent again)."""
    blobs = table(PhotoBlob)
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    conn = await writable(session)
    values = {
        "inspection_id": inspection_id,
        "unique_id": unique_id,
        "data": data,
        "size": len(data),
        "created_at": utcnow(),
    }
    await conn.execute(insert(blobs).values(values).on_conflict_do_nothing())
    found = await conn.execute(
        select(blobs.c.id).where(blobs.c.inspection_id == inspection_id, blobs.c.unique_id == unique_id)
    )
    return int(found.scalar_one())


async def photo_data(session: AsyncSession, photo_id: int) -> bytes | None:
    blobs = table(PhotoBlob)
    found = await (await session.connection()).execute(select(blobs.c.data).where(blobs.c.id == photo_id))
    data = found.scalar()
    return bytes(data) if data is not None else None
