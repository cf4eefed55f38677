"""Photos go to the dialog (downloaded for the archive); other media get a clear message."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.dialog import Document, Input, Photo
from bot.handlers.common import deliver, handle


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    best = update.message.photo[-1]  # the largest size

    async def fetch() -> bytes:
        file = await context.bot.get_file(best.file_id)
        return bytes(await file.download_as_bytearray())

    photo = Photo(best.file_id, best.file_unique_id, fetch)
    inp = Input("photo", text=update.message.caption or "", photo=photo, update_id=str(update.update_id))
    await deliver(update, context, await handle(update, context, inp))


async def on_image_file(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A picture sent as a file (uncompressed): a photo like any other."""
    message = update.message
    assert message is not None and message.document is not None
    document = message.document

    async def fetch() -> bytes:
        file = await context.bot.get_file(document.file_id)
        return bytes(await file.download_as_bytearray())

    photo = Photo(document.file_id, document.file_unique_id, fetch)
    inp = Input("photo", text=message.caption or "", photo=photo, update_id=str(update.update_id))
    await deliver(update, context, await handle(update, context, inp))


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A file that is not a picture: an administrator's checklist is installed; the dialog
    says what it expects instead of anything else."""
    message = update.message
    assert message is not None and message.document is not None
    document = message.document

    async def fetch() -> bytes:
        file = await context.bot.get_file(document.file_id)
        return bytes(await file.download_as_bytearray())

    doc = Document(document.file_id, document.file_name or "", document.file_size, fetch)
    inp = Input("document", text=message.caption or "", document=doc, update_id=str(update.update_id))
    await deliver(update, context, await handle(update, context, inp))


async def on_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, voice, files, locations…: the dialog says what it expects instead."""
    inp = Input("unsupported", update_id=str(update.update_id))
    await deliver(update, context, await handle(update, context, inp))
