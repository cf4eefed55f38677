"""Notices to others are kept in the turn's own transaction until sent: a crash between the
commit and the send delays them (the leader's sweep sends them) but never loses them, and
nothing is sent twice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import func, select

from bot.dialog import Reply
from bot.outbox import Outbox, Outcome
from storage.db import SessionMaker
from storage.models import OutgoingMessage
from tests.people_world import World
from tests.test_rectification import CONTACT, chat, inspect_and_submit, notes_to
from tests.test_rectification import world as world  # the fixture, used by name


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def send(self, channel: str, external_id: str, reply: Reply) -> Outcome:
        self.sent.append((channel, external_id, reply.text))
        return "sent"


async def kept(sessions: SessionMaker) -> int:
    async with sessions() as s:
        return int((await s.exec(select(func.count()).select_from(OutgoingMessage))).one())


async def test_a_notice_a_crash_kept_back_is_sent_by_the_sweep_once(world: World, tmp_path: Path) -> None:
    inspector = chat(world, "100")
    await inspect_and_submit(world, inspector)  # the contact is told what to put right
    notices = notes_to(inspector, CONTACT)
    assert notices and all(n.queued is not None for n in notices)
    assert await kept(world.sessions) == len(inspector.notes)  # committed with the submit
    # The process "dies" here: nothing forwarded. The next leader's sweep sends them.
    recorder = Recorder()
    outbox = Outbox({"test": recorder})
    assert await world.dialog.send_unsent(outbox) == 0  # too recent: maybe a turn still forwarding
    sent = await world.dialog.send_unsent(outbox, older_than=timedelta(0))
    assert sent == len(inspector.notes) and await kept(world.sessions) == 0
    assert [(c, e) for c, e, _ in recorder.sent].count(("test", CONTACT)) == len(notices)
    assert any("整改" in text for _, _, text in recorder.sent)
    assert await world.dialog.send_unsent(outbox, older_than=timedelta(0)) == 0  # once


async def test_forwarded_notices_are_forgotten_and_others_channels_kept(world: World) -> None:
    inspector = chat(world, "100")
    await inspect_and_submit(world, inspector)
    recorder = Recorder()
    # A process that runs another channel only: the notices wait for the one that runs theirs.
    await world.dialog.forward(Outbox({"wecom": recorder}), inspector.notes)
    assert recorder.sent == [] and await kept(world.sessions) == len(inspector.notes)
    assert await world.dialog.send_unsent(Outbox({"wecom": recorder}), older_than=timedelta(0)) == 0
    await world.dialog.forward(Outbox({"test": recorder}), inspector.notes)
    assert len(recorder.sent) == len(inspector.notes) and await kept(world.sessions) == 0
