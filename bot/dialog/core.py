"""The dialog core: given who wrote, their stored state and one input, store what must be
stored and say what comes next. Channels (Telegram, WeCom, the console) translate to and
from ``Input``/``Reply`` and never touch the database themselves."""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dialog.types import Button, Input, Reply, Who
from bot.engine import Checklist, builtin_checklist, parse_checklist
from bot.i18n import DEFAULT_LOCALE, catalogue, normalise_locale, t
from bot.ordering import KeyedLocks
from storage.db import SessionMaker, Writer, write_transaction
from storage.group_commit import GroupCommit
from storage.models import Person, Role
from storage.queries.checklists import ensure_checklist_version, find_checklist_version, get_checklist_version
from storage.queries.dialog_state import load_state, save_state
from storage.queries.inspections import write_answer
from storage.queries.people import person_by_identity, set_blocked, unblock
from storage.queries.turns import AnswerWrite, TurnWrite
from storage.queries.updates import claim_update, prune_updates
from storage.types import utcnow

log = logging.getLogger(__name__)

STATELESS = "x"  # the sequence mark of buttons that stay valid whatever the state
ATTEMPTS = 3  # tries when another process wrote the same person's state meanwhile
RETRIED_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure
KEPT = 1_000  # people whose last turn is kept in memory, each with one inspection's answers


class _Conflict(Exception):
    """Another writer changed what this turn read; the turn starts again."""


class NeedsDatabase(Exception):
    """A turn run from memory reached something memory does not hold; it runs again on the database."""


@dataclass
class Kept:
    """What a person's last committed turn left: enough to run the next answer without reading
    the database. ``commit_turns`` checks, as it writes, that none of it changed meanwhile."""

    person: Person
    identity_id: int
    state: dict[str, Any]
    version: int
    inspection: Any  # the inspect module's ``Current``: inspection, township, checklist, answers


@dataclass
class Turn:
    """One input being handled: the open transaction (none for a turn run from memory), the
    person and their state."""

    dialog: Dialog
    db: AsyncSession | None
    person: Person
    state: dict[str, Any]
    locale: str
    who: Who
    writer: Writer
    # The inspection being answered, as loaded (or kept from the last turn); kept for the next.
    inspection: Any = None
    writes: list[AnswerWrite] = field(default_factory=list)
    # False once this turn wrote to an inspection someone changed since it was read.
    keepable: bool = True

    @property
    def session(self) -> AsyncSession:
        if self.db is None:
            raise NeedsDatabase
        return self.db

    @property
    def from_memory(self) -> bool:
        return self.db is None

    async def save_answer(self, write: AnswerWrite, seen: datetime) -> AnswerWrite:
        """Write an answer now, or with the turn's commit when the turn runs from memory (where
        the commit checks the inspection is as read). ``seen``: its ``updated_at`` as read.
        Returns the write as made (stamped once the write lock is held)."""
        if self.db is None:
            self.writes.append(write)
            return write
        await self.writer.acquire()
        write = replace(write, at=utcnow())
        if not await write_answer(self.db, write, seen):
            self.keepable = False
        return write

    def t(self, key: str, **params: Any) -> str:
        return t(key, self.locale, **params)

    @property
    def seq(self) -> int:
        return int(self.state.get("seq", 0))

    def next_seq(self) -> int:
        """A new prompt: buttons of earlier prompts become stale."""
        self.state["seq"] = self.seq + 1
        return self.seq

    async def flush(self) -> None:
        """Write now (to get new rows' ids): the write phase starts here for the rest of the turn."""
        session = self.session
        await self.writer.acquire()
        await session.flush()

    def button(self, label: str, action: str, arg: object = "", *, stateless: bool = False) -> Button:
        mark = STATELESS if stateless else str(self.seq)
        return Button(label, f"{mark}:{action}:{arg}")


Handler = Callable[[Turn, Input], Awaitable[list[Reply]]]


@dataclass
class Routes:
    """Commands, button actions and dialog steps, each mapped to one handler."""

    commands: dict[str, Handler] = field(default_factory=dict)
    actions: dict[str, Handler] = field(default_factory=dict)
    steps: dict[str, Handler] = field(default_factory=dict)
    # Commands a stranger may use (``/start CODE`` binds an invite).
    open_commands: set[str] = field(default_factory=set)
    # Button actions that stay valid whatever the state (``x:`` buttons); each checks access itself.
    stateless: set[str] = field(default_factory=set)


class Dialog:
    def __init__(
        self,
        sessions: SessionMaker,
        *,
        data_dir: Path,
        tz: ZoneInfo,
        locale: str = DEFAULT_LOCALE,
        checklist: Checklist | None = None,
        bot_username: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.data_dir = data_dir
        self.tz = tz
        self.locale = normalise_locale(locale)
        for loc in {self.locale, DEFAULT_LOCALE}:
            catalogue(loc)  # read the messages now, not in the first turn
        self.checklist = checklist or builtin_checklist()
        self.routes = Routes()
        self.locks = KeyedLocks()
        self._kept: OrderedDict[tuple[str, str], Kept] = OrderedDict()
        self._commits = GroupCommit(sessions) if GroupCommit.supports(sessions) else None
        self._checklists: dict[int, Checklist] = {}
        self._current_version_id: int | None = None
        # The channel's public name, for invitation links (Telegram: t.me/<name>?start=<code>).
        self.bot_username = bot_username
        from bot.dialog import access, general, history, inspect, returns

        general.register(self.routes)
        inspect.register(self.routes)
        from bot.dialog import deadlines

        deadlines.register(self.routes)
        from bot.dialog import reports

        reports.register(self.routes)
        for module in (access, history, returns):
            module.register(self.routes)

    def now_year(self) -> int:
        return utcnow().astimezone(self.tz).year

    async def handle(self, who: Who, inp: Input) -> list[Reply]:
        """Apply one input; an update id seen before is applied once and answered with nothing."""
        async with self.locks.hold((who.channel, who.external_id)):
            if inp.kind == "photo" and inp.photo is not None and inp.photo.fetch is not None:
                inp = await _prefetch(inp)
            update_id = inp.update_id or f"local-{uuid.uuid4().hex}"
            replies = await self._from_memory(who, inp, update_id)
            if replies is not None:
                return replies
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    return await self._attempt(who, inp, update_id)
                except _Conflict as exc:
                    log.info(
                        "%s:%s raced with another writer (attempt %d): %r",
                        who.channel,
                        who.external_id,
                        attempt,
                        exc.__cause__,
                    )
            raise RuntimeError(f"{who.channel}:{who.external_id} kept conflicting; giving up")

    async def _attempt(self, who: Who, inp: Input, update_id: str) -> list[Reply]:
        """Read and decide without holding SQLite's write lock, then write in one short
        transaction: the update's claim, the state (if still at the version read) and the answers."""
        # The writer is released only after the session has rolled back or committed.
        async with Writer(self.sessions) as writer, self.sessions() as session:
            session.sync_session.autoflush = False  # writes wait for the write phase
            try:
                return await self._turn(session, writer, who, inp, update_id)
            except IntegrityError as exc:  # a unique key another writer took first: start again
                await session.rollback()
                raise _Conflict from exc
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) not in RETRIED_SQLSTATES:
                    raise
                await session.rollback()  # PostgreSQL chose this turn to end a deadlock: again
                raise _Conflict from exc

    async def _turn(
        self, session: AsyncSession, writer: Writer, who: Who, inp: Input, update_id: str
    ) -> list[Reply]:
        found = await person_by_identity(session, who.channel, who.external_id)
        version: int | None = None
        identity_id: int | None = None
        if found is None or not found[0].active:
            turn = None
            replies = await self._stranger(session, who, inp, writer)
        else:
            person, identity = found
            assert person.id is not None
            identity_id = identity.id
            if identity.blocked:
                await writer.acquire()
                await unblock(session, identity.id or 0)
            state, version = await load_state(session, person.id)
            turn = Turn(self, session, person, state, self._locale_of(person), who, writer)
            replies = await self._route(turn, inp)
        await writer.acquire()
        if not await claim_update(session, who.channel, update_id):
            log.info("duplicate update %s:%s ignored", who.channel, update_id)
            await session.rollback()
            return []
        if turn is not None and not await save_state(session, turn.person.id or 0, turn.state, version):
            await session.rollback()
            raise _Conflict
        await session.commit()
        self._keep(who, turn, identity_id, (version or 0) + 1)
        return replies

    # Turns run from memory ------------------------------------------------------------------

    async def _from_memory(self, who: Who, inp: Input, update_id: str) -> list[Reply] | None:
        """Run the turn on what the person's last turn kept, and commit it with the turns of
        others; None when it must run on the database instead (nothing was written)."""
        key = (who.channel, who.external_id)
        kept = self._kept.get(key)
        if kept is None or self._commits is None or inp.kind not in ("text", "button"):
            return None
        self._kept.pop(key)  # put back only once this turn is committed; dropped if it is not
        inspection = kept.inspection.inspection
        seen, status = inspection.updated_at, inspection.status  # as read, before this turn changes them
        async with Writer(self.sessions) as writer:  # never taken: writing now needs the database
            locale = self._locale_of(kept.person)
            turn = Turn(self, None, kept.person, dict(kept.state), locale, who, writer)
            turn.inspection = kept.inspection
            try:
                replies = await self._route(turn, inp)
            except NeedsDatabase:
                return None
        if turn.inspection is not kept.inspection:
            return None
        write = TurnWrite(
            channel=who.channel,
            update_id=update_id,
            person_id=kept.person.id or 0,
            identity_id=kept.identity_id,
            inspection_id=inspection.id or 0,
            version=kept.version,
            seen=seen,
            status=status,
            state=turn.state,
            at=utcnow(),
            answers=turn.writes,
        )
        try:
            outcome = await self._commits.commit(write)
        except Exception:  # logged by the group commit; the database path reports its own errors
            return None
        if outcome == "duplicate":
            log.info("duplicate update %s:%s ignored", who.channel, update_id)
            return []
        if outcome != "ok":
            return None
        self._keep(who, turn, kept.identity_id, kept.version + 1)
        return replies

    def _keep(self, who: Who, turn: Turn | None, identity_id: int | None, version: int) -> None:
        """Keep an inspector's place for the next answer, when the turn ended on an inspection."""
        key = (who.channel, who.external_id)
        self._kept.pop(key, None)
        if (
            turn is None
            or identity_id is None
            or self._commits is None
            or not turn.keepable
            or turn.person.role != Role.inspector
            or turn.inspection is None
            or turn.inspection.inspection.id != turn.state.get("inspection_id")
        ):
            return
        self._kept[key] = Kept(turn.person, identity_id, turn.state, version, turn.inspection)
        if len(self._kept) > KEPT:
            self._kept.popitem(last=False)

    def _locale_of(self, person: Person) -> str:
        return normalise_locale(person.locale) if person.locale else self.locale

    async def _stranger(self, session: AsyncSession, who: Who, inp: Input, writer: Writer) -> list[Reply]:
        if inp.kind == "command" and inp.command in self.routes.open_commands:
            stranger = Person(name=who.name, role="")
            turn = Turn(self, session, stranger, {}, normalise_locale(who.locale), who, writer)
            return await self.routes.commands[inp.command](turn, inp)
        return [Reply(t("access.stranger", normalise_locale(who.locale or self.locale)))]

    async def _route(self, turn: Turn, inp: Input) -> list[Reply]:
        if inp.kind == "command":
            handler = turn.dialog.routes.commands.get(inp.command)
            if handler is None:
                return [
                    Reply(turn.t("general.unknown_command", command=inp.command)),
                    *await self._again(turn),
                ]
            return await handler(turn, inp)
        if inp.kind == "button":
            mark, _, rest = inp.data.partition(":")
            action, _, _arg = rest.partition(":")
            handler = self.routes.actions.get(action)
            fresh = action in self.routes.stateless if mark == STATELESS else mark == str(turn.seq)
            if handler is None or not fresh:
                return [Reply(notice=turn.t("general.stale_button"))]
            return await handler(turn, inp)
        step = turn.state.get("step", "idle")
        return await self.routes.steps.get(step, self.routes.steps["idle"])(turn, inp)

    async def _again(self, turn: Turn) -> list[Reply]:
        """Repeat the current prompt (after a note about an unexpected input)."""
        again = self.routes.steps.get("again")
        return await again(turn, Input("text")) if again else []

    # Checklists, as stored with each inspection -------------------------------------------

    async def current_version_id(self, session: AsyncSession) -> int:
        """The stored row of the current checklist; cached once it is known to be committed
        (a row created in this turn may still be rolled back)."""
        if self._current_version_id is not None:
            return self._current_version_id
        stored = await find_checklist_version(session, self.checklist.name, self.checklist.version)
        row = await ensure_checklist_version(
            session, self.checklist.name, self.checklist.version, self.checklist.to_data()
        )
        assert row.id is not None
        self._checklists[row.id] = self.checklist
        if stored is not None:
            self._current_version_id = row.id
        return row.id

    async def checklist_of(self, session: AsyncSession, version_id: int) -> Checklist:
        """The checklist an inspection was answered with (cached: stored versions never change)."""
        if version_id not in self._checklists:
            row = await get_checklist_version(session, version_id)
            if row is None:
                raise LookupError(f"checklist version {version_id} is missing")
            self._checklists[version_id] = parse_checklist(row.content, source=f"{row.name} v{row.version}")
        return self._checklists[version_id]

    async def close(self) -> None:
        """Finish the commits in flight and dispose of the database engine."""
        if self._commits is not None:
            await self._commits.close()
        await self.sessions.kw["bind"].dispose()

    # Channel events that are not inputs ---------------------------------------------------

    async def prune(self, keep_days: int = 30) -> None:
        """Forget delivered update ids older than any redelivery (Telegram keeps updates 24 h)."""
        async with write_transaction(self.sessions) as session:
            gone = await prune_updates(session, utcnow() - timedelta(days=keep_days))
        log.info("pruned %d processed update ids", gone)

    async def mark_blocked(self, channel: str, external_id: str) -> None:
        """The channel reports the person blocked the bot: stop sending until they write again."""
        async with write_transaction(self.sessions) as session:
            await set_blocked(session, channel, external_id, True)


async def _prefetch(inp: Input) -> Input:
    """Download a photo before the transaction opens, so no lock is held during network I/O."""
    from dataclasses import replace

    from bot.dialog.types import Photo

    assert inp.photo is not None and inp.photo.fetch is not None
    data = await inp.photo.fetch()

    async def cached() -> bytes:
        return data

    return replace(inp, photo=Photo(inp.photo.file_id, inp.photo.unique_id, cached))
