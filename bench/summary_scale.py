"""The summary, a township's status and the report at national scale, on SQLite and PostgreSQL.

Generates 40,000 townships (31 provinces → cities → counties → townships) with three
inspection years of answers (about 2.5 million answers), then times, through the dialog
core as an administrator who sees everything:

* ``/summary`` against a single SQL aggregate over the same data (the year's inspections
  joined to their answers, grouped by status) measured in alternating rounds — target < 1 s
  and at most 3 × the aggregate;
* ``/status <name>`` for one township — target < 50 ms;
* ``/report`` (the Word document) — target < 10 s.

    python -m bench.summary_scale [--townships 40000] [--years 3] [--db sqlite|postgresql|both]
                                  [--fresh] [--runs 5] [--clean]

Each submitted inspection's report facts are computed as the bot computes them when it is
submitted (``bot.reports.facts.compute``) and stored with it, so the first summary in a
fresh process reads what a real database holds.

The generated data is kept (``bench-summary-*.sqlite3`` in the temp folder, the PostgreSQL
schema ``bench_summary``) and reused by the next run with the same size; ``--fresh``
generates it again, ``--clean`` removes both and exits. PostgreSQL is the test server
(``TEST_POSTGRES_URL``, default 127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Text, case, cast, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.dialog import Input, Who
from bot.dialog.core import Dialog
from bot.engine import builtin_checklist
from bot.reports.facts import compute, rules_digest, rules_for
from bot.reports.facts import row as fact_row
from storage.db import make_engine, make_sessionmaker, take_writer, transaction, upgrade
from storage.models import (
    Answer,
    Area,
    Identity,
    Inspection,
    InspectionFact,
    Person,
    Township,
    YearTarget,
    table,
)
from storage.queries.checklists import ensure_checklist_version
from storage.queries.inspections import set_answer

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
TZ = ZoneInfo("Asia/Shanghai")
CHUNK = 5000
PROVINCES = 31
CITIES = 10  # per province
COUNTIES = 10  # per city (31 × 10 × 10 = 3,100 counties, about 13 townships each)
SYLLABLES = "太平安宁新华东西南北中和兴隆龙山石门河口白沙青大坪红岩金银水泉松柏桃李花园城关长乐永丰"
SPECIAL = "基准太平乡"  # one township with a name of its own, for /status

TARGETS = {"summary_s": 1.0, "summary_ratio": 3.0, "status_ms": 50.0, "report_s": 10.0}


# Generating ----------------------------------------------------------------------------------


def _answers(rng: random.Random, year: int) -> dict[str, Any]:
    """One township's answers: mostly plausible, with every kind of problem now and then."""
    has_room = rng.random() < 0.85
    has_equipment = rng.random() < 0.8
    archivist = rng.choices(["fulltime", "parttime", "none"], [3, 6, 1])[0]
    has_funding = rng.random() < 0.7
    state = rng.choices(["not_started", "in_progress", "done"], [1, 6, 3])[0]
    total = rng.randint(3, 25)
    a: dict[str, Any] = {
        "leader_named": rng.random() < 0.9,
        "target_management": rng.random() < 0.8,
        "has_room": has_room,
        "room_mixed": rng.random() < 0.2,
        "has_equipment": has_equipment,
        "archivist": archivist,
        "archivist_changes": rng.choices([0, 1, 2, 3], [5, 3, 1, 1])[0],
        "has_funding": has_funding,
        "filed_up_to": year - rng.choices([1, 2, 3, 4, 6], [3, 4, 2, 1, 1])[0],
        "annual_task_done": state == "done" and rng.random() < 0.9,
        "work_state": state,
        "documents_scattered": rng.random() < 0.15,
        "villages_total": total,
        "villages_established": rng.randint(0, total),
        "village_kinds": rng.sample(["tax_reform", "land_contract", "other"], rng.randint(0, 3)),
        "certificate": rng.random() < 0.3,
        "top_leader": rng.random() < 0.6,
        "filing_team": rng.random() < 0.4,
        "filing_staff": rng.choices([0, 1, 2, 3], [3, 4, 2, 1])[0],
        "guidance_asked": rng.random() < 0.5,
        "filed_quality": rng.choices(["good", "fair", "poor"], [3, 5, 2])[0],
    }
    if has_room:
        a["room_standard"] = rng.random() < 0.6
        a["room_secure"] = rng.random() < 0.7
    if has_equipment:
        a["equipment_state"] = rng.choices(["good", "worn", "rotten"], [5, 4, 1])[0]
        a["protections"] = rng.sample(
            ["fire", "theft", "insects", "mould", "light", "dust", "damp", "gas"], rng.randint(2, 8)
        )
    if archivist != "none":
        a["archivist_certificate"] = rng.random() < 0.7
        a["archivist_trained"] = rng.random() < 0.6
    if has_funding:
        a["funding_amount"] = rng.choice([0, 2000, 5000, 8000, 12000])
    if state == "in_progress":
        a["filing_progress"] = rng.choice([20, 40, 60, 80])
    return a


async def _bulk(conn: AsyncConnection, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Core inserts in chunks (executemany: SQLAlchemy sends multi-row VALUES batches)."""
    stmt = insert(table(model))
    for start in range(0, len(rows), CHUNK):
        await conn.execute(stmt, list(rows[start : start + CHUNK]))


async def generate(engine: AsyncEngine, townships: int, years: int, this_year: int) -> None:
    rng = random.Random(20240101)
    await upgrade(engine)
    cl = builtin_checklist()
    sessions = make_sessionmaker(engine)
    async with sessions() as s, s.begin():
        version = await ensure_checklist_version(s, cl.name, cl.version, cl.to_data())
        version_id = version.id
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await take_writer(conn)  # the one writer's turn, as every write takes it
        areas: list[dict[str, Any]] = []
        counties: list[int] = []
        next_id = 1
        for p in range(PROVINCES):
            province = next_id
            areas.append({"id": province, "name": f"省{p:02d}", "kind": "province", "parent_id": None})
            next_id += 1
            for c in range(CITIES):
                city = next_id
                areas.append(
                    {"id": city, "name": f"省{p:02d}市{c:02d}", "kind": "city", "parent_id": province}
                )
                next_id += 1
                for k in range(COUNTIES):
                    areas.append(
                        {
                            "id": next_id,
                            "name": f"省{p:02d}市{c:02d}县{k:02d}",
                            "kind": "county",
                            "parent_id": city,
                        }
                    )
                    counties.append(next_id)
                    next_id += 1
        await _bulk(conn, Area, areas)
        towns: list[dict[str, Any]] = []
        seen: set[tuple[int, str]] = set()
        for n in range(townships):
            area = counties[n % len(counties)]
            while True:
                name = "".join(rng.sample(SYLLABLES, 2)) + rng.choice("乡镇")
                if (area, name) not in seen and name != SPECIAL:
                    break
            seen.add((area, name))
            towns.append(
                {"id": n + 1, "area_id": area, "name": SPECIAL if n == 12345 else name, "villages": 10}
            )
        await _bulk(conn, Township, towns)
        people = [
            {"id": 1, "name": "全国管理员", "role": "admin", "area_id": None, "active": True, "muted": False}
        ]
        people += [
            {
                "id": 2 + i,
                "name": f"督查员{i:04d}",
                "role": "inspector",
                "area_id": c,
                "active": True,
                "muted": False,
            }
            for i, c in enumerate(counties)
        ]
        for row in people:
            row["created_at"] = now
        await _bulk(conn, Person, people)
        await _bulk(
            conn, Identity, [{"person_id": 1, "channel": "bench", "external_id": "admin", "blocked": False}]
        )
        inspections: list[dict[str, Any]] = []
        answers: list[dict[str, Any]] = []
        facts: list[dict[str, Any]] = []
        digest = rules_digest(cl, rules_for(cl))
        inspection_id = 0
        for year in range(this_year - years + 1, this_year + 1):
            for town in towns:
                if rng.random() < 0.06:
                    continue  # not inspected
                inspection_id += 1
                roll = rng.random()
                status = (
                    "submitted" if year < this_year or roll < 0.85 else "draft" if roll < 0.97 else "returned"
                )
                inspector = 2 + (town["id"] - 1) % len(counties)  # the county's inspector
                stamp = datetime(year, 10, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 60 * 24 * 60))
                inspections.append(
                    {
                        "id": inspection_id,
                        "township_id": town["id"],
                        "year": year,
                        "checklist_version_id": version_id,
                        "inspector_id": inspector,
                        "status": status,
                        "created_at": stamp,
                        "updated_at": stamp,
                        "submitted_at": stamp if status != "draft" else None,
                    }
                )
                given = _answers(rng, year)
                if status == "submitted":  # as the bot keeps them when an inspection is submitted
                    facts.append(fact_row(inspection_id, stamp, digest, compute(cl, given, year)))
                for key, value in given.items():
                    answers.append(
                        {
                            "inspection_id": inspection_id,
                            "question_key": key,
                            "value": value,
                            "skipped": False,
                            "answered_by": inspector,
                            "answered_at": stamp,
                        }
                    )
        await _bulk(conn, Inspection, inspections)
        await _bulk(conn, Answer, answers)
        await _bulk(conn, InspectionFact, facts)
        await _bulk(
            conn,
            YearTarget,
            [
                {
                    "year": y,
                    "deadline": date(y, 12, 31),
                    "township_target": 0.8,
                    "village_target": 0.8,
                    "updated_at": now,
                }
                for y in range(this_year - years + 1, this_year + 1)
            ],
        )
        if engine.dialect.name == "postgresql":
            for name in ("area", "township", "person", "identity", "inspection"):
                await conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"
                    )
                )
            await conn.execute(text("ANALYZE"))
        else:
            await conn.execute(text("ANALYZE"))
        await conn.execute(text("CREATE TABLE bench_marker_facts (townships INTEGER, years INTEGER)"))
        await conn.execute(
            text("INSERT INTO bench_marker_facts VALUES (:t, :y)"), {"t": townships, "y": years}
        )
    print(f"  generated {len(towns):,} townships, {len(inspections):,} inspections, {len(answers):,} answers")


async def _ready(engine: AsyncEngine, townships: int, years: int) -> bool:
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(text("SELECT townships, years FROM bench_marker_facts"))).first()
    except Exception:
        return False
    return row is not None and tuple(row) == (townships, years)


# Measuring -----------------------------------------------------------------------------------


async def _timed(runs: int, call: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """(first run, median of the following runs) in seconds."""
    started = time.perf_counter()
    await call()
    first = time.perf_counter() - started
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return first, statistics.median(times) if times else first


async def baseline(engine: AsyncEngine, year: int) -> None:
    """One SQL aggregate over the same data: the year's inspections with their answers."""
    i, a = table(Inspection), table(Answer)
    done = case(
        (a.c.question_key == "annual_task_done", case((cast(a.c.value, Text) == "true", 1), else_=0)), else_=0
    )
    stmt = (
        select(i.c.status, func.count(), func.sum(done))
        .select_from(a.join(i, i.c.id == a.c.inspection_id))
        .where(i.c.year == year)
        .group_by(i.c.status)
    )
    async with engine.connect() as conn:
        (await conn.execute(stmt)).all()


async def measure(name: str, url: str, args: argparse.Namespace, **engine_args: Any) -> dict[str, float]:
    this_year = datetime.now(TZ).year
    engine = make_engine(url, **engine_args)
    if args.fresh or not await _ready(engine, args.townships, args.years):
        await engine.dispose()  # no pooled connection may keep a deleted SQLite file open
        await _reset(url, **engine_args)
        engine = make_engine(url, **engine_args)
        started = time.perf_counter()
        await generate(engine, args.townships, args.years, this_year)
        print(f"  generation took {time.perf_counter() - started:.1f} s")
    else:
        await upgrade(engine)  # data kept from an earlier run: bring its schema up to date
    folder = tempfile.TemporaryDirectory(prefix="bench-summary-")  # the report's files; removed after
    try:
        dialog = Dialog(make_sessionmaker(engine), data_dir=Path(folder.name), tz=TZ)
        who = Who("bench", "admin", "全国管理员")

        async def say(command: str) -> None:
            replies = await dialog.handle(who, Input.parse_text(command))
            assert replies and (replies[0].text or replies[0].file), command

        await baseline(engine, this_year)  # the same pages in the cache for both
        sum_first, _ = await _timed(0, lambda: say(f"/summary {this_year}"))
        # Alternating rounds: a load that comes and goes on a shared machine meets both alike.
        bases, summaries = [], []
        for _ in range(args.runs):
            bases.append((await _timed(0, lambda: baseline(engine, this_year)))[0])
            summaries.append((await _timed(0, lambda: say(f"/summary {this_year}")))[0])
        base, summary = statistics.median(bases), statistics.median(summaries)
        round_ratio = statistics.median(s / b for s, b in zip(summaries, bases, strict=True))
        rng = random.Random(7)

        async def change_then_summary() -> None:
            """An inspector answers somewhere, then a supervisor asks for the summary."""
            async with transaction(dialog.sessions) as s:
                await set_answer(
                    s, rng.randint(1, 30_000), "has_room", rng.random() < 0.5, None, current=None
                )
            await say(f"/summary {this_year}")

        _, changed = await _timed(args.runs, change_then_summary)
        _, status = await _timed(args.runs * 4, lambda: say(f"/status {SPECIAL}"))
        _, lookup = await _timed(args.runs * 4, lambda: say("/status 太平"))
        report, _ = await _timed(0, lambda: say(f"/report {this_year}"))
    finally:
        await engine.dispose()
        folder.cleanup()
    r = {
        "baseline": base,
        "summary": summary,
        "summary_first": sum_first,
        "changed": changed,
        "ratio": round_ratio,
        "status": status,
        "lookup": lookup,
        "report": report,
    }

    def ok(good: bool) -> str:
        return "ok" if good else "MISSED"

    warm_ok = summary < TARGETS["summary_s"] and r["ratio"] <= TARGETS["summary_ratio"]
    cold_ok = sum_first < TARGETS["summary_s"] and sum_first / base <= TARGETS["summary_ratio"]
    print(
        f"{name:<11} SQL aggregate {base * 1000:7.0f} ms\n"
        f"{'':<11} /summary      {summary * 1000:7.0f} ms  {r['ratio']:.2f} × the aggregate "
        "(median of the rounds' ratios)  "
        f"[{ok(warm_ok)}: < 1 s and ≤ 3 ×]\n"
        f"{'':<11}   after one answer changed {changed * 1000:.0f} ms ({changed / base:.2f} ×)\n"
        f"{'':<11}   first in the process (nothing kept in memory yet) {sum_first * 1000:.0f} ms "
        f"({sum_first / base:.2f} ×) [{ok(cold_ok)}]\n"
        f"{'':<11} /status name  {status * 1000:7.1f} ms  {status / base:.3f} × the aggregate  "
        f"[{ok(status * 1000 < TARGETS['status_ms'])}: < 50 ms]\n"
        f"{'':<11}   a partial name, answered with buttons: {lookup * 1000:.1f} ms\n"
        f"{'':<11} /report       {report:7.2f} s   {report / base:.1f} × the aggregate  "
        f"[{ok(report < TARGETS['report_s'])}: < 10 s]"
    )
    return r


async def _reset(url: str, **engine_args: Any) -> None:
    if url.startswith("postgresql"):
        engine = make_engine(url, **engine_args)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA IF EXISTS bench_summary CASCADE"))
                await conn.execute(text("CREATE SCHEMA bench_summary"))
        finally:
            await engine.dispose()
    else:
        path = url.split(":///", 1)[1]
        for suffix in ("", "-wal", "-shm"):
            await asyncio.to_thread(Path(f"{path}{suffix}").unlink, missing_ok=True)


def _reachable(url: str) -> bool:
    import socket

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 5432), timeout=1):
            return True
    except OSError:
        return False


async def clean() -> None:
    """Remove what the benchmark keeps between runs: the SQLite files and the schema."""
    for path in await asyncio.to_thread(
        lambda: list(Path(tempfile.gettempdir()).glob("bench-summary-*.sqlite3*"))
    ):
        await asyncio.to_thread(path.unlink, missing_ok=True)
        print(f"removed {path}")
    if _reachable(PG_URL):
        admin = make_engine(PG_URL)
        try:
            async with admin.begin() as conn:
                await conn.execute(text("DROP SCHEMA IF EXISTS bench_summary CASCADE"))
            print("dropped the PostgreSQL schema bench_summary")
        finally:
            await admin.dispose()


async def main(args: argparse.Namespace) -> None:
    if args.clean:
        await clean()
        return
    print(f"{args.townships:,} townships, {args.years} inspection years; medians of {args.runs} warm runs")
    if args.db in ("sqlite", "both"):
        path = Path(tempfile.gettempdir()) / f"bench-summary-{args.townships}-{args.years}.sqlite3"
        print(f"SQLite: {path}")
        await measure("SQLite", f"sqlite+aiosqlite:///{path}", args)
    if args.db in ("postgresql", "both"):
        if not _reachable(PG_URL):
            print(f"PostgreSQL: {PG_URL} is not reachable; skipped")
            return
        admin = make_engine(PG_URL)
        try:
            async with admin.begin() as conn:
                await conn.execute(text("CREATE SCHEMA IF NOT EXISTS bench_summary"))
        finally:
            await admin.dispose()
        print(f"PostgreSQL: {PG_URL} (schema bench_summary)")
        await measure(
            "PostgreSQL", PG_URL, args, connect_args={"server_settings": {"search_path": "bench_summary"}}
        )


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--townships", type=int, default=40_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="generate the data again")
    parser.add_argument(
        "--clean", action="store_true", help="remove the kept data (file and schema) and exit"
    )
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
