"""Backups that restore: every row of every table, written through SQLAlchemy to one
portable file (gzip-compressed JSON lines), and read back into a database at the same
schema revision. The same file restores into SQLite or PostgreSQL, whichever it came from.

    {"format": "archive-bot-backup", "version": 1, "revision": "0004", "tables": {"area": 2, ...}}
    {"table": "area", "columns": ["id", "name", "kind", "parent_id"]}
    [1, "示例市", "city", null]
    ...
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Date, LargeBinary, Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (the tables, registered in the metadata)
from storage.db import take_writer
from storage.types import UTCDateTime

FORMAT = "archive-bot-backup"
VERSION = 1
BATCH = 1000

Progress = Callable[[int], None]  # called with the number of rows just written or read


class BackupError(Exception):
    """The file is not a backup this database can take (the message says why)."""


def _tables() -> list[Table]:
    return list(SQLModel.metadata.sorted_tables)  # parents before children


async def _revision(conn: AsyncConnection) -> str | None:
    try:
        return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except Exception:  # no schema at all
        return None


def _encoder(table: Table) -> list[Callable[[Any], Any]]:
    def plain(value: Any) -> Any:
        return value

    def stamp(value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime | date) else value

    def binary(value: Any) -> Any:
        return base64.b64encode(value).decode("ascii") if value is not None else None

    out: list[Callable[[Any], Any]] = []
    for column in table.c:
        kind = column.type
        out.append(
            binary
            if isinstance(kind, LargeBinary)
            else stamp
            if isinstance(kind, UTCDateTime | Date)
            else plain
        )
    return out


def _decoder(table: Table) -> list[Callable[[Any], Any]]:
    def plain(value: Any) -> Any:
        return value

    def stamp(value: Any) -> Any:
        return datetime.fromisoformat(value) if value is not None else None

    def day(value: Any) -> Any:
        return date.fromisoformat(value) if value is not None else None

    def binary(value: Any) -> Any:
        return base64.b64decode(value) if value is not None else None

    out: list[Callable[[Any], Any]] = []
    for column in table.c:
        kind = column.type
        if isinstance(kind, LargeBinary):
            out.append(binary)
        elif isinstance(kind, UTCDateTime):
            out.append(stamp)
        elif isinstance(kind, Date):
            out.append(day)
        else:
            out.append(plain)
    return out


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            t.name: int((await conn.execute(select(func.count()).select_from(t))).scalar() or 0)
            for t in _tables()
        }


async def backup(engine: AsyncEngine, path: Path, progress: Progress | None = None) -> dict[str, int]:
    """Write every row to ``path``, as of one moment (one read transaction); the row counts."""
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        else:
            await conn.execute(text("BEGIN"))  # a read transaction: one snapshot of the file
        revision = await _revision(conn)
        if revision is None:
            raise BackupError("the database has no schema: nothing to back up")
        counts = {
            t.name: int((await conn.execute(select(func.count()).select_from(t))).scalar() or 0)
            for t in _tables()
        }
        tmp = path.with_name(path.name + ".part")
        with gzip.open(tmp, "wt", encoding="utf-8") as out:
            _line(out, {"format": FORMAT, "version": VERSION, "revision": revision, "tables": counts})
            for table in _tables():
                encode = _encoder(table)
                _line(out, {"table": table.name, "columns": [c.name for c in table.c]})
                order = list(table.primary_key.columns) or list(table.c)
                result = await conn.stream(select(table).order_by(*order))
                async for chunk in result.partitions(BATCH):
                    for row in chunk:
                        _line(out, [f(v) for f, v in zip(encode, row, strict=True)])
                    if progress:
                        progress(len(chunk))
        await conn.rollback()
    tmp.replace(path)  # a half-written backup never takes the name of a good one
    return counts


def _line(out: IO[str], value: Any) -> None:
    out.write(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    out.write("\n")


def read_header(path: Path) -> dict[str, Any]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as src:
            header = json.loads(src.readline())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path} is not a backup file ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError(f"{path} is not a backup file")
    if header.get("version") != VERSION:
        raise BackupError(
            f"{path} is a backup of format {header.get('version')}, this release reads {VERSION}"
        )
    return header


def _lines(path: Path) -> Iterator[Any]:
    """The backup's lines after the header, each read as JSON."""
    with gzip.open(path, "rt", encoding="utf-8") as src:
        src.readline()
        for line in src:
            if line.strip():
                yield json.loads(line)


async def restore(engine: AsyncEngine, path: Path, progress: Progress | None = None) -> dict[str, int]:
    """Replace every row with those of the backup, in one transaction (all or nothing). The
    database must be at the backup's schema revision (``archive-bot db upgrade`` first)."""
    header = read_header(path)
    async with engine.begin() as conn:
        await take_writer(conn)
        revision = await _revision(conn)
        if revision != header["revision"]:
            raise BackupError(
                f"the backup is of schema revision {header['revision']}, the database is at {revision};"
                " upgrade the database to the same revision first"
            )
        for gone in reversed(_tables()):
            await conn.execute(gone.delete())
        current: Table | None = None
        decode: list[Callable[[Any], Any]] = []
        batch: list[dict[str, Any]] = []
        for item in _lines(path):
            if isinstance(item, dict):  # the next table, and its columns
                await _insert(conn, current, batch, progress)
                current, batch = _table_of(item), []
                decode = _decoder(current)
                continue
            if current is None or not isinstance(item, list) or len(item) != len(decode):
                raise BackupError(f"unexpected line in the backup: {str(item)[:80]}")
            batch.append({c.name: f(v) for c, f, v in zip(current.c, decode, item, strict=True)})
            if len(batch) == BATCH:
                await _insert(conn, current, batch, progress)
                batch = []
        await _insert(conn, current, batch, progress)
        if conn.dialect.name == "postgresql":  # new rows must not take the ids restored ones have
            for t in _tables():
                keys = list(t.primary_key.columns)
                if len(keys) == 1:  # setval of no sequence (NULL) does nothing
                    name = keys[0].name
                    await conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{t.name}', '{name}'),"
                            f" COALESCE((SELECT MAX({name}) FROM {t.name}), 0) + 1, false)"
                        )
                    )
    return {name: int(n) for name, n in header["tables"].items()}


def _table_of(head: dict[str, Any]) -> Table:
    table = next((t for t in _tables() if t.name == head.get("table")), None)
    if table is None:
        raise BackupError(f"the backup has a table this schema has not: {head.get('table')}")
    if list(head.get("columns", [])) != [c.name for c in table.c]:
        raise BackupError(f"the backup's columns of {table.name} differ from this schema's")
    return table


async def _insert(
    conn: AsyncConnection, table: Table | None, rows: list[dict[str, Any]], progress: Progress | None
) -> None:
    if table is not None and rows:
        await conn.execute(insert(table), rows)
        if progress:
            progress(len(rows))
