"""What the administration commands do, on a database: each function opens its own
transaction, validates everything first and either does all of its work or none of it
(raising ``AdminError`` with a message for the operator)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.admin.township_file import FileProblem, parse_file
from bot.i18n import t
from storage.db import SessionMaker, transaction
from storage.models import Area, Person, Role, Township
from storage.queries import registry as reg
from storage.queries.invites import DEFAULT_DAYS, create_invite
from storage.queries.people import area_and_below

ROLES = tuple(r.value for r in Role)


class AdminError(Exception):
    """A problem the operator can fix: catalogue keys with their parameters, one per line,
    rendered in the operator's language by ``render``."""

    def __init__(self, *lines: tuple[str, dict[str, Any]]) -> None:
        super().__init__(*[key for key, _ in lines])
        self.lines = list(lines)

    def render(self, locale: str | None = None) -> str:
        return "\n".join(t(key, locale, **params) for key, params in self.lines)


WECOM_USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-@.]{0,63}")


def _error(key: str, **params: Any) -> AdminError:
    return AdminError((key, params))


# Townships --------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    rows: int
    result: reg.ImportResult
    skipped_blank: int = 0


async def import_townships(
    sessions: SessionMaker,
    path: Path,
    *,
    city: str | None = None,
    locale: str | None = None,
    progress: Callable[[int], Callable[[int], None]] | None = None,
) -> ImportReport:
    """Validate the whole file, then import it in one transaction. ``progress(total)`` returns
    the callback advanced as rows are written."""
    try:
        parsed = parse_file(path, locale)
    except FileProblem as problem:
        raise _error(f"admin.import.file.{problem}", file=str(path)) from None
    if parsed.errors:
        raise AdminError(
            ("admin.import.bad_rows", {"file": path.name, "n": len(parsed.errors)}),
            *(("admin.import.row_error", {"line": e.line, "message": e.message}) for e in parsed.errors),
        )
    if not parsed.rows:
        raise _error("admin.import.empty_file", file=path.name)
    advance = progress(len(parsed.rows)) if progress is not None else None
    async with transaction(sessions) as session:
        result = await reg.import_townships(session, parsed.rows, city=city, progress=advance)
        if result.conflicts:
            lines: list[tuple[str, dict[str, Any]]] = [
                ("admin.import.bad_rows", {"file": path.name, "n": len(result.conflicts)})
            ]
            for line, area, wanted, recorded in result.conflicts:
                message = t("admin.import.other_city", locale, area=area, city=wanted, recorded=recorded)
                lines.append(("admin.import.row_error", {"line": line, "message": message}))
            raise AdminError(*lines)  # rolls the transaction back
    return ImportReport(len(parsed.rows), result, parsed.skipped_blank)


async def list_townships(sessions: SessionMaker, area: str | None = None) -> list[tuple[str, Township, int]]:
    async with transaction(sessions) as session:
        scope = None
        if area:
            found = await reg.area_by_name(session, area)
            if found is None or found.id is None:
                raise _error("admin.no_area", area=area)
            scope = await area_and_below(session, found.id)
        return await reg.registry_listing(session, scope)


# Resolving names --------------------------------------------------------------------------------


async def _area(session: reg.AsyncSession, name: str | None) -> Area | None:
    if not name:
        return None
    found = await reg.area_by_name(session, name)
    if found is None:
        raise _error("admin.no_area", area=name)
    return found


async def _townships(session: reg.AsyncSession, specs: Sequence[str]) -> list[Township]:
    found: list[Township] = []
    problems: list[tuple[str, dict[str, Any]]] = []
    for spec in specs:
        matches = await reg.townships_named(session, spec)
        if not matches:
            problems.append(("admin.no_township", {"township": spec}))
        elif len(matches) > 1:
            options = ", ".join(f"{a.name}/{tw.name}" for tw, a in matches)
            problems.append(("admin.ambiguous_township", {"township": spec, "options": options}))
        elif matches[0][0].id not in {tw.id for tw in found}:
            found.append(matches[0][0])
    if problems:
        raise AdminError(*problems)
    return found


async def _person(session: reg.AsyncSession, spec: str) -> Person:
    found = list(await reg.people_named(session, spec))
    if not found:
        raise _error("admin.no_person", person=spec)
    if len(found) > 1:
        ids = ", ".join(f"#{p.id}" for p in found)
        raise _error("admin.ambiguous_person", person=spec, ids=ids)
    return found[0]


def _check_role(role: str, area: Area | None, townships: Sequence[Township]) -> None:
    if role not in ROLES:
        raise _error("admin.bad_role", role=role, roles=", ".join(ROLES))
    if role == Role.supervisor and area is None:
        raise _error("admin.supervisor_needs_area")
    if role == Role.contact and len(townships) != 1:
        raise _error("rectification.contact_one_township")
    if role not in (Role.inspector, Role.contact) and townships:
        raise _error("admin.townships_for_inspectors")


def _area_id(role: str, area: Area | None, townships: Sequence[Township]) -> int | None:
    """The person's area: as given; for an inspector without one, their townships' county."""
    if area is not None or role not in (Role.inspector, Role.contact):
        return area.id if area is not None else None
    areas = {tw.area_id for tw in townships}
    return areas.pop() if len(areas) == 1 else None


# Invitations ------------------------------------------------------------------------------------


@dataclass
class MadeInvite:
    code: str
    role: str
    area: str | None
    townships: list[str]
    expires_at: datetime


async def make_invite(
    sessions: SessionMaker,
    role: str,
    *,
    area: str | None = None,
    townships: Sequence[str] = (),
    name: str | None = None,
    days: float = DEFAULT_DAYS,
) -> MadeInvite:
    if not 0 < days <= 365:
        raise _error("admin.bad_days", days=f"{days:g}")
    async with transaction(sessions) as session:
        found_area = await _area(session, area)
        found = await _townships(session, townships)
        _check_role(role, found_area, found)
        area_id = _area_id(role, found_area, found)
        code, invite = await create_invite(
            session,
            role,
            area_id=area_id,
            township_ids=[tw.id for tw in found if tw.id is not None],
            name=name,
            days=days,
        )
        area_name = found_area.name if found_area else None
        return MadeInvite(code, role, area_name, [tw.name for tw in found], invite.expires_at)


def invite_link(username: str | None, code: str) -> str | None:
    return f"https://t.me/{username.lstrip('@')}?start={code}" if username else None


# People -----------------------------------------------------------------------------------------


async def add_user(
    sessions: SessionMaker,
    *,
    telegram_id: str | None = None,
    name: str,
    role: str,
    area: str | None = None,
    townships: Sequence[str] = (),
    wecom_id: str | None = None,
) -> Person:
    accounts: list[tuple[str, str]] = []
    if telegram_id is not None:
        if not telegram_id.strip().isdigit():
            raise _error("admin.bad_telegram_id", id=telegram_id)
        accounts.append(("telegram", telegram_id.strip()))
    if wecom_id is not None:  # the member's WeCom UserID (账号): 1-64 of letters, digits, _ - @ .
        if not WECOM_USER_ID.fullmatch(wecom_id.strip()):
            raise _error("wecom.bad_user_id", id=wecom_id)
        accounts.append(("wecom", wecom_id.strip()))
    if not accounts:
        raise _error("wecom.need_account")
    if not name.strip():
        raise _error("admin.need_name")
    async with transaction(sessions) as session:
        found_area = await _area(session, area)
        found = await _townships(session, townships)
        _check_role(role, found_area, found)
        for channel, account in accounts:
            existing = await reg.person_by_account(session, channel, account)
            if existing is not None and existing.active:
                taken = "admin.account_taken" if channel == "telegram" else "wecom.account_taken"
                raise _error(taken, id=account, person=existing.name, pid=existing.id)
            if existing is not None:  # an account left behind by a removed person
                await reg.remove_person(session, existing)
        area_id = _area_id(role, found_area, found)
        # A contact is bound to their one township, not assigned to inspect it.
        township_id = found[0].id if role == Role.contact else None
        person = Person(name=name.strip()[:64], role=role, area_id=area_id, township_id=township_id)
        session.add(person)
        await session.flush()
        for channel, account in accounts:
            await reg.ensure_identity(session, person, channel, account)
        if role != Role.contact:
            await reg.assign(session, person, found)
        return person


async def list_users(sessions: SessionMaker, *, include_removed: bool = False) -> list[reg.PersonRow]:
    async with transaction(sessions) as session:
        return await reg.people_listing(session, include_removed=include_removed)


async def remove_user(sessions: SessionMaker, spec: str) -> Person:
    async with transaction(sessions) as session:
        person = await _person(session, spec)
        if not person.active:
            raise _error("admin.already_removed", person=person.name, pid=person.id)
        await reg.remove_person(session, person)
        return person


@dataclass
class Assigned:
    person: Person
    changed: int
    townships: list[str] = field(default_factory=list)


async def assign(
    sessions: SessionMaker, spec: str, townships: Sequence[str], *, add: bool = True
) -> Assigned:
    async with transaction(sessions) as session:
        person = await _person(session, spec)
        if not person.active:
            raise _error("admin.already_removed", person=person.name, pid=person.id)
        if add and person.role != Role.inspector:
            raise _error("admin.townships_for_inspectors")
        found = await _townships(session, townships)
        changed = await (reg.assign if add else reg.unassign)(session, person, found)
        return Assigned(person, changed, [tw.name for tw in found])
