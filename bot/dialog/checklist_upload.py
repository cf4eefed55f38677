"""An administrator sends a checklist (an XLSForm workbook or a YAML file) to the bot: it is
checked and installed as ``archive-bot checklist install`` does. Any other file, or a file
from anyone else, is what it was before: an input the screen does not take."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from bot.admin.checklists import InstallRefused, install
from bot.dialog.turn import Turn
from bot.dialog.types import Input, Reply
from bot.engine import Checklist, ChecklistError
from bot.engine.files import XLSX_SUFFIXES, YAML_SUFFIXES, load_any
from bot.engine.workbook_import import WorkbookError
from storage.models import Role

MAX_BYTES = 5 * 1024 * 1024  # a checklist workbook is some tens of kilobytes


def is_checklist_file(turn: Turn, inp: Input) -> bool:
    doc = inp.document
    return (
        turn.person.role == Role.admin
        and doc is not None
        and Path(doc.name).suffix.lower() in (*XLSX_SUFFIXES, *YAML_SUFFIXES)
    )


def _read(data: bytes, name: str) -> Checklist:
    """Parse the file as the command line does (from a file: pyxform reads paths); faults
    name the file as it was sent, not the temporary folder it was read from."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(name).name
        path.write_bytes(data)
        try:
            return load_any(path)
        except (ChecklistError, WorkbookError) as exc:
            exc.source = path.name
            raise


async def on_checklist_file(turn: Turn, inp: Input) -> list[Reply]:
    doc = inp.document
    assert doc is not None and doc.fetch is not None
    if doc.size is not None and doc.size > MAX_BYTES:
        return [Reply(turn.t("checklists.chat.too_large", mb=MAX_BYTES // (1024 * 1024)))]
    data = await doc.fetch()
    try:
        checklist = await asyncio.to_thread(_read, data, doc.name)
    except (ChecklistError, WorkbookError) as exc:
        return [Reply(turn.t("checklists.chat.refused", file=doc.name) + "\n" + exc.message(turn.locale))]
    try:
        done = await install(turn.session, checklist)
    except InstallRefused as refused:
        return [Reply(turn.t("checklists.chat.refused", file=doc.name) + "\n" + refused.render(turn.locale))]
    key = "checklists.cli.installed" if done.new else "checklists.cli.already"
    count = len(checklist.questions())
    return [
        Reply(turn.t(key, name=checklist.name, version=checklist.version, count=count, current=done.in_use))
    ]
