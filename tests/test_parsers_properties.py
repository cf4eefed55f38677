"""Property tests: no text makes a parser raise; formatting a value and parsing it back gives the value."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine import (
    Err,
    Ok,
    ParseContext,
    QType,
    Question,
    builtin_checklist,
    format_value,
    parse_amount,
    parse_answer,
    parse_integer,
    parse_percent,
    parse_text,
    parse_year,
    parse_yesno,
)

C = builtin_checklist()
YEAR = 2024
CONTEXTS = [ParseContext(YEAR), ParseContext(YEAR, "en")]

# One question of each type from the shipped checklist.
BY_TYPE: dict[QType, Question] = {
    QType.yesno: C.question("has_room"),
    QType.single: C.question("archivist"),
    QType.multi: C.question("protections"),
    QType.integer: C.question("villages_total"),
    QType.amount: C.question("funding_amount"),
    QType.year: C.question("filed_up_to"),
    QType.percent: C.question("filing_progress"),
    QType.text: C.question("notes"),
    QType.photo: C.question("photos"),
}

# The same types without bounds, to exercise the parsers over their whole range.
UNBOUNDED = {
    qtype: Question.model_validate(
        {"key": f"free_{qtype.value}", "type": qtype.value, "label": {"zh-CN": "?"}}
    )
    for qtype in (QType.integer, QType.amount, QType.year, QType.percent)
}

FAST = settings(max_examples=10_000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
ROUND_TRIP = settings(
    max_examples=1_000, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)

# Characters the parsers care about, so that random inputs often come close to valid ones.
INTERESTING = (
    "0123456789０１２３４５６７８９.,，、;；%％-+ \t\n\u3000"
    "零〇一二两三四五六七八九十百千万亿点负廿壹贰叁拾佰仟萬億兩幺"
    "个元年度成百分之约共块整左右"
    "是否有没无对不已未的了yesnoYN✓✗✔✘√×"
    "防火盗虫霉光尘潮毒气体全部都专兼职"
    "🙂\x00\x07\u200b\ufeff"
)
DIGITS = st.text(alphabet="0123456789０１２３４５６７８９", min_size=1, max_size=45)
CN_NUMERALS = st.text(alphabet="零〇一二两三四五六七八九十百千万亿点负廿", min_size=1, max_size=45)
SUFFIX = st.sampled_from(
    ["", "万", "亿", "千", "%", "年", "元", "个", "成", "万元", "年度", ".", ".5", "点五"]
)
PREFIX = st.sampled_from(["", "-", "+", "--", "百分之", "约", "¥", "第", "'"])
TEXTS = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=INTERESTING, max_size=40),
    st.builds(lambda p, n, x: p + n + x, PREFIX, DIGITS | CN_NUMERALS, SUFFIX),
    st.builds(lambda piece, times: piece * times, st.text(min_size=1, max_size=12), st.integers(10, 60)),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "百分之",
            "成",
            "万",
            "点",
            "负",
            "年",
            "元",
            "--",
            "1e400",
            "nan",
            "inf",
            "9" * 500,
            "一" * 500,
            "十" * 41,
            "1" * 41,
            "全部",
            "都没有",
        ]
    ),
)


def _valid(question: Question, value: Any) -> bool:
    json.dumps(value)
    qtype = question.type
    if question.other_answer(value) is not None:  # 从未归档: an answer, not a value of the type
        return True
    if qtype is QType.yesno:
        return isinstance(value, bool)
    if qtype is QType.single:
        return value in question.choice_keys()
    if qtype is QType.multi:
        keys = question.choice_keys()
        return isinstance(value, list) and value == [k for k in keys if k in value]
    if qtype in (QType.integer, QType.year):
        return type(value) is int
    if qtype in (QType.amount, QType.percent):
        ok_type = type(value) is int or (type(value) is float and not value.is_integer())
        return ok_type and (qtype is QType.amount or 0 <= value <= 100)
    if qtype is QType.text:
        return isinstance(value, str) and value == value.strip() and 0 < len(value) <= 1000
    return False


# ---------------------------------------------------------------------------- never raises


@FAST
@given(text=TEXTS)
def test_no_input_makes_a_parser_raise(text: str) -> None:
    """10,000 random inputs, each given to a question of every type: no exception, valid values."""
    ctx = CONTEXTS[len(text) % 2]
    for question in BY_TYPE.values():
        result = parse_answer(question, text, ctx)
        assert isinstance(result, Ok | Err)
        if isinstance(result, Ok):
            assert _valid(question, result.value), (question.key, result)
        else:
            assert result.message
    for question in UNBOUNDED.values():
        assert isinstance(parse_answer(question, text, ctx), Ok | Err)
    for parser in (parse_yesno, parse_integer, parse_amount, parse_year, parse_percent, parse_text):
        assert isinstance(parser(text, ctx), Ok | Err)


# ---------------------------------------------------------------------------- format → parse gives the value


def _round_trip(question: Question, value: Any) -> None:
    for ctx in CONTEXTS:
        shown = format_value(question, value, ctx.locale)
        assert parse_answer(question, shown, ctx) == Ok(value), (value, shown, ctx.locale)


def _canonical(d: Decimal) -> int | float:
    return int(d) if d == d.to_integral_value() else float(d)


@ROUND_TRIP
@given(value=st.booleans())
def test_round_trip_yesno(value: bool) -> None:
    _round_trip(BY_TYPE[QType.yesno], value)


@pytest.mark.parametrize("key", ["archivist", "equipment_state", "work_state"])
@ROUND_TRIP
@given(data=st.data())
def test_round_trip_single(key: str, data: st.DataObject) -> None:
    question = C.question(key)
    _round_trip(question, data.draw(st.sampled_from(question.choice_keys())))


@pytest.mark.parametrize("key", ["protections", "village_kinds"])
@ROUND_TRIP
@given(data=st.data())
def test_round_trip_multi(key: str, data: st.DataObject) -> None:
    question = C.question(key)
    keys = question.choice_keys()
    chosen = data.draw(st.sets(st.sampled_from(keys)))
    _round_trip(question, [k for k in keys if k in chosen])


@ROUND_TRIP
@given(value=st.integers(min_value=0, max_value=500))
def test_round_trip_integer(value: int) -> None:
    _round_trip(BY_TYPE[QType.integer], value)


@ROUND_TRIP
@given(value=st.integers(min_value=-(10**12) + 1, max_value=10**12 - 1))
def test_round_trip_integer_unbounded(value: int) -> None:
    _round_trip(UNBOUNDED[QType.integer], value)


@ROUND_TRIP
@given(value=st.decimals(min_value=0, max_value=100_000_000, places=2))
def test_round_trip_amount(value: Decimal) -> None:
    _round_trip(BY_TYPE[QType.amount], _canonical(value))


@ROUND_TRIP
@given(value=st.decimals(min_value=-(10**12) + 1, max_value=10**12 - 1, places=2))
def test_round_trip_amount_unbounded(value: Decimal) -> None:
    _round_trip(UNBOUNDED[QType.amount], _canonical(value))


@ROUND_TRIP
@given(value=st.integers(min_value=1949, max_value=YEAR))
def test_round_trip_year(value: int) -> None:
    _round_trip(BY_TYPE[QType.year], value)


@ROUND_TRIP
@given(value=st.integers(min_value=1000, max_value=9999))
def test_round_trip_year_unbounded(value: int) -> None:
    _round_trip(UNBOUNDED[QType.year], value)


@ROUND_TRIP
@given(value=st.decimals(min_value=0, max_value=100, places=2))
def test_round_trip_percent(value: Decimal) -> None:
    _round_trip(BY_TYPE[QType.percent], _canonical(value))


@ROUND_TRIP
@given(raw=st.text(min_size=1, max_size=1200))
def test_round_trip_text(raw: str) -> None:
    """Any text the parser accepts is canonical: showing it and parsing again gives it back."""
    question = BY_TYPE[QType.text]
    first = parse_answer(question, raw, CONTEXTS[0])
    if isinstance(first, Ok):
        _round_trip(question, first.value)


@ROUND_TRIP
@given(text=TEXTS)
def test_parsing_is_idempotent_through_display(text: str) -> None:
    """Whatever a parser accepts, its display form parses back to the same value (every type but photo)."""
    for qtype, question in BY_TYPE.items():
        if qtype is QType.photo:
            continue
        first = parse_answer(question, text, CONTEXTS[0])
        if isinstance(first, Ok):
            _round_trip(question, first.value)


def test_photo_display_is_not_typed_back() -> None:
    """Photos are sent, not typed: their display form asks for a photo rather than parsing."""
    question = BY_TYPE[QType.photo]
    shown = format_value(question, [{"file_id": "x"}], "zh-CN")
    assert isinstance(parse_answer(question, shown, CONTEXTS[0]), Err)


# "All but X" and "only X", as people say them ------------------------------------------------

MULTIS = [q for q in C.questions() if q.type == QType.multi]
BUT_TEMPLATES = (
    "除了{x}都有",
    "除{x}以外都落实了",
    "{x}以外都有",
    "都有，就是没有{x}",
    "全部具备，只缺{x}",
    "除了{x}，其他都有",
)
ONLY_TEMPLATES = ("只有{x}", "仅有{x}", "只{x}")


@st.composite
def named_subset(draw: st.DrawFn) -> tuple[Question, list[str], str]:
    question = draw(st.sampled_from(MULTIS))
    keys = [c.key for c in question.choices]
    chosen = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=len(keys) - 1, unique=True))
    labels = [question.choice(k).text("zh-CN") for k in chosen]  # type: ignore[union-attr]
    joined = draw(st.sampled_from(("、", "和", ",", "及"))).join(labels)
    return question, chosen, joined


@settings(max_examples=400, deadline=None)
@given(named_subset(), st.sampled_from(BUT_TEMPLATES))
def test_all_but_x_never_records_x(case: tuple[Question, list[str], str], template: str) -> None:
    question, named, text = case
    result = parse_answer(question, template.format(x=text), CONTEXTS[0])
    if isinstance(result, Err):  # read two ways (a choice called 其他): asked, never guessed
        assert "两种理解" in result.message, (template, text, result)
        assert "其他" in template.format(x=text)
        assert any(c.text("zh-CN") == "其他" for c in question.choices)
        return
    assert not set(named) & set(result.value)
    assert set(result.value) == {c.key for c in question.choices} - set(named)


@settings(max_examples=200, deadline=None)
@given(named_subset(), st.sampled_from(ONLY_TEMPLATES))
def test_only_x_records_exactly_x(case: tuple[Question, list[str], str], template: str) -> None:
    question, named, text = case
    result = parse_answer(question, template.format(x=text), CONTEXTS[0])
    assert isinstance(result, Ok) and set(result.value) == set(named), (template, text, result)


@pytest.mark.parametrize(
    "text",
    [
        "除了防有毒气体都有",
        "都有，就是没有防有毒气体",
        "防有毒气体以外都落实了",
        "除了防有毒气体，其他都有",
        "全部具备，只缺防有毒气体",
    ],
)
def test_all_but_one_as_people_say_it(text: str) -> None:
    result = parse_answer(C.question("protections"), text, CONTEXTS[0])
    assert isinstance(result, Ok) and "gas" not in result.value and len(result.value) == 7
