"""Drive the dialog core as a person would, without any channel."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.dialog import Button, Input, Photo, Reply, Who
from bot.dialog.core import Dialog
from storage.db import SessionMaker, transaction
from storage.models import Answer, DialogState, Inspection, Role
from storage.queries.registry import add_person, get_or_create_area, upsert_township

_ids = itertools.count(1)


@dataclass
class Chat:
    dialog: Dialog
    who: Who
    replies: list[Reply] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)

    async def send(self, inp: Input) -> list[Reply]:
        if inp.update_id is None:
            inp = Input(inp.kind, inp.text, inp.command, inp.data, inp.photo, update_id=f"u{next(_ids)}")
        self.replies = await self.dialog.handle(self.who, inp)
        shown = [b for r in self.replies if r.to is None for row in r.buttons for b in row]
        if shown:
            self.buttons = shown
        return self.replies

    async def say(self, text: str) -> list[Reply]:
        return await self.send(Input.parse_text(text))

    async def press(self, label: str) -> list[Reply]:
        """Press the newest button whose label contains ``label``."""
        for button in reversed(self.buttons):
            if label in button.label:
                return await self.send(Input("button", data=button.data))
        raise AssertionError(f"no button {label!r} among {[b.label for b in self.buttons]}")

    async def photo(self, data: bytes, unique_id: str) -> list[Reply]:
        async def fetch() -> bytes:
            return data

        return await self.send(Input("photo", photo=Photo(f"file-{unique_id}", unique_id, fetch)))

    @property
    def text(self) -> str:
        """What this person was shown (notifications to others are in ``notes``)."""
        return "\n".join(r.text for r in self.replies if r.text and r.to is None)

    @property
    def notes(self) -> list[Reply]:
        """Messages the last input sent to other people."""
        return [r for r in self.replies if r.to is not None]

    @property
    def notice(self) -> str:
        return "".join(r.notice or "" for r in self.replies)

    def labels(self) -> list[str]:
        return [b.label for b in self.buttons]


async def seed(sessions: SessionMaker, channel: str = "test") -> dict[str, Any]:
    """Two counties of one city; an inspector of 太平乡 and 城关镇, one of 新华乡, a supervisor."""
    async with transaction(sessions) as s:
        city = await get_or_create_area(s, "示例市", kind="city")
        east = await get_or_create_area(s, "东县", parent_id=city.id)
        west = await get_or_create_area(s, "西县", parent_id=city.id)
        taiping = await upsert_township(s, east, "太平乡", 12)
        chengguan = await upsert_township(s, east, "城关镇", 18)
        xinhua = await upsert_township(s, west, "新华乡", 9)
        inspector = await add_person(
            s,
            "李督查",
            Role.inspector,
            area=east,
            identities=[(channel, "100")],
            townships=[taiping, chengguan],
        )
        other = await add_person(
            s, "王督查", Role.inspector, area=west, identities=[(channel, "200")], townships=[xinhua]
        )
        supervisor = await add_person(s, "赵主任", Role.supervisor, area=city, identities=[(channel, "300")])
        return {
            "taiping": taiping.id,
            "chengguan": chengguan.id,
            "xinhua": xinhua.id,
            "inspector": inspector.id,
            "other": other.id,
            "supervisor": supervisor.id,
        }


def make_dialog(sessions: SessionMaker, data_dir: Path) -> Dialog:
    return Dialog(sessions, data_dir=data_dir, tz=ZoneInfo("Asia/Shanghai"))


async def state_of(sessions: SessionMaker, person_id: int) -> dict[str, Any]:
    async with sessions() as s:
        row = await s.get(DialogState, person_id)
        return dict(row.state) if row else {}


async def stored_answers(sessions: SessionMaker, township_id: int, year: int) -> dict[str, Any]:
    async with sessions() as s:
        insp = (
            await s.exec(
                select(Inspection).where(Inspection.township_id == township_id, Inspection.year == year)
            )
        ).first()
        if insp is None:
            return {}
        rows = (await s.exec(select(Answer).where(Answer.inspection_id == insp.id))).all()
        return {a.question_key: ("<skipped>" if a.skipped else a.value) for a in rows}


async def photo_bytes(sessions: SessionMaker, photo: dict[str, Any]) -> bytes | None:
    """The picture of a stored photo answer (kept in the database by default)."""
    from bot.dialog.photos import PhotoStore

    async with sessions() as s:
        return await PhotoStore().read(s, photo)
