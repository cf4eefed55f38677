"""What a dialog turn writes, as plain functions on a synchronous connection, so the same
statements serve one turn inside its own transaction and many turns committed together.

A turn answered from the dialog's memory (see ``bot.dialog.core``) read nothing from the
database; ``commit_turns`` checks, under the write lock, that what it relied on is still so:
the update is new, the person's state is at the version read, the inspection unchanged since
read, the person still an active inspector assigned to the township. Turns that pass are
written with one statement per table; the others write nothing and are run again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Integer, bindparam, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.models import (
    Answer,
    AnswerChange,
    Assignment,
    DialogState,
    Identity,
    Inspection,
    Person,
    ProcessedUpdate,
    Role,
    table,
)

Outcome = Literal["ok", "duplicate", "conflict"]


@dataclass(frozen=True)
class AnswerWrite:
    """One answer replacing ``old`` (None: none yet), with its history row."""

    inspection_id: int
    key: str
    value: Any
    skipped: bool
    old: Any
    by: int | None
    at: datetime


def write_answers(conn: Connection, writes: Sequence[AnswerWrite]) -> None:
    """Upsert the answers, add their history rows and move their inspections' ``updated_at``
    (which is how every reader learns that an inspection changed)."""
    if not writes:
        return
    conn.execute(
        _UPSERT_ANSWER[conn.dialect.name],
        [
            {
                "inspection_id": w.inspection_id,
                "question_key": w.key,
                "value": w.value,
                "skipped": w.skipped,
                "answered_by": w.by,
                "answered_at": w.at,
            }
            for w in writes
        ],
    )
    conn.execute(
        _ADD_CHANGE,
        [
            {
                "inspection_id": w.inspection_id,
                "question_key": w.key,
                "old_value": w.old,
                "new_value": w.value,
                "changed_by": w.by,
                "changed_at": w.at,
            }
            for w in writes
        ],
    )
    conn.execute(_TOUCH_INSPECTION, [{"b_id": w.inspection_id, "b_at": w.at} for w in writes])


@dataclass
class TurnWrite:
    """A turn decided from memory, with what it read (to be checked) and what it writes."""

    channel: str
    update_id: str
    person_id: int
    identity_id: int
    inspection_id: int
    version: int  # the person's dialog state version as read
    seen: datetime  # the inspection's updated_at as read
    status: str  # the inspection's status as read
    state: dict[str, Any]
    at: datetime
    answers: list[AnswerWrite] = field(default_factory=list)


def commit_turns(conn: Connection, turns: Sequence[TurnWrite]) -> list[Outcome]:
    """Check and write a batch of turns inside the caller's transaction (which holds the
    write lock on SQLite; here PostgreSQL locks the rows read)."""
    outcomes = _check(conn, turns)
    ok = [t for t, outcome in zip(turns, outcomes, strict=True) if outcome == "ok"]
    if not ok:
        return outcomes
    claimed = set(
        conn.execute(
            _CLAIM[conn.dialect.name],
            [{"channel": t.channel, "update_id": t.update_id, "processed_at": t.at} for t in ok],
        ).tuples()
    )
    if len(claimed) < len(ok):  # delivered again: applied already, by this process or another
        outcomes = [
            "duplicate" if o == "ok" and (t.channel, t.update_id) not in claimed else o
            for t, o in zip(turns, outcomes, strict=True)
        ]
        ok = [t for t in ok if (t.channel, t.update_id) in claimed]
    if ok:
        conn.execute(
            _SAVE_STATE,
            [{"b_person": t.person_id, "b_version": t.version, "b_state": t.state, "b_at": t.at} for t in ok],
        )
        write_answers(conn, [a for t in ok for a in t.answers])
    return outcomes


def _check(conn: Connection, turns: Sequence[TurnWrite]) -> list[Outcome]:
    """One statement: each turn's person, state version and inspection, found only while the
    person is still assigned to the inspection's township."""
    pairs = list({(t.identity_id, t.inspection_id) for t in turns})
    found = {(row.identity_id, row.inspection_id): row for row in conn.execute(_CHECK, {"pairs": pairs})}
    outcomes: list[Outcome] = []
    taken: set[object] = set()  # one turn per update, person and inspection in a batch
    for t in turns:
        row = found.get((t.identity_id, t.inspection_id))
        if ("update", t.channel, t.update_id) in taken:
            outcomes.append("duplicate")
        elif (
            row is None
            or row.person_id != t.person_id
            or row.blocked
            or not row.active
            or row.role != Role.inspector
            or row.version != t.version
            or row.updated_at != t.seen
            or row.status != t.status
            or ("person", t.person_id) in taken
            or ("inspection", t.inspection_id) in taken
        ):
            outcomes.append("conflict")
        else:
            outcomes.append("ok")
            taken.update({("person", t.person_id), ("inspection", t.inspection_id)})
        taken.add(("update", t.channel, t.update_id))
    return outcomes


# The statements, built once: building and keying them anew for every batch costs more than
# running them.
_a, _h, _i = table(Answer), table(AnswerChange), table(Inspection)
_pu, _ds, _p, _ident, _asg = (
    table(ProcessedUpdate),
    table(DialogState),
    table(Person),
    table(Identity),
    table(Assignment),
)


def _upsert_answer(insert: Any) -> Any:
    stmt = insert(_a)
    changed = {c: stmt.excluded[c] for c in ("value", "skipped", "answered_by", "answered_at")}
    return stmt.on_conflict_do_update(index_elements=["inspection_id", "question_key"], set_=changed)


_UPSERT_ANSWER = {"sqlite": _upsert_answer(sqlite_insert), "postgresql": _upsert_answer(pg_insert)}
_ADD_CHANGE = insert(_h)
_TOUCH_INSPECTION = update(_i).where(_i.c.id == bindparam("b_id")).values(updated_at=bindparam("b_at"))
_CLAIM = {  # the updates claimed now; one delivered before is left out
    name: dialect_insert(_pu).on_conflict_do_nothing().returning(_pu.c.channel, _pu.c.update_id)
    for name, dialect_insert in (("sqlite", sqlite_insert), ("postgresql", pg_insert))
}
_SAVE_STATE = (
    update(_ds)
    .where(_ds.c.person_id == bindparam("b_person"), _ds.c.version == bindparam("b_version"))
    .values(
        state=bindparam("b_state"),
        version=bindparam("b_version", type_=Integer) + 1,
        updated_at=bindparam("b_at"),
    )
)
_CHECK = (
    select(
        _ident.c.id.label("identity_id"),
        _ident.c.blocked,
        _p.c.id.label("person_id"),
        _p.c.active,
        _p.c.role,
        _ds.c.version,
        _i.c.id.label("inspection_id"),
        _i.c.updated_at,
        _i.c.status,
    )
    .join(_p, _p.c.id == _ident.c.person_id)
    .join(_ds, _ds.c.person_id == _p.c.id)
    .join(_asg, _asg.c.person_id == _p.c.id)
    .join(_i, _i.c.township_id == _asg.c.township_id)
    .where(tuple_(_ident.c.id, _i.c.id).in_(bindparam("pairs", expanding=True)))
    .with_for_update(of=[_ds, _i])
)
