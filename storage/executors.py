"""Two ways to run the same prepared Core statements: through a SQLAlchemy ``Connection``, or
straight on a ``sqlite3`` connection (compiled once, parameters and results converted by the
columns' own SQLAlchemy types). The second is for the group commit's batches on SQLite, where
SQLAlchemy's work per statement (~100 µs) is many times SQLite's own (~10 µs)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from sqlalchemy import Connection
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.sql import Executable
from sqlalchemy.sql.expression import Select

Params = dict[str, Any]


class Executor(Protocol):
    dialect: str  # "sqlite" or "postgresql"

    def many(self, stmt: Executable, rows: Sequence[Params]) -> None: ...

    def first(self, stmt: Select[Any], params: Params) -> tuple[Any, ...] | None: ...

    def count(self, stmt: Executable, params: Params) -> int:
        """Rows changed."""
        ...


class SqlAlchemy:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    def many(self, stmt: Executable, rows: Sequence[Params]) -> None:
        if rows:
            self.conn.execute(stmt, list(rows))

    def first(self, stmt: Select[Any], params: Params) -> tuple[Any, ...] | None:
        row = self.conn.execute(stmt, params).first()
        return tuple(row) if row is not None else None

    def count(self, stmt: Executable, params: Params) -> int:
        return int(self.conn.execute(stmt, params).rowcount)


@dataclass(frozen=True)
class _Bind:
    name: str  # as written in the SQL
    key: str  # as given in the parameters
    value: Any  # when not given (a literal in the statement)
    convert: Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    binds: tuple[_Bind, ...]
    results: tuple[Callable[[Any], Any] | None, ...]

    def params(self, values: Params) -> Params:
        out = {}
        for b in self.binds:
            value = values[b.key] if b.key in values else b.value
            out[b.name] = b.convert(value) if b.convert else value
        return out

    def row(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(convert(v) if convert else v for convert, v in zip(self.results, row, strict=True))


_DIALECT = SQLiteDialect_pysqlite(paramstyle="named")


class RawSqlite:
    """Statements compiled once per set of parameter names; only for statements with plain
    (not expanding) parameters."""

    dialect = "sqlite"

    _cache: ClassVar[dict[tuple[int, tuple[str, ...]], _Compiled]] = {}

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @classmethod
    def _compile(cls, stmt: Executable, keys: Sequence[str]) -> _Compiled:
        key = (id(stmt), tuple(keys))  # statements here are module constants: ids stay theirs
        found = cls._cache.get(key)
        if found is None:
            compiled = stmt.compile(dialect=_DIALECT, column_keys=list(keys))  # type: ignore[attr-defined]
            if any(bind.expanding for bind in compiled.binds.values()):
                raise ValueError("IN lists are not supported here")
            binds = tuple(
                _Bind(
                    compiled.bind_names[bind],
                    bind.key,
                    bind.effective_value,
                    bind.type.dialect_impl(_DIALECT).bind_processor(_DIALECT),
                )
                for bind in compiled.binds.values()
            )
            columns = stmt.selected_columns if isinstance(stmt, Select) else ()
            results = tuple(c.type.dialect_impl(_DIALECT).result_processor(_DIALECT, None) for c in columns)
            found = cls._cache[key] = _Compiled(compiled.string, binds, results)
        return found

    def many(self, stmt: Executable, rows: Sequence[Params]) -> None:
        if rows:
            compiled = self._compile(stmt, list(rows[0]))
            self.conn.executemany(compiled.sql, [compiled.params(r) for r in rows])

    def first(self, stmt: Select[Any], params: Params) -> tuple[Any, ...] | None:
        compiled = self._compile(stmt, list(params))
        row = self.conn.execute(compiled.sql, compiled.params(params)).fetchone()
        return compiled.row(row) if row is not None else None

    def count(self, stmt: Executable, params: Params) -> int:
        compiled = self._compile(stmt, list(params))
        return self.conn.execute(compiled.sql, compiled.params(params)).rowcount
