"""The dialog in a terminal, as a chosen person: for trying the bot without a token."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from bot.config import Settings
from bot.dialog import Input, Reply, Who
from bot.dialog.core import Dialog
from bot.dialog.photos import PhotoStore
from bot.i18n import t
from bot.outbox import Outbox, Outcome
from bot.roles import role_text
from storage.db import make_engine, make_sessionmaker, transaction, upgrade
from storage.demo import seed_demo
from storage.models import Person
from storage.queries.registry import ensure_identity, people

out = Console(highlight=False, soft_wrap=True)
DEMO_FILE = "demo.sqlite3"


class Shown:
    """The console's outbox sender for every channel: a notification to someone else is shown
    (dimmed, its buttons not pressable here), not sent."""

    async def send(self, channel: str, external_id: str, reply: Reply) -> Outcome:
        out.print(f"→ {channel}:{external_id}", style="dim", markup=False)
        out.print(reply.text, style="dim", markup=False)
        out.print()
        return "sent"


def show(replies: list[Reply]) -> list[str]:
    """Print the replies to the person at the console; returns the button payloads in the order
    they were numbered."""
    payloads: list[str] = []
    for reply in replies:
        if reply.to is not None:  # the outbox's
            continue
        if reply.notice:
            out.print(f"[yellow]({reply.notice})[/yellow]")
        if reply.text:
            out.print(reply.text)
        if reply.file is not None:
            out.print(f"[cyan]📎 {reply.file}[/cyan]")
        if reply.buttons:
            payloads = []
            for row in reply.buttons:
                cells = []
                for button in row:
                    payloads.append(button.data)
                    cells.append(f"[bold]#{len(payloads)}[/bold] {button.label}")
                out.print("   ".join(cells))
        out.print()
    return payloads


def to_input(line: str, buttons: list[str]) -> Input | None:
    text = line.strip()
    if text.startswith("#") and text[1:].isdigit():
        n = int(text[1:])
        return Input("button", data=buttons[n - 1]) if 1 <= n <= len(buttons) else None
    if text.startswith("@photo "):
        path = Path(text[7:].strip())
        if not path.is_file():
            return None
        data = path.read_bytes()

        async def fetch() -> bytes:
            return data

        from bot.dialog import Photo

        return Input("photo", photo=Photo(str(path), path.name, fetch))
    return Input.parse_text(line)


def demo_url(settings: Settings) -> str:
    """The demo's own database, beside the real one: demo townships and people never mix with
    real data, nor count in a real summary."""
    return f"sqlite+aiosqlite:///{settings.data_dir / DEMO_FILE}"


async def choose_person(dialog: Dialog, wanted: str | None, *, demo: bool) -> Person:
    async with transaction(dialog.sessions) as session:
        everyone = list(await people(session))
        if not everyone:
            if not demo:
                raise SystemExit(t("console.no_people", dialog.locale))
            out.print(t("console.seeded", dialog.locale))
            everyone = [await seed_demo(session)]
        match = [p for p in everyone if wanted in (str(p.id), p.name)] if wanted else []
        if wanted and not match:
            raise SystemExit(t("console.no_person", dialog.locale, name=wanted))
        person = match[0] if match else next((p for p in everyone if p.role == "inspector"), everyone[0])
        await ensure_identity(session, person, "console", str(person.id))
        return person


async def run_console(
    settings: Settings,
    as_person: str | None = None,
    script: list[str] | None = None,
    *,
    real: bool = False,
    fresh: bool = False,
) -> None:
    """The dialog at the terminal: on the demo database (seeded when empty; ``fresh`` starts it
    again), or with ``real`` on the configured one, as a person already there."""
    url = settings.db_url if real else demo_url(settings)
    if fresh and not real:
        (settings.data_dir / DEMO_FILE).unlink(missing_ok=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    await upgrade(engine)
    dialog = Dialog(
        make_sessionmaker(engine),
        data_dir=settings.data_dir,
        tz=settings.tz,
        locale=settings.bot_locale,
        photos=PhotoStore(settings.photo_dir, settings.photo_max_bytes),
    )
    outbox = Outbox(others=Shown())

    async def turn(inp: Input) -> list[str]:
        replies = await dialog.handle(who, inp)
        buttons = show(replies)
        await dialog.forward(outbox, replies)
        return buttons

    try:
        person = await choose_person(dialog, as_person, demo=not real)
        who = Who("console", str(person.id), person.name)
        out.print(
            t(
                "console.banner",
                dialog.locale,
                name=person.name,
                role=role_text(person.role, dialog.locale),
            )
        )
        if not real:
            out.print(t("console.demo_db", dialog.locale, path=str(settings.data_dir / DEMO_FILE)))
        buttons = await turn(Input("command", command="start"))
        lines = iter(script) if script is not None else None
        while True:
            line = await _read(lines)
            if line is None or line.strip() in ("/quit", "/exit"):
                break
            inp = to_input(line, buttons)
            if inp is None:
                out.print(t("console.bad_button", dialog.locale))
                continue
            buttons = await turn(inp) or buttons
    finally:
        await dialog.close()


async def _read(lines: Iterator[str] | None) -> str | None:
    """The next line: from a script (echoed), or typed at the prompt; None at the end."""
    if lines is not None:
        line = next(lines, None)
        if line is not None:
            out.print(f"> {line}")
        return line
    try:
        return await asyncio.to_thread(input, "> ")
    except EOFError:
        return None
