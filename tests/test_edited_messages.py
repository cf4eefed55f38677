"""A sent message edited, end to end through python-telegram-bot: the message that answered a
question changes that answer (checked as a new one, kept in the history); any other edit gets
a line on how answers are changed; the person is shown where they are again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from storage.db import SessionMaker
from storage.models import AnswerChange
from tests.dialog_driver import seed, state_of, stored_answers
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram_harness import INSPECTOR, TOKEN, act, running_bot
from tests.test_telegram_e2e import _year, answer_until, open_inspection


@pytest.fixture
async def world(sessions: SessionMaker) -> dict[str, Any]:
    return await seed(sessions, channel="telegram")


async def test_an_edited_answer_changes_it_and_its_history(
    sessions: SessionMaker, world: dict[str, Any], tmp_path: Path
) -> None:
    person = world["inspector"]
    async with FakeTelegramAPI(token=TOKEN) as api, running_bot(api, sessions, tmp_path):
        await open_inspection(api)
        await answer_until(api, sessions, person, "archivist_changes")
        typed = await api.send_text(INSPECTOR, "12")
        await api.wait_for(lambda c: "已记录：12" in (c.body or ""))
        where = (await state_of(sessions, person))["question"]
        call = await act(api, lambda: api.edit_text(typed, "2"), until=lambda c: "更改" in (c.body or ""))
        assert "近三年调换" in (call.body or "")
        await api.wait_for(lambda c: "【" in (c.body or ""), since=call.seq)  # shown where they are
        assert (await stored_answers(sessions, world["taiping"], _year()))["archivist_changes"] == 2
        assert (await state_of(sessions, person))["question"] == where  # still at the same place
        async with sessions() as s:
            rows = (
                await s.exec(select(AnswerChange).where(AnswerChange.question_key == "archivist_changes"))
            ).all()
        assert [(r.old_value, r.new_value) for r in rows] == [(None, 12), (12, 2)]
        # An edit that says something the question does not take: nothing changes.
        call = await act(
            api, lambda: api.edit_text(typed, "很多"), until=lambda c: "没有改变" in (c.body or "")
        )
        assert (await stored_answers(sessions, world["taiping"], _year()))["archivist_changes"] == 2
        # An edit of a message that answered nothing: how to change an answer.
        other = await api.send_text(INSPECTOR, "/help")
        await api.wait_for(lambda c: "/inspect" in (c.body or ""))
        call = await act(
            api, lambda: api.edit_text(other, "/help me"), until=lambda c: "不会改变记录" in (c.body or "")
        )
        assert "上一题" in (call.body or "")
