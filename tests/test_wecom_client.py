"""The WeCom send side against the fake WeCom server: the token and what is retried, the
per-member pace, and how replies become text, template cards and files."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.dialog import Button, Reply
from bot.outbox import Outbox, Outcome
from bot.wecom.client import WeComClient, WeComError
from bot.wecom.outbound import Pressed, WeComSender, cards_for, split_text
from bot.wecom.pacing import WECOM_LIMITS, Pacer
from tests.fakes.wecom_api import AGENT_ID, CORP_ID, SECRET, FakeWeCom

USER = "ChenJiaShun"


class Clock:
    """A clock that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def client_for(api: FakeWeCom, clock: Clock | None = None, secret: str = SECRET) -> WeComClient:
    clock = clock or Clock()
    return WeComClient(CORP_ID, secret, AGENT_ID, base_url=api.base_url, clock=clock, sleep=clock.sleep)


async def test_token_is_cached_and_refreshed_before_it_expires() -> None:
    clock = Clock()
    async with FakeWeCom() as api, client_for(api, clock) as client:
        for n in range(3):
            await client.send_text(USER, f"第 {n} 条")
        assert api.token_requests == 1 and api.texts(USER) == ["第 0 条", "第 1 条", "第 2 条"]
        clock.now += 7200 - 100  # within the safety margin of the 7200 s lifetime
        await client.send_text(USER, "再来一条")
        assert api.token_requests == 2


@pytest.mark.parametrize("code", [40014, 42001])
async def test_expired_token_is_refreshed_once_and_the_call_retried_once(code: int) -> None:
    async with FakeWeCom() as api, client_for(api) as client:
        await client.send_text(USER, "一")
        if code == 42001:
            api.expire_tokens()
        else:
            api.fail("message/send", 40014)
        await client.send_text(USER, "二")
        assert api.token_requests == 2 and api.texts(USER) == ["一", "二"]
        api.fail("message/send", code, code)  # still refused after the refresh: given up
        with pytest.raises(WeComError) as info:
            await client.send_text(USER, "三")
        assert info.value.errcode == code and api.token_requests == 3 and api.texts(USER) == ["一", "二"]


@pytest.mark.parametrize("code", [45009, -1])
async def test_busy_backs_off_at_most_three_tries(code: int) -> None:
    clock = Clock()
    async with FakeWeCom() as api, client_for(api, clock) as client:
        api.fail("message/send", code, code)
        await client.send_text(USER, "终于")
        assert api.texts(USER) == ["终于"] and clock.slept == [0.5, 1.0]
        api.fail("message/send", code, code, code)
        with pytest.raises(WeComError) as info:
            await client.send_text(USER, "放弃")
        assert info.value.errcode == code
        assert api.errors("message/send") == [code] * 5 and api.texts(USER) == ["终于"]


@pytest.mark.parametrize("code", [40001, 60020, 81013])
async def test_never_retried(code: int, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    async with FakeWeCom() as api, client_for(api, clock) as client:
        api.fail("message/send", code, code)
        with caplog.at_level(logging.INFO, "bot.wecom"), pytest.raises(WeComError) as info:
            await client.send_text(USER, "x")
        assert info.value.errcode == code and api.errors() == [code] and clock.slept == []
        if code == 60020:
            assert "trusted IP" in caplog.text and "企业可信IP" in caplog.text


async def test_wrong_secret_is_not_retried_and_the_secret_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with FakeWeCom() as api, client_for(api, secret="wrong-secret-value") as client:
        with caplog.at_level(logging.DEBUG), pytest.raises(WeComError) as info:
            await client.send_text(USER, "x")
        assert info.value.errcode == 40001 and api.token_requests == 1
        assert "WECOM_SECRET" in caplog.text and "wrong-secret-value" not in caplog.text
        assert "wrong-secret-value" not in repr(client)


async def test_upload_download_menu() -> None:
    async with FakeWeCom() as api, client_for(api) as client:
        media_id = await client.upload("file", "汇报.docx", b"PK\x03\x04report")
        assert api.uploads[media_id].data == b"PK\x03\x04report"
        assert api.uploads[media_id].filename == "汇报.docx"
        await client.send_media(USER, "file", media_id)
        assert api.messages(USER)[-1].msgtype == "file"
        with pytest.raises(WeComError) as info:
            await client.download("no-such-media")
        assert info.value.errcode == 40007
        from bot.wecom.cli import menu_buttons

        await client.create_menu(menu_buttons("zh-CN"))
        assert [b["key"] for b in api.menus[0]["button"]] == ["inspect", "cancel", "help"]
        assert all(len(b["name"].encode()) <= 16 for b in api.menus[0]["button"])


# The per-member pace ----------------------------------------------------------------------------


async def test_pacer_holds_30_a_minute_and_1000_an_hour() -> None:
    clock = Clock()
    pacer = Pacer(WECOM_LIMITS, clock=clock, sleep=clock.sleep)
    stamps: list[float] = []
    for _ in range(30):
        assert await pacer.acquire("a") == 0
        stamps.append(clock.now)
    assert pacer.delay("b") == 0  # another member is not held
    assert await pacer.acquire("a") == pytest.approx(60.0)
    stamps.append(clock.now)
    for _ in range(2000 - 31):
        await pacer.acquire("a")
        stamps.append(clock.now)
    # Whatever window one looks at, the limits hold.
    for i, start in enumerate(stamps):
        assert sum(1 for s in stamps[i : i + 31] if s < start + 60) <= 30
        assert sum(1 for s in stamps[i : i + 1001] if s < start + 3600) <= 1000
    assert stamps[-1] - stamps[0] >= 3600  # the 1001st onwards waited for the hour window


def test_pacer_forgets_idle_members() -> None:
    clock = Clock()
    pacer = Pacer(((2, 10.0),), clock=clock)
    for n in range(1100):
        pacer.record(f"m{n}")
        clock.now += 0.01
    clock.now += 20
    for _ in range(2048 - 1100):
        pacer.record("busy")
    assert len(pacer) == 1


# Replies as WeCom messages ------------------------------------------------------------------------


def test_split_text_stays_within_2048_bytes() -> None:
    text = "\n".join(f"· 第 {n} 题：档案室在二楼，正在整修，预计年底完成。" for n in range(200))
    pieces = split_text(text)
    assert len(pieces) > 1 and all(len(p.encode()) <= 2048 for p in pieces)
    assert "\n".join(pieces) == text
    one_line = "档" * 2000
    assert "".join(split_text(one_line)) == one_line and all(
        len(p.encode()) <= 2048 for p in split_text(one_line)
    )


def test_cards_hold_six_buttons_and_long_text_goes_first() -> None:
    buttons = [[Button(f"选项{n}", f"3:m:{n}")] for n in range(11)]
    lead, cards = cards_for(Reply("【八防】5/30\n具备哪些防护？", buttons), "zh-CN")
    assert lead is None and [len(c["button_list"]) for c in cards] == [6, 5]
    assert (
        cards[0]["main_title"]["title"].startswith("【八防】5/30")
        and "（1/2）" in cards[0]["main_title"]["title"]
    )
    assert cards[0]["sub_title_text"] == "具备哪些防护？" and "sub_title_text" not in cards[1]
    assert len({c["task_id"] for c in cards}) == 2
    long = "请核对：太平乡 2026 年度检查\n" + "\n".join(f"· 问题 {n}：是" for n in range(40))
    lead, cards = cards_for(Reply(long, [[Button("✔ 提交", "9:sub:")]]), "zh-CN")
    assert lead == long and cards[0]["main_title"]["title"] == "请核对：太平乡 2026 年度检查"
    assert cards[0]["sub_title_text"] == "请点下方按钮，也可以直接回复文字。"


async def test_sender_greys_the_pressed_card_and_sends_the_rest(tmp_path: Path) -> None:
    clock = Clock()
    async with FakeWeCom() as api, client_for(api, clock) as client:
        sender = WeComSender(client, Pacer(clock=clock, sleep=clock.sleep), locale="zh-CN")
        await sender.deliver(
            USER,
            [Reply("【组织领导】1/30\n是否明确分管领导？", [[Button("是", "1:a:1"), Button("否", "1:a:0")]])],
        )
        card = api.last_card(USER)
        assert card is not None and card.buttons == [("是", "1:a:1"), ("否", "1:a:0")]
        # The press answered with an edit (the recorded answer) and the next question.
        code = api.press_code(card.task_id)  # as WeCom hands it out with the press
        replies = [
            Reply("是否明确分管领导？\n✓ 已记录：是", edit=True),
            Reply("【组织领导】2/30\n是否有年度目标？", [[Button("是", "2:a:1")]]),
        ]
        await sender.deliver(USER, replies, Pressed(card.task_id, "1:a:1", code))
        assert card.greyed == "✓ 已记录：是"
        assert [m.text for m in api.messages(USER)][-1].startswith("【组织领导】2/30")
        # A press that only earns a notice (a stale button) is answered in text; the card stays.
        second = api.last_card(USER)
        assert second is not None
        await sender.deliver(USER, [Reply(notice="这个按钮已过期")], Pressed(second.task_id, "2:a:1", "rc-x"))
        assert api.texts(USER)[-1] == "这个按钮已过期" and second.greyed is None
        # A file: uploaded, then sent after its caption.
        report = tmp_path / "督查情况汇报.docx"
        report.write_bytes(b"PK\x03\x04")
        await sender.deliver(USER, [Reply("督查情况汇报", file=report)])
        caption, document = api.messages(USER)[-2:]
        assert caption.text == "督查情况汇报" and document.msgtype == "file"
        assert api.uploads[document.body["file"]["media_id"]].filename == "督查情况汇报.docx"


async def test_sender_marks_unreachable_members_and_the_outbox_routes_replies_to_others() -> None:
    blocked: list[str] = []
    forwarded: list[tuple[str, str, str]] = []

    async def unreachable(user: str) -> None:
        blocked.append(user)

    class Telegram:
        async def send(self, channel: str, external_id: str, reply: Reply) -> Outcome:
            forwarded.append((channel, external_id, reply.text))
            return "sent"

    async with FakeWeCom() as api, client_for(api) as client:
        sender = WeComSender(client, on_unreachable=unreachable)
        outbox = Outbox({"wecom": sender, "telegram": Telegram()})
        replies = [
            Reply("已退回"),
            Reply("请修改", to=("wecom", "WangWu")),
            Reply("请修改", to=("telegram", "42")),
            Reply("好的"),
        ]
        assert await sender.deliver(USER, [r for r in replies if r.to is None]) == "sent"
        await outbox.forward(replies)
        assert [(m.touser, m.text) for m in api.messages()] == [
            (USER, "已退回"),
            (USER, "好的"),
            ("WangWu", "请修改"),
        ]
        assert forwarded == [("telegram", "42", "请修改")]
        assert await outbox.send("sms", "1", Reply("?")) == "failed"  # no such channel running
        api.remove_member(USER)
        assert await outbox.send("wecom", USER, Reply("提醒")) == "blocked"
        assert blocked == [USER]
