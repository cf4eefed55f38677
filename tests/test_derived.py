"""Derived facts, flags and score from whole checklists answered as data; the condition language."""

from __future__ import annotations

from typing import Any

import pytest

from bot.engine import (
    Cond,
    Derived,
    ParseContext,
    applicable,
    builtin_checklist,
    derive,
    describe,
    effective_answers,
    evaluate,
    parse_answer,
    score_parts,
)

C = builtin_checklist()
YEAR = 2024

# A model township: everything in order.
GOOD: dict[str, Any] = {
    "leader_named": True,
    "target_management": True,
    "has_room": True,
    "room_standard": True,
    "room_mixed": False,
    "iron_door": True,
    "window_bars": True,
    "protections": ["fire", "theft", "insects", "mould", "light", "dust", "damp", "gas"],
    "has_equipment": True,
    "equipment_state": "good",
    "archivist": "fulltime",
    "archivist_certificate": True,
    "archivist_trained": True,
    "archivist_changes": 0,
    "has_funding": True,
    "funding_amount": 5000,
    "filed_up_to": 2023,
    "annual_task_done": True,
    "work_state": "done",
    "documents_scattered": False,
    "villages_total": 12,
    "villages_established": 12,
    "village_kinds": ["tax_reform", "land_contract"],
    "certificate": True,
    "photos": [{"file_id": "AgAD1", "caption": "档案室"}],
    "notes": "档案室在二楼",
}

# A township in the report's "存在的问题" paragraph: room shared, old equipment, part-time archivist.
MIDDLING: dict[str, Any] = {
    "leader_named": True,
    "target_management": False,
    "has_room": True,
    "room_standard": False,
    "room_mixed": True,
    "iron_door": False,
    "window_bars": True,
    "protections": ["fire", "theft"],
    "has_equipment": True,
    "equipment_state": "rotten",
    "archivist": "parttime",
    "archivist_certificate": False,
    "archivist_trained": True,
    "archivist_is_secretary": True,
    "archivist_changes": 3,
    "has_funding": True,
    "funding_amount": 0,
    "filed_up_to": 2020,
    "annual_task_done": False,
    "work_state": "in_progress",
    "filing_progress": 40,
    "documents_scattered": True,
    "villages_total": 20,
    "villages_established": 5,
    "village_kinds": ["tax_reform"],
    "certificate": False,
}

# Nothing done: no room, no equipment, no archivist, no funding, not started.
BAD: dict[str, Any] = {
    "leader_named": False,
    "target_management": False,
    "has_room": False,
    "room_mixed": True,
    "has_equipment": False,
    "archivist": "none",
    "archivist_changes": 0,
    "has_funding": False,
    "filed_up_to": 2006,
    "annual_task_done": False,
    "work_state": "not_started",
    "documents_scattered": True,
    "villages_total": 15,
    "villages_established": 0,
    "village_kinds": [],
    "certificate": False,
}


def test_good_township() -> None:
    d = derive(C, GOOD, YEAR)
    assert isinstance(d, Derived)
    assert d.filing_lag == 1
    assert d.village_rate == 1.0
    assert d.flag_keys() == ["filing_done", "certificate_received"]
    assert all(f.severity == "good" for f in d.flags)
    assert d.problems() == []
    assert d.score == 100
    assert d.flags[0].text("zh-CN") == "已完成本年度归档任务"
    assert d.flags[0].text("en") == "This year's filing task done"


def test_middling_township() -> None:
    d = derive(C, MIDDLING, YEAR)
    assert d.filing_lag == 4
    assert d.village_rate == 0.25
    assert d.flag_keys() == [
        "room_mixed",
        "equipment_rotten",
        "missing_protections",
        "filing_lagging",  # filed up to four years back
        "no_certificate",
        "frequent_changes",
        "no_funding",
        "documents_scattered",
    ]
    assert {f.key: f.severity for f in d.flags}["equipment_rotten"] == "high"
    assert d.problems()[0].key == "equipment_rotten"
    parts = score_parts(C, MIDDLING, YEAR)
    assert parts["protections"] == 0.25
    assert parts["archivist"] == 0.6
    assert parts["work_state"] == 0.5
    assert parts["filing_lag"] == pytest.approx(0.4)  # lag 4 between full at 1 and zero at 6
    assert parts["village_rate"] == 0.25
    assert parts["equipment_state"] == 0.0
    # 3 leader + 10 room + 1 window bars + 6 equipment + 6×0.25 + 8×0.6 + 2 trained + 5 funding
    # + 8×0.5 + 4×0.4 + 8×0.25
    assert d.score == 41


def test_bad_township() -> None:
    d = derive(C, BAD, YEAR)
    assert d.filing_lag == 18
    assert d.village_rate == 0.0
    assert d.flag_keys() == [
        "no_archive_room",
        "room_mixed",
        "no_equipment",
        "no_archivist",
        "filing_lagging",
        "no_funding",
        "filing_not_started",
        "documents_scattered",
    ]
    # Skipped questions raise no flag:
    # no equipment → no "missing protections"; no archivist → no "no certificate".
    assert not d.has("missing_protections") and not d.has("no_certificate")
    assert d.score == 3  # only "archivist changed at most once"
    assert [f.severity for f in d.problems()][:4] == ["high", "high", "high", "high"]


def test_score_ranks_townships() -> None:
    scores = [derive(C, a, YEAR).score for a in (GOOD, MIDDLING, BAD)]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 100 for s in scores)


def test_nothing_answered() -> None:
    d = derive(C, {}, YEAR)
    assert d == Derived(filing_lag=None, village_rate=None, flags=[], score=0)


def test_no_villages_gives_no_rate() -> None:
    answers = dict(GOOD, villages_total=0)
    d = derive(C, answers, YEAR)
    assert d.village_rate is None
    # villages_established no longer applies, so the stale answer is ignored.
    assert "villages_established" not in effective_answers(C, answers, YEAR)


def test_stale_answers_after_a_change_do_not_count() -> None:
    """has_equipment changed to no after its follow-ups were answered: they no longer count
    (the eight protections are the room's, and do)."""
    answers = dict(MIDDLING, has_equipment=False)
    eff = effective_answers(C, answers, YEAR)
    assert "equipment_state" not in eff and "protections" in eff
    d = derive(C, answers, YEAR)
    assert d.has("no_equipment") and not d.has("equipment_rotten") and d.has("missing_protections")
    without_room = effective_answers(C, dict(MIDDLING, has_room=False), YEAR)
    assert not {"protections", "iron_door", "window_bars", "room_standard"} & set(without_room)


def test_unknown_keys_are_ignored() -> None:
    assert derive(C, dict(GOOD, removed_question=True), YEAR) == derive(C, GOOD, YEAR)


def test_filing_lag_is_relative_to_the_inspection_year() -> None:
    assert derive(C, {"filed_up_to": 2006}, 2006).filing_lag == 0
    assert derive(C, {"filed_up_to": 2006}, 2010).filing_lag == 4


def test_answers_from_typed_text() -> None:
    """The whole checklist answered as an inspector would type it."""
    typed = {
        "leader_named": "有",
        "target_management": "是",
        "has_room": "有",
        "room_standard": "是的，很规范",
        "room_mixed": "否",
        "iron_door": "✓",
        "window_bars": "有",
        "has_equipment": "y",
        "equipment_state": "1",
        "protections": "全部",
        "archivist": "专职",
        "archivist_certificate": "有",
        "archivist_trained": "已参加",
        "archivist_changes": "零",
        "has_funding": "有",
        "funding_amount": "0.5万元",
        "filed_up_to": "二〇二三年",
        "annual_task_done": "已完成",
        "work_state": "已完成",
        "documents_scattered": "没有",
        "villages_total": "十二个",
        "villages_established": "12",
        "village_kinds": "税改、延包",
        "certificate": "是",
        "notes": "档案室在二楼",
    }
    ctx = ParseContext(YEAR)
    answers: dict[str, Any] = {}
    for q in C.questions():
        if not applicable(q, answers, YEAR) or q.key not in typed:
            continue
        result = parse_answer(q, typed[q.key], ctx)
        assert result.__class__.__name__ == "Ok", (q.key, result)
        answers[q.key] = result.value  # type: ignore[union-attr]
    expected = {k: v for k, v in GOOD.items() if k != "photos"}
    assert answers == expected
    assert derive(C, answers, YEAR).score == 100


# ---------------------------------------------------------------------------- the condition language


def cond(data: dict[str, Any]) -> Cond:
    return Cond.model_validate(data)


@pytest.mark.parametrize(
    ("data", "answers", "expected"),
    [
        ({"q": "a", "eq": True}, {"a": True}, True),
        ({"q": "a", "eq": True}, {"a": 1}, False),  # True is not 1
        ({"q": "a", "eq": True}, {}, None),
        ({"q": "a", "ne": "none"}, {"a": "none"}, False),
        ({"q": "a", "ne": "none"}, {}, None),
        ({"q": "a", "in": ["x", "y"]}, {"a": "y"}, True),
        ({"q": "a", "lt": 3}, {"a": 2}, True),
        ({"q": "a", "le": {"q": "b"}}, {"a": 3, "b": 3}, True),
        ({"q": "a", "le": {"q": "b"}}, {"a": 4, "b": 3}, False),
        ({"q": "a", "le": {"q": "b"}}, {"a": 4}, None),
        ({"q": "a", "le": "inspection_year"}, {"a": 2030}, False),
        ({"q": "a", "gt": 0}, {"a": "x"}, None),
        ({"q": "a", "has_any": ["x"]}, {"a": ["x", "y"]}, True),
        ({"q": "a", "has_all": ["x", "z"]}, {"a": ["x", "y"]}, False),
        ({"q": "a", "missing_any": ["x", "z"]}, {"a": ["x", "y"]}, True),
        ({"q": "a", "missing_any": ["x"]}, {"a": ["x"]}, False),
        ({"q": "a", "answered": True}, {}, False),
        ({"q": "a", "answered": False}, {}, True),
        ({"all": [{"q": "a", "eq": True}, {"q": "b", "eq": True}]}, {"a": True}, None),
        ({"all": [{"q": "a", "eq": True}, {"q": "b", "eq": True}]}, {"a": False}, False),
        ({"any": [{"q": "a", "eq": True}, {"q": "b", "eq": True}]}, {"a": True}, True),
        ({"any": [{"q": "a", "eq": True}, {"q": "b", "eq": True}]}, {"a": False}, None),
        ({"not": {"q": "a", "eq": True}}, {"a": False}, True),
        ({"not": {"q": "a", "eq": True}}, {}, None),
    ],
)
def test_evaluate(data: dict[str, Any], answers: dict[str, Any], expected: bool | None) -> None:
    assert evaluate(cond(data), answers, inspection_year=YEAR) is expected


def test_describe() -> None:
    assert describe(cond({"q": "has_equipment", "eq": True})) == "has_equipment = true"
    assert describe(cond({"all": [{"q": "a", "ne": "none"}, {"not": {"q": "b", "ge": 2}}]})) == (
        "(a ≠ none and not b ≥ 2)"
    )
    assert describe(cond({"q": "n", "le": {"q": "m"}})) == "n ≤ m"
