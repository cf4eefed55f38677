"""What the report derives from one inspection: computed once, with the checklist engine,
when the inspection is submitted, and kept beside it (``InspectionFact``).

The groups are the ones the checklist declares (``report.groups``), each evaluated with
:func:`bot.engine.evaluate` — the evaluator that raises flags in the dialog — on the
answers that count (``effective_answers`` under the version the inspection was answered
with). A group whose condition is unknown for these answers (it reads a question this
version did not ask, or an optional one left out) is noted as such: the report then
knows it cannot speak of that township there. Besides the groups, the number answers
(years, counts, amounts) and the score are kept: what the report adds up and lists by.

Any reader meets facts missing or out of date (data from before this table, a checklist
whose groups changed) and computes them again with the same function.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.engine import (
    Checklist,
    ChecklistError,
    QType,
    builtin_checklist,
    derive,
    effective_answers,
    evaluate,
)
from storage.queries.summary import answers_of_inspections, keep_facts

# Raise when what is computed here changes meaning: every kept fact is computed again.
FORMAT = 2  # 2: photo questions' counts among the numbers
NUMBER_TYPES = (QType.integer, QType.amount, QType.year, QType.percent)

Checklists = Callable[[AsyncSession, int], Awaitable[Checklist]]


@dataclass(frozen=True)
class Facts:
    groups: frozenset[str]  # the groups whose condition holds
    unknown: frozenset[str]  # the groups whose condition the answers cannot tell
    numbers: Mapping[str, int | float]  # number answers where the question applies
    score: int


def rules_for(answered_with: Checklist) -> Checklist:
    """The checklist whose report groups judge an inspection: its own version when that
    declares them, else the shipped checklist of the same name (a version from before the
    groups were declared is judged by today's)."""
    if answered_with.report is not None:
        return answered_with
    try:
        shipped = builtin_checklist(answered_with.name)
    except ChecklistError:
        return answered_with
    return shipped if shipped.report is not None else answered_with


_digests: dict[tuple[int, int], tuple[Checklist, Checklist, str]] = {}


def rules_digest(answered_with: Checklist, rules: Checklist) -> str:
    """What facts were computed under: both checklists (as stored) and ``FORMAT``."""
    key = (id(answered_with), id(rules))
    known = _digests.get(key)
    if known is not None and known[0] is answered_with and known[1] is rules:
        return known[2]
    text = json.dumps(
        [FORMAT, answered_with.to_data(), rules.to_data() if rules is not answered_with else None],
        sort_keys=True,
        ensure_ascii=False,
    )
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    _digests[key] = (answered_with, rules, digest)  # checklists are few and never change
    return digest


def compute(answered_with: Checklist, answers: Mapping[str, Any], year: int) -> Facts:
    """The facts of one inspection answered with ``answered_with`` in ``year``."""
    rules = rules_for(answered_with)
    eff = effective_answers(answered_with, dict(answers), year)
    groups: set[str] = set()
    unknown: set[str] = set()
    for group in rules.groups():
        result = evaluate(rules.condition(group.key), eff, year)
        if result is True:
            groups.add(group.key)
        elif result is None:
            unknown.add(group.key)
    numbers: dict[str, int | float] = {
        q.key: eff[q.key]
        for q in answered_with.questions()
        if q.type in NUMBER_TYPES
        and isinstance(eff.get(q.key), int | float)
        and not isinstance(eff.get(q.key), bool)
    }
    for q in answered_with.questions():  # how many photos each photo question has
        if q.type is QType.photo and isinstance(eff.get(q.key), list):
            numbers[q.key] = len(eff[q.key])
    score = derive(answered_with, dict(answers), year).score
    return Facts(frozenset(groups), frozenset(unknown), numbers, score)


def row(inspection_id: int, stamp: datetime, rules: str, facts: Facts) -> dict[str, Any]:
    """``facts`` as an ``InspectionFact`` row."""
    return {
        "inspection_id": inspection_id,
        "stamp": stamp,
        "rules": rules,
        "groups": sorted(facts.groups),
        "unknown": sorted(facts.unknown),
        "numbers": dict(facts.numbers),
        "score": facts.score,
    }


async def keep_submitted(session: AsyncSession, inspection: Any, checklist: Checklist) -> None:
    """Compute and keep the facts of an inspection just submitted (in its transaction; the
    caller holds the right to write). ``inspection`` is the ``Inspection`` as updated."""
    answers = (await answers_of_inspections(session, [inspection.id]))[inspection.id]
    facts = compute(checklist, answers, inspection.year)
    digest = rules_digest(checklist, rules_for(checklist))
    await keep_facts(session, [row(inspection.id, inspection.updated_at, digest, facts)])


async def compute_many(
    session: AsyncSession, wanted: Sequence[tuple[int, int, int]], checklists: Checklists
) -> tuple[dict[int, Facts], dict[int, str]]:
    """Facts of the inspections ``(id, checklist version id, year)``, from their answers;
    with each one's rules digest."""
    answers = await answers_of_inspections(session, [i for i, _, _ in wanted])
    facts: dict[int, Facts] = {}
    digests: dict[int, str] = {}
    for inspection_id, version_id, year in wanted:
        checklist = await checklists(session, version_id)
        facts[inspection_id] = compute(checklist, answers.get(inspection_id, {}), year)
        digests[inspection_id] = rules_digest(checklist, rules_for(checklist))
    return facts, digests
