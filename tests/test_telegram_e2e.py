"""End to end on Telegram: the real python-telegram-bot Application, polling a fake Bot API
server on loopback, with the dialog on a real database."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from storage.db import SessionMaker
from tests.dialog_driver import seed, state_of, stored_answers
from tests.fakes.telegram_api import FakeTelegramAPI, FaultPlan
from tests.telegram_harness import INSPECTOR, TOKEN, act, running_bot
from tests.test_dialog import TYPED


async def current_key(sessions: SessionMaker, person_id: int) -> str | None:
    state = await state_of(sessions, person_id)
    return state.get("question") if state.get("step") == "question" else None


async def open_inspection(api: FakeTelegramAPI) -> None:
    await act(
        api,
        lambda: api.send_text(INSPECTOR, "/inspect"),
        until=lambda c: "请选择要检查的乡镇" in (c.body or ""),
    )
    await act(
        api, lambda: api.press_text(INSPECTOR, "太平乡"), until=lambda c: "请选择检查年度" in (c.body or "")
    )
    year = next(label for row in api.last_keyboard(INSPECTOR) for label, _ in row if "本年度" in label)
    await act(api, lambda: api.press_text(INSPECTOR, year), until=lambda c: "【" in (c.body or ""))


async def answer_until(
    api: FakeTelegramAPI, sessions: SessionMaker, person: int, stop: str | None
) -> list[str]:
    asked: list[str] = []
    while (key := await current_key(sessions, person)) is not None and key != stop:
        asked.append(key)
        assert len(asked) < 60
        if key == "photos":
            await act(api, lambda: api.send_photo(INSPECTOR, b"\xff\xd8photo"))
            await act(api, lambda: api.press_text(INSPECTOR, "✔ 完成（1 张）"))
        elif key in ("leader_named", "has_room"):  # some by button, the rest typed
            await act(api, lambda: api.press_text(INSPECTOR, "是"))
        else:
            await act(api, lambda k=key: api.send_text(INSPECTOR, TYPED[k][0]))  # type: ignore[misc]
    return asked


@pytest.fixture
async def world(sessions: SessionMaker) -> dict[str, Any]:
    return await seed(sessions, channel="telegram")


async def test_inspector_completes_a_checklist(
    sessions: SessionMaker, world: dict[str, Any], tmp_path: Path
) -> None:
    async with FakeTelegramAPI(token=TOKEN) as api, running_bot(api, sessions, tmp_path):
        await open_inspection(api)
        asked = await answer_until(api, sessions, world["inspector"], None)
        assert "notes" in asked and "photos" in asked
        review = api.last_message(INSPECTOR)
        assert review is not None and "请核对" in (review.body or "")
        await act(
            api, lambda: api.press_text(INSPECTOR, "✔ 提交"), until=lambda c: "已提交" in (c.body or "")
        )
    stored = await stored_answers(sessions, world["taiping"], _year())
    assert stored["filed_up_to"] == 2006 and stored["villages_established"] == 10
    assert stored["leader_named"] is True and stored["protections"] == ["fire", "theft"]
    photo = stored["photos"][0]
    assert Path(photo["path"]).read_bytes() == b"\xff\xd8photo"  # noqa: ASYNC240


def _year() -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Shanghai")).year


async def test_wrong_input_back_skip_stale_sticker_duplicate(
    sessions: SessionMaker, world: dict[str, Any], tmp_path: Path
) -> None:
    person = world["inspector"]
    async with FakeTelegramAPI(token=TOKEN) as api, running_bot(api, sessions, tmp_path):
        await open_inspection(api)
        # A button answer; its message is edited to show the answer, without buttons.
        first_question = api.last_message(INSPECTOR)
        assert first_question is not None and first_question.message_id is not None
        stale = next(data for row in api.last_keyboard(INSPECTOR) for label, data in row if label == "否")
        await act(api, lambda: api.press_text(INSPECTOR, "是"))
        assert api.keyboard(INSPECTOR, first_question.message_id) == []
        # The stale button: a short notice, nothing stored.
        mark = api.mark()
        await api.press(INSPECTOR, stale, first_question.message_id, strict=False)
        notice = await api.wait_for(lambda c: c.method == "answerCallbackQuery", since=mark)
        assert "过期" in str(notice.params.get("text"))
        assert (await stored_answers(sessions, world["taiping"], _year()))["leader_named"] is True
        # Wrong input: the message and the question again.
        await act(api, lambda: api.send_text(INSPECTOR, "也许吧"))
        texts = api.texts(INSPECTOR)[-2:]
        assert "是" in texts[0] and "【组织领导】2/" in texts[1]
        # A sticker: a message and the question again.
        await act(api, lambda: api.send_sticker(INSPECTOR))
        assert "贴纸" in api.texts(INSPECTOR)[-2]
        # Back.
        await act(api, lambda: api.press_text(INSPECTOR, "◀ 上一题"))
        assert await current_key(sessions, person) == "leader_named"
        await act(api, lambda: api.press_text(INSPECTOR, "否"))
        # The same update delivered twice is applied once, and answered with the current prompt
        # (its first reply may have been lost in the crash that made Telegram deliver it again).
        mark = api.mark()
        update_id = await api.send_text(INSPECTOR, "是")
        await api.wait_for(lambda c: "已记录" in (c.body or ""), since=mark)
        mark = api.mark()
        await api.push_duplicate(update_id)
        again = await api.wait_for(lambda c: "是否有专门的档案室" in (c.body or ""), since=mark)
        assert "已记录" not in (again.body or "") and again.keyboard
        assert await current_key(sessions, person) == "has_room"
        # Skip an optional question.
        await answer_until(api, sessions, person, "photos")
        await act(api, lambda: api.press_text(INSPECTOR, "跳过 ▶"))
        assert await current_key(sessions, person) == "notes"
    stored = await stored_answers(sessions, world["taiping"], _year())
    assert stored["leader_named"] is False and stored["target_management"] is True
    assert stored["photos"] == "<skipped>"


async def test_faults_429_and_502_every_reply_arrives_once(
    sessions: SessionMaker, world: dict[str, Any], tmp_path: Path
) -> None:
    """A fifth of the sends answered 429 (retry after 1 s) and a tenth 502: the whole checklist
    still goes through, every reply arriving, each question once and in order."""
    async with FakeTelegramAPI(token=TOKEN) as api, running_bot(api, sessions, tmp_path):
        api.set_faults(FaultPlan(rate=0.3, kinds=("429", "429", "502"), retry_after=1, seed=7))
        await open_inspection(api)
        asked = await answer_until(api, sessions, world["inspector"], None)
        await act(
            api, lambda: api.press_text(INSPECTOR, "✔ 提交"), until=lambda c: "已提交" in (c.body or "")
        )
        faults = api.stats.faults
        api.set_faults(None)
    assert faults["429"] >= 5 and faults["502"] >= 2, faults
    # Each question once, in order (a photo's receipt shows its question again, on purpose).
    shown = [re.search(r"】(\d+)/\d+", t) for t in api.texts(INSPECTOR, edits=False) if "已收到" not in t]
    assert [int(m.group(1)) for m in shown if m] == list(range(1, len(asked) + 1))
    assert api.stats.duplicates == 0
    stored = await stored_answers(sessions, world["taiping"], _year())
    assert set(asked) <= set(stored)


async def test_stranger_gets_one_line(sessions: SessionMaker, world: dict[str, Any], tmp_path: Path) -> None:
    async with FakeTelegramAPI(token=TOKEN) as api, running_bot(api, sessions, tmp_path):
        for push in (lambda: api.send_text(999, "/inspect"), lambda: api.send_text(999, "太平乡")):
            call = await act(api, push, until=lambda c: c.chat_id == 999)
            assert "邀请" in (call.body or "") and not call.keyboard


async def test_webhook_mode_with_secret_token(
    sessions: SessionMaker, world: dict[str, Any], tmp_path: Path
) -> None:
    import socket

    from bot.main import build_application
    from tests.dialog_driver import make_dialog
    from tests.telegram_harness import settings_for

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/telegram"
    async with FakeTelegramAPI(token=TOKEN) as api:
        app = build_application(settings_for(api, tmp_path), make_dialog(sessions, tmp_path))
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_webhook(
                listen="127.0.0.1",
                port=port,
                url_path="telegram",
                webhook_url=url,
                secret_token="s3cret-Token_1",
            )
            try:
                assert api.webhook is not None and api.webhook["secret_token"] == "s3cret-Token_1"
                await open_inspection(api)  # delivered by POST to the webhook
                forged = {
                    "message": {
                        "message_id": 1,
                        "date": 0,
                        "chat": {"id": INSPECTOR, "type": "private"},
                        "from": {"id": INSPECTOR, "is_bot": False, "first_name": "x"},
                        "text": "是",
                    }
                }
                assert await api.deliver_to_webhook(url, forged, "wrong") == 403
            finally:
                await app.updater.stop()
                await app.stop()
    assert await stored_answers(sessions, world["taiping"], _year()) == {}


async def test_answers_as_inspectors_say_them(
    sessions: SessionMaker, world: dict[str, Any], tmp_path: Path
) -> None:
    """Through the real loop: an exception in a multiple choice, "never filed" in words, and a
    cross-check that asks "are you sure?" with its buttons."""
    person = world["inspector"]
    said = {
        "protections": "除了防有毒气体都有",
        "filed_up_to": "还没有归档",
        "annual_task_done": "否",  # never filed: the task is not done either
    }
    async with FakeTelegramAPI(token=TOKEN) as api, running_bot(api, sessions, tmp_path):
        await open_inspection(api)
        while (key := await current_key(sessions, person)) is not None:
            if key == "photos":
                await act(api, lambda: api.press_text(INSPECTOR, "跳过 ▶"))
            elif key == "villages_total":
                await act(api, lambda: api.send_text(INSPECTOR, "0"))  # the registry says 12
                assert "名录登记的是 12 个" in api.texts(INSPECTOR)[-1]
                await act(api, lambda: api.press_text(INSPECTOR, "✎ 重新填写"))
                assert await current_key(sessions, person) == "villages_total"
                await act(api, lambda: api.send_text(INSPECTOR, "十二"))
            else:
                text = said.get(key, TYPED[key][0])
                await act(api, lambda t=text: api.send_text(INSPECTOR, t))  # type: ignore[misc]
        await act(
            api, lambda: api.press_text(INSPECTOR, "✔ 提交"), until=lambda c: "已提交" in (c.body or "")
        )
    stored = await stored_answers(sessions, world["taiping"], _year())
    assert stored["protections"] == ["fire", "theft", "insects", "mould", "light", "dust", "damp"]
    assert stored["filed_up_to"] == "never" and stored["villages_total"] == 12
