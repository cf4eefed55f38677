"""End to end on WeCom: the bot's callback server and send client against the fake WeCom
server on loopback (which signs, encrypts and posts the members' callbacks and serves the
send API), with the dialog on a real database."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select

from bot.config import Settings, load_settings
from bot.wecom import Pacer, WeComChannel
from storage.db import SessionMaker, transaction
from storage.models import Identity, Person, ProcessedUpdate
from storage.queries.registry import ensure_identity
from tests.dialog_driver import make_dialog, photo_bytes, seed, state_of, stored_answers
from tests.fakes.wecom_api import AES_KEY, AGENT_ID, CORP_ID, SECRET, Delivery, FakeWeCom, Sent
from tests.fakes.wecom_api import TOKEN as TOKEN_WECOM
from tests.test_dialog import TYPED

INSPECTOR = "100"  # the inspector's WeCom user id in the seeded world


def wecom_settings(api: FakeWeCom, data_dir: Path, **extra: Any) -> Settings:
    return load_settings(
        _env_file=None,
        wecom_corp_id=CORP_ID,
        wecom_agent_id=AGENT_ID,
        wecom_secret=SECRET,
        wecom_token=TOKEN_WECOM,
        wecom_aes_key=AES_KEY,
        wecom_api_base_url=api.base_url,
        data_dir=data_dir,
        **extra,
    )


@asynccontextmanager
async def running_wecom(
    api: FakeWeCom, sessions: SessionMaker, data_dir: Path
) -> AsyncIterator[WeComChannel]:
    """The bot's WeCom channel, listening on a free port, talking to the fake."""
    settings = wecom_settings(api, data_dir)
    dialog = make_dialog(sessions, data_dir)
    # The per-member pace is tested with a fake clock; here a quick walk must not wait on it.
    channel = WeComChannel.from_settings(settings, dialog, pacer=Pacer(((1000, 1.0),)), backoff=0.01)
    api.callback_url = await channel.start("127.0.0.1", 0)
    api.settle = channel.drain  # act() waits for the bot to finish, not only for its first message
    try:
        yield channel
    finally:
        await channel.stop()


def is_card(message: Sent) -> bool:
    return message.is_card


async def act(
    api: FakeWeCom,
    push: Callable[[], Awaitable[Delivery]],
    until: Callable[[Sent], bool] = is_card,
    timeout: float = 10,  # noqa: ASYNC109
) -> Sent:
    """Post one callback (acknowledged at once, empty) and wait for the bot's answer to it."""
    mark = api.mark()
    delivery = await push()
    assert (delivery.status, delivery.text) == (200, "")
    found = await api.wait_for(until, timeout, since=mark)
    if api.settle is not None:
        await api.settle()
    return found


def said(api: FakeWeCom, mark: int, words: str) -> bool:
    return any(words in text for text in api.texts(INSPECTOR, mark))


async def current_key(sessions: SessionMaker, person_id: int) -> str | None:
    state = await state_of(sessions, person_id)
    return state.get("question") if state.get("step") == "question" else None


async def open_inspection(api: FakeWeCom) -> None:
    mark = api.mark()
    await act(api, lambda: api.send_text(INSPECTOR, "/inspect"))
    assert said(api, mark, "请选择要检查的乡镇")
    mark = api.mark()
    picker = api.last_card(INSPECTOR)
    await act(api, lambda: api.press_label(INSPECTOR, "太平乡"))
    assert said(api, mark, "请选择检查年度")
    assert picker is not None and picker.greyed == "✓ 太平乡"  # the pressed card shows the choice
    mark = api.mark()
    await act(api, lambda: api.press_label(INSPECTOR, "本年度"))
    assert said(api, mark, "开始检查：太平乡") and said(api, mark, "【组织领导】1/")


async def answer_until(api: FakeWeCom, sessions: SessionMaker, person: int, stop: str | None) -> list[str]:
    asked: list[str] = []
    while (key := await current_key(sessions, person)) is not None and key != stop:
        asked.append(key)
        assert len(asked) < 60
        if key == "photos":
            await act(api, lambda: api.send_image(INSPECTOR, b"\xff\xd8wecom-photo"))
            await act(api, lambda: api.press_label(INSPECTOR, "完成（1 张）"))
        elif key in ("leader_named", "has_room"):  # yes/no by button
            await act(api, lambda: api.press_label(INSPECTOR, "是"))
        elif key == "equipment_state":  # a single choice by button
            await act(api, lambda: api.press_label(INSPECTOR, "完好"))
        elif key == "protections":  # eight choices and "done": two cards, toggled by button
            first = await act(api, lambda: api.press_label(INSPECTOR, "防火"))
            assert "（1/2）" in first.text
            assert any(m.greyed == "已更新，见下方 ↓" for m in api.messages(INSPECTOR))
            await act(api, lambda: api.press_label(INSPECTOR, "防盗"))
            assert "☑ 防火" in api.labels(INSPECTOR) or "☑ 防火" in _all_labels(api)
            await act(api, lambda: api.press_label(INSPECTOR, "✔ 完成"))
        else:
            await act(api, lambda k=key: api.send_text(INSPECTOR, TYPED[k][0]))  # type: ignore[misc]
    return asked


def _all_labels(api: FakeWeCom) -> list[str]:
    return [label for m in api.messages(INSPECTOR)[-3:] for label, _ in m.buttons]


@pytest.fixture
async def world(sessions: SessionMaker) -> dict[str, Any]:
    return await seed(sessions, channel="wecom")


def _year() -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Shanghai")).year


async def test_inspector_completes_a_checklist(
    sessions: SessionMaker, world: dict[str, Any], tmp_path: Path
) -> None:
    person = world["inspector"]
    async with FakeWeCom() as api, running_wecom(api, sessions, tmp_path) as channel:
        status, body = await api.verify_url()
        assert (status, body) == (200, "<echo>")  # the decrypted echostr, nothing else
        await open_inspection(api)
        # A button answer: the pressed card is greyed out with the answer.
        question = api.last_card(INSPECTOR)
        assert question is not None
        await act(api, lambda: api.press_label(INSPECTOR, "是"))
        assert question.greyed == "✓ 已记录：是"
        # A retried callback is applied once: the answer, and its reply, once.
        mark = api.mark()
        typed = await api.send_text(INSPECTOR, "没有")
        again = await api.redeliver(typed)
        assert (again.status, again.text) == (200, "")
        await api.wait_for(is_card, since=mark)
        await channel.drain()
        assert sum("✓ 已记录：否" in t for t in api.texts(INSPECTOR, mark)) == 1
        assert len(api.messages(INSPECTOR, mark)) == 1
        # A retried button press too (an event: deduplicated by member and CreateTime).
        mark = api.mark()
        pressed = await api.press_label(INSPECTOR, "是")
        await api.redeliver(pressed)
        await api.wait_for(is_card, since=mark)
        await channel.drain()
        assert not said(api, mark, "过期") and len(api.messages(INSPECTOR, mark)) == 1
        # The token expires on the way: refreshed once, nothing lost.
        api.expire_tokens()
        asked = await answer_until(api, sessions, person, "archivist")
        assert api.errors() == [42001] and api.token_requests == 2
        # WeCom busy for a moment: backed off and sent once.
        api.fail("message/send", 45009, -1)
        asked += await answer_until(api, sessions, person, None)
        assert api.errors()[-2:] == [45009, -1]
        assert "notes" in asked and "photos" in asked and "protections" in asked
        assert said(api, 0, "请核对")
        await act(api, lambda: api.press_label(INSPECTOR, "✔ 提交"), until=lambda m: "已提交" in m.text)
    stored = await stored_answers(sessions, world["taiping"], _year())
    assert stored["leader_named"] is True and stored["target_management"] is False
    assert stored["has_room"] is True and stored["equipment_state"] == "good"
    assert stored["protections"] == ["fire", "theft"] and stored["filed_up_to"] == 2006
    assert await photo_bytes(sessions, stored["photos"][0]) == b"\xff\xd8wecom-photo"
    # Every question was shown in order, none twice despite the retries and the faults (the
    # multiple choice is shown again, on two cards, after each toggle).
    numbers = [int(n) for text in api.texts(INSPECTOR) for n in re.findall(r"【[^】]+】(\d+)/\d+", text)]
    shown = [n for i, n in enumerate(numbers) if i == 0 or n != numbers[i - 1]]
    assert shown == list(range(1, len(shown) + 1)) and len(shown) > 20


async def test_forged_signature_wrong_corp_and_oversized_are_refused(
    sessions: SessionMaker, world: dict[str, Any], tmp_path: Path
) -> None:
    async with FakeWeCom() as api, running_wecom(api, sessions, tmp_path):
        status, _ = await api.verify_url(forge=True)
        assert status == 403
        forged = await api.send_text(INSPECTOR, "/inspect", forge=True)
        assert forged.status == 403
        plain = api.message_xml(INSPECTOR, "text", {"Content": "/inspect", "MsgId": "1"})
        other_corp = await api.post(plain, corp_id="wwsomeoneelse0000")
        assert other_corp.status == 403
        assert (await api.post_raw(b"<xml>" + b"x" * 200_000 + b"</xml>")).status == 413
        assert (await api.post_raw(b"not xml")).status == 400
        await asyncio.sleep(0.1)
    assert api.sent == [] and api.token_requests == 0  # nothing handled, nothing sent
    async with sessions() as s:
        assert (await s.exec(select(func.count()).select_from(ProcessedUpdate))).one() == 0
    assert await state_of(sessions, world["inspector"]) == {}


async def test_stranger_unsupported_menu_order_and_unreachable(
    sessions: SessionMaker, world: dict[str, Any], tmp_path: Path
) -> None:
    person = world["inspector"]
    async with FakeWeCom() as api, running_wecom(api, sessions, tmp_path) as channel:
        # A stranger gets one line, and no buttons.
        reply = await act(
            api, lambda: api.send_text("nobody", "/inspect"), until=lambda m: m.touser == "nobody"
        )
        assert "邀请" in reply.text and not reply.is_card
        # A menu click is a command; a voice message gets the "text only" note.
        await act(api, lambda: api.click_menu(INSPECTOR, "inspect"))
        assert said(api, 0, "请选择要检查的乡镇")
        mark = api.mark()
        await act(api, lambda: api.send_voice(INSPECTOR))
        assert said(api, mark, "请点按钮选择乡镇")
        # Three messages posted back to back are handled in order.
        await act(api, lambda: api.send_text(INSPECTOR, "太平乡"))
        await act(api, lambda: api.send_text(INSPECTOR, str(_year())))
        mark = api.mark()
        for answer in ("是", "没有", "有"):
            await api.send_text(INSPECTOR, answer)
        await api.wait_until(lambda: len(api.messages(INSPECTOR, mark)) >= 3)
        await channel.drain()
        recorded = [t.split("\n")[0] for t in api.texts(INSPECTOR, mark)]
        assert recorded == ["✓ 已记录：是", "✓ 已记录：否", "✓ 已记录：是"]
        assert await current_key(sessions, person) == "room_standard"
        # A member who left the application's range is marked blocked.
        api.remove_member(INSPECTOR)
        await api.send_text(INSPECTOR, "对")
        await channel.drain()
    async with sessions() as s:
        ident = (await s.exec(select(Identity).where(Identity.external_id == INSPECTOR))).one()
        assert ident.blocked


async def test_beside_telegram_in_one_process(
    sessions: SessionMaker, world: dict[str, Any], tmp_path: Path
) -> None:
    """``archive-bot run`` with both configured: the WeCom server starts with the Telegram
    Application, both channels' senders in one outbox (notifications and reminders go by each
    recipient's channel), and both stop together."""
    import socket

    from bot.dialog import Reply
    from bot.main import build_application
    from bot.wecom import attach_to_application
    from tests.fakes.telegram_api import FakeTelegramAPI
    from tests.telegram_harness import TOKEN, settings_for

    async with transaction(sessions) as s:  # the inspector on Telegram too
        person = await s.get(Person, world["inspector"])
        assert person is not None
        await ensure_identity(s, person, "telegram", "100")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with FakeTelegramAPI(token=TOKEN) as tg, FakeWeCom() as api:
        settings = settings_for(
            tg,
            tmp_path,
            wecom_corp_id=CORP_ID,
            wecom_agent_id=AGENT_ID,
            wecom_secret=SECRET,
            wecom_token=TOKEN_WECOM,
            wecom_aes_key=AES_KEY,
            wecom_api_base_url=api.base_url,
            wecom_callback_port=port,
        )
        dialog = make_dialog(sessions, tmp_path)
        app = build_application(settings, dialog)
        channel = attach_to_application(app, settings, dialog)
        async with app:
            assert app.post_init is not None and app.post_shutdown is not None
            await app.post_init(app)
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=1)
            try:
                api.callback_url = channel.url
                assert channel.url == f"http://127.0.0.1:{port}/wecom/callback"
                await act(api, lambda: api.send_text(INSPECTOR, "/help"), until=lambda m: True)
                assert "/inspect" in api.texts(INSPECTOR)[-1]
                mark = tg.mark()
                await tg.send_text(100, "/help")
                await tg.wait_for(lambda c: "/inspect" in (c.body or ""), since=mark)
                # One outbox for both channels, the one the reminders were given.
                outbox = app.bot_data["outbox"]
                assert outbox.channels == ("telegram", "wecom")
                assert app.bot_data["scheduler"].get_job("prune") is not None  # the one scheduler
                assert await outbox.send("wecom", INSPECTOR, Reply("提醒：太平乡尚未提交")) == "sent"
                assert api.texts(INSPECTOR)[-1] == "提醒：太平乡尚未提交"
                mark = tg.mark()
                assert await outbox.send("telegram", "100", Reply("提醒：新华乡尚未开始")) == "sent"
                assert tg.texts(100, since=mark) == ["提醒：新华乡尚未开始"]
            finally:
                await app.updater.stop()
                await app.stop()
                await app.post_shutdown(app)
        with pytest.raises(OSError):
            await api.verify_url()  # the callback server stopped with the Application


async def test_alone_with_the_same_background_jobs(
    sessions: SessionMaker, world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``archive-bot run`` with WeCom only: the callback server, and the background jobs started
    as beside Telegram (the nightly pruning of processed updates included), until stopped."""
    import socket

    import bot.wecom.server as server
    from bot.background import start_background

    started: list[Any] = []

    def spy(*args: Any) -> Any:
        started.append(start_background(*args))
        return started[-1]

    monkeypatch.setattr(server, "start_background", spy)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with FakeWeCom() as api:
        settings = wecom_settings(api, tmp_path, wecom_callback_port=port, reminders_enabled=False)
        stop = asyncio.Event()
        running = asyncio.create_task(server.serve(settings, make_dialog(sessions, tmp_path), stop=stop))
        for _ in range(100):
            if started:
                break
            await asyncio.sleep(0.05)
        api.callback_url = f"http://127.0.0.1:{port}/wecom/callback"
        await act(api, lambda: api.send_text(INSPECTOR, "/help"), until=lambda m: "/inspect" in m.text)
        [scheduler] = started
        assert scheduler.running and scheduler.get_job("prune") is not None
        stop.set()
        await running
    assert not scheduler.running
