"""Access, as a matrix: every chat command and every kind of button, as a stranger, an
inspector of another township, the township's inspector, a supervisor of another county, the
city's supervisor and an administrator. Each may see exactly what their role allows, and no
answer (nor any notification) reaches anyone outside the township's circle."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select

from bot.dialog import Input, Reply
from storage.db import SessionMaker
from storage.models import AnswerChange, Inspection, Invite, StatusChange
from storage.queries import inspections as q_insp
from storage.queries.dialog_state import load_state, save_state
from tests.dialog_driver import Chat
from tests.people_world import (
    PEOPLE,
    SEES_TAIPING,
    SEES_XINHUA,
    TAIPING_SECRET,
    XINHUA_SECRET,
    World,
    build_world,
)

ROLES = list(PEOPLE)
STRANGER = "仅供受邀的督查人员使用"


@pytest.fixture
async def world(sessions: SessionMaker, tmp_path: Path) -> World:
    return await build_world(sessions, tmp_path)


def content(reply: Reply) -> str:
    """Everything a reply shows: text, toast, button labels, and an attached file's text."""
    parts = [reply.text, reply.notice or "", *(b.label for row in reply.buttons for b in row)]
    if reply.file is not None and reply.file.exists():
        data = reply.file.read_bytes()
        if data.startswith(b"PK"):  # docx / xlsx: the XML inside
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                parts += [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
        else:
            parts.append(data.decode("utf-8", "replace"))
    return "\n".join(parts)


def leaks(world: World, role: str, replies: list[Reply]) -> list[str]:
    """Answers shown to someone who may not see them (the sender, or a notification's addressee)."""
    found = []
    for reply in replies:
        audience = role if reply.to is None else world.role_of(reply.to[1])
        shown = content(reply)
        if TAIPING_SECRET in shown and audience not in SEES_TAIPING:
            found.append(f"太平乡 answer to {audience}: {shown[:200]!r}")
        if XINHUA_SECRET in shown and audience not in SEES_XINHUA:
            found.append(f"新华乡 answer to {audience}: {shown[:200]!r}")
        if reply.to is not None and reply.to[1] not in PEOPLE.values():
            found.append(f"notification to an unknown account {reply.to}")
    return found


# What each person sees, command by command --------------------------------------------------------

Check = Callable[[Chat], bool]


def says(*fragments: str) -> Check:
    return lambda c: all(f in c.text for f in fragments)


def labels_are(*labels: str) -> Check:
    return lambda c: set(c.labels()) == set(labels)


def stranger_line(c: Chat) -> bool:
    return len(c.replies) == 1 and STRANGER in c.text and not c.replies[0].buttons


def welcome(name: str) -> Check:
    return lambda c: f"{name}，您好" in c.text


def _expectations(year: int) -> dict[str, dict[str, Check]]:
    staff_only_history = says("只有督查室和管理员可以查看修改记录")
    staff_only_return = says("只有督查室和管理员可以退回检查")
    admins_only = says("只有管理员可以邀请人员")
    taiping_history = says("太平乡", "修改记录", TAIPING_SECRET, "李督查")
    return {
        "/inspect": {
            "other_inspector": says("新华乡：请选择检查年度"),  # one township: straight to the year
            "inspector": labels_are("太平乡", "城关镇"),
            "other_supervisor": says("新华乡：请选择检查年度"),
            "supervisor": labels_are("太平乡", "城关镇", "新华乡"),
            "admin": labels_are("太平乡", "城关镇", "新华乡"),
        },
        "/inspect 太平": {
            "other_inspector": says("没有找到名称含「太平」的乡镇"),
            "inspector": says("太平乡：请选择检查年度"),
            "other_supervisor": says("没有找到名称含「太平」的乡镇"),
            "supervisor": says("太平乡：请选择检查年度"),
            "admin": says("太平乡：请选择检查年度"),
        },
        "/history 太平乡": {
            "other_inspector": staff_only_history,
            "inspector": staff_only_history,
            "other_supervisor": says("没有找到您可以查看的"),
            "supervisor": taiping_history,
            "admin": taiping_history,
        },
        "/history 新华": {
            "other_inspector": staff_only_history,
            "inspector": staff_only_history,
            "other_supervisor": says("新华乡", XINHUA_SECRET),
            "supervisor": says("新华乡", XINHUA_SECRET),
            "admin": says("新华乡", XINHUA_SECRET),
        },
        f"/return 太平乡 {year} 经费请核实": {
            "other_inspector": staff_only_return,
            "inspector": staff_only_return,
            "other_supervisor": says("没有找到您可以查看的"),
            "supervisor": says("退回检查：太平乡", "经费请核实", "李督查"),
            "admin": says("退回检查：太平乡", "经费请核实"),
        },
        "/invite": {
            "other_inspector": admins_only,
            "inspector": admins_only,
            "other_supervisor": admins_only,
            "supervisor": admins_only,
            "admin": labels_are("督查员", "督查室", "管理员", "乡镇联系人", "取消"),
        },
        "/help": {
            "other_inspector": lambda c: "/inspect" in c.text and "/history" not in c.text,
            "inspector": lambda c: "/inspect" in c.text and "/history" not in c.text,
            "other_supervisor": lambda c: "/history" in c.text and "/invite" not in c.text,
            "supervisor": lambda c: "/return" in c.text and "/invite" not in c.text,
            "admin": says("/history", "/return", "/invite"),
        },
        "/start": {
            "other_inspector": welcome("王督查"),
            "inspector": welcome("李督查"),
            "other_supervisor": welcome("孙主任"),
            "supervisor": welcome("赵主任"),
            "admin": welcome("钱局长"),
        },
    }


async def test_what_each_person_sees(world: World) -> None:
    expectations = _expectations(world.year)
    failures = []
    for command, by_role in expectations.items():
        for role in ROLES:
            c = world.chat(role)
            await c.say("/cancel")
            await c.say(command)
            check = stranger_line if role == "stranger" else by_role[role]
            if not check(c):
                failures.append(f"{command} as {role}: {c.text!r} {c.labels()}")
            failures += leaks(world, role, c.replies)
    assert not failures, "\n".join(failures)


# Every command, every kind of button, forged too ---------------------------------------------------


async def snapshot(world: World) -> dict[str, Any]:
    """The 太平乡 inspection as stored, and the invitations: nobody outside may change them."""
    async with world.sessions() as s:
        insp = await s.get(Inspection, world.ids["taiping_insp"])
        assert insp is not None
        answers = await q_insp.answers_of(s, world.ids["taiping_insp"])
        counts = {}
        for model in (AnswerChange, StatusChange, Invite):
            counts[model.__name__] = (await s.exec(select(func.count()).select_from(model))).one()
        return {
            "status": insp.status,
            "comment": insp.return_comment,
            "answers": answers,
            "changes": counts["AnswerChange"],
            "statuses": counts["StatusChange"],
            "invites": counts["Invite"],
        }


def _arguments(world: World) -> list[str]:
    ids = world.ids
    return [
        "",
        "1",
        "yes",
        str(ids["taiping"]),
        str(ids["taiping_insp"]),
        f"t{ids['taiping']}",
        f"i{ids['taiping_insp']}.15",
        "notes",
        "inspector",
    ]


def _forged_states(world: World) -> list[dict[str, Any]]:
    """States that point at the 太平乡 inspection, as if the person had once had access."""
    insp = world.ids["taiping_insp"]
    return [
        {},
        {"step": "question", "inspection_id": insp, "q": "notes"},
        {"step": "review", "inspection_id": insp},
        {"step": "confirm_reopen", "inspection_id": insp},
        {"step": "pick_year", "township_id": world.ids["taiping"]},
        {"step": "return", "ret": {"insp": insp, "comment": "改", "qs": ["notes"]}},
        {"step": "return_pick", "ret": {"year": world.year, "comment": "改"}},
        {"step": "invite", "invite": {"role": "inspector", "townships": [world.ids["taiping"]], "names": {}}},
    ]


async def force_state(world: World, role: str, state: dict[str, Any]) -> None:
    person = world.ids.get({"other_inspector": "other"}.get(role, role))
    if person is None:  # the stranger has no state
        return
    async with world.sessions() as s:
        current, version = await load_state(s, person)
        await save_state(s, person, {**state, "seq": int(current.get("seq", 0)) + 1}, version)
        await s.commit()


async def sweep(world: World, role: str, *, forged: bool = True) -> tuple[list[str], int]:
    """Every command with telling arguments; every button action with every forged argument;
    every action again in every forged state. Returns the problems found and how many replies
    showed a marked answer (to the sender, who may see it)."""
    c = world.chat(role)
    problems: list[str] = []
    seen = 0

    def check(what: str) -> None:
        nonlocal seen
        problems.extend(f"{what}: {p}" for p in leaks(world, role, c.replies))
        seen += sum(1 for r in c.replies if r.to is None and TAIPING_SECRET in content(r))
        if role == "stranger" and not stranger_line(c) and not what.startswith("/start"):
            problems.append(f"{what} as a stranger: {c.text!r}")

    for command in sorted(world.dialog.routes.commands):
        for arg in ("", "太平乡", f"太平 {world.year} 请核实"):
            await c.say(f"/{command} {arg}".strip())
            check(f"/{command} {arg}")
    arguments = _arguments(world)
    actions = sorted(world.dialog.routes.actions)
    await force_state(world, role, {})
    for action in actions:
        for arg in arguments:  # from wherever the previous press left the person
            await c.send(Input("button", data=f"x:{action}:{arg}"))
            check(f"button {action}:{arg}")
    for n, state in enumerate(_forged_states(world)[1:] if forged else []):
        for m, action in enumerate(actions):
            arg = arguments[(n + m) % len(arguments)]
            await force_state(world, role, state)
            await c.send(Input("button", data=f"x:{action}:{arg}"))
            check(f"button {action}:{arg} in {state.get('step')}")
        await force_state(world, role, state)
        await c.say("太平乡")  # typed text in that state
        check(f"text in {state.get('step')}")
    return problems, seen


@pytest.mark.parametrize("role", ["stranger", "other_inspector", "other_supervisor"])
async def test_outsiders_get_nothing_and_change_nothing(world: World, role: str) -> None:
    before = await snapshot(world)
    problems, seen = await sweep(world, role)
    assert not problems, "\n".join(problems[:20])
    assert seen == 0
    assert await snapshot(world) == before


@pytest.mark.parametrize("role", ["inspector", "supervisor", "admin"])
async def test_insiders_see_only_their_circle(world: World, role: str) -> None:
    # Supervisor and administrator may see both townships: what matters is whom they notify.
    problems, seen = await sweep(world, role, forged=role == "inspector")
    assert not problems, "\n".join(problems[:20])
    assert seen > 0  # the detector sees the answers where they may be seen
    if role == "inspector":  # an inspector may not change another township's inspection
        async with world.sessions() as s:
            xinhua = await q_insp.answers_of(s, world.ids["xinhua_insp"])
        assert xinhua["notes"].value == XINHUA_SECRET


# A person removed, or a township taken away, loses access at once --------------------------------


async def test_removed_person_loses_access_at_once(world: World) -> None:
    from storage.db import transaction
    from storage.queries.registry import people_named, remove_person

    c = world.chat("inspector")
    await c.say("/inspect")
    await c.press("城关镇")
    await c.press("本年度")
    assert "【" in c.text
    async with transaction(world.sessions) as s:
        (person,) = await people_named(s, "李督查")
        await remove_person(s, person)
    await c.press("是")
    assert stranger_line(c)
    await c.say("/inspect")
    assert stranger_line(c)


async def test_unassigned_township_is_closed_at_once(world: World) -> None:
    from storage.db import transaction
    from storage.queries.registry import people_named, townships_named, unassign

    c = world.chat("inspector")
    await c.say("/inspect")
    await c.press("城关镇")
    await c.press("本年度")
    async with transaction(world.sessions) as s:
        (person,) = await people_named(s, "李督查")
        ((chengguan, _area),) = await townships_named(s, "城关镇")
        await unassign(s, person, [chengguan])
    await c.press("是")
    assert "不在进行中" in c.text
    await c.say("/inspect")
    assert "请选择检查年度" in c.text and "太平乡" in c.text  # only 太平乡 is left: straight to the year
