"""Evaluate the condition language of the checklist (``when``, flags, checks, score).

Conditions use three-valued logic: a test on a question that has no answer (not yet
asked, or skipped) is *unknown*; ``all``/``any``/``not`` combine unknowns the usual
(Kleene) way; and an unknown result counts as false where a yes/no is needed. So a
question whose ``when`` reads a skipped question is not applicable, a flag that reads a
skipped question is not raised, and a cross-question check passes until both of its
questions are answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.i18n import t

from .format import format_value
from .schema import INSPECTION_YEAR, OP_NAMES, Check, Checklist, Cond, Known, Question, Ref, YearOffset, pick

if TYPE_CHECKING:
    from .parsers import ParseContext


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    """Equality that does not confuse True with 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    return bool(a == b)


def _answer(answers: dict[str, Any], key: str) -> Any:
    return answers.get(key)


def _operand(
    operand: Any, answers: dict[str, Any], inspection_year: int | None, known: Mapping[str, Any] | None
) -> Any:
    if isinstance(operand, Ref):
        return _answer(answers, operand.q)
    if operand == INSPECTION_YEAR:
        return inspection_year
    if isinstance(operand, YearOffset):
        return None if inspection_year is None else inspection_year + operand.inspection_year
    if isinstance(operand, Known):
        return None if known is None else known.get(operand.registry)
    return operand


def evaluate(
    cond: Cond,
    answers: dict[str, Any],
    inspection_year: int | None = None,
    known: Mapping[str, Any] | None = None,
) -> bool | None:
    """True, False, or None (unknown: reads a question without an answer, or what the
    registry does not know). ``known``: the registry's facts of the township."""
    if cond.all_ is not None:
        result: bool | None = True
        for child in cond.all_:
            r = evaluate(child, answers, inspection_year, known)
            if r is False:
                return False
            if r is None:
                result = None
        return result
    if cond.any_ is not None:
        any_result: bool | None = False
        for child in cond.any_:
            r = evaluate(child, answers, inspection_year, known)
            if r is True:
                return True
            if r is None:
                any_result = None
        return any_result
    if cond.not_ is not None:
        r = evaluate(cond.not_, answers, inspection_year, known)
        return None if r is None else not r
    if cond.q is None:
        return None
    value = _answer(answers, cond.q)
    if cond.answered is not None:
        return (value is not None) is cond.answered
    if value is None:
        return None
    if cond.eq is not None:
        return _same(value, cond.eq)
    if cond.ne is not None:
        return not _same(value, cond.ne)
    if cond.in_ is not None:
        return any(_same(value, v) for v in cond.in_)
    for op in ("lt", "le", "gt", "ge"):
        raw = getattr(cond, op)
        if raw is None:
            continue
        other = _operand(raw, answers, inspection_year, known)
        if not (_is_number(value) and _is_number(other)):
            return None
        if op == "lt":
            return bool(value < other)
        if op == "le":
            return bool(value <= other)
        if op == "gt":
            return bool(value > other)
        return bool(value >= other)
    if not isinstance(value, list):
        return None
    if cond.has_any is not None:
        return any(k in value for k in cond.has_any)
    if cond.has_all is not None:
        return all(k in value for k in cond.has_all)
    if cond.missing_any is not None:
        return any(k not in value for k in cond.missing_any)
    return None


def holds(cond: Cond | None, answers: dict[str, Any], inspection_year: int | None = None) -> bool:
    """The condition is known to be true (no condition holds)."""
    if cond is None:
        return True
    return evaluate(cond, answers, inspection_year) is True


def applicable(question: Question, answers: dict[str, Any], inspection_year: int | None = None) -> bool:
    """Should ``question`` be asked, given the answers so far? (its ``when``, if any)."""
    return holds(question.when, answers, inspection_year)


def effective_answers(
    checklist: Checklist, answers: dict[str, Any], inspection_year: int | None = None
) -> dict[str, Any]:
    """The answers that count: only questions of this checklist that are applicable.

    Walks the questions in order, so an answer left over from before an earlier answer
    changed (equipment_state after has_equipment turned to no) is dropped, and keys of
    questions a later checklist version removed are ignored.
    """
    out: dict[str, Any] = {}
    for q in checklist.questions():
        value = answers.get(q.key)
        if value is None:
            continue
        if applicable(q, out, inspection_year):
            out[q.key] = value
    return out


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class Failure:
    """A cross-question check an answer fails: its message, and whether the inspector may
    confirm the answer as true anyway (``Check.confirm``)."""

    key: str
    message: str
    confirm: bool


def check_answer(
    checklist: Checklist,
    question: Question,
    value: Any,
    answers: dict[str, Any],
    ctx: ParseContext,
    confirmed: frozenset[str] = frozenset(),
) -> Failure | None:
    """Run the checklist's cross-question checks that read ``question``: the first that
    fails (a check in ``confirmed`` was confirmed by the inspector and is passed over).

    A check passes while any question it reads is unanswered, so it fires on whichever of
    its questions is answered second.
    """
    merged = dict(answers)
    merged[question.key] = value
    current = effective_answers(checklist, merged, ctx.inspection_year)
    current[question.key] = value
    for check in checklist.checks_for(question.key):
        if check.key in confirmed:
            continue
        if evaluate(check.rule, current, ctx.inspection_year, ctx.known) is not False:
            continue
        return Failure(check.key, _message(checklist, check, current, ctx), check.confirm)
    return None


def validate_answer(
    checklist: Checklist, question: Question, value: Any, answers: dict[str, Any], ctx: ParseContext
) -> str | None:
    """The message of the first check ``value`` fails (see ``check_answer``)."""
    failure = check_answer(checklist, question, value, answers, ctx)
    return failure.message if failure is not None else None


def _message(checklist: Checklist, check: Check, current: dict[str, Any], ctx: ParseContext) -> str:
    shown = _Values()
    for key in check.rule.refs():
        if checklist.has_question(key) and key in current:
            shown[key] = format_value(checklist.question(key), current[key], ctx.locale)
    for name, value in ctx.known.items():  # {registry_villages}
        shown[f"registry_{name}"] = str(value)
    template = pick(check.message, ctx.locale) if check.message else ""
    if template:
        try:
            return template.format_map(shown)
        except (ValueError, IndexError, AttributeError):
            return template
    return t("checklist.check_failed", ctx.locale, rule=describe(check.rule))


def _show_operand(operand: Any) -> str:
    if isinstance(operand, Ref):
        return operand.q
    if isinstance(operand, Known):
        return f"registry.{operand.registry}"
    if isinstance(operand, YearOffset):
        return f"{INSPECTION_YEAR}{operand.inspection_year:+d}"
    if isinstance(operand, bool):
        return "true" if operand else "false"
    if isinstance(operand, list):
        return "[" + ", ".join(_show_operand(v) for v in operand) + "]"
    return str(operand)


_SYMBOLS = {"eq": "=", "ne": "≠", "lt": "<", "le": "≤", "gt": ">", "ge": "≥"}


def describe(cond: Cond | None) -> str:
    """A compact one-line rendering, e.g. ``has_equipment = true``, for listings."""
    if cond is None:
        return ""
    if cond.all_ is not None:
        return "(" + " and ".join(describe(c) for c in cond.all_) + ")"
    if cond.any_ is not None:
        return "(" + " or ".join(describe(c) for c in cond.any_) + ")"
    if cond.not_ is not None:
        return "not " + describe(cond.not_)
    if cond.flag is not None:
        return f"flag {cond.flag}"
    for op in cond.leaf_ops():
        value = getattr(cond, op)
        if op in _SYMBOLS:
            return f"{cond.q} {_SYMBOLS[op]} {_show_operand(value)}"
        return f"{cond.q} {OP_NAMES.get(op, op)} {_show_operand(value)}"
    return "?"
