"""The WeCom inbox: a callback is stored before it is acknowledged and processed from there, so
one whose processing was cut short (the process killed after the acknowledgement) is processed
after the restart, once; a callback replayed later than WeCom would send it is refused."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from sqlmodel import func, select

from bot.wecom import Pacer, WeComChannel
from storage.db import SessionMaker
from storage.models import InboxMessage, ProcessedUpdate
from tests.dialog_driver import make_dialog, seed
from tests.fakes.wecom_api import FakeWeCom
from tests.test_wecom_e2e import INSPECTOR, wecom_settings

PICKER = "请选择要检查的乡镇"


async def channel_for(api: FakeWeCom, sessions: SessionMaker, data_dir: Path) -> WeComChannel:
    dialog = make_dialog(sessions, data_dir)
    channel = WeComChannel.from_settings(
        wecom_settings(api, data_dir), dialog, pacer=Pacer(((1000, 1.0),)), backoff=0.01
    )
    api.callback_url = await channel.start("127.0.0.1", 0)
    return channel


async def inbox(sessions: SessionMaker) -> list[tuple[str, bool]]:
    async with sessions() as s:
        rows = (await s.exec(select(InboxMessage))).all()
    return [(r.update_id, r.processed_at is not None) for r in rows]


async def test_processing_killed_after_the_acknowledgement_is_done_after_restart_once(
    sessions: SessionMaker, tmp_path: Path
) -> None:
    await seed(sessions, channel="wecom")
    async with FakeWeCom() as api:
        first = await channel_for(api, sessions, tmp_path)
        stuck = asyncio.Event()

        async def hangs(*args: Any, **kwargs: Any) -> Any:
            stuck.set()
            await asyncio.Event().wait()  # the process dies in here

        first.dialog.handle = hangs  # type: ignore[method-assign]
        delivery = await api.send_text(INSPECTOR, "/inspect")
        assert (delivery.status, delivery.text) == (200, "")  # acknowledged: WeCom will not send it again
        await asyncio.wait_for(stuck.wait(), 5)
        for task in list(first._tasks):  # killed: nothing after the acknowledgement happens
            task.cancel()
        await first.stop()
        assert [done for _, done in await inbox(sessions)] == [False]
        assert api.texts(INSPECTOR) == []

        second = await channel_for(api, sessions, tmp_path)  # the restart
        try:
            await api.wait_for(lambda m: PICKER in m.text, 10)
            await second.drain()
            assert [done for _, done in await inbox(sessions)] == [True]
            # WeCom's own retry of the same callback (had it been acknowledged late): once.
            again = await api.redeliver(delivery)
            assert again.status == 200
            await asyncio.sleep(0.2)
            await second.drain()
        finally:
            await second.stop()
        third = await channel_for(api, sessions, tmp_path)  # another restart: nothing left to do
        await asyncio.sleep(0.2)
        await third.drain()
        await third.stop()
    assert sum(PICKER in text for text in api.texts(INSPECTOR)) == 1
    async with sessions() as s:
        assert (await s.exec(select(func.count()).select_from(ProcessedUpdate))).one() == 1


async def test_a_replayed_callback_is_refused(sessions: SessionMaker, tmp_path: Path) -> None:
    await seed(sessions, channel="wecom")
    async with FakeWeCom() as api:
        channel = await channel_for(api, sessions, tmp_path)
        try:
            api._clock = int(time.time()) - 3600  # signed an hour ago: recorded, posted again now
            old = await api.send_text(INSPECTOR, "/inspect")
            assert old.status == 403
            api._clock = int(time.time())
            assert (await api.verify_url())[0] == 200
            await asyncio.sleep(0.1)
        finally:
            await channel.stop()
    assert api.sent == [] and await inbox(sessions) == []
