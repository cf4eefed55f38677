"""The checklist's condition language, translated to SQL over pivoted answers.

A summary of tens of thousands of townships cannot afford to evaluate every township's
flags in Python, so each condition becomes one SQL expression over the answers' JSON
text (see ``storage.queries.summary.inspection_facts``). The translation keeps the
engine's semantics exactly — the tests compare it with :func:`bot.engine.evaluate` on
random answers, on SQLite and PostgreSQL:

* a test on an unanswered question is unknown (SQL NULL), and ``all``/``any``/``not``
  combine unknowns as SQL's AND/OR/NOT do (Kleene logic, as in the engine);
* only answers to applicable questions count (``effective_answers``): each question's
  value is wrapped in its ``when``;
* ``true`` is not ``1``; comparisons need numbers on both sides, else unknown;
  ``has_any``/``has_all``/``missing_any`` need a list, else unknown.

The answer text is the JSON the answer was stored as: ``true``, ``12``, ``"none"``,
``["fire", "theft"]``; its first character tells its type.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
from typing import Any
from typing import cast as typed

from sqlalchemy import (
    Float,
    Integer,
    Numeric,
    Text,
    and_,
    case,
    cast,
    distinct,
    false,
    func,
    literal,
    literal_column,
    not_,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSON as PG_JSON
from sqlalchemy.dialects.postgresql import JSONB, array
from sqlalchemy.sql.elements import ColumnElement

from bot.engine import INSPECTION_YEAR, Checklist, Cond
from bot.engine.schema import Ref

NUMBER_START = tuple("-0123456789")
UNKNOWN = typed("ColumnElement[bool]", null())  # SQL NULL: the engine's None


def _plain(text: str) -> bool:
    """Text that JSON writes as itself between quotes (no quote, backslash or control character)."""
    return all(ch not in '"\\' and ord(ch) >= 0x20 for ch in text)


def needed_keys(checklist: Checklist, conds: Iterable[Cond], facts: Iterable[str] = ()) -> list[str]:
    """The question keys whose answers the conditions and facts read, with the keys their
    questions' ``when`` read in turn (an answer counts only where its question applies)."""
    found: list[str] = []
    todo = [k for c in conds for k in c.refs()] + list(facts)
    while todo:
        key = todo.pop()
        if key in found or not checklist.has_question(key):
            continue
        found.append(key)
        when = checklist.question(key).when
        if when is not None:
            todo.extend(when.refs())
    return sorted(found, key=checklist.index)


class SqlConditions:
    """Translate conditions of one checklist version for one dialect."""

    def __init__(
        self,
        checklist: Checklist,
        raw: dict[str, ColumnElement[Any]],
        year: ColumnElement[int],
        dialect: str,
        *,
        effective: bool = False,
    ) -> None:
        """``raw``: question key → the answer's JSON text; ``effective``: those are already
        the values where the questions apply (see ``value``)."""
        self.checklist = checklist
        self.raw = raw
        self.year = year
        self.pg = dialect == "postgresql"
        self.given_effective = effective
        self._effective: dict[str, ColumnElement[Any] | None] = {}

    # Values -----------------------------------------------------------------------------

    def value(self, key: str) -> ColumnElement[Any] | None:
        """The answer's JSON text where the question applies, else NULL; None when the
        question is not in this checklist version (every test on it is unknown)."""
        if key in self._effective:
            return self._effective[key]
        expr: ColumnElement[Any] | None = None
        if self.checklist.has_question(key):
            if key not in self.raw:
                raise KeyError(f"answers to {key!r} were not selected (see needed_keys)")
            expr = self.raw[key]
            when = self.checklist.question(key).when
            if when is not None and not self.given_effective:
                expr = case((self.cond(when), expr), else_=null())
        self._effective[key] = expr
        return expr

    def _first(self, v: ColumnElement[Any]) -> ColumnElement[str]:
        return func.substr(v, 1, 1)

    def is_number(self, v: ColumnElement[Any]) -> ColumnElement[bool]:
        return self._first(v).in_(NUMBER_START)

    def number(self, v: ColumnElement[Any]) -> ColumnElement[Any]:
        """The number (only where ``is_number``: PostgreSQL raises on a bad cast)."""
        return cast(v, Numeric)

    def string(self, v: ColumnElement[Any]) -> ColumnElement[str]:
        """A JSON string's text, unquoted and unescaped."""
        if self.pg:
            return cast(v, PG_JSON).op("#>>", return_type=Text)(literal_column("'{}'::text[]"))
        return func.json_extract(v, "$")

    # Conditions -------------------------------------------------------------------------

    def cond(self, c: Cond) -> ColumnElement[bool]:
        """TRUE, FALSE or NULL (unknown), as :func:`bot.engine.evaluate` gives True/False/None."""
        if c.all_ is not None:
            return and_(true(), *(self.cond(x) for x in c.all_)) if c.all_ else true()
        if c.any_ is not None:
            return or_(false(), *(self.cond(x) for x in c.any_)) if c.any_ else false()
        if c.not_ is not None:
            return not_(self.cond(c.not_))
        if c.q is None:
            return UNKNOWN
        v = self.value(c.q)
        if c.answered is not None:
            if v is None:
                return false() if c.answered else true()
            return v.is_not(None) if c.answered else v.is_(None)
        if v is None:
            return UNKNOWN
        if c.eq is not None:
            return self._same(v, c.eq)
        if c.ne is not None:
            return not_(self._same(v, c.ne))
        if c.in_ is not None:
            if not c.in_:
                return case((v.is_(None), null()), else_=false())
            return or_(*(self._same(v, x) for x in c.in_))
        for op in ("lt", "le", "gt", "ge"):
            raw = getattr(c, op)
            if raw is not None:
                return self._compare(v, op, raw)
        if c.has_any is not None:
            return case((self._first(v) == "[", self._has(v, c.has_any, every=False)), else_=null())
        if c.has_all is not None:
            return case((self._first(v) == "[", self._has(v, c.has_all, every=True)), else_=null())
        if c.missing_any is not None:
            return case((self._first(v) == "[", not_(self._has(v, c.missing_any, every=True))), else_=null())
        return UNKNOWN

    def mask(self, parts: list[tuple[int, Cond]]) -> ColumnElement[int]:
        """The sum of the bits whose condition holds: many groups in one integer column."""
        assert all(0 < bit < 1 << 31 for bit, _ in parts), "bits must fit a 32-bit integer"
        terms = [case((self.cond(c), bit), else_=0) for bit, c in parts]
        return functools.reduce(operator.add, terms) if terms else literal(0)

    def fact(self, key: str, kind: str) -> ColumnElement[Any]:
        """The answer as a whole number (``int``), a number (``real``) or a choice key
        (``text``); NULL when unanswered, not applicable or of another kind."""
        v = self.value(key)
        if v is None:
            return literal(None)
        if kind == "int":
            fraction = or_(v.contains("."), v.contains("e"), v.contains("E"))
            whole = and_(self.is_number(v), not_(fraction))
            return case((whole, cast(v, Integer)), else_=null())
        if kind == "real":
            return case((self.is_number(v), cast(v, Float)), else_=null())
        return case((self._first(v) == '"', self.string(v)), else_=null())

    def holds(self, c: Cond | None) -> ColumnElement[bool]:
        """1 where the condition is known to be true, else 0 (never NULL)."""
        if c is None:
            return case((true(), 1), else_=0)
        return case((self.cond(c), 1), else_=0)

    def _same(self, v: ColumnElement[Any], x: Any) -> ColumnElement[bool]:
        """Equality that does not confuse ``true`` with ``1``; NULL when unanswered."""
        if isinstance(x, bool):
            return v == ("true" if x else "false")
        if isinstance(x, str):
            if _plain(x):
                # A JSON string without a backslash is its characters between quotes, so
                # the text comparison decides; only escaped text needs the JSON parser.
                return case(
                    (v.is_(None), null()),
                    (v == f'"{x}"', true()),
                    (and_(self._first(v) == '"', v.contains("\\", autoescape=True)), self.string(v) == x),
                    else_=false(),
                )
            test: ColumnElement[bool] = self.string(v) == x
            kind = self._first(v) == '"'
        else:
            test = self.number(v) == x
            kind = self.is_number(v)
        return case((v.is_(None), null()), (kind, test), else_=false())

    def _compare(self, v: ColumnElement[Any], op: str, raw: Any) -> ColumnElement[bool]:
        if isinstance(raw, Ref):
            other_text = self.value(raw.q)
            if other_text is None:
                return UNKNOWN
            guard = and_(self.is_number(v), self.is_number(other_text))
            other: Any = self.number(other_text)
        elif raw == INSPECTION_YEAR:
            guard, other = self.is_number(v), self.year
        elif isinstance(raw, bool) or not isinstance(raw, int | float):
            return UNKNOWN
        else:
            guard, other = self.is_number(v), raw
        left = self.number(v)
        test = {"lt": left < other, "le": left <= other, "gt": left > other, "ge": left >= other}[op]
        return case((guard, test), else_=null())

    def _has(self, v: ColumnElement[Any], keys: list[str], *, every: bool) -> ColumnElement[bool]:
        wanted = sorted(set(keys))
        if not wanted:
            return true() if every else false()
        if self.pg:
            doc = cast(v, JSONB)
            return doc.has_all(array(wanted)) if every else doc.has_any(array(wanted))
        items = func.json_each(v).table_valued("value", "type")
        matching = and_(items.c.type == "text", items.c.value.in_(wanted))
        if every:
            count = select(func.count(distinct(items.c.value))).where(matching).scalar_subquery()
            exact = count == len(wanted)
        else:
            exact = select(items.c.value).where(matching).exists()
        if not all(_plain(k) for k in wanted):
            return exact
        # In a list of strings without a backslash an element is exactly its characters
        # between quotes: a text search decides, and the JSON parser is needed only otherwise.
        found = [func.instr(v, f'"{k}"') > 0 for k in wanted]
        fast = and_(*found) if every else or_(*found)
        simple = and_(func.instr(v, "\\") == 0, func.instr(v, "{") == 0)  # no escapes, no objects
        return case((simple, fast), else_=exact)
