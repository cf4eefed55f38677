"""Throughput of the inspection dialog against a bare echo bot, in the same run.

N simulated inspectors each walk whole checklists through the fake Bot API (typing answers
as people do, waiting for each reply before the next, as a person on a phone would). Both
bots run as separate processes with python-telegram-bot's own networking; the fake server and
the drivers share this process. Prints answers/s, p50 and p99 latency, the CPU each bot used
per answer, and the ratios.

Opening an inspection (/inspect, the township, the year) is timed apart and left out of the
ratio: two or three turns per inspection, against 27 answers. The machines here are noisy, so
the measurement is done in rounds of about 500 answers (more inspections each when there are
few inspectors), the two bots alternating, and the median ratio is the result.

    python -m bench.dialog_throughput [--users 20] [--rounds 5] [--inspections K] [--db sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bot.engine import builtin_checklist
from storage.db import make_engine, make_sessionmaker, transaction, upgrade
from storage.models import Role
from storage.queries.registry import add_person, get_or_create_area, upsert_township
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.test_dialog import TYPED

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
FIRST_USER = 10_000


@dataclass
class Result:
    answers: int
    seconds: float
    latencies: list[float]
    bot_cpu: float = 0.0  # CPU seconds the bot's process used meanwhile
    driver_cpu: float = 0.0  # and this process (the fake Bot API and the simulated people)

    @property
    def rate(self) -> float:
        return self.answers / self.seconds

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def __add__(self, other: Result) -> Result:
        return Result(
            self.answers + other.answers,
            self.seconds + other.seconds,
            self.latencies + other.latencies,
            self.bot_cpu + other.bot_cpu,
            self.driver_cpu + other.driver_cpu,
        )

    def line(self, name: str) -> str:
        return (
            f"{name:<20} {self.answers:>6} answers in {self.seconds:6.2f} s  {self.rate:8.1f} answers/s  "
            f"p50 {self.p(0.5):7.1f} ms  p99 {self.p(0.99):7.1f} ms  "
            f"CPU/answer: bot {self.bot_cpu / self.answers * 1000:5.2f} ms, "
            f"driver {self.driver_cpu / self.answers * 1000:5.2f} ms"
        )


def township(user: int, round_: int) -> str:
    return f"压测乡{user - FIRST_USER:04d}-{round_}"


async def seed(db_url: str, users: int, rounds: int) -> None:
    """Each inspector has a township per inspection to make (a new inspection each time)."""
    engine = make_engine(db_url)
    await upgrade(engine)
    async with transaction(make_sessionmaker(engine)) as s:
        area = await get_or_create_area(s, "压测县")
        for i in range(users):
            townships = [
                await upsert_township(s, area, township(FIRST_USER + i, r), 10) for r in range(rounds)
            ]
            await add_person(
                s,
                f"督查员{i}",
                Role.inspector,
                area=area,
                identities=[("telegram", str(FIRST_USER + i))],
                townships=townships,
            )
    await engine.dispose()


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
    while api.stats.requests["getUpdates"] <= polls:
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


async def exchange(api: FakeTelegramAPI, user: int, push: object, latencies: list[float] | None) -> str:
    """Push one update and wait for the next message sent to the user; its text."""
    mark = api.mark()
    started = time.perf_counter()
    await push  # type: ignore[misc]
    sent = await api.wait_for_messages(user, 1, timeout=60, since=mark, edits=False)
    if latencies is not None:
        latencies.append(time.perf_counter() - started)
    return sent[-1].body or ""


async def open_inspection(api: FakeTelegramAPI, user: int, latencies: list[float], n: int) -> int:
    """/inspect, the township (pressed, or typed when it is not among the buttons), the year:
    the turns before the first question."""
    await exchange(api, user, api.send_text(user, "/inspect"), latencies)
    turns = 2
    buttons = [(label, data or "") for row in api.last_keyboard(user) for label, data in row]
    if any(":township:" in data for _, data in buttons):  # a choice of townships
        wanted = township(user, n)
        if any(label == wanted for label, _ in buttons):
            push = api.press_text(user, wanted)
        else:
            push = api.send_text(user, wanted)
        await exchange(api, user, push, latencies)
        turns += 1
    await exchange(api, user, api.press_text(user, api.last_keyboard(user)[0][0][0]), latencies)
    return turns


async def answer_all(api: FakeTelegramAPI, user: int, latencies: list[float]) -> int:
    """Answer every question shown, typed as people type (the photo question skipped)."""
    labels = {q.text("zh-CN"): q.key for q in builtin_checklist().questions()}
    last = api.last_message(user, edits=False)
    text = last.body or "" if last is not None else ""
    answers = 0
    while "请核对" not in text:
        key = next(k for label, k in labels.items() if label in text)
        if key == "photos":
            push = api.press_text(user, "跳过 ▶")
        else:
            push = api.send_text(user, TYPED[key][0])
        text = await exchange(api, user, push, latencies)
        answers += 1
    return answers


async def echo_user(api: FakeTelegramAPI, user: int, count: int, latencies: list[float]) -> int:
    for i in range(count):
        await exchange(api, user, api.send_text(user, f"答案 {i}"), latencies)
    return count


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    api: FakeTelegramAPI, users: list[int], run: object, bot: asyncio.subprocess.Process
) -> Result:
    latencies: list[float] = []
    bot_cpu, driver_cpu = cpu_seconds(bot.pid), time.process_time()
    started = time.perf_counter()
    counts = await asyncio.gather(*(run(api, u, latencies) for u in users))  # type: ignore[operator]
    elapsed = time.perf_counter() - started
    return Result(
        sum(counts),
        elapsed,
        latencies,
        cpu_seconds(bot.pid) - bot_cpu,
        time.process_time() - driver_cpu,
    )


@dataclass
class Round:
    opening: Result
    dialog: Result
    echo: Result

    @property
    def ratio(self) -> float:
        return self.dialog.rate / self.echo.rate


async def one_round(
    api: FakeTelegramAPI, users: list[int], first: int, inspections: int, db_url: str, work: Path
) -> Round:
    """Each inspector makes ``inspections`` inspections (their opening timed apart), then the echo
    bot answers as many messages."""
    root = Path(__file__).parent.parent
    bot = await start(api, ["-m", "bot", "run"], {"DATABASE_URL": db_url, "DATA_DIR": str(work)}, work)
    opening = dialog = Result(0, 0.0, [])
    try:
        for n in range(first, first + inspections):
            opening += await measure(api, users, lambda a, u, lat, n=n: open_inspection(a, u, lat, n), bot)
            dialog += await measure(api, users, answer_all, bot)
    finally:
        await stop(bot)
    per_user = max(1, dialog.answers // len(users))
    echo = await start(api, [str(root / "bench" / "echo_bot.py")], {}, work)
    try:
        baseline = await measure(api, users, lambda a, u, lat: echo_user(a, u, per_user, lat), echo)
    finally:
        await stop(echo)
    return Round(opening, dialog, baseline)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--inspections", type=int, help="per inspector and round (default: enough for ~500 answers a round)"
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if opts.db == "sqlite":
            db_url = f"sqlite+aiosqlite:///{work / 'bench.sqlite3'}"
        else:
            from tests.conftest import PG_URL, pg_admin

            name = f"bench_{uuid.uuid4().hex[:8]}"
            await pg_admin(f'CREATE DATABASE "{name}"')
            db_url = PG_URL.rsplit("/", 1)[0] + "/" + name
        try:
            inspections = opts.inspections or max(1, round(20 / opts.users))
            await seed(db_url, opts.users, opts.rounds * inspections)
            users = [FIRST_USER + i for i in range(opts.users)]
            rounds = []
            async with FakeTelegramAPI(token=TOKEN, strict_not_modified=False) as api:
                for r in range(opts.rounds):
                    rounds.append(await one_round(api, users, r * inspections, inspections, db_url, work))
        finally:
            if opts.db == "postgresql":
                await pg_admin(f'DROP DATABASE "{name}" WITH (FORCE)')
    print(
        f"{opts.users} simulated inspectors, database {opts.db}, {opts.rounds} rounds"
        f" of {inspections} inspection(s) each"
    )
    for r, result in enumerate(rounds, 1):
        print(f"round {r}")
        print(result.opening.line("  opening").replace("answers", "turns  "))
        print(result.dialog.line("  inspection dialog"))
        print(result.echo.line("  echo bot"))
        latency = result.dialog.p(0.5) / result.echo.p(0.5)
        print(f"  throughput ratio {result.ratio:.2f}, p50 latency ratio {latency:.2f}")
    ratios = sorted(r.ratio for r in rounds)
    print(
        f"throughput ratio (dialog / echo), median of {len(ratios)}: {statistics.median(ratios):.2f}"
        f"  (rounds: {', '.join(f'{x:.2f}' for x in ratios)}; target >= 0.70)"
    )


if __name__ == "__main__":
    asyncio.run(main())
