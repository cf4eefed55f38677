"""Invitations: ``/start <code>`` binds once, before expiry; a wrong code binds nothing; the
code is stored only as a hash; administrators invite from the chat too. And the operators'
people commands: add, list, remove, assign, unassign."""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.admin import service
from bot.dialog import Input, Who
from storage.db import SessionMaker, transaction
from storage.models import Area, Identity, Invite, Person, Role
from storage.queries.invites import create_invite
from storage.queries.registry import people_named, remove_person
from storage.types import utcnow
from tests.dialog_driver import Chat, state_of
from tests.people_world import World, build_world

STRANGER = "仅供受邀的督查人员使用"


@pytest.fixture
async def world(sessions: SessionMaker, tmp_path: Path) -> World:
    return await build_world(sessions, tmp_path, inspections=False)


def newcomer(world: World, external_id: str = "777", name: str = "周新人") -> Chat:
    return Chat(world.dialog, Who("test", external_id, name, "zh-hans"))


async def invite_code(world: World, role: str = Role.inspector, **kw: object) -> str:
    async with transaction(world.sessions) as s:
        code, _ = await create_invite(s, role, **kw)  # type: ignore[arg-type]
        return code


async def person_of(world: World, external_id: str) -> Person | None:
    async with world.sessions() as s:
        stmt = (
            select(Person)
            .join(Identity)
            .where(Identity.channel == "test", Identity.external_id == external_id)
        )
        return (await s.exec(stmt)).first()


async def test_start_with_code_binds_the_account(world: World) -> None:
    code = await invite_code(world, township_ids=[world.ids["taiping"], world.ids["xinhua"]])
    c = newcomer(world)
    await c.say("/inspect")
    assert STRANGER in c.text
    await c.say(f"/start {code}")
    assert "绑定成功" in c.text and "周新人" in c.text and "督查员" in c.text and "/inspect" in c.text
    person = await person_of(world, "777")
    assert person is not None and person.role == Role.inspector and person.active
    await c.say("/inspect")
    assert set(c.labels()) == {"太平乡", "新华乡"}
    # The same link pressed again: already registered, nothing else happens.
    await c.say(f"/start {code}")
    assert "已经登记过了" in c.text


async def test_a_code_works_once(world: World) -> None:
    code = await invite_code(world)
    await newcomer(world, "777").say(f"/start {code}")
    late = newcomer(world, "778", "吴迟到")
    await late.say(f"/start {code}")
    assert "已经被使用过" in late.text
    assert await person_of(world, "778") is None
    await late.say("/inspect")
    assert STRANGER in late.text


async def test_two_people_racing_for_one_code(world: World) -> None:
    code = await invite_code(world)
    first, second = newcomer(world, "781"), newcomer(world, "782")
    await asyncio.gather(first.say(f"/start {code}"), second.say(f"/start {code}"))
    bound = [p for p in [await person_of(world, "781"), await person_of(world, "782")] if p is not None]
    assert len(bound) == 1
    assert sorted(["绑定成功" in first.text, "绑定成功" in second.text]) == [False, True]


async def test_an_expired_code_binds_nothing(world: World) -> None:
    code = await invite_code(world)
    async with transaction(world.sessions) as s:
        await s.exec(update(Invite).values(expires_at=utcnow() - timedelta(seconds=1)))  # type: ignore[call-overload]
    c = newcomer(world)
    await c.say(f"/start {code}")
    assert "已过期" in c.text and await person_of(world, "777") is None


async def test_expiry_defaults_to_seven_days(world: World) -> None:
    await invite_code(world)
    async with world.sessions() as s:
        invite = (await s.exec(select(Invite))).one()
    assert (
        timedelta(days=7) - timedelta(minutes=1) < invite.expires_at - invite.created_at <= timedelta(days=7)
    )


async def test_a_wrong_code_binds_nothing(world: World) -> None:
    code = await invite_code(world)
    c = newcomer(world)
    for wrong in (code[:-1], code + "x", "太平乡", "x" * 80):
        await c.say(f"/start {wrong}")
        assert ("邀请码无效" in c.text or STRANGER in c.text) and len(c.replies) == 1
    assert await person_of(world, "777") is None
    await c.say(f"/start {code}")  # the right one still works
    assert "绑定成功" in c.text


async def test_only_a_hash_of_the_code_is_stored(world: World) -> None:
    code = await invite_code(world, name="郑专员")
    async with world.sessions() as s:
        invite = (await s.exec(select(Invite))).one()
    assert invite.code_hash == hashlib.sha256(code.encode()).hexdigest()
    assert code not in str(invite.model_dump())
    assert len(code) >= 20 and code.replace("-", "").replace("_", "").isalnum()
    c = newcomer(world)
    await c.say(f"/start {code}")
    assert "郑专员" in c.text  # the name on the invitation wins over the Telegram name


async def test_a_removed_person_can_be_invited_again(world: World) -> None:
    c = Chat(world.dialog, Who("test", "100", "李督查"))
    async with transaction(world.sessions) as s:
        (person,) = await people_named(s, "李督查")
        await remove_person(s, person)
    await c.say("/inspect")
    assert STRANGER in c.text
    code = await invite_code(world, township_ids=[world.ids["chengguan"]])
    await c.say(f"/start {code}")
    assert "绑定成功" in c.text
    await c.say("/inspect")
    assert "城关镇：请选择检查年度" in c.text  # the new person has only 城关镇


async def test_admin_invites_an_inspector_from_the_chat(world: World) -> None:
    world.dialog.bot_username = "archive_test_bot"
    admin = world.chat("admin")
    await admin.say("/invite")
    await admin.press("督查员")
    assert {"☐ 太平乡", "☐ 城关镇", "☐ 新华乡"} <= set(admin.labels())  # a short list: offered whole
    await admin.say("太平")  # typed: found and offered first
    await admin.press("☐ 太平乡")
    await admin.say("新华乡")  # a whole name typed does what its button does: ticked
    assert "☑ 新华乡" in admin.labels()
    await admin.press("☑ 太平乡")  # untick
    await admin.press("☐ 太平乡")  # and tick again
    assert "已选 2 个" in " ".join(admin.labels())
    await admin.press("完成")
    assert "已生成邀请" in admin.text and "太平乡" in admin.text and "新华乡" in admin.text
    found = re.search(r"https://t\.me/archive_test_bot\?start=([A-Za-z0-9_-]+)", admin.text)
    assert found is not None and f"/start {found.group(1)}" in admin.text
    code = found.group(1)
    c = newcomer(world)
    await c.say(f"/start {code}")
    await c.say("/inspect")
    assert set(c.labels()) == {"太平乡", "新华乡"}


async def test_admin_invites_a_supervisor_of_a_county(world: World) -> None:
    admin = world.chat("admin")
    await admin.say("/invite")
    await admin.press("督查室")
    assert {"示例市", "东县", "西县"} <= set(admin.labels())
    await admin.press("西县")
    code = admin.text.split("/start ")[1].split()[0]
    assert "https://t.me/" not in admin.text  # no username known: the code alone
    c = newcomer(world)
    await c.say(f"/start {code}")
    assert "督查室" in c.text
    await c.say("/inspect")
    assert "新华乡：请选择检查年度" in c.text


async def test_only_admins_invite_and_only_within_their_area(world: World) -> None:
    for role in ("inspector", "supervisor"):
        c = world.chat(role)
        await c.say("/invite")
        assert "只有管理员" in c.text and not c.buttons
    # An administrator of one county sees only that county's areas and townships.
    async with transaction(world.sessions) as s:
        person = await s.get(Person, world.ids["admin"])
        east = (await s.exec(select(Area).where(Area.name == "东县"))).one()
        assert person is not None
        person.area_id = east.id
        s.add(person)
    admin = world.chat("admin")
    await admin.say("/invite")
    await admin.press("督查室")
    assert set(admin.labels()) == {"东县", "取消"}
    seq = admin.buttons[0].data.split(":")[0]  # a forged payload with the live sequence mark
    await admin.send(Input("button", data=f"{seq}:invite_area:{east.id + 1}"))  # forged: 西县
    assert "权限" in admin.notice
    await admin.press("取消")
    await admin.say("/invite")
    await admin.press("督查员")
    await admin.say("新华乡")
    assert "没有找到" in admin.text
    me = await person_of(world, "500")
    assert me is not None and me.id is not None
    seq = (await state_of(world.sessions, me.id))["seq"]
    await admin.send(Input("button", data=f"{seq}:invite_township:{world.ids['xinhua']}"))  # forged
    assert "权限" in admin.notice


# The operators' commands, on both databases -------------------------------------------------------


async def test_users_add_list_remove(world: World) -> None:
    person = await service.add_user(
        world.sessions,
        telegram_id="4242",
        name="冯督查",
        role="inspector",
        townships=["太平乡", "西县/新华乡"],
    )
    rows = {r.person.name: r for r in await service.list_users(world.sessions)}
    assert rows["冯督查"].townships == ["太平乡", "新华乡"] and rows["冯督查"].accounts == ["telegram:4242"]
    with pytest.raises(service.AdminError) as caught:
        await service.add_user(world.sessions, telegram_id="4242", name="重复", role="inspector")
    assert "已绑定给 冯督查" in caught.value.render()
    with pytest.raises(service.AdminError) as caught:
        await service.add_user(world.sessions, telegram_id="4243", name="x", role="supervisor")
    assert "必须指定地区" in caught.value.render()
    with pytest.raises(service.AdminError) as caught:
        await service.add_user(world.sessions, telegram_id="4243", name="x", role="boss")
    assert "角色「boss」不对" in caught.value.render()
    removed = await service.remove_user(world.sessions, f"#{person.id}")
    assert removed.name == "冯督查"
    assert "冯督查" not in {r.person.name for r in await service.list_users(world.sessions)}
    everyone = {r.person.name: r for r in await service.list_users(world.sessions, include_removed=True)}
    assert not everyone["冯督查"].person.active and everyone["冯督查"].accounts == []
    with pytest.raises(service.AdminError):
        await service.remove_user(world.sessions, "冯督查")  # already removed


async def test_assign_and_unassign(world: World) -> None:
    done = await service.assign(world.sessions, "王督查", ["太平乡", "新华乡"])
    assert done.changed == 1  # 新华乡 was already his
    c = world.chat("other_inspector")
    await c.say("/inspect")
    assert set(c.labels()) == {"太平乡", "新华乡"}
    done = await service.assign(world.sessions, "王督查", ["太平乡"], add=False)
    assert done.changed == 1
    await c.say("/inspect")
    assert "新华乡：请选择检查年度" in c.text
    with pytest.raises(service.AdminError) as caught:
        await service.assign(world.sessions, "赵主任", ["太平乡"])
    assert "只有督查员需要分配乡镇" in caught.value.render()
    with pytest.raises(service.AdminError) as caught:
        await service.assign(world.sessions, "王督查", ["不存在乡"])
    assert "没有名为「不存在乡」的乡镇" in caught.value.render()


async def test_cli_invite_resolves_names(world: World) -> None:
    made = await service.make_invite(world.sessions, "inspector", townships=["太平乡"])
    assert made.townships == ["太平乡"]
    assert service.invite_link("@archive_bot", made.code) == f"https://t.me/archive_bot?start={made.code}"
    made = await service.make_invite(world.sessions, "supervisor", area="西县", days=1)
    c = newcomer(world)
    await c.say(f"/start {made.code}")
    await c.say("/history 太平乡")
    assert "没有找到您可以查看的" in c.text
