"""What a dialog turn writes, as plain functions on an ``Executor`` (a SQLAlchemy connection
or a plain sqlite3 one), so the same statements serve one turn inside its own transaction and
many turns committed together.

A turn answered from the dialog's memory (see ``bot.dialog.core``) read nothing from the
database; ``commit_turns`` checks, under the write lock, that what it relied on is still so:
the person is still an active inspector assigned to the township, the state is at the version
read, the inspection unchanged since read; then that the update is new. Turns that pass are
written with one statement per table; the others write nothing and are run again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.executors import Executor
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


def write_answers(db: Executor, writes: Sequence[AnswerWrite], *, touch: bool = True) -> None:
    """Upsert the answers, add their history rows and move their inspections' ``updated_at``
    (which is how every reader learns that an inspection changed)."""
    db.many(
        _UPSERT_ANSWER[db.dialect],
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
    db.many(
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
    if touch:
        db.many(_TOUCH_INSPECTION, [{"b_id": w.inspection_id, "b_at": w.at} for w in writes])


def write_answer_checked(db: Executor, write: AnswerWrite, seen: datetime) -> bool:
    """One answer written by a turn on the database path: the inspection is touched first (on
    PostgreSQL that locks its row before the answer's, the order a batch takes them in), and
    whether it was still as read (``seen``) is returned: if not, someone wrote meanwhile and
    what the turn read is not to be kept in memory. The answer is written either way."""
    touch = {"b_id": write.inspection_id, "b_at": write.at, "b_seen": seen}
    fresh = db.count(_TOUCH_IF_SEEN, touch) > 0
    if not fresh:
        db.count(_TOUCH_INSPECTION, touch)
    write_answers(db, [write], touch=False)
    return fresh


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


def commit_turns(db: Executor, turns: Sequence[TurnWrite]) -> list[Outcome]:
    """Check and write a batch of turns inside the caller's transaction (which holds the
    write lock on SQLite; on PostgreSQL the check locks the rows it reads)."""
    outcomes: list[Outcome] = []
    taken: set[object] = set()  # one turn per person and per inspection in a batch
    for t in turns:
        if ("person", t.person_id) in taken or ("inspection", t.inspection_id) in taken or not _holds(db, t):
            outcomes.append("conflict")
        elif not db.count(
            _CLAIM[db.dialect], {"channel": t.channel, "update_id": t.update_id, "processed_at": t.at}
        ):
            outcomes.append("duplicate")  # applied already, by this process or another
        else:
            outcomes.append("ok")
            taken.update({("person", t.person_id), ("inspection", t.inspection_id)})
    ok = [t for t, outcome in zip(turns, outcomes, strict=True) if outcome == "ok"]
    db.many(
        _SAVE_STATE,
        [{"b_person": t.person_id, "b_version": t.version, "b_state": t.state, "b_at": t.at} for t in ok],
    )
    write_answers(db, [a for t in ok for a in t.answers])
    return outcomes


def _holds(db: Executor, t: TurnWrite) -> bool:
    """What the turn relied on is still so: the person is an active inspector, not blocked,
    assigned to the inspection's township, at the state version read, and the inspection is
    as read. (One row, found only while the assignment stands.)"""
    row = db.first(_CHECK, {"b_identity": t.identity_id, "b_inspection": t.inspection_id})
    if row is None:
        return False
    person_id, blocked, active, role, version, updated_at, status = row
    return (
        person_id == t.person_id
        and not blocked
        and active
        and role == Role.inspector
        and version == t.version
        and updated_at == t.seen
        and status == t.status
    )


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
_TOUCH_IF_SEEN = (
    update(_i)
    .where(_i.c.id == bindparam("b_id"), _i.c.updated_at == bindparam("b_seen"))
    .values(updated_at=bindparam("b_at"))
)
_CLAIM = {  # changes no row for an update delivered before
    "sqlite": sqlite_insert(_pu).on_conflict_do_nothing(),
    "postgresql": pg_insert(_pu).on_conflict_do_nothing(),
}
_SAVE_STATE = (
    update(_ds)
    .where(_ds.c.person_id == bindparam("b_person"), _ds.c.version == bindparam("b_version"))
    .values(
        state=bindparam("b_state"),
        version=_ds.c.version + 1,
        updated_at=bindparam("b_at"),
    )
)
_CHECK = (
    select(_p.c.id, _ident.c.blocked, _p.c.active, _p.c.role, _ds.c.version, _i.c.updated_at, _i.c.status)
    .join(_p, _p.c.id == _ident.c.person_id)
    .join(_ds, _ds.c.person_id == _p.c.id)
    .join(_asg, _asg.c.person_id == _p.c.id)
    .join(_i, _i.c.township_id == _asg.c.township_id)
    .where(_ident.c.id == bindparam("b_identity"), _i.c.id == bindparam("b_inspection"))
    .with_for_update(of=[_ds, _i])
)
