"""Rectification items (整改事项) and their history: opened from a submitted inspection's
findings, reported done by the township, reviewed by the inspector, closed.

Every change of status is a conditional update on the status read, so two people acting
on the same item at once change it once; every change leaves an ``ItemEvent``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import writable
from storage.models import (
    Area,
    Inspection,
    ItemEvent,
    ItemStatus,
    Person,
    RectificationItem,
    Role,
    Township,
    table,
)
from storage.types import utcnow

_t = table(RectificationItem)


@dataclass
class Synced:
    """What submitting an inspection did to its township's items."""

    opened: list[RectificationItem] = field(default_factory=list)  # new, or open again
    kept: list[RectificationItem] = field(default_factory=list)  # still found: unchanged
    resolved: list[RectificationItem] = field(default_factory=list)  # the answers show them gone


async def _event(
    session: AsyncSession,
    item_id: int,
    action: str,
    by: int | None,
    comment: str | None = None,
    photos: Sequence[dict[str, Any]] = (),
) -> None:
    session.add(ItemEvent(item_id=item_id, action=action, by=by, comment=comment, photos=list(photos)))
    await session.flush()


async def sync_items(
    session: AsyncSession,
    *,
    township_id: int,
    year: int,
    inspection_id: int,
    findings: Mapping[str, dict[str, Any]],
    known: Iterable[str],
    due: date,
    by: int | None,
    owner: int | None = None,
) -> Synced:
    """Bring the township's items in line with an inspection just submitted: each finding
    (flag key → the answers behind it) has an item — one still open from an earlier year is
    kept, a closed one of this year opens again, else a new one opens; an item not closed
    whose finding is ``known`` to this inspection's checklist and no longer raised closes,
    resolved by the answers."""
    await writable(session)
    stmt = select(RectificationItem).where(
        RectificationItem.township_id == township_id, col(RectificationItem.year) <= year
    )
    items = list((await session.exec(stmt.order_by(col(RectificationItem.year)))).all())
    done = Synced()
    now = utcnow()
    for finding, evidence in findings.items():
        live = next((i for i in items if i.finding == finding and i.status != ItemStatus.closed), None)
        if live is not None:
            if live.inspection_id != inspection_id:  # a later inspection finds it still there
                live.inspection_id, live.evidence, live.updated_at = inspection_id, evidence, now
                session.add(live)
                await session.flush()
                assert live.id is not None
                await _event(session, live.id, "still", by)
            done.kept.append(live)
            continue
        this_year = next((i for i in items if i.finding == finding and i.year == year), None)
        if this_year is not None:  # closed, and found again
            this_year.status, this_year.closed_how, this_year.closed_at = ItemStatus.open, None, None
            this_year.evidence, this_year.inspection_id, this_year.updated_at = evidence, inspection_id, now
            session.add(this_year)
            await session.flush()
            assert this_year.id is not None
            await _event(session, this_year.id, "reopened", by)
            done.opened.append(this_year)
            continue
        item = RectificationItem(
            township_id=township_id,
            year=year,
            finding=finding,
            inspection_id=inspection_id,
            evidence=evidence,
            due=due,
            owner_id=owner,
            opened_by=by,
            opened_at=now,
            updated_at=now,
        )
        session.add(item)
        await session.flush()
        assert item.id is not None
        await _event(session, item.id, "opened", by)
        done.opened.append(item)
    knows = set(known)
    for item in items:
        if item.status == ItemStatus.closed or item.finding in findings or item.finding not in knows:
            continue
        item.status, item.closed_how, item.closed_at, item.updated_at = (
            ItemStatus.closed,
            "answers",
            now,
            now,
        )
        session.add(item)
        await session.flush()
        assert item.id is not None
        await _event(session, item.id, "resolved", by)
        done.resolved.append(item)
    return done


async def item_by_id(session: AsyncSession, item_id: int) -> RectificationItem | None:
    return await session.get(RectificationItem, item_id)


async def items_of(
    session: AsyncSession, township_ids: Iterable[int], statuses: Iterable[str] | None = None
) -> list[RectificationItem]:
    """The townships' items, oldest first."""
    ids = sorted(set(township_ids))
    if not ids:
        return []
    stmt = select(RectificationItem).where(col(RectificationItem.township_id).in_(ids))
    if statuses is not None:
        stmt = stmt.where(col(RectificationItem.status).in_(list(statuses)))
    stmt = stmt.order_by(
        col(RectificationItem.township_id), col(RectificationItem.year), col(RectificationItem.id)
    )
    return list((await session.exec(stmt)).all())


async def live_items(session: AsyncSession) -> list[RectificationItem]:
    """Every item not closed, oldest first."""
    stmt = select(RectificationItem).where(
        col(RectificationItem.status).in_([ItemStatus.open, ItemStatus.reported])
    )
    stmt = stmt.order_by(
        col(RectificationItem.township_id), col(RectificationItem.year), col(RectificationItem.id)
    )
    return list((await session.exec(stmt)).all())


async def open_items(session: AsyncSession) -> list[RectificationItem]:
    """Every item still to be rectified (the reminders' list; the index on status serves it)."""
    stmt = select(RectificationItem).where(RectificationItem.status == ItemStatus.open)
    return list((await session.exec(stmt.order_by(col(RectificationItem.id)))).all())


async def _move(session: AsyncSession, item: RectificationItem, was: str, **values: Any) -> bool:
    """Change the item if it is still ``was``; False if someone else changed it first."""
    now = utcnow()
    result = await (await writable(session)).execute(
        update(_t).where(_t.c.id == item.id, _t.c.status == was).values(updated_at=now, **values)
    )
    if not result.rowcount:
        return False
    for key, value in {"updated_at": now, **values}.items():
        setattr(item, key, value)
    return True


async def report_done(
    session: AsyncSession, item: RectificationItem, by: int, note: str, photos: Sequence[dict[str, Any]]
) -> bool:
    """The township says it is put right (with a note and photos): for review."""
    if not await _move(
        session, item, ItemStatus.open, status=ItemStatus.reported, note=note or None, photos=list(photos)
    ):
        return False
    assert item.id is not None
    await _event(session, item.id, "reported", by, note or None, photos)
    return True


async def ask_guidance(session: AsyncSession, item: RectificationItem, by: int, text: str | None) -> None:
    await writable(session)
    assert item.id is not None
    await _event(session, item.id, "guidance", by, text)


async def answer_guidance(session: AsyncSession, item: RectificationItem, by: int, text: str) -> None:
    await writable(session)
    assert item.id is not None
    await _event(session, item.id, "answered", by, text)


async def accept(session: AsyncSession, item: RectificationItem, by: int) -> bool:
    if not await _move(
        session,
        item,
        ItemStatus.reported,
        status=ItemStatus.closed,
        closed_how="accepted",
        closed_at=utcnow(),
    ):
        return False
    assert item.id is not None
    await _event(session, item.id, "accepted", by)
    return True


async def send_back(session: AsyncSession, item: RectificationItem, by: int, comment: str) -> bool:
    if not await _move(session, item, ItemStatus.reported, status=ItemStatus.open, comment=comment):
        return False
    assert item.id is not None
    await _event(session, item.id, "sent_back", by, comment)
    return True


async def set_due(session: AsyncSession, item: RectificationItem, by: int, due: date) -> bool:
    if not await _move(session, item, item.status, due=due):
        return False
    assert item.id is not None
    await _event(session, item.id, "due_set", by, due.isoformat())
    return True


async def events_of(session: AsyncSession, item_ids: Iterable[int]) -> dict[int, list[ItemEvent]]:
    ids = sorted(set(item_ids))
    found: dict[int, list[ItemEvent]] = {i: [] for i in ids}
    if not ids:
        return found
    stmt = (
        select(ItemEvent)
        .where(col(ItemEvent.item_id).in_(ids))
        .order_by(col(ItemEvent.at), col(ItemEvent.id))
    )
    for event in (await session.exec(stmt)).all():
        found[event.item_id].append(event)
    return found


async def contacts_of(session: AsyncSession, township_id: int) -> list[Person]:
    """The township's active contacts."""
    stmt = select(Person).where(
        Person.role == Role.contact, Person.township_id == township_id, col(Person.active).is_(True)
    )
    return list((await session.exec(stmt.order_by(col(Person.id)))).all())


async def townships_with_areas(
    session: AsyncSession, township_ids: Iterable[int]
) -> dict[int, tuple[Township, Area]]:
    ids = sorted(set(township_ids))
    if not ids:
        return {}
    stmt = (
        select(Township, Area)
        .join(Area, col(Area.id) == col(Township.area_id))
        .where(col(Township.id).in_(ids))
    )
    return {t.id: (t, a) for t, a in (await session.exec(stmt)).all() if t.id is not None}


async def contact_townships(session: AsyncSession) -> dict[int, int]:
    """Contact's person id → their township."""
    stmt = select(Person.id, Person.township_id).where(
        Person.role == Role.contact, col(Person.township_id).is_not(None)
    )
    return {pid: tid for pid, tid in (await session.exec(stmt)).all() if pid is not None and tid is not None}


async def year_items(session: AsyncSession, year: int) -> list[RectificationItem]:
    """The items a year's inspections raised, or found still there (an earlier year's item
    that a later inspection found again points at that inspection)."""
    of_year = select(Inspection.id).where(Inspection.year == year)
    stmt = select(RectificationItem).where(
        or_(col(RectificationItem.year) == year, col(RectificationItem.inspection_id).in_(of_year))
    )
    return list((await session.exec(stmt.order_by(col(RectificationItem.id)))).all())
