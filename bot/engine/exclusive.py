"""Groups the checklist declares exclusive must never both hold for one township.

The loader looks for a set of answers that puts a township in two of them: each
question the two conditions read (and the questions deciding whether those apply) takes
every value that can change a test — yes and no, each choice, the numbers the
conditions compare with and their neighbours, lists missing one choice or holding one —
or no answer. The combinations are tried all when they are few, else a seeded sample;
any set found is reported with the answers that show it.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

from .conditions import applicable, evaluate, holds
from .schema import INSPECTION_YEAR, Checklist, Cond, QType, Question, Ref, YearOffset

YEAR = 2024  # the inspection year the search answers for
TRIES = 20_000  # combinations tried at most for one pair of groups


def _leaves(cond: Cond) -> list[Cond]:
    if cond.q is not None:
        return [cond]
    return [leaf for child in cond.children() for leaf in _leaves(child)]


def _numbers(key: str, leaves: list[Cond]) -> set[float]:
    """The numbers the conditions compare question ``key`` with (and its neighbours)."""
    found: set[float] = {0}
    for leaf in leaves:
        if leaf.q != key:
            continue
        for op in ("eq", "ne", "lt", "le", "gt", "ge"):
            value = getattr(leaf, op)
            if value == INSPECTION_YEAR:
                found.add(YEAR)
            elif isinstance(value, YearOffset):
                found.add(YEAR + value.inspection_year)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                found.add(value)
        for value in leaf.in_ or []:
            if isinstance(value, int | float) and not isinstance(value, bool):
                found.add(value)
    return {n + d for n in found for d in (-1, 0, 1)}


def _candidates(q: Question, leaves: list[Cond], others: dict[str, set[float]]) -> list[Any]:
    if q.type is QType.yesno:
        return [True, False, None]
    if q.type is QType.single:
        return [*q.choice_keys(), None]
    if q.type is QType.multi:
        keys = q.choice_keys()
        return [[], keys, *([k] for k in keys), *([c for c in keys if c != k] for k in keys), None]
    if q.type in (QType.integer, QType.amount, QType.year, QType.percent):
        numbers = set(_numbers(q.key, leaves))
        for leaf in leaves:  # compared with another question: that one's numbers too
            for op in ("lt", "le", "gt", "ge"):
                value = getattr(leaf, op)
                if isinstance(value, Ref) and q.key in (leaf.q, value.q):
                    numbers |= others.get(value.q if leaf.q == q.key else leaf.q or "", set())
        whole = q.type in (QType.integer, QType.year)
        low = YEAR if q.min == INSPECTION_YEAR else q.min
        high = YEAR if q.max == INSPECTION_YEAR else q.max
        inside = [
            int(n) if whole else n
            for n in sorted(numbers)
            if (not whole or n == int(n))
            and (not isinstance(low, int | float) or n >= low)
            and (not isinstance(high, int | float) or n <= high)
        ]
        return [*inside, *(c.key for c in q.other_answers), None]
    return ["x", None]


def _keys(checklist: Checklist, conds: list[Cond]) -> list[str]:
    """The questions the conditions read, with those their ``when`` read, in checklist order."""
    found: set[str] = set()
    todo = [k for c in conds for k in c.refs()]
    while todo:
        key = todo.pop()
        if key in found or not checklist.has_question(key):
            continue
        found.add(key)
        when = checklist.question(key).when
        if when is not None:
            todo.extend(when.refs())
    return sorted(found, key=checklist.index)


def example(checklist: Checklist, first: Cond, second: Cond) -> dict[str, Any] | None:
    """Answers under which both conditions hold, if the search finds any."""
    keys = _keys(checklist, [first, second])
    leaves = _leaves(first) + _leaves(second)
    numbers = {k: _numbers(k, leaves) for k in keys}
    questions = [checklist.question(k) for k in keys]
    values = [_candidates(q, leaves, numbers) for q in questions]
    total = 1
    for v in values:
        total *= len(v)
    if total <= TRIES:
        combos: Any = itertools.product(*values)
    else:
        rng = random.Random(0)
        combos = ([rng.choice(v) for v in values] for _ in range(TRIES))
    for combo in combos:
        answers: dict[str, Any] = {}
        for q, value in zip(questions, combo, strict=True):
            if value is not None and applicable(q, answers, YEAR):
                answers[q.key] = value
        # Answers the dialog refuses (a failed check that may not be confirmed) are never stored.
        if any(evaluate(c.rule, answers, YEAR) is False for c in checklist.checks if not c.confirm):
            continue
        if holds(first, answers, YEAR) and holds(second, answers, YEAR):
            return answers
    return None


def overlaps(checklist: Checklist) -> list[tuple[str, str, dict[str, Any]]]:
    """Each pair of exclusive groups some answers put a township in, with those answers."""
    if checklist.report is None:
        return []
    found = []
    for keys in checklist.report.exclusive:
        for a, b in itertools.combinations(dict.fromkeys(keys), 2):
            answers = example(checklist, checklist.condition(a), checklist.condition(b))
            if answers is not None:
                found.append((a, b, answers))
    return found
