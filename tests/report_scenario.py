"""A year of inspections modelled on the source report (督查情况汇报): townships in every
state — a standardised room and filing done; progressing fast; progressing slowly; not
started with documents scattered; no equipment; a chaotic room with rotten equipment; no
archivist — plus one not inspected, one draft and one returned. Written straight into
the database with the storage functions, the way the dialog writes it.

The expected groups are spelled out beside the data so the tests can say exactly which
townships the status card, the summary and the report must name.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import date
from typing import Any

from bot.engine import Checklist, builtin_checklist
from storage.db import SessionMaker, transaction
from storage.models import InspectionStatus, Role, YearTarget
from storage.queries.checklists import ensure_checklist_version
from storage.queries.inspections import set_answer, start_inspection, submit
from storage.queries.registry import add_person, get_or_create_area, upsert_township
from tests.dialog_driver import seed

YEAR = 2024
LAST = YEAR - 1
ADMIN = "900"
WEST_SUPERVISOR = "400"

ALL_EIGHT = ["fire", "theft", "insects", "mould", "light", "dust", "damp", "gas"]


def answers(**over: Any) -> dict[str, Any]:
    """A complete, unremarkable set of answers, changed by ``over`` (None drops a key)."""
    base: dict[str, Any] = {
        "leader_named": True,
        "target_management": True,
        "has_room": True,
        "room_standard": True,
        "room_mixed": False,
        "iron_door": True,
        "window_bars": True,
        "has_equipment": True,
        "equipment_state": "good",
        "protections": ALL_EIGHT,
        "archivist": "parttime",
        "archivist_certificate": True,
        "archivist_trained": True,
        "archivist_is_secretary": True,
        "archivist_changes": 0,
        "has_funding": True,
        "funding_amount": 5000,
        "filed_up_to": YEAR - 2,
        "annual_task_done": False,
        "work_state": "in_progress",
        "filing_progress": 40,
        "documents_scattered": False,
        "villages_total": 10,
        "villages_established": 5,
        "village_kinds": ["tax_reform"],
        "certificate": False,
        "notes": "",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


# Township → (county, villages, status, answers). Status None: not inspected.
TOWNSHIPS: dict[str, tuple[str, int, str | None, dict[str, Any]]] = {
    # Standardised room, the year's filing done, certificate received, all good.
    "太平乡": (
        "东县",
        12,
        "submitted",
        answers(
            archivist="fulltime",
            funding_amount=8000,
            filed_up_to=YEAR - 1,
            annual_task_done=True,
            work_state="done",
            filing_progress=None,
            villages_total=12,
            villages_established=12,
            village_kinds=["tax_reform", "land_contract"],
            certificate=True,
        ),
    ),
    # Standardised room, progressing fast (70 %).
    "城关镇": (
        "东县",
        18,
        "submitted",
        answers(
            filing_progress=70, villages_total=18, villages_established=10, village_kinds=["land_contract"]
        ),
    ),
    # Progressing slowly; a chaotic room (archives with sundries), worn equipment,
    # archivist changed three times, no funding.
    "新华乡": (
        "西县",
        9,
        "submitted",
        answers(
            room_standard=False,
            room_mixed=True,
            equipment_state="worn",
            protections=["fire"],
            archivist_changes=3,
            has_funding=False,
            funding_amount=None,
            filed_up_to=YEAR - 3,
            filing_progress=30,
            villages_total=9,
            villages_established=3,
        ),
    ),
    # Not started: no leader, no room, no equipment, no archivist, no funding, documents
    # still with the leaders.
    "龙山乡": (
        "西县",
        10,
        "submitted",
        answers(
            leader_named=False,
            target_management=False,
            has_room=False,
            room_standard=None,
            room_mixed=True,
            iron_door=None,
            window_bars=None,
            has_equipment=False,
            equipment_state=None,
            protections=None,
            archivist="none",
            archivist_certificate=None,
            archivist_trained=None,
            archivist_is_secretary=None,
            archivist_changes=1,
            has_funding=False,
            funding_amount=None,
            filed_up_to=YEAR - 5,
            work_state="not_started",
            filing_progress=None,
            documents_scattered=True,
            villages_total=10,
            villages_established=0,
            village_kinds=[],
        ),
    ),
    # No equipment; an archive room that is not standardised.
    "石门镇": (
        "东县",
        8,
        "submitted",
        answers(
            room_standard=False,
            has_equipment=False,
            equipment_state=None,
            protections=None,
            archivist="fulltime",
            funding_amount=3000,
            villages_total=8,
            villages_established=6,
        ),
    ),
    # A chaotic room with rotten equipment; archivist without certificate; funding of 0.
    "河口乡": (
        "西县",
        7,
        "submitted",
        answers(
            room_standard=False,
            room_mixed=True,
            equipment_state="rotten",
            protections=["fire", "theft"],
            archivist_certificate=False,
            funding_amount=0,
            filed_up_to=YEAR - 4,
            filing_progress=20,
            villages_total=7,
            villages_established=2,
        ),
    ),
    # No archivist.
    "白沙乡": (
        "东县",
        6,
        "submitted",
        answers(
            archivist="none",
            archivist_certificate=None,
            archivist_trained=None,
            archivist_is_secretary=None,
            archivist_changes=2,
            filing_progress=50,
            villages_total=6,
            villages_established=6,
        ),
    ),
    # Not inspected this year.
    "青山乡": ("西县", 11, None, {}),
    # A draft: answers so far must not count in any group.
    "大坪乡": ("东县", 5, "draft", {"leader_named": False, "has_room": False, "has_equipment": False}),
    # Returned by the supervisor for correction: not counted either.
    "红岩乡": (
        "西县",
        4,
        "returned",
        answers(has_room=False, room_standard=None, iron_door=None, window_bars=None, protections=None),
    ),
}

# Last year: 太平乡 was only progressing; 城关镇 had no equipment.
LAST_YEAR: dict[str, dict[str, Any]] = {
    "太平乡": answers(filed_up_to=LAST - 3, filing_progress=50, villages_established=8, villages_total=12),
    "城关镇": answers(has_equipment=False, equipment_state=None, protections=None),
}

# What the summary and the report must name, by group (submitted inspections only).
EXPECTED: dict[str, list[str]] = {
    "room_standard": ["城关镇", "太平乡", "白沙乡"],
    "filing_done": ["太平乡"],
    "progressing_fast": ["城关镇"],
    "certificate_received": ["太平乡"],
    "equipment_good": ["城关镇", "太平乡", "白沙乡"],
    "filing_not_started": ["龙山乡"],
    "documents_scattered": ["龙山乡"],
    "no_leader": ["龙山乡"],
    "no_archive_room": ["龙山乡"],
    "room_mixed": ["新华乡", "河口乡", "龙山乡"],
    "no_equipment": ["石门镇", "龙山乡"],
    "equipment_worn": ["新华乡"],
    "equipment_rotten": ["河口乡"],
    "missing_protections": ["新华乡", "河口乡"],
    "no_archivist": ["白沙乡", "龙山乡"],
    "frequent_changes": ["新华乡", "白沙乡"],
    "no_archivist_or_changes": ["新华乡", "白沙乡", "龙山乡"],
    "no_certificate": ["河口乡"],
    "no_funding": ["新华乡", "河口乡", "龙山乡"],
    # Village targets of the year: 0.7 (see TARGET).
    "villages_slow": ["城关镇", "新华乡", "河口乡", "龙山乡"],
}
TARGET = {"year": YEAR, "deadline": date(YEAR, 12, 20), "township_target": 0.6, "village_target": 0.7}
EAST = ["太平乡", "城关镇", "石门镇", "白沙乡", "大坪乡"]  # registry order
WEST = ["新华乡", "龙山乡", "河口乡", "青山乡", "红岩乡"]


async def build(
    sessions: SessionMaker,
    channel: str = "test",
    *,
    checklist: Checklist | None = None,
    keys: Callable[[str], str] | None = None,
    only: Collection[str] | None = None,
    extra: Mapping[str, tuple[str, int]] | None = None,
) -> dict[str, Any]:
    """The scenario on top of ``seed`` (李督查 100: 太平乡 and 城关镇; 王督查 200: 新华乡;
    赵主任 300: supervisor of the city); adds an administrator (900) and a supervisor of
    西县 (400). Returns ids by name.

    ``checklist`` answers it with another checklist whose question keys are ``keys(key)``;
    ``only`` keeps the inspections of those townships alone (the rest: not inspected);
    ``extra`` adds townships (name → county, villages) never inspected."""
    ids = await seed(sessions, channel)
    cl = checklist or builtin_checklist()
    rename = keys or (lambda key: key)
    towns_wanted = {**{n: (c, v, st, a) for n, (c, v, st, a) in TOWNSHIPS.items()}}
    for name, (county, villages) in (extra or {}).items():
        towns_wanted[name] = (county, villages, None, {})
    async with transaction(sessions) as s:
        city = await get_or_create_area(s, "示例市", kind="city")
        counties = {
            "东县": await get_or_create_area(s, "东县", parent_id=city.id),
            "西县": await get_or_create_area(s, "西县", parent_id=city.id),
        }
        towns = {
            name: await upsert_township(s, counties[county], name, villages)
            for name, (county, villages, _, _) in towns_wanted.items()
        }
        admin = await add_person(s, "孙管理", Role.admin, identities=[(channel, ADMIN)])
        west = await add_person(
            s, "钱科长", Role.supervisor, area=counties["西县"], identities=[(channel, WEST_SUPERVISOR)]
        )
        version = await ensure_checklist_version(s, cl.name, cl.version, cl.to_data())
        assert version.id is not None
        by = {"东县": ids["inspector"], "西县": ids["other"]}
        for name, values in LAST_YEAR.items():
            if only is None or name in only:
                renamed = {rename(k): v for k, v in values.items()}
                await _inspection(s, towns[name].id, LAST, version.id, by["东县"], renamed, "submitted")
        for name, (county, _, status, values) in TOWNSHIPS.items():
            if status is not None and (only is None or name in only):
                renamed = {rename(k): v for k, v in values.items()}
                await _inspection(s, towns[name].id, YEAR, version.id, by[county], renamed, status)
        s.add(YearTarget(**TARGET))
    ids.update({name: tw.id for name, tw in towns.items()})
    ids.update({"admin": admin.id, "west_supervisor": west.id, "version": version.id})
    return ids


async def _inspection(
    s: Any, township_id: Any, year: int, version_id: int, by: int, values: dict[str, Any], status: str
) -> int:
    inspection = await start_inspection(s, township_id, year, version_id, by)
    await s.flush()
    assert inspection.id is not None
    for key, value in values.items():
        await set_answer(s, inspection, key, value, by, current=None)
    if status in ("submitted", "returned"):
        await submit(s, inspection, by)
    if status == "returned":
        inspection.status = InspectionStatus.returned  # as the supervisor's "return" leaves it
        inspection.return_comment = "请补充照片"
        s.add(inspection)
    return inspection.id
