"""The baseline: a bare python-telegram-bot echo bot, configured like the real one (concurrent
updates, no JobQueue), without the dialog and without pacing."""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await context.bot.send_message(update.message.chat_id, update.message.text)


def main() -> None:
    app = (
        ApplicationBuilder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_BASE_URL"])
        .base_file_url(os.environ["TELEGRAM_FILE_BASE_URL"])
        .concurrent_updates(256)
        .job_queue(None)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
