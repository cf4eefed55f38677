"""Telegram handlers: thin translators between python-telegram-bot and the dialog core."""

from __future__ import annotations

from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from bot.handlers.buttons import on_button
from bot.handlers.errors import on_error
from bot.handlers.media import on_document, on_image_file, on_other, on_photo
from bot.handlers.messages import on_edited, on_text

PRIVATE_MESSAGES = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
PRIVATE_EDITS = filters.ChatType.PRIVATE & filters.UpdateType.EDITED_MESSAGE


def register(app: Application) -> None:
    app.add_handler(MessageHandler(PRIVATE_MESSAGES & filters.TEXT, on_text))
    app.add_handler(MessageHandler(PRIVATE_EDITS & filters.TEXT, on_edited))
    app.add_handler(MessageHandler(PRIVATE_MESSAGES & filters.PHOTO, on_photo))
    app.add_handler(MessageHandler(PRIVATE_MESSAGES & filters.Document.IMAGE, on_image_file))
    app.add_handler(MessageHandler(PRIVATE_MESSAGES & filters.Document.ALL, on_document))
    app.add_handler(
        MessageHandler(
            PRIVATE_MESSAGES
            & ~filters.TEXT
            & ~filters.PHOTO
            & ~filters.Document.IMAGE
            & ~filters.StatusUpdate.ALL,
            on_other,
        )
    )
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_error_handler(on_error)
