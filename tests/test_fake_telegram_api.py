"""Tests of the fake Telegram Bot API, driven by the real python-telegram-bot Bot / Application."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes import FakeTelegramAPI, FaultPlan, ThreadedFakeTelegramAPI

# PTB 22 itself warns whenever it builds a RetryAfter (its int→timedelta migration of retry_after)
pytestmark = pytest.mark.filterwarnings("ignore:.*attribute `retry_after`:DeprecationWarning")

TOKEN = "123456:TEST-token_abc"
T = TypeVar("T")


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(token=TOKEN) as fake:
        yield fake


def make_bot(api: FakeTelegramAPI, token: str = TOKEN) -> Bot:
    return Bot(token, base_url=api.base_url, base_file_url=api.base_file_url)


async def reliably(call: Callable[[], Awaitable[T]], attempts: int = 100) -> T:
    """What a bot must do against flaky Telegram: retry on RetryAfter / NetworkError."""
    for _ in range(attempts - 1):
        try:
            return await call()
        except (RetryAfter, NetworkError):
            await asyncio.sleep(0.005)  # a real bot would honour retry_after
    return await call()


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    msg = update.effective_message
    context.bot_data.setdefault("update_ids", []).append(update.update_id)
    await reliably(lambda: msg.reply_text(f"echo: {msg.text}"))


async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("是", callback_data="yes"), InlineKeyboardButton("否", callback_data="no")]]
    )
    msg = update.effective_message
    await reliably(lambda: msg.reply_text("继续吗？", reply_markup=keyboard))


async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await reliably(lambda: query.answer(f"got {query.data}"))
    await reliably(lambda: query.edit_message_text(f"chose {query.data}"))


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    msg = update.effective_message
    assert msg is not None and msg.photo
    tg_file = await msg.photo[-1].get_file()
    buf = io.BytesIO()
    await tg_file.download_to_memory(buf)
    data = buf.getvalue()
    await msg.reply_text(f"photo {len(data)} bytes")
    await msg.reply_document(data[::-1], filename="reversed.bin", caption="reversed")


def build_app(api: FakeTelegramAPI) -> Application[Any, Any, Any, Any, Any, Any]:
    app = ApplicationBuilder().token(TOKEN).base_url(api.base_url).base_file_url(api.base_file_url).build()
    app.add_handler(CommandHandler("menu", menu))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(on_press))
    app.add_handler(MessageHandler(filters.PHOTO, on_photo))
    return app


@contextlib.asynccontextmanager
async def polling(api: FakeTelegramAPI) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    app = build_app(api)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


async def test_bot_api_basics(api: FakeTelegramAPI) -> None:
    async with make_bot(api) as bot:  # initialize() calls getMe
        assert bot.username == "archive_test_bot"
        assert bot.id == 123456
        assert await bot.set_my_commands([("start", "开始"), ("report", "生成报告")])
        assert [(c.command, c.description) for c in await bot.get_my_commands()] == [
            ("start", "开始"),
            ("report", "生成报告"),
        ]
        assert await bot.delete_my_commands()
        assert await bot.get_my_commands() == ()
        assert await bot.delete_webhook(drop_pending_updates=True)
        assert (await bot.get_webhook_info()).url == ""
        assert await bot.set_chat_menu_button()
        chat = await bot.get_chat(77)
        assert chat.type == "private"

    with pytest.raises(InvalidToken):
        async with make_bot(api, "999:WRONG") as bad:
            await bad.get_me()

    # raw HTTP: JSON body, GET query string, unknown method, Bot API response shapes
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{api.base_url}{TOKEN}/sendMessage", json={"chat_id": "5", "text": "json"}
        ) as r:
            body = await r.json()
            assert body["ok"] is True and body["result"]["chat"]["id"] == 5
        async with http.get(f"{api.base_url}{TOKEN}/getMe") as r:
            assert (await r.json())["result"]["username"] == "archive_test_bot"
        async with http.get(f"{api.base_url}{TOKEN}/noSuchMethod") as r:
            assert r.status == 404 and (await r.json()) == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
        api.enforce_limits(global_per_second=100, per_chat_per_second=1, per_chat_burst=1)
        async with http.post(f"{api.base_url}{TOKEN}/sendMessage", data={"chat_id": "5", "text": "a"}) as r:
            assert r.status == 200
        async with http.post(f"{api.base_url}{TOKEN}/sendMessage", data={"chat_id": "5", "text": "b"}) as r:
            assert r.status == 429
            assert await r.json() == {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            }
    assert api.stats.rate_limited == 1
    assert api.texts(5) == ["json", "a"]


async def test_get_updates_long_poll_offset_and_redelivery(api: FakeTelegramAPI) -> None:
    async with make_bot(api) as bot:
        t0 = time.monotonic()
        assert await bot.get_updates(timeout=0) == ()
        assert time.monotonic() - t0 < 0.5

        async def push_later() -> int:
            await asyncio.sleep(0.2)
            return await api.send_text(1, "hello")

        t0 = time.monotonic()
        pusher = asyncio.create_task(push_later())
        updates = await bot.get_updates(timeout=5)
        elapsed = time.monotonic() - t0
        uid = await pusher
        assert 0.15 < elapsed < 1.5, elapsed  # held, then returned promptly
        assert [u.update_id for u in updates] == [uid]
        assert updates[0].message is not None and updates[0].message.text == "hello"
        assert updates[0].message.from_user is not None
        assert updates[0].message.from_user.language_code == "zh-hans"

        # not confirmed yet → delivered again; offset confirms
        again = await bot.get_updates(timeout=0)
        assert [u.update_id for u in again] == [uid]
        uid2 = await api.send_command(1, "/start", "ref42")
        got = await bot.get_updates(offset=uid + 1, timeout=0)
        assert [u.update_id for u in got] == [uid2]
        assert got[0].message is not None and got[0].message.text == "/start ref42"
        assert got[0].message.entities[0].type == "bot_command"
        assert api.pending_updates() == 1
        assert await bot.get_updates(offset=uid2 + 1, timeout=0) == ()
        assert api.pending_updates() == 0

        # limit and allowed_updates
        for i in range(3):
            await api.send_text(2, f"m{i}")
        await api.send_location(2)
        first = await bot.get_updates(limit=2, timeout=0)
        assert len(first) == 2
        rest = await bot.get_updates(
            offset=first[-1].update_id + 1, timeout=0, allowed_updates=["callback_query"]
        )
        assert rest == ()  # messages are not allowed any more and are dropped
        # a duplicate of an already confirmed update is delivered again with the same id
        await api.push_duplicate(uid)
        dup = await bot.get_updates(timeout=0)
        assert [u.update_id for u in dup] == [uid]

        # a second instance's long poll terminates the pending one with 409 (like Telegram)
        first_poll = asyncio.create_task(bot.get_updates(timeout=3))
        await asyncio.sleep(0.1)
        async with make_bot(api) as other:
            await other.get_updates(timeout=0)
        with pytest.raises(Conflict):
            await first_poll


async def test_echo_and_inline_button_with_polling(api: FakeTelegramAPI) -> None:
    api.user(10, "张三")
    async with polling(api):
        await api.send_text(10, "你好")
        [reply] = await api.wait_for_messages(10, 1)
        assert reply.method == "sendMessage" and reply.text == "echo: 你好"
        assert reply.message_id == 2  # the user's message was 1: ids are per chat and shared

        mark = api.mark()
        await api.send_command(10, "/menu")
        [menu_msg] = await api.wait_for_messages(10, 1, since=mark)
        assert api.last_keyboard(10) == [[("是", "yes"), ("否", "no")]]
        assert menu_msg.keyboard == [[("是", "yes"), ("否", "no")]]

        mark = api.mark()
        await api.press(10, "yes")
        edit = await api.wait_for(lambda c: c.method == "editMessageText", since=mark)
        assert edit.text == "chose yes" and edit.message_id == menu_msg.message_id
        [answer] = api.calls("answerCallbackQuery", 10)
        assert answer.text == "got yes"
        assert api.last_keyboard(10) == []  # the edit removed the keyboard
        with pytest.raises(LookupError):
            await api.press(10, "no")  # not on screen any more
        await api.wait_for_idle()
    assert api.stats.delivered == 2 and api.stats.edits == 1 and api.stats.duplicates == 0


async def test_faults_are_retried_and_every_reply_arrives_exactly_once(api: FakeTelegramAPI) -> None:
    api.faults = FaultPlan(rate=0.3, kinds=("429", "502"), retry_after=0.05, seed=1234)
    users = [101, 102, 103, 104]
    async with polling(api):
        for i in range(8):
            for u in users:
                await api.send_text(u, f"msg {u}-{i}")
        await api.send_command(101, "menu")
        for u in users:
            await api.wait_for_messages(u, 8 + (u == 101), timeout=8)
        await api.press(101, "no")
        await api.wait_for(lambda c: c.method == "editMessageText", timeout=5)
    for u in users:
        echoes = [m.text for m in api.messages(u) if m.text and m.text.startswith("echo")]
        assert echoes == [f"echo: msg {u}-{i}" for i in range(8)]
    assert len(api.calls("answerCallbackQuery")) == 1
    assert api.stats.duplicates == 0
    assert api.stats.faults["429"] > 0 and api.stats.faults["502"] > 0
    assert api.stats.delivered == 33


async def test_photo_from_user_downloaded_by_bot_and_document_upload(api: FakeTelegramAPI) -> None:
    photo = bytes(range(256)) * 40
    async with polling(api):
        await api.send_photo(20, photo, caption="档案室")
        msgs = await api.wait_for_messages(20, 2)
    assert msgs[0].text == f"photo {len(photo)} bytes"
    doc = msgs[1]
    assert doc.method == "sendDocument" and doc.caption == "reversed"
    assert doc.upload is not None
    assert doc.upload.filename == "reversed.bin" and doc.upload.size == len(photo)
    assert doc.upload.data == photo[::-1]
    # the bot's upload is now a file of the fake as well (file_id → bytes)
    assert doc.file_id is not None
    stored = api.file(doc.file_id)
    assert stored is not None and stored.data == photo[::-1]
    async with make_bot(api) as bot:
        f = await bot.get_file(doc.file_id)
        assert bytes(await f.download_as_bytearray()) == photo[::-1]


async def test_duplicate_push_delivers_same_update_id_again(api: FakeTelegramAPI) -> None:
    async with polling(api) as app:
        uid = await api.send_text(30, "once")
        await api.wait_for_messages(30, 1)
        await api.wait_for_idle()  # confirmed by the next getUpdates offset
        assert await api.push_duplicate(uid) == uid
        replies = await api.wait_for_messages(30, 2)
        assert app.bot_data["update_ids"] == [uid, uid]
    assert [r.text for r in replies] == ["echo: once", "echo: once"]
    assert api.stats.duplicates == 1 and api.stats.duplicate_keys == [(30, "echo: once")]


async def test_validation_like_telegram(api: FakeTelegramAPI) -> None:
    async with make_bot(api) as bot:
        with pytest.raises(BadRequest, match=r"(?i)unsupported start tag"):
            await bot.send_message(1, "line<br>break", parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)can.t find end tag"):
            await bot.send_message(1, "<b>bold", parse_mode="HTML")
        ok = await bot.send_message(1, "<b>a &lt; b</b> <a href='https://x.org'>链接</a>", parse_mode="HTML")
        assert ok.text == "a < b 链接"  # like Telegram: plain text + entities
        assert [(e.type, e.offset, e.length, e.url) for e in ok.entities] == [
            ("bold", 0, 5, None),
            ("text_link", 6, 2, "https://x.org"),
        ]
        sent = api.last_message(1)
        assert sent is not None and sent.text == "<b>a &lt; b</b> <a href='https://x.org'>链接</a>"  # as sent
        assert sent.plain_text == "a < b 链接"
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(1, "档" * 4097)
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            kb = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])
            await bot.send_message(1, "kb", reply_markup=kb)
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await bot.edit_message_text(ok.text_html, chat_id=1, message_id=ok.message_id, parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("x", chat_id=1, message_id=999)
        assert await bot.delete_message(1, ok.message_id)
        api.block_user(2)
        with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
            await bot.send_message(2, "hi")
    assert len(api.messages(1)) == 1


async def test_media_keyboards_and_user_update_kinds(api: FakeTelegramAPI) -> None:
    async with make_bot(api) as bot:
        await bot.send_message(
            7, "选择", reply_markup=ReplyKeyboardMarkup([["拍照", "跳过"]], resize_keyboard=True)
        )
        assert api.last_reply_keyboard(7) == [["拍照", "跳过"]]
        await bot.send_message(7, "好", reply_markup=ReplyKeyboardRemove())
        assert api.last_reply_keyboard(7) is None

        kb = InlineKeyboardMarkup([[InlineKeyboardButton("删除", callback_data="del:1")]])
        png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
        m = await bot.send_photo(7, png, caption="<i>现场照片</i>", parse_mode="HTML", reply_markup=kb)
        assert m.caption == "现场照片" and m.photo and m.caption_entities[0].type == "italic"
        call = api.last_message(7)
        assert call is not None and call.method == "sendPhoto" and call.caption == "<i>现场照片</i>"
        assert call.upload is not None and call.upload.data == png
        assert api.last_keyboard(7) == [[("删除", "del:1")]]
        await bot.edit_message_reply_markup(7, m.message_id, reply_markup=None)
        assert api.keyboard(7, m.message_id) == [] and api.last_keyboard(7) == []

        group = await bot.send_media_group(7, [InputMediaPhoto(b"a" * 10), InputMediaPhoto(b"b" * 20)])
        assert len(group) == 2 and group[0].media_group_id == group[1].media_group_id
        assert [c.upload.size for c in api.calls("sendMediaGroup", 7) if c.upload] == [10, 20]

        ids = [
            await api.send_sticker(8),
            await api.send_voice(8),
            await api.send_location(8, 31.2, 121.5),
            await api.send_document(8, b"%PDF-1.4", "检查表.pdf", caption="附件"),
            await api.send_contact(8),
        ]
        ups = await bot.get_updates(timeout=0)
        assert [u.update_id for u in ups] == ids
        msgs = [u.message for u in ups]
        assert all(msgs)
        assert msgs[0] and msgs[0].sticker and msgs[0].sticker.emoji == "👍"
        assert msgs[1] and msgs[1].voice and msgs[1].voice.mime_type == "audio/ogg"
        assert msgs[2] and msgs[2].location and msgs[2].location.latitude == 31.2
        assert msgs[3] and msgs[3].document and msgs[3].document.file_name == "检查表.pdf"
        assert msgs[4] and msgs[4].contact and msgs[4].contact.user_id == 8
        f = await bot.get_file(msgs[3].document.file_id)
        assert bytes(await f.download_as_bytearray()) == b"%PDF-1.4"


async def test_webhook_mode(api: FakeTelegramAPI) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = build_app(api)
    hook_url = f"http://127.0.0.1:{port}/hook"
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_webhook(
            listen="127.0.0.1", port=port, url_path="hook", webhook_url=hook_url, secret_token="s3cret"
        )
        try:
            assert api.webhook is not None
            assert api.webhook["url"] == hook_url and api.webhook["secret_token"] == "s3cret"
            await api.send_text(40, "via webhook")  # delivered by the fake like Telegram does
            [reply] = await api.wait_for_messages(40, 1)
            assert reply.text == "echo: via webhook"
            update = {
                "message": {"message_id": 77, "date": 0, "chat": {"id": 41, "type": "private"}, "text": "x"}
            }
            assert await api.deliver_to_webhook(hook_url, update, "wrong") == 403
            assert await api.deliver_to_webhook(update=update) == 200
            await api.wait_for_messages(41, 1)
            async with make_bot(api) as bot:
                with pytest.raises(Conflict):
                    await bot.get_updates()
        finally:
            await app.updater.stop()
            await app.stop()


BOT_SCRIPT = textwrap.dedent(
    """
    import os
    from telegram.ext import ApplicationBuilder, MessageHandler, filters

    async def echo(update, context):
        await update.effective_message.reply_text("pid %d: %s" % (os.getpid(), update.effective_message.text))

    app = (
        ApplicationBuilder().token(os.environ["TOKEN"]).base_url(os.environ["BASE_URL"])
        .base_file_url(os.environ["BASE_FILE_URL"]).build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(poll_interval=0, timeout=1)
    """
)


def test_threaded_fake_survives_bot_process_kill_and_restart() -> None:
    with ThreadedFakeTelegramAPI(token=TOKEN) as api:
        env = {**os.environ, "TOKEN": TOKEN, "BASE_URL": api.base_url, "BASE_FILE_URL": api.base_file_url}

        def spawn() -> subprocess.Popen[bytes]:
            return subprocess.Popen([sys.executable, "-c", BOT_SCRIPT], env=env, stderr=subprocess.DEVNULL)

        bot = spawn()
        try:
            api.send_text(50, "first")
            [r1] = api.wait_for_messages(50, 1, timeout=20)
            assert r1.text == f"pid {bot.pid}: first"
            # an update is confirmed only by the bot's *next* getUpdates (offset); killed before
            # that, it would be delivered again after the restart - exactly like Telegram
            api.wait_for_idle()
            bot.send_signal(signal.SIGKILL)
            bot.wait()
            api.send_text(50, "while down")  # kept by the fake until a bot fetches it
            bot = spawn()
            replies = api.wait_for_messages(50, 2, timeout=20)
            assert replies[1].text == f"pid {bot.pid}: while down"
            assert api.stats_snapshot()["delivered"] == 2
        finally:
            bot.kill()
            bot.wait()
