"""The dialog core: given who wrote, their stored state and one input, store what must be
stored and say what comes next. Channels (Telegram, WeCom, the console) translate to and
from ``Input``/``Reply`` and never touch the database themselves.

Every input is one turn, and every turn one short transaction: read who wrote and where
they are, let the route's handler read and write what it needs, then claim the update's id
and save the state at the version read — and commit before anything is replied. A turn that
finds someone else wrote the same state or inspection meanwhile writes nothing and runs
again; an update applied before is not applied again and is answered with the current prompt."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dialog.photos import PhotoStore
from bot.dialog.routes import MENUS, ROUTES, Routes
from bot.dialog.state import State
from bot.dialog.turn import Checklists, Conflict, Services, Turn, locale_of
from bot.dialog.types import Input, Reply, Who
from bot.engine import Checklist
from bot.i18n import DEFAULT_LOCALE, catalogue, normalise_locale, t
from bot.ordering import KeyedLocks
from bot.outbox import Outbox, reply_data, reply_from
from storage.db import SessionMaker, transaction
from storage.models import Person
from storage.queries.dialog_state import save_state
from storage.queries.inbox import prune_inbox
from storage.queries.outgoing import keep_outgoing, unsent
from storage.queries.outgoing import sent as forget_sent
from storage.queries.people import channel_people, set_blocked, unblock
from storage.queries.turns import turn_start
from storage.queries.updates import claim_update, prune_updates
from storage.types import utcnow

log = logging.getLogger(__name__)

ATTEMPTS = 3  # tries when someone else wrote the same state or inspection meanwhile
RETRIED_SQLSTATES = {"40P01", "40001"}  # PostgreSQL: deadlock detected, serialization failure
# A kept notice older than this was not sent by its turn (a crash came between): the sweep's.
# Longer than any turn takes to forward (a rate-limited fan-out of notices included).
UNSENT_AFTER = timedelta(minutes=5)


class Dialog:
    def __init__(
        self,
        sessions: SessionMaker,
        *,
        data_dir: Path,
        tz: ZoneInfo,
        locale: str = DEFAULT_LOCALE,
        checklist: Checklist | None = None,
        bot_username: str | None = None,
        routes: Routes = ROUTES,
        photos: PhotoStore | None = None,
    ) -> None:
        self.sessions = sessions
        self.services = Services(
            tz=tz,
            data_dir=data_dir,
            checklists=Checklists(checklist),
            locale=normalise_locale(locale),
            bot_username=bot_username,
            photos=photos or PhotoStore(),
        )
        self.routes = routes
        self.locks = KeyedLocks()  # one person's inputs one after another, many people at once
        for loc in {self.services.locale, DEFAULT_LOCALE}:
            catalogue(loc)  # read the messages now, not in the first turn

    @property
    def locale(self) -> str:
        return self.services.locale

    @property
    def bot_username(self) -> str | None:
        return self.services.bot_username

    @bot_username.setter
    def bot_username(self, name: str | None) -> None:
        self.services.bot_username = name

    def now_year(self) -> int:
        return self.services.now_year()

    async def handle(self, who: Who, inp: Input, *, answer_redelivery: bool = True) -> list[Reply]:
        """Apply one input and say what comes next. An update applied before is answered with
        the current prompt (Telegram redelivers what a crash left unconfirmed, and the reply
        may have been lost with it), or with nothing when the channel knows it was answered
        (``answer_redelivery=False``: WeCom retries a callback that was acknowledged late)."""
        update_id = inp.update_id or f"local-{uuid.uuid4().hex}"
        async with self.locks.hold((who.channel, who.external_id)):
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    async with self.sessions() as session:
                        return await self._turn(session, who, inp, update_id, answer_redelivery)
                except Conflict as exc:
                    cause = exc.__cause__ or exc
                    log.info(
                        "%s:%s raced another writer (try %d): %r",
                        who.channel,
                        who.external_id,
                        attempt,
                        cause,
                    )
        raise RuntimeError(f"{who.channel}:{who.external_id} kept conflicting; giving up")

    async def _turn(
        self, session: AsyncSession, who: Who, inp: Input, update_id: str, answer_redelivery: bool
    ) -> list[Reply]:
        try:
            start = await turn_start(session, who.channel, who.external_id, update_id)
            if start is None or not start.person.active:  # nothing is done, or stored, for a stranger
                if not (inp.kind == "command" and inp.command in self.routes.open_commands):
                    return [Reply(t("access.stranger", normalise_locale(who.locale or self.locale)))]
                stranger = Person(name=who.name, role="")
                turn = Turn(self.services, session, stranger, State(), normalise_locale(who.locale), who)
                replies = await self.routes.commands[inp.command](turn, inp)
                await self._claim(session, who, update_id)
                await _keep_notices(session, replies)
                await session.commit()
                return replies
            person = start.person
            turn = Turn(
                self.services, session, person, State.load(start.state), locale_of(person, self.locale), who
            )
            turn.source = f"{who.channel}:{inp.message_id}" if inp.message_id else None
            if start.processed:
                log.info("update %s:%s was applied before", who.channel, update_id)
                if not answer_redelivery:
                    return []
                replies = await self.routes.again(turn)
            else:
                if start.blocked:  # they wrote again: sending to them works again
                    await unblock(session, start.identity_id)
                replies = await self.routes.route(turn, inp)
                await self._claim(session, who, update_id)
            if not await save_state(session, person.id or 0, turn.state.dump(), start.version):
                raise Conflict("the dialog state moved on")
            await _keep_notices(session, replies)
            await session.commit()
            return replies
        except IntegrityError as exc:  # a unique key someone else took first
            await session.rollback()
            raise Conflict from exc
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) not in RETRIED_SQLSTATES:
                raise
            await session.rollback()
            raise Conflict from exc
        except Conflict:
            await session.rollback()
            raise

    @staticmethod
    async def _claim(session: AsyncSession, who: Who, update_id: str) -> None:
        if not await claim_update(session, who.channel, update_id):
            raise Conflict("the same update is being applied by someone else")

    # Notices to others --------------------------------------------------------------------

    async def forward(self, outbox: Outbox, replies: list[Reply]) -> None:
        """Send a turn's notices to others (after its commit), then forget them as sent."""
        handed = await outbox.forward(replies)
        if handed:
            async with transaction(self.sessions) as session:
                await forget_sent(session, handed)

    async def send_unsent(self, outbox: Outbox, older_than: timedelta = UNSENT_AFTER) -> int:
        """Send the notices a crash kept from going out (kept longer ago than any turn takes
        to forward its own); how many. The leader's job, every minute."""
        async with self.sessions() as session:
            kept = await unsent(session, utcnow() - older_than)
        done = []
        for row in kept:
            if outbox.reaches(row.channel):
                await outbox.send(row.channel, row.external_id, reply_from(row.reply))
                done.append(row.id or 0)
        if done:
            async with transaction(self.sessions) as session:
                await forget_sent(session, done)
            log.info("sent %d notices that a crash had kept from going out", len(done))
        return len(done)

    # Channel events that are not inputs ---------------------------------------------------

    async def menus(self, channel: str) -> list[tuple[str, tuple[str, ...], str]]:
        """(account, commands, locale) for every active person on ``channel``: the command
        menu of their role."""
        async with self.sessions() as session:
            people = await channel_people(session, channel)
            return [
                (account, MENUS.get(role, MENUS[""]), normalise_locale(locale) if locale else self.locale)
                for account, role, locale in people
            ]

    async def menu_of(self, who: Who) -> tuple[tuple[str, ...], str]:
        """The command menu of the person behind an account now (a stranger's if nobody)."""
        async with self.sessions() as session:
            start = await turn_start(session, who.channel, who.external_id, "")
        if start is None or not start.person.active:
            return MENUS[""], normalise_locale(who.locale or self.locale)
        return MENUS.get(start.person.role, MENUS[""]), locale_of(start.person, self.locale)

    async def prune(self, keep_days: int = 30) -> None:
        """Forget delivered update ids older than any redelivery (Telegram keeps updates 24 h)."""
        async with transaction(self.sessions) as session:
            gone = await prune_updates(session, utcnow() - timedelta(days=keep_days))
            kept = await prune_inbox(session, utcnow() - timedelta(days=keep_days))
        log.info("pruned %d processed update ids, %d processed inbox messages", gone, kept)

    async def mark_blocked(self, channel: str, external_id: str) -> None:
        """The channel reports the person blocked the bot: stop sending until they write again."""
        async with transaction(self.sessions) as session:
            await set_blocked(session, channel, external_id, True)

    async def close(self) -> None:
        """Dispose of the database engine."""
        await self.sessions.kw["bind"].dispose()


async def _keep_notices(session: AsyncSession, replies: list[Reply]) -> None:
    """Keep the turn's notices to others in its own transaction: sent after the commit, and by
    the leader's sweep if a crash comes between."""
    notices = [r for r in replies if r.to is not None]
    if notices:
        ids = await keep_outgoing(session, [(*r.to, reply_data(r)) for r in notices if r.to is not None])
        for reply, kept in zip(notices, ids, strict=True):
            reply.queued = kept
