"""The conditions translated to SQL agree with the engine, answer for answer, on SQLite and
PostgreSQL — including odd values, skipped and inapplicable answers, and every operator."""

from __future__ import annotations

import json
import random
from typing import Any

from sqlalchemy import insert

from bot.engine import Checklist, Cond, QType, Question, builtin_checklist, effective_answers, evaluate
from bot.reports.sqlcond import SqlConditions, needed_keys
from bot.reports.summary import ChecklistCache, group_defs, python_facts, year_facts
from storage.db import SessionMaker, transaction
from storage.models import Answer, Inspection, table
from storage.queries.checklists import ensure_checklist_version
from storage.queries.registry import add_person, get_or_create_area, upsert_township
from storage.queries.summary import Scope, inspection_facts

YEAR = 2024
N = 60

CONDS = [
    {"q": "villages_established", "le": {"q": "villages_total"}},
    {"q": "filed_up_to", "ge": "inspection_year"},
    {"q": "filed_up_to", "lt": 2020},
    {"q": "funding_amount", "gt": 0.5},
    {"q": "filing_progress", "eq": 60.5},
    {"q": "villages_total", "eq": 10},
    {"q": "archivist", "in": ["fulltime", "parttime"]},
    {"q": "archivist", "in": []},
    {"q": "equipment_state", "ne": "good"},
    {"q": "leader_named", "eq": False},
    {"q": "leader_named", "ne": True},
    {"q": "protections", "has_all": ["fire", "theft"]},
    {"q": "protections", "has_any": ["gas", "damp"]},
    {"q": "protections", "has_all": []},
    {"q": "village_kinds", "missing_any": ["tax_reform"]},
    {"q": "notes", "answered": True},
    {"q": "certificate", "answered": False},
    {"q": "no_such_question", "eq": 1},
    {"q": "no_such_question", "answered": False},
    {"not": {"q": "has_room", "eq": True}},
    {"any": [{"q": "has_room", "eq": False}, {"q": "room_mixed", "eq": True}]},
    {"all": [{"q": "has_room", "eq": True}, {"not": {"q": "room_standard", "eq": True}}]},
    {"all": []},
    {"any": []},
]


def _value(rng: random.Random, q: Question) -> Any:
    """A plausible answer, or now and then a value of the wrong kind."""
    odd = rng.random() < 0.15
    if q.type == QType.yesno:
        return rng.choice([1, "是", None]) if odd else rng.random() < 0.5
    if q.type == QType.single:
        return rng.choice([3, "other", True, "无", 'none"', "good\\"]) if odd else rng.choice(q.choice_keys())
    if q.type == QType.multi:
        if odd:
            return rng.choice(
                ["fire", 5, ["fire", 7], ['x"fire', "theft"], [{"fire": 1}], ["\\gas", "damp"], ["防火"]]
            )
        return rng.sample(q.choice_keys(), rng.randint(0, len(q.choice_keys())))
    if q.type in (QType.integer, QType.amount, QType.year, QType.percent):
        if odd:
            return rng.choice([True, "12", [1]])
        if q.type == QType.year:
            return rng.randint(2015, YEAR)
        if q.type == QType.percent:
            return rng.choice([0, 30, 60.5, 100])
        if q.type == QType.amount:
            return rng.choice([0, 0.5, 1, 5000, 12345.5])
        return rng.randint(0, 12)
    if q.type == QType.photo:
        return [{"file_id": "f", "path": "p"}]
    return rng.choice(["", "备注", 'note "quoted"'])


async def _dataset(sessions: SessionMaker) -> tuple[Checklist, int, dict[int, dict[str, Any]]]:
    cl = builtin_checklist()
    rng = random.Random(7)
    stored: dict[int, dict[str, Any]] = {}
    async with transaction(sessions) as s:
        area = await get_or_create_area(s, "随机县")
        person = await add_person(s, "随机督查", "inspector", area=area)
        version = await ensure_checklist_version(s, cl.name, cl.version, cl.to_data())
        assert version.id is not None
        rows = []
        for n in range(N):
            township = await upsert_township(s, area, f"随机乡{n:03d}", 5)
            inspection = Inspection(
                township_id=township.id or 0,
                year=YEAR,
                checklist_version_id=version.id,
                inspector_id=person.id,
                status="submitted",
            )
            s.add(inspection)
            await s.flush()
            assert inspection.id is not None
            answers: dict[str, Any] = {}
            for q in cl.questions():
                roll = rng.random()
                if roll < 0.15:
                    continue  # not answered
                skipped = roll < 0.2
                value = None if skipped else _value(rng, q)
                rows.append(
                    {
                        "inspection_id": inspection.id,
                        "question_key": q.key,
                        "value": value,
                        "skipped": skipped,
                    }
                )
                if not skipped and value is not None:
                    answers[q.key] = value
            stored[inspection.id] = answers
        await (await s.connection()).execute(insert(table(Answer)), rows)
    return cl, version.id, stored


async def test_every_operator_agrees_with_the_engine(sessions: SessionMaker) -> None:
    cl, version_id, stored = await _dataset(sessions)
    conds = [Cond.model_validate(c) for c in CONDS]
    keys = needed_keys(cl, conds, [q.key for q in cl.questions()])
    async with sessions() as s:
        dialect = s.bind.dialect.name

        def columns(raw: Any, year: Any) -> dict[str, Any]:
            sql = SqlConditions(cl, dict(raw), year, dialect)
            cols = {f"c{n}": sql.holds(c) for n, c in enumerate(conds)}
            # Three-valued too: 1 true, 0 false, NULL unknown.
            cols.update({f"u{n}": sql.cond(c) for n, c in enumerate(conds)})
            cols.update({f"v{n}": sql.value(q.key) for n, q in enumerate(cl.questions())})
            return cols

        rows = await inspection_facts(s, Scope(), YEAR, version_id, keys, columns)
    assert len(rows) == N
    for row in (r._mapping for r in rows):
        answers = stored[row["id"]]
        eff = effective_answers(cl, answers, YEAR)
        for n, q in enumerate(cl.questions()):
            got = row[f"v{n}"]
            assert (json.loads(got) if got is not None else None) == eff.get(q.key), (q.key, answers)
        for n, c in enumerate(conds):
            want = evaluate(c, eff, YEAR)
            unknown = row[f"u{n}"]
            assert (None if unknown is None else bool(unknown)) == want, (CONDS[n], answers)
            assert bool(row[f"c{n}"]) == (want is True), (CONDS[n], answers)


async def test_year_facts_match_the_python_facts(sessions: SessionMaker) -> None:
    cl, _, stored = await _dataset(sessions)
    async with sessions() as s:
        facts = await year_facts(s, Scope(), YEAR, ChecklistCache())
    assert len(facts) == N
    defs = group_defs(YEAR)
    for f in facts:
        groups, values = python_facts(cl, stored[f.id], YEAR, defs)
        assert f.groups == groups, stored[f.id]
        assert {name: getattr(f, name) for name in values} == values, stored[f.id]
        assert all(type(getattr(f, name)) is type(values[name]) for name in values)
