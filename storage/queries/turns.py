"""What every turn of the dialog reads first: who wrote, where they are, and whether this
update was applied before — in one statement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import DialogState, Identity, Person, ProcessedUpdate, table


@dataclass(frozen=True)
class TurnStart:
    person: Person
    identity_id: int
    blocked: bool  # the channel reported the person blocked the bot
    state: dict[str, Any]
    version: int | None  # of the stored state; None when there is none yet
    processed: bool  # this update was applied before (a redelivery)


_p, _i, _s, _u = table(Person), table(Identity), table(DialogState), table(ProcessedUpdate)
_START = (
    select(
        _p,
        _i.c.id.label("identity_id"),
        _i.c.blocked.label("identity_blocked"),
        _s.c.state.label("dialog_state"),
        _s.c.version.label("state_version"),
        _u.c.update_id.label("processed"),
    )
    .select_from(_i)
    .join(_p, _p.c.id == _i.c.person_id)
    .outerjoin(_s, _s.c.person_id == _p.c.id)
    .outerjoin(_u, and_(_u.c.channel == _i.c.channel, _u.c.update_id == bindparam("update_id")))
    .where(_i.c.channel == bindparam("channel"), _i.c.external_id == bindparam("external_id"))
)
_PERSON_COLUMNS = tuple(c.name for c in _p.c)
# PostgreSQL: the person's row locked for the turn, in the same read, so that two workers'
# turns of one person take turns. (Their dialog state's row may not exist yet, and a lock cannot
# be taken on the nullable side of an outer join; NO KEY UPDATE leaves the foreign-key checks of
# other people's writes that name this person unblocked.) A turn that waited on the lock may
# have read the state as it was before the other turn: its write then fails the state's version
# check and the turn runs again, with the lock already its own.
_START_LOCKED = _START.with_for_update(of=_p, key_share=True)


async def turn_start(
    session: AsyncSession, channel: str, external_id: str, update_id: str
) -> TurnStart | None:
    """The person behind a channel account with their dialog state; None for a stranger. On
    PostgreSQL the person's row stays locked until the turn's transaction ends."""
    params = {"channel": channel, "external_id": external_id, "update_id": update_id}
    conn = await session.connection()
    start = _START_LOCKED if conn.dialect.name == "postgresql" else _START
    row = (await conn.execute(start, params)).first()
    if row is None:
        return None
    m = row._mapping
    return TurnStart(
        person=Person(**{name: m[name] for name in _PERSON_COLUMNS}),
        identity_id=m["identity_id"],
        blocked=bool(m["identity_blocked"]),
        state=dict(m["dialog_state"] or {}),
        version=m["state_version"],
        processed=m["processed"] is not None,
    )
