"""Running the bot on Telegram: build the Application around the dialog core and run it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlparse

from telegram import Update
from telegram.ext import Application, ApplicationBuilder

from bot import metrics
from bot.background import start_background
from bot.config import Settings
from bot.dialog.core import Dialog
from bot.dialog.photos import PhotoStore
from bot.handlers import register
from bot.handlers.flood import FloodLimiter
from bot.handlers.menus import publish_menus
from bot.handlers.sender import TelegramSender
from bot.health import HealthServer
from bot.leader import Leadership
from bot.logs import setup_logging
from bot.outbox import Outbox
from bot.polling import ConfirmingPoller
from bot.shutdown import stop_on_signals
from bot.update_processor import PerUserUpdateProcessor
from bot.webhook import WebhookServer
from storage.db import is_sqlite, make_engine, make_sessionmaker, ping

log = logging.getLogger(__name__)


def make_dialog(settings: Settings) -> Dialog:
    engine = make_engine(settings.db_url)
    return Dialog(
        make_sessionmaker(engine),
        data_dir=settings.data_dir,
        tz=settings.tz,
        locale=settings.bot_locale,
        bot_username=(settings.telegram_bot_username or "").lstrip("@") or None,
        photos=PhotoStore(settings.photo_dir, settings.photo_max_bytes),
    )


def build_application(settings: Settings, dialog: Dialog, outbox: Outbox | None = None) -> Application:
    """The Telegram Application around the dialog; its Bot joins ``outbox`` (a new one if none),
    which the handlers find in ``bot_data["outbox"]``. Every request of the Bot goes through
    one rate limiter: Telegram's flood limits, and retries of what surely did not go through."""
    assert settings.token, "a token is needed to build the Telegram application"
    app = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_file_base_url)
        .rate_limiter(FloodLimiter(settings.telegram_messages_per_second))
        .job_queue(None)  # PTB would start an idle APScheduler of its own: bot/background.py has the one
        .concurrent_updates(PerUserUpdateProcessor(256))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )

    async def blocked(chat_id: str) -> None:
        await dialog.mark_blocked("telegram", chat_id)

    outbox = outbox if outbox is not None else Outbox()
    outbox.add("telegram", TelegramSender(app.bot, on_blocked=blocked))
    app.bot_data["dialog"] = dialog
    app.bot_data["settings"] = settings
    app.bot_data["outbox"] = outbox
    register(app)
    return app


async def _post_init(app: Application) -> None:
    """Publish the command menus, start the background jobs."""
    dialog: Dialog = app.bot_data["dialog"]
    # Each person's menu of their role; a request a person, so in the background.
    app.bot_data["menus"] = asyncio.create_task(publish_menus(app.bot, dialog), name="menus")
    if app.bot_data.get("background", True):
        app.bot_data["scheduler"] = start_background(
            app.bot_data["settings"], dialog, app.bot_data["outbox"], owner=app.bot_data.get("owner")
        )
    if dialog.bot_username is None:  # for invitation links made in the chat
        dialog.bot_username = app.bot.username
    log.info("bot @%s ready", app.bot.username)


async def _post_shutdown(app: Application) -> None:
    if (menus := app.bot_data.get("menus")) is not None:
        menus.cancel()
    if (scheduler := app.bot_data.get("scheduler")) is not None:
        scheduler.shutdown(wait=False)
    if app.bot_data.get("close_dialog", True):
        dialog: Dialog = app.bot_data["dialog"]
        await dialog.close()


def run_bot(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM (0), or until this process stops leading (3: its supervisor
    starts it again, as a standby)."""
    setup_logging(settings.log_level, settings.log_format)
    return asyncio.run(serve(settings))


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> int:
    """The service: health and metrics at once; on PostgreSQL, waiting to lead (bot/leader.py).
    Polling (and WeCom alone): the channels start once this process leads. Webhook: every
    process serves the webhook at once (any may handle any update), and the leader also
    registers it and runs the scheduler and the reminders."""
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    dialog = make_dialog(settings)
    leadership = None if is_sqlite(settings.db_url) else Leadership(settings.db_url)
    health = None
    if settings.metrics_port:
        health = HealthServer(
            lambda: ping(dialog.sessions), lambda: leadership.role if leadership else "leader"
        )
        await health.start(settings.metrics_host, settings.metrics_port)
    lost = False
    watcher: asyncio.Task[None] | None = None

    async def lead() -> bool:
        """Wait until this process leads (False: stopped first); then watch that it still does."""
        nonlocal watcher
        if leadership is None:
            metrics.LEADER.set(1)
            return True
        if not await _first(leadership.acquire(), stop):
            return False

        async def watch() -> None:
            nonlocal lost
            await leadership.watch()
            lost = True
            stop.set()

        watcher = asyncio.create_task(watch(), name="leader-watch")
        return True

    try:
        if settings.token and settings.webhook_url:
            await _run_webhook_worker(
                settings, dialog, stop, lead, lambda: leadership.owner if leadership else None
            )
        elif await lead():
            await _run_channels(settings, dialog, stop, leadership.owner if leadership else None)
    finally:
        if watcher is not None:
            watcher.cancel()
        if leadership is not None:
            await leadership.close()
        if health is not None:
            await health.stop()
        await dialog.close()
    return 3 if lost else 0


async def _first(work: Awaitable[None], stop: asyncio.Event) -> bool:
    """Run ``work`` until done (True) or until ``stop`` is set (False)."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    for pending in (task, stopping):
        pending.cancel()
    return task.done() and not task.cancelled() and task.exception() is None


def _telegram_app(settings: Settings, dialog: Dialog, outbox: Outbox, owner: int | None) -> Application:
    app = build_application(settings, dialog, outbox)
    app.bot_data["owner"] = owner
    if settings.wecom_enabled:  # WeCom beside Telegram, in the same event loop
        from bot.wecom import attach_to_application

        attach_to_application(app, settings, dialog, outbox)
    app.bot_data["close_dialog"] = False  # serve() disposes of the engine after the health server
    return app


async def _run_channels(settings: Settings, dialog: Dialog, stop: asyncio.Event, owner: int | None) -> None:
    """The leader's channels: Telegram by long polling (with WeCom beside it), or WeCom alone."""
    outbox = Outbox()  # each channel started below adds its sender
    if not settings.token:  # WeCom alone
        from bot.wecom.server import serve as serve_wecom

        await serve_wecom(settings, dialog, outbox, stop, owner=owner, close_dialog=False)
        return
    app = _telegram_app(settings, dialog, outbox, owner)
    # What Application.run_polling does, in this event loop (which also waits to lead).
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        try:
            await ConfirmingPoller(app).run(stop)
        finally:
            await app.stop()
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


async def _run_webhook_worker(
    settings: Settings,
    dialog: Dialog,
    stop: asyncio.Event,
    lead: Callable[[], Awaitable[bool]],
    owner: Callable[[], int | None],
) -> None:
    """Serve the webhook now; once leading, register it and run the background jobs."""
    outbox = Outbox()
    app = _telegram_app(settings, dialog, outbox, None)
    app.bot_data["background"] = False  # started below, by the leader only
    assert settings.webhook_url is not None
    secret = settings.webhook_secret_token.get_secret_value() if settings.webhook_secret_token else None
    server = WebhookServer(app, urlparse(settings.webhook_url).path or "/", secret)
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        await server.start(settings.webhook_listen, settings.webhook_port)
        try:
            if await lead():
                await app.bot.set_webhook(
                    settings.webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES
                )
                app.bot_data["scheduler"] = start_background(settings, dialog, outbox, owner=owner())
                log.info("webhook %s registered; the background jobs run here", settings.webhook_url)
            await stop.wait()
        finally:
            await server.stop()
            await app.stop()
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
