"""People on WeCom: ``archive-bot users add --wecom-id`` (its service) and an invite code
typed as a message in the WeCom application."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.admin import service
from bot.admin.service import AdminError
from storage.db import SessionMaker, transaction
from storage.models import Identity, Role
from storage.queries.invites import create_invite
from tests.dialog_driver import seed
from tests.fakes.wecom_api import FakeWeCom
from tests.test_wecom_e2e import act, running_wecom


@pytest.fixture
async def world(sessions: SessionMaker) -> dict[str, Any]:
    return await seed(sessions, channel="wecom")


async def accounts(sessions: SessionMaker, person_id: int) -> set[tuple[str, str]]:
    async with sessions() as s:
        rows = (await s.exec(select(Identity).where(Identity.person_id == person_id))).all()
        return {(i.channel, i.external_id) for i in rows}


async def test_users_add_with_a_wecom_id(sessions: SessionMaker, world: dict[str, Any]) -> None:
    person = await service.add_user(
        sessions, wecom_id="ChenJiaShun", name="陈嘉顺", role=Role.inspector, townships=["新华乡"]
    )
    assert person.id is not None and await accounts(sessions, person.id) == {("wecom", "ChenJiaShun")}
    both = await service.add_user(
        sessions, telegram_id="4242", wecom_id="li.si@ww", name="李四", role=Role.inspector
    )
    assert both.id is not None
    assert await accounts(sessions, both.id) == {("telegram", "4242"), ("wecom", "li.si@ww")}
    with pytest.raises(AdminError) as taken:
        await service.add_user(sessions, wecom_id="ChenJiaShun", name="别人", role=Role.inspector)
    assert "ChenJiaShun" in taken.value.render("zh-CN") and "陈嘉顺" in taken.value.render("zh-CN")
    for bad in ("", "has space", "-dash-first", "x" * 65):
        with pytest.raises(AdminError, match=r"wecom\.bad_user_id"):
            await service.add_user(sessions, wecom_id=bad, name="某人", role=Role.inspector)
    with pytest.raises(AdminError, match=r"wecom\.need_account"):
        await service.add_user(sessions, name="某人", role=Role.inspector)


async def test_invite_code_typed_in_wecom_binds_the_account(
    sessions: SessionMaker, world: dict[str, Any], tmp_path: Path
) -> None:
    async with transaction(sessions) as s:
        code, _ = await create_invite(s, Role.inspector, township_ids=[world["xinhua"]], name="周督查")
    async with FakeWeCom() as api, running_wecom(api, sessions, tmp_path):
        before = await act(api, lambda: api.send_text("ZhouXin", "/inspect"), until=lambda m: True)
        assert "邀请" in before.text
        bound = await act(api, lambda: api.send_text("ZhouXin", f"/start {code}"), until=lambda m: True)
        assert "周督查" in bound.text
        await act(api, lambda: api.send_text("ZhouXin", "/inspect"))
        assert any("新华乡" in text for text in api.texts("ZhouXin"))
    async with sessions() as s:
        ident = (await s.exec(select(Identity).where(Identity.external_id == "ZhouXin"))).one()
        assert ident.channel == "wecom"
