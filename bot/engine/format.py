"""Display form of an answer, in the inspector's language.

Every form produced here is understood by :func:`bot.engine.parsers.parse_answer` and
gives back the same value (property-tested), except photos, which are sent, not typed.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.i18n import normalise_locale, t

from .schema import QType, Question


def format_number(value: Any) -> str:
    """``12``, ``1234.5`` — no exponent, no trailing zeros."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    try:
        d = Decimal(repr(value))
    except InvalidOperation:
        return str(value)
    if d == d.to_integral_value():
        return str(int(d))
    return format(d.normalize(), "f")


def _with_unit(number: str, unit: str) -> str:
    return f"{number} {unit}" if unit else number


def format_value(question: Question, value: Any, locale: str | None = "zh-CN") -> str:
    """The answer ``value`` to ``question`` as shown to a user of ``locale``.

    Unknown choice keys (from an older checklist version) are shown as the key.
    """
    loc = normalise_locale(locale)
    if value is None:
        return t("checklist.value.unanswered", loc)
    if (other := question.other_answer(value)) is not None:  # 从未归档
        return other.text(loc)
    qtype = question.type
    if qtype is QType.yesno:
        if isinstance(value, bool):
            return t("checklist.value.yes" if value else "checklist.value.no", loc)
        return str(value)
    if qtype is QType.single:
        choice = question.choice(str(value))
        return choice.text(loc) if choice else str(value)
    if qtype is QType.multi:
        if not isinstance(value, list):
            return str(value)
        if not value:
            return t("checklist.value.none_selected", loc)
        labels = []
        for key in value:
            choice = question.choice(str(key))
            labels.append(choice.text(loc) if choice else str(key))
        return t("checklist.value.list_separator", loc).join(labels)
    if qtype is QType.year:
        return t("checklist.value.year", loc, year=format_number(value))
    if qtype is QType.percent:
        return f"{format_number(value)}%"
    if qtype in (QType.integer, QType.amount):
        return _with_unit(format_number(value), question.unit_text(loc))
    if qtype is QType.photo:
        count = len(value) if isinstance(value, list) else 1
        return t("checklist.value.photos", loc, count=count)
    return str(value)
