"""The inspection dialog against a bare python-telegram-bot echo bot, driven the same way in the
same run, on SQLite or PostgreSQL. Both bots run as processes of their own with PTB's own
networking; the fake Bot API and the simulated people share this process. The fake's flood
limits are off, so it throttles neither measure.

- At Telegram's ceiling: --ceiling-users inspectors (30), each typing an answer a second (30
  sends a second in all, at most one a second to a chat), for --seconds. The rate achieved, the
  share answered in step (the reply there before the next answer is due; target >= 0.98), p50
  and p99 reply latency beside the echo bot's, and the bot's CPU as a share of one core (target
  <= 30%). The dialog bot keeps Telegram's pace itself, as in production.
- Saturated: --users inspectors (20), each answering the moment the reply arrives, through
  --rounds whole checklists: answers/s (target >= 60) and the bot's CPU per answer against the
  echo bot's (target <= 3x). The dialog bot's pacing is off: this measures the bot, not Telegram.

Opening each inspection (/inspect, the township, the year) happens before the clock starts.

    python -m bench.dialog_throughput [--db sqlite|postgresql] [--seconds 20] [--users 20] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.engine import builtin_checklist
from storage.db import make_engine, make_sessionmaker, transaction, upgrade
from storage.models import Role
from storage.queries.registry import add_person, get_or_create_area, upsert_township
from tests.fakes.telegram_api import SEND_METHODS, FakeTelegramAPI
from tests.test_dialog import TYPED

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
CEILING = 30.0  # Telegram's sends a second for a whole bot
CEILING_USERS, SATURATED_USERS = 10_000, 20_000  # first user id of each group
ROOT = Path(__file__).parent.parent
LABELS = {q.text("zh-CN"): q.key for q in builtin_checklist().questions()}


@dataclass
class Run:
    """One bot driven one way: what came back, when, and at what CPU."""

    answers: int = 0
    seconds: float = 0.0
    in_step: int = 0
    latencies: list[float] = field(default_factory=list)
    bot_cpu: float = 0.0  # CPU seconds of the bot's process
    sends: int = 0  # messages the bot sent and edited

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    @property
    def rate(self) -> float:
        return self.answers / self.seconds

    @property
    def cpu_per_answer(self) -> float:
        return self.bot_cpu / self.answers * 1000

    def __add__(self, other: Run) -> Run:
        return Run(
            self.answers + other.answers,
            self.seconds + other.seconds,
            self.in_step + other.in_step,
            self.latencies + other.latencies,
            self.bot_cpu + other.bot_cpu,
            self.sends + other.sends,
        )


# The bots ------------------------------------------------------------------------------------


async def start(
    api: FakeTelegramAPI, args: list[str], env: dict[str, str], cwd: Path
) -> asyncio.subprocess.Process:
    polls = api.stats.requests["getUpdates"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env={
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": api.base_url,
            "TELEGRAM_FILE_BASE_URL": api.base_file_url,
            "LOG_LEVEL": "WARNING",
            "REMINDERS_ENABLED": "false",
            **env,
        },
    )
    while api.stats.requests["getUpdates"] <= polls:  # polling: ready
        if proc.returncode is not None:
            raise SystemExit(f"{args} exited with {proc.returncode}")
        await asyncio.sleep(0.05)
    return proc


async def stop(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), 20)
    except TimeoutError:
        proc.kill()


def cpu_seconds(proc: asyncio.subprocess.Process) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# The people ----------------------------------------------------------------------------------


async def exchange(
    api: FakeTelegramAPI, user: int, push: Callable[[], Awaitable[int]], until: str = ""
) -> tuple[str, float]:
    """Push one update; the text of the first message then sent to the user that contains
    ``until``, and how long it took."""
    mark = api.mark()
    started = time.perf_counter()
    await push()
    reply = await api.wait_for(
        lambda c: c.chat_id == user and c.method in SEND_METHODS and until in (c.body or ""), 60, since=mark
    )
    return reply.body or "", time.perf_counter() - started


def township(user: int, n: int) -> str:
    return f"压测乡{user}-{n}"


async def open_inspection(api: FakeTelegramAPI, user: int, n: int) -> str:
    """/inspect, the township (pressed, or typed if it is not among the buttons; no choice when
    there is one), this year; the first question's text."""
    text, _ = await exchange(api, user, lambda: api.send_text(user, "/inspect"), "请选择")
    if "检查年度" not in text:
        labels = [label for row in api.last_keyboard(user) for label, _ in row]
        wanted = township(user, n)
        pick = api.press_text if wanted in labels else api.send_text
        await exchange(api, user, lambda: pick(user, wanted), "检查年度")
    years = [label for row in api.last_keyboard(user) for label, _ in row]
    year = next((label for label in years if "本年度" in label), years[0])
    text, _ = await exchange(api, user, lambda: api.press_text(user, year), "【")
    return text


def answer(api: FakeTelegramAPI, user: int, question: str) -> Callable[[], Awaitable[int]]:
    """The answer to the question shown, typed as people type (the photos skipped)."""
    key = next((k for label, k in LABELS.items() if label in question), None)
    if key is None:
        raise SystemExit(f"not a question of the checklist: {question!r}")
    if key == "photos":
        return lambda: api.press_text(user, "跳过 ▶")
    return typed(api, user, TYPED[key][0])


def typed(api: FakeTelegramAPI, user: int, text: str) -> Callable[[], Awaitable[int]]:
    return lambda: api.send_text(user, text)


async def opened(api: FakeTelegramAPI, users: list[int], n: int) -> dict[int, str]:
    """Every user's inspection number ``n`` opened; each one's first question."""
    firsts = await asyncio.gather(*(open_inspection(api, user, n) for user in users))
    return dict(zip(users, firsts, strict=True))


async def measured(
    api: FakeTelegramAPI,
    bot: asyncio.subprocess.Process,
    users: list[int],
    drive: Callable[..., Awaitable[None]],
) -> Run:
    """Run ``drive(user, index, run)`` for every user at once; the run, timed."""
    run = Run()
    cpu, sends = cpu_seconds(bot), api.stats.delivered + api.stats.edits
    started = time.perf_counter()
    await asyncio.gather(*(drive(user, i, run) for i, user in enumerate(users)))
    run.seconds = time.perf_counter() - started
    run.bot_cpu = cpu_seconds(bot) - cpu
    run.sends = api.stats.delivered + api.stats.edits - sends
    return run


def record(run: Run, latency: float) -> None:
    run.answers += 1
    run.latencies.append(latency)


# The two measures ----------------------------------------------------------------------------


async def at_ceiling(
    api: FakeTelegramAPI, bot: asyncio.subprocess.Process, users: list[int], seconds: int, dialog: bool
) -> Run:
    """Each user sends once a second, the users' seconds evenly staggered: 30 a second in all.
    The dialog's users open their inspections first, and the clock starts once every chat's
    pace (a burst of 3, then one a second) has recovered from the opening's five messages."""
    questions = await opened(api, users, 0) if dialog else {}
    await asyncio.sleep(5)
    t0 = time.perf_counter()

    async def drive(user: int, i: int, run: Run) -> None:
        for k in range(seconds):
            due = t0 + i / len(users) + k
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if not dialog:
                push, until = typed(api, user, f"答案 {k}"), f"答案 {k}"
            elif "请核对" in questions[user]:  # the checklist is done
                return
            else:
                push, until = answer(api, user, questions[user]), "【"
            questions[user], latency = await exchange(api, user, push, until)
            record(run, latency)
            run.in_step += time.perf_counter() < due + 1  # there before the next answer is due

    return await measured(api, bot, users, drive)


async def saturated_dialog(
    api: FakeTelegramAPI, bot: asyncio.subprocess.Process, users: list[int], rounds: int
) -> Run:
    """Whole checklists, each answer the moment the previous reply arrives."""
    total = Run()
    for n in range(1, rounds + 1):
        questions = await opened(api, users, n)

        async def drive(user: int, i: int, run: Run, questions: dict[int, str] = questions) -> None:
            while "请核对" not in questions[user]:
                push = answer(api, user, questions[user])
                questions[user], latency = await exchange(api, user, push, "【")
                record(run, latency)

        total += await measured(api, bot, users, drive)
    return total


async def saturated_echo(
    api: FakeTelegramAPI, bot: asyncio.subprocess.Process, users: list[int], count: int
) -> Run:
    """``count`` messages from each user, each the moment the previous echo arrives."""

    async def drive(user: int, i: int, run: Run) -> None:
        for k in range(count):
            _, latency = await exchange(api, user, typed(api, user, f"答案 {k}"), f"答案 {k}")
            record(run, latency)

    return await measured(api, bot, users, drive)


# Running ---------------------------------------------------------------------------------------


async def seed(db_url: str, users: list[int], inspections: int) -> None:
    """Each inspector has a township of their own for every inspection they make."""
    engine = make_engine(db_url)
    await upgrade(engine)
    async with transaction(make_sessionmaker(engine)) as s:
        area = await get_or_create_area(s, "压测县")
        for user in users:
            # The registry's village count as the answers give it: no "are you sure?" on the way.
            villages = TYPED["villages_total"][1]
            townships = [
                await upsert_township(s, area, township(user, n), villages) for n in range(inspections)
            ]
            await add_person(
                s,
                f"督查员{user}",
                Role.inspector,
                area=area,
                identities=[("telegram", str(user))],
                townships=townships,
            )
    await engine.dispose()


async def bench(db_url: str, work: Path, opts: argparse.Namespace) -> tuple[Run, Run, Run, Run]:
    ceiling_users = [CEILING_USERS + i for i in range(opts.ceiling_users)]
    saturated_users = [SATURATED_USERS + i for i in range(opts.users)]
    await seed(db_url, ceiling_users, 1)
    await seed(db_url, saturated_users, opts.rounds + 1)
    dialog_bot = ["-m", "bot", "run"]
    echo_bot = [str(ROOT / "bench" / "echo_bot.py")]
    env = {"DATABASE_URL": db_url, "DATA_DIR": str(work)}
    async with FakeTelegramAPI(token=TOKEN) as api:  # no enforce_limits(): the fake throttles nothing
        bot = await start(api, dialog_bot, env, work)  # its own pacing on (30/s, 1/s a chat)
        try:
            dialog_ceiling = await at_ceiling(api, bot, ceiling_users, opts.seconds, dialog=True)
        finally:
            await stop(bot)
        bot = await start(api, dialog_bot, {**env, "TELEGRAM_MESSAGES_PER_SECOND": "0"}, work)
        try:
            dialog_saturated = await saturated_dialog(api, bot, saturated_users, opts.rounds)
        finally:
            await stop(bot)
        echo = await start(api, echo_bot, {}, work)
        try:
            echo_ceiling = await at_ceiling(api, echo, ceiling_users, opts.seconds, dialog=False)
            per_user = dialog_saturated.answers // len(saturated_users)
            echo_saturated = await saturated_echo(api, echo, saturated_users, per_user)
        finally:
            await stop(echo)
    return dialog_ceiling, echo_ceiling, dialog_saturated, echo_saturated


def report(opts: argparse.Namespace, runs: tuple[Run, Run, Run, Run]) -> None:
    dialog, echo, busy, echo_busy = runs
    offered = min(opts.ceiling_users, CEILING)
    print(f"database {opts.db}")
    print(
        f"at Telegram's ceiling: {opts.ceiling_users} inspectors, an answer a second each, {opts.seconds} s"
    )
    for name, run in (("dialog", dialog), ("echo bot", echo)):
        print(
            f"  {name:<9} {run.answers:5} answers  {run.rate:5.1f}/s of {offered:.0f} offered  "
            f"in step {run.in_step / run.answers:.3f}  p50 {run.p(0.5):6.1f} ms  p99 {run.p(0.99):6.1f} ms  "
            f"bot CPU {run.bot_cpu / run.seconds:4.0%} of a core  "
            f"({run.sends / run.answers:.2f} sends an answer)"
        )
    in_step = dialog.in_step / dialog.answers
    cpu = dialog.bot_cpu / dialog.seconds
    print(
        f"  in step {in_step:.3f} (target >= 0.98: {'met' if in_step >= 0.98 else 'NOT met'}); "
        f"bot CPU {cpu:.0%} of a core (target <= 30%: {'met' if cpu <= 0.30 else 'NOT met'}); "
        f"latency vs echo: p50 {dialog.p(0.5) / echo.p(0.5):.1f}x, p99 {dialog.p(0.99) / echo.p(0.99):.1f}x"
    )
    print(
        f"saturated: {opts.users} inspectors answering as fast as the bot replies, "
        f"{opts.rounds} checklists each"
    )
    for name, run in (("dialog", busy), ("echo bot", echo_busy)):
        print(
            f"  {name:<9} {run.answers:5} answers in {run.seconds:5.1f} s  {run.rate:6.1f}/s  "
            f"CPU {run.cpu_per_answer:5.2f} ms an answer  p50 {run.p(0.5):6.1f} ms  p99 {run.p(0.99):6.1f} ms"
        )
    ratio = busy.cpu_per_answer / echo_busy.cpu_per_answer
    print(
        f"  {busy.rate:.1f} answers/s (target >= 60: {'met' if busy.rate >= 60 else 'NOT met'}); "
        f"CPU per answer {ratio:.1f}x the echo bot's (target <= 3x: {'met' if ratio <= 3 else 'NOT met'}); "
        f"throughput {busy.rate / echo_busy.rate:.2f}x the echo bot's"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seconds", type=int, default=20, help="of the at-ceiling measure (at most 27)")
    parser.add_argument("--ceiling-users", type=int, default=30)
    parser.add_argument("--users", type=int, default=20, help="of the saturated measure")
    parser.add_argument("--rounds", type=int, default=2, help="checklists each user answers saturated")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if opts.db == "sqlite":
            runs = await bench(f"sqlite+aiosqlite:///{work / 'bench.sqlite3'}", work, opts)
        else:
            from tests.conftest import PG_URL, pg_admin

            name = f"bench_{uuid.uuid4().hex[:8]}"
            await pg_admin(f'CREATE DATABASE "{name}"')
            try:
                runs = await bench(PG_URL.rsplit("/", 1)[0] + "/" + name, work, opts)
            finally:
                await pg_admin(f'DROP DATABASE "{name}" WITH (FORCE)')
    report(opts, runs)


if __name__ == "__main__":
    asyncio.run(main())
