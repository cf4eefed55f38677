"""How a question, its buttons and the review card look: text only, channel-neutral."""

from __future__ import annotations

from typing import Any

from bot.dialog.turn import Turn
from bot.dialog.types import Button
from bot.engine import Checklist, Derived, QType, Question, applicable, format_value
from storage.queries.inspections import Stored

QUOTED = 20  # characters of someone's input quoted back in a message


def quote(text: str, limit: int = QUOTED) -> str:
    """Someone's input as quoted back: one line, at most ``limit`` characters (a message that
    echoed all of a long input could pass Telegram's limit of 4,096)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


SEVERITY_MARK = {"high": "🔴", "medium": "🟠", "low": "🟡", "good": "✅"}
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2, "good": 3}


def applicable_questions(checklist: Checklist, values: dict[str, Any]) -> list[Question]:
    return [q for q in checklist.questions() if applicable(q, values)]


def expected_questions(checklist: Checklist, values: dict[str, Any]) -> list[Question]:
    """The questions that apply, or may yet apply once the ones they depend on are answered:
    the progress total, so it does not grow as the inspector goes."""
    return [
        q
        for q in checklist.questions()
        if applicable(q, values) or (q.when is not None and any(r not in values for r in q.when.refs()))
    ]


def question_text(
    turn: Turn,
    checklist: Checklist,
    question: Question,
    answers: dict[str, Stored],
    previous: tuple[int, Any] | None,
    prefix: str | None = None,
    *,
    hints: bool = True,
) -> str:
    """The question with its place in the checklist (the n-th of all its questions: a count
    that never shrinks as answers hide questions) and, unless ``hints`` is off (it is asked
    again after an error that says how to answer), one line on how to answer."""
    loc = turn.locale
    lines = [prefix] if prefix else []
    lines.append(
        turn.t(
            "question.header",
            section=checklist.section_of(question.key).text(loc),
            n=checklist.index(question.key) + 1,
            total=len(checklist.questions()),
        )
    )
    label = question.text(loc)
    lines.append(label if question.required else f"{label}{turn.t('question.optional')}")
    if hints and (hint := question.help_text(loc)):
        lines.append(f"💡 {hint}")
    elif hints and question.type not in (QType.yesno, QType.single):
        lines.append(turn.t(f"question.hint.{question.type.value}"))
    current = answers.get(question.key)
    if current is not None:
        shown_value = (
            turn.t("question.skipped") if current.skipped else format_value(question, current.value, loc)
        )
        lines.append(turn.t("question.current", value=shown_value))
    if previous is not None:
        year, value = previous
        lines.append(turn.t("question.last_year", year=year, value=format_value(question, value, loc)))
    return "\n".join(lines)


def question_buttons(
    turn: Turn,
    question: Question,
    *,
    pending: list[str] | None,
    can_keep: bool,
    photos: int = 0,
) -> list[list[Button]]:
    loc = turn.locale
    rows: list[list[Button]] = []
    if question.type == QType.yesno:
        rows.append(
            [
                turn.button(turn.t("question.yes"), "answer", "yes"),
                turn.button(turn.t("question.no"), "answer", "no"),
            ]
        )
    elif question.type == QType.single:
        rows += pairs([turn.button(c.text(loc), "answer", c.key) for c in question.choices])
    elif question.type == QType.multi:
        chosen = set(pending or [])
        marks = [
            turn.button(("☑ " if c.key in chosen else "☐ ") + c.text(loc), "toggle", c.key)
            for c in question.choices
        ]
        rows += pairs(marks)
        rows.append([turn.button(turn.t("question.multi_done"), "done")])
    elif question.other_answers:  # 从未归档: an answer that is not a number
        rows += pairs([turn.button(c.text(loc), "answer", c.key) for c in question.other_answers])
    elif question.type == QType.photo and photos:
        rows.append([turn.button(turn.t("question.photos_done", n=photos), "photos_done")])
        removes = [
            turn.button(turn.t("question.remove_photo", n=n), "remove_photo", n) for n in range(1, photos + 1)
        ]
        rows += [removes[i : i + 4] for i in range(0, len(removes), 4)]
    if can_keep:
        rows.append([turn.button(turn.t("question.keep"), "keep")])
    nav = [turn.button(turn.t("question.back"), "back")]
    if not question.required and not photos:  # with photos sent, 跳过 would drop them: 完成 instead
        nav.append(turn.button(turn.t("question.skip"), "skip"))
    rows.append(nav)
    return rows


def pairs(buttons: list[Button]) -> list[list[Button]]:
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def review_text(
    turn: Turn,
    checklist: Checklist,
    title: str,
    answers: dict[str, Stored],
    derived: Derived,
) -> str:
    loc = turn.locale
    values = {k: a.value for k, a in answers.items() if not a.skipped}
    lines = [title]
    for section in checklist.sections:
        shown = [q for q in section.questions if applicable(q, values)]
        if not shown:
            continue
        lines.append(f"\n【{section.text(loc)}】")
        for q in shown:
            answer = answers.get(q.key)
            if answer is None:
                value = turn.t("review.unanswered")
            elif answer.skipped:
                value = turn.t("question.skipped")
            else:
                value = format_value(q, answer.value, loc)
            lines.append(f"· {q.text(loc)}：{value}" if loc == "zh-CN" else f"· {q.text(loc)}: {value}")
    flags = sorted(derived.flags, key=lambda f: SEVERITY_ORDER.get(f.severity, 9))
    if flags:
        lines.append("\n" + turn.t("review.flags"))
        lines += [f"{SEVERITY_MARK.get(f.severity, '•')} {pick_label(f.label, loc)}" for f in flags]
    lines.append("\n" + turn.t("review.score", score=derived.score))
    return "\n".join(lines)


def pick_label(label: dict[str, str], locale: str) -> str:
    return label.get(locale) or label.get("zh-CN") or next(iter(label.values()), "")


def photos_of(checklist: Checklist, values: dict[str, Any]) -> list[dict[str, Any]]:
    """The photos among an inspection's answers, in the checklist's order."""
    return [
        photo
        for q in checklist.questions()
        if q.type is QType.photo and isinstance(values.get(q.key), list)
        for photo in values[q.key]
        if isinstance(photo, dict)
    ]
