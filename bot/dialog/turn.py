"""One turn of the dialog, and the services every feature may use: the time zone, the data
folder, the checklists and the channel's public name. Features import this module; it
imports none of them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dialog.photos import PhotoStore
from bot.dialog.state import State
from bot.dialog.types import Button, Input, Reply, Who
from bot.engine import Checklist, builtin_checklist, parse_checklist
from bot.i18n import DEFAULT_LOCALE, normalise_locale, t
from storage.models import Person
from storage.queries.checklists import ensure_checklist_version, get_checklist_version, newest_installed
from storage.types import utcnow

STATELESS = "x"  # the prompt mark of buttons that stay valid whatever the state
MAX_PAYLOAD = 64  # bytes of a button's payload (Telegram's callback_data limit)


class Conflict(Exception):
    """Someone else changed what this turn read; it wrote nothing and starts again."""


class Checklists:
    """The checklist new inspections use, and every stored version by id (a stored version
    never changes, so one parsed copy per process is always right)."""

    def __init__(self, current: Checklist | None = None) -> None:
        # The shipped checklist: new inspections use it unless a newer version was installed.
        self.current = current or builtin_checklist()
        self._by_id: dict[int, Checklist] = {}

    async def current_id(self, session: AsyncSession, name: str | None = None) -> int:
        """The stored row new inspections use: the newest installed version (read from the
        database each time, so ``archive-bot checklist install`` needs no restart), or the
        shipped checklist when none is installed or it is newer (stored on first use).
        ``name``: another shipped checklist than the township's (the village checklist)."""
        shipped = self.current if name is None or name == self.current.name else builtin_checklist(name)
        row = await newest_installed(session, shipped.name)
        if row is None or row.version < shipped.version:
            row = await ensure_checklist_version(session, shipped.name, shipped.version, shipped.to_data())
            assert row.id is not None
            self._by_id.setdefault(row.id, shipped)
        assert row.id is not None
        return row.id

    async def of(self, session: AsyncSession, version_id: int) -> Checklist:
        """The checklist an inspection was answered with."""
        if version_id not in self._by_id:
            row = await get_checklist_version(session, version_id)
            if row is None:
                raise LookupError(f"checklist version {version_id} is missing")
            self._by_id[version_id] = parse_checklist(row.content, source=f"{row.name} v{row.version}")
        return self._by_id[version_id]


@dataclass
class Services:
    tz: ZoneInfo
    data_dir: Path
    checklists: Checklists = field(default_factory=Checklists)
    locale: str = DEFAULT_LOCALE  # for people who have not chosen one
    # The channel's public name, for invitation links (Telegram: t.me/<name>?start=<code>).
    bot_username: str | None = None
    photos: PhotoStore = field(default_factory=PhotoStore)  # where photo answers' pictures go

    def now_year(self) -> int:
        return utcnow().astimezone(self.tz).year

    def today(self) -> date:
        return utcnow().astimezone(self.tz).date()

    async def checklist_of(self, session: AsyncSession, version_id: int) -> Checklist:
        return await self.checklists.of(session, version_id)


@dataclass
class Turn:
    """One input being handled: the open transaction, the person and where they are.

    Handlers read and write through ``session``; the dialog commits it, with the new
    ``state``, when the handler returns (and rolls everything back if anything fails)."""

    services: Services
    session: AsyncSession
    person: Person
    state: State
    locale: str
    who: Who
    # The current screen once more: the dialog sets it from its route table.
    repeat: Callable[[Turn], Awaitable[list[Reply]]] | None = None
    # The message this turn's input came in, as "channel:message id" (stored with an answer,
    # so that editing the message changes the answer).
    source: str | None = None

    async def again(self) -> list[Reply]:
        """The prompt the person is at, shown again (after a note about an unexpected input)."""
        return await self.repeat(self) if self.repeat is not None else []

    def t(self, key: str, **params: Any) -> str:
        return t(key, self.locale, **params)

    @property
    def seq(self) -> int:
        return self.state.seq

    def next_seq(self) -> int:
        """A new prompt: buttons of earlier prompts become stale."""
        self.state.seq += 1
        return self.state.seq

    def go(self, step: str, **fields: Any) -> None:
        """Move to a new screen (a new prompt: earlier buttons become stale)."""
        self.state = self.state.go(step, **fields)
        self.next_seq()

    def reset(self) -> None:
        """Back to idle; earlier buttons become stale."""
        self.go("idle")

    def button(self, label: str, action: str, arg: object = "", *, stateless: bool = False) -> Button:
        """A button of the current prompt (or, ``stateless``, valid on any prompt: its handler
        checks access again). Payloads read ``<prompt>:<action>:<argument>``."""
        mark = STATELESS if stateless else str(self.seq)
        data = f"{mark}:{action}:{arg}"
        assert len(data.encode()) <= MAX_PAYLOAD, f"button payload too long: {data!r}"
        return Button(label, data)


def locale_of(person: Person, default: str) -> str:
    return normalise_locale(person.locale) if person.locale else default


def argument(inp: Input) -> str:
    """A button's argument: the part after ``<prompt>:<action>:``."""
    return inp.data.split(":", 2)[2] if inp.data.count(":") >= 2 else ""


def int_argument(inp: Input, default: int = 0) -> int:
    arg = argument(inp)
    return int(arg) if arg.isdigit() else default


Handler = Callable[[Turn, Input], Awaitable[list[Reply]]]
