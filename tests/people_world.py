"""A world for the access tests: the dialog driver's city plus a supervisor of the other
county and an administrator, and a submitted inspection in each county whose answers carry
a marker that must reach nobody outside the township's circle."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import select

from bot.dialog import Who
from bot.dialog.core import Dialog
from storage.db import SessionMaker, transaction
from storage.models import Area, Role
from storage.queries import inspections as q_insp
from storage.queries.registry import add_person
from tests.dialog_driver import Chat, make_dialog, seed

# Answers only the township's inspector, the city supervisor and the administrator may read.
TAIPING_SECRET = "太平机密7Q"
XINHUA_SECRET = "新华机密8R"

# external id → role in the matrix
PEOPLE = {
    "stranger": "999",
    "other_inspector": "200",  # 王督查, 新华乡 (west)
    "inspector": "100",  # 李督查, 太平乡 + 城关镇 (east)
    "other_supervisor": "400",  # 孙主任, 西县 (west)
    "supervisor": "300",  # 赵主任, the whole city
    "admin": "500",  # 钱局长, everything
}
SEES_TAIPING = {"inspector", "supervisor", "admin"}
SEES_XINHUA = {"other_inspector", "other_supervisor", "supervisor", "admin"}


@dataclass
class World:
    sessions: SessionMaker
    dialog: Dialog
    data_dir: Path
    year: int
    ids: dict[str, Any]

    def chat(self, role: str) -> Chat:
        return Chat(self.dialog, Who("test", PEOPLE[role], role))

    def role_of(self, external_id: str) -> str:
        return next(role for role, eid in PEOPLE.items() if eid == external_id)


async def submitted(
    sessions: SessionMaker,
    dialog: Dialog,
    township_id: int,
    year: int,
    inspector: int,
    answers: dict[str, Any],
) -> int:
    async with transaction(sessions) as s:
        version = await dialog.services.checklists.current_id(s)
        insp = await q_insp.start_inspection(s, township_id, year, version, inspector)
        await s.flush()
        assert insp.id is not None
        for key, value in answers.items():
            await q_insp.set_answer(s, insp, key, value, inspector, current=None)
        await q_insp.submit(s, insp, inspector)
        return insp.id


async def build_world(sessions: SessionMaker, data_dir: Path, *, inspections: bool = True) -> World:
    ids = await seed(sessions)
    async with transaction(sessions) as s:
        west_area = (await s.exec(select(Area).where(Area.name == "西县"))).one()
        other = await add_person(s, "孙主任", Role.supervisor, area=west_area, identities=[("test", "400")])
        admin = await add_person(s, "钱局长", Role.admin, identities=[("test", "500")])
        ids.update(other_supervisor=other.id, admin=admin.id)
    dialog = make_dialog(sessions, data_dir)
    year = dialog.now_year()
    if inspections:
        ids["taiping_insp"] = await submitted(
            sessions,
            dialog,
            ids["taiping"],
            year,
            ids["inspector"],
            {"leader_named": True, "funding_amount": 5000, "notes": TAIPING_SECRET},
        )
        ids["xinhua_insp"] = await submitted(
            sessions,
            dialog,
            ids["xinhua"],
            year,
            ids["other"],
            {"leader_named": False, "notes": XINHUA_SECRET},
        )
    return World(sessions, dialog, data_dir, year, ids)
