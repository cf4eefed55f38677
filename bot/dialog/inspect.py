"""The inspection: pick a township and a year, answer each question, review, submit.

Every answer is stored in the transaction of the input that gave it, together with the
dialog state, so a restart resumes exactly at the next unanswered question."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.dialog import items, render, returns
from bot.dialog.current import Current, current, load
from bot.dialog.turn import Conflict, Turn, argument, int_argument
from bot.dialog.types import Input, Reply
from bot.engine import (
    Err,
    Failure,
    Ok,
    ParseContext,
    QType,
    Question,
    applicable,
    check_answer,
    derive,
    format_value,
    names_every_choice,
    parse_answer,
    parse_year,
)
from bot.reports.facts import keep_submitted
from storage.models import Inspection, InspectionStatus, Role, Township, Village
from storage.queries import inspections as q_insp
from storage.queries.people import visible_inspection, visible_township, visible_townships
from storage.queries.registry import village_by_id, villages_of

MAX_TOWNSHIP_BUTTONS = 24
VILLAGE_CHECKLIST = "village_archive"  # the shipped checklist a village is inspected with
MAX_RESUME_BUTTONS = 3


# Picking the township and the year -----------------------------------------------------------


async def cmd_inspect(turn: Turn, inp: Input) -> list[Reply]:
    townships = list(await visible_townships(turn.session, turn.person))
    if not townships:
        return [Reply(turn.t("inspect.no_townships"))]
    if inp.text.strip():
        return await _pick_by_name(turn, townships, inp.text)
    unfinished = await _unfinished(turn, townships)
    if len(townships) == 1 and not unfinished:  # nothing to choose
        return await _after_township(turn, townships[0])
    return _township_prompt(turn, townships, unfinished=unfinished)


def _match(townships: list[Township], text: str) -> list[Township]:
    wanted = text.strip()
    exact = [t for t in townships if t.name == wanted]
    return exact or [t for t in townships if wanted and wanted in t.name]


async def _pick_by_name(turn: Turn, townships: list[Township], text: str) -> list[Reply]:
    found = _match(townships, text)
    if len(found) == 1:
        return await _after_township(turn, found[0])
    if not found:
        return _township_prompt(
            turn, townships, note=turn.t("inspect.township_not_found", text=render.quote(text))
        )
    return _township_prompt(turn, found)


async def _unfinished(turn: Turn, townships: list[Township]) -> list[tuple[int, str]]:
    """(inspection id, button label) of the person's unfinished inspections, newest first."""
    assert turn.person.id is not None
    by_id = {t.id: t for t in townships if t.id is not None}
    found = await q_insp.unfinished_of(turn.session, turn.person.id, list(by_id))
    shown = []
    for i in found[:MAX_RESUME_BUTTONS]:
        village = await village_by_id(turn.session, i.village_id) if i.village_id is not None else None
        place = place_name(turn, by_id[i.township_id], village)
        shown.append((i.id or 0, turn.t("inspect.continue", township=place, year=i.year)))
    return shown


def _township_prompt(
    turn: Turn,
    townships: list[Township],
    note: str | None = None,
    unfinished: Sequence[tuple[int, str]] = (),
) -> list[Reply]:
    """The townships to choose from; the person's unfinished inspections first, one tap from
    the question where they left off."""
    turn.go("pick_township")
    shown = townships[:MAX_TOWNSHIP_BUTTONS]
    text = turn.t("inspect.pick_township")
    if len(townships) > len(shown):
        text += "\n" + turn.t("inspect.more_townships", total=len(townships), shown=len(shown))
    if note:
        text = note + "\n" + text
    resume = [[turn.button(label, "resume", inspection_id)] for inspection_id, label in unfinished]
    buttons = [turn.button(t.name, "township", t.id) for t in shown]
    return [Reply(text, [*resume, *render.pairs(buttons)])]


async def act_resume(turn: Turn, inp: Input) -> list[Reply]:
    found = await visible_inspection(turn.session, turn.person, int_argument(inp))
    if found is None:
        return [Reply(notice=turn.t("access.township_denied"))]
    inspection, township = found
    # As if the township, the village (if it is a village's) and the year had been picked.
    turn.go("pick_year", township_id=township.id, village_id=inspection.village_id)
    return await _open(turn, township.id or 0, inspection.year)


async def step_pick_township(turn: Turn, inp: Input) -> list[Reply]:
    townships = list(await visible_townships(turn.session, turn.person))
    if inp.kind == "text" and inp.text.strip():
        return await _pick_by_name(turn, townships, inp.text)
    return [Reply(turn.t("inspect.type_or_press")), *_township_prompt(turn, townships)]


async def act_township(turn: Turn, inp: Input) -> list[Reply]:
    township = await _visible_township(turn, int_argument(inp))
    if township is None:
        return [Reply(notice=turn.t("access.township_denied"))]
    return await _after_township(turn, township)


async def _after_township(turn: Turn, township: Township) -> list[Reply]:
    """A township whose villages the registry names: the township itself or one of them
    (the village checklist); else straight to the year."""
    assert township.id is not None
    villages = await villages_of(turn.session, township.id)
    return _village_prompt(turn, township, villages) if villages else _year_prompt(turn, township)


def _village_prompt(
    turn: Turn, township: Township, villages: Sequence[Village], note: str | None = None
) -> list[Reply]:
    turn.go("pick_village", township_id=township.id)
    text = turn.t("checklists.inspect.pick_village", township=township.name)
    if len(villages) > MAX_TOWNSHIP_BUTTONS:
        text += "\n" + turn.t("checklists.inspect.type_village", total=len(villages))
    if note:
        text = note + "\n" + text
    itself = [turn.button(turn.t("checklists.inspect.township_itself", township=township.name), "village", 0)]
    buttons = [turn.button(v.name, "village", v.id) for v in villages[:MAX_TOWNSHIP_BUTTONS]]
    return [Reply(text, [itself, *render.pairs(buttons)])]


async def act_village(turn: Turn, inp: Input) -> list[Reply]:
    if turn.state.step != "pick_village":
        return [Reply(notice=turn.t("general.stale_button"))]
    township = await _visible_township(turn, turn.state.township_id or 0)
    if township is None:
        return [Reply(notice=turn.t("access.township_denied"))]
    village_id = int_argument(inp)
    if village_id == 0:
        return _year_prompt(turn, township)
    village = await village_by_id(turn.session, village_id)
    if village is None or village.township_id != township.id:
        return [Reply(notice=turn.t("general.stale_button"))]
    return _year_prompt(turn, township, village)


async def step_pick_village(turn: Turn, inp: Input) -> list[Reply]:
    """A village's name typed (or a part of it)."""
    township = await _visible_township(turn, turn.state.township_id or 0)
    if township is None or township.id is None:
        return await again_pick_township(turn, inp)
    villages = await villages_of(turn.session, township.id)
    wanted = inp.text.strip() if inp.kind == "text" else ""
    found = [v for v in villages if v.name == wanted] or [v for v in villages if wanted and wanted in v.name]
    if len(found) == 1:
        return _year_prompt(turn, township, found[0])
    note = turn.t("checklists.inspect.village_not_found", text=render.quote(wanted)) if wanted else None
    return _village_prompt(turn, township, found if len(found) > 1 else villages, note=note)


async def again_pick_village(turn: Turn, inp: Input) -> list[Reply]:
    township = await _visible_township(turn, turn.state.township_id or 0)
    if township is None or township.id is None:
        return await again_pick_township(turn, inp)
    return _village_prompt(turn, township, await villages_of(turn.session, township.id))


def place_name(turn: Turn, township: Township, village: Village | None) -> str:
    """How the place inspected is named: the township, or 太平乡 红旗村."""
    if village is None:
        return township.name
    return turn.t("checklists.inspect.village_of", township=township.name, village=village.name)


def _year_prompt(turn: Turn, township: Township, village: Village | None = None) -> list[Reply]:
    turn.go("pick_year", township_id=township.id, village_id=village.id if village else None)
    year = turn.services.now_year()
    buttons = [
        turn.button(turn.t("inspect.this_year", year=year), "year", year),
        turn.button(turn.t("inspect.a_year", year=year - 1), "year", year - 1),
    ]
    return [Reply(turn.t("inspect.pick_year", township=place_name(turn, township, village)), [buttons])]


async def _village_of_state(turn: Turn, township: Township) -> Village | None:
    """The village the person picked for this township, if any."""
    if turn.state.village_id is None:
        return None
    village = await village_by_id(turn.session, turn.state.village_id)
    return village if village is not None and village.township_id == township.id else None


async def step_pick_year(turn: Turn, inp: Input) -> list[Reply]:
    """A year typed as people write it (2026, 2026年, 二〇二六年, 今年, 去年)."""
    this_year = turn.services.now_year()
    year = _typed_year(inp.text, this_year) if inp.kind == "text" else None
    if year is not None and 2000 <= year <= this_year:
        return await _open(turn, turn.state.township_id or 0, year)
    township = await _visible_township(turn, turn.state.township_id or 0)
    if township is None:
        return _township_prompt(turn, list(await visible_townships(turn.session, turn.person)))
    village = await _village_of_state(turn, township)
    return [Reply(turn.t("inspect.bad_year", max=this_year)), *_year_prompt(turn, township, village)]


_YEARS_BACK = {"今年": 0, "本年": 0, "去年": 1, "上年": 1, "this year": 0, "last year": 1}


def _typed_year(text: str, this_year: int) -> int | None:
    back = _YEARS_BACK.get(text.strip().removesuffix("度").casefold())
    if back is not None:
        return this_year - back
    result = parse_year(text, ParseContext(inspection_year=this_year))
    return result.value if isinstance(result, Ok) else None


async def act_year(turn: Turn, inp: Input) -> list[Reply]:
    year = int_argument(inp)
    if turn.state.step != "pick_year" or not 2000 <= year <= turn.services.now_year():
        return [Reply(notice=turn.t("general.stale_button"))]
    return await _open(turn, turn.state.township_id or 0, year)


async def _visible_township(turn: Turn, township_id: int) -> Township | None:
    return await visible_township(turn.session, turn.person, township_id)


async def _open(turn: Turn, township_id: int, year: int) -> list[Reply]:
    township = await _visible_township(turn, township_id)
    if township is None:
        return [Reply(turn.t("access.township_denied"))]
    session = turn.session
    village = await _village_of_state(turn, township) if turn.state.step == "pick_year" else None
    village_id = village.id if village is not None else None
    name = place_name(turn, township, village)
    inspection = await q_insp.find_inspection(session, township_id, year, village_id)
    if inspection is None:
        checklist = VILLAGE_CHECKLIST if village is not None else None
        version_id = await turn.services.checklists.current_id(session, checklist)
        assert turn.person.id is not None
        inspection = await q_insp.start_inspection(
            session, township_id, year, version_id, turn.person.id, village_id=village_id
        )
        prefix = turn.t("inspect.started", township=name, year=year)
        cur = await _opened(turn, inspection)
        if village is None:  # items are the township's: its own inspection asks about them
            still_open = await items.open_before(turn, township_id, year)  # 上次发现：… — 现在是否已整改？
            if still_open:
                prefix += "\n" + items.opening_note(turn, cur.checklist, still_open)
        return await _next(turn, cur, prefix=prefix)
    cur = await _opened(turn, inspection)
    if inspection.status == InspectionStatus.submitted:
        if not _may_reopen(turn, inspection):
            turn.reset()
            return [Reply(turn.t("inspect.submitted_locked", township=name, year=year))]
        turn.state = turn.state.on_inspection("confirm_reopen")
        turn.next_seq()
        buttons = [
            [
                turn.button(turn.t("inspect.reopen"), "reopen"),
                turn.button(turn.t("inspect.keep_closed"), "keep_closed"),
            ]
        ]
        return [Reply(turn.t("inspect.confirm_reopen", township=name, year=year), buttons)]
    shown = render.expected_questions(cur.checklist, cur.values)
    done = sum(1 for q in shown if q.key in cur.answers)
    # The header counts the place among all questions (a number that never shrinks); here, what
    # is left at most, as answers may hide more of it but never add to it.
    note = turn.t("inspect.resumed", township=name, year=year, done=done, left=len(shown) - done)
    if inspection.status == InspectionStatus.returned and inspection.return_comment:
        note += "\n" + turn.t("inspect.return_comment", comment=inspection.return_comment)
    return await _next(turn, cur, prefix=note)


async def _opened(turn: Turn, inspection: Inspection) -> Current:
    """The inspection, now the one the person is on (with the township's last submitted one
    before it, whose answers are offered as they were)."""
    assert inspection.id is not None
    cur = await load(turn, inspection.id)
    assert cur is not None  # the township was just found visible
    previous = await q_insp.previous_submitted(
        turn.session, cur.township.id or 0, inspection.year, inspection.village_id
    )
    turn.state = turn.state.go("opened", inspection_id=inspection.id, previous_id=previous)
    return cur


def _may_reopen(turn: Turn, inspection: Inspection) -> bool:
    return inspection.inspector_id == turn.person.id or turn.person.role in (Role.supervisor, Role.admin)


async def act_reopen(turn: Turn, inp: Input) -> list[Reply]:
    cur = await current(turn) if turn.state.step == "confirm_reopen" else None
    if cur is None or not _may_reopen(turn, cur.inspection):
        return [Reply(notice=turn.t("access.township_denied"))]
    if not await q_insp.reopen(turn.session, cur.inspection, turn.person.id):
        return [Reply(turn.t("inspect.changed_meanwhile"), edit=True)]
    return [Reply(turn.t("inspect.reopened"), edit=True), *await _review(turn, cur)]


async def act_keep_closed(turn: Turn, inp: Input) -> list[Reply]:
    turn.reset()
    return [Reply(turn.t("inspect.left_closed"), edit=True)]


async def _lost(turn: Turn) -> list[Reply]:
    turn.reset()
    return [Reply(turn.t("inspect.lost"))]


# Asking -----------------------------------------------------------------------------------------


def _next_key(cur: Current, after: str | None) -> str | None:
    """The first applicable unanswered question after ``after``, else the first anywhere."""
    keys = [q.key for q in render.applicable_questions(cur.checklist, cur.values) if q.key not in cur.answers]
    if not keys:
        return None
    if after is not None:
        start = cur.checklist.index(after)
        later = [k for k in keys if cur.checklist.index(k) > start]
        if later:
            return later[0]
    return keys[0]


async def _next(turn: Turn, cur: Current, after: str | None = None, prefix: str | None = None) -> list[Reply]:
    key = _next_key(cur, after)
    if key is None:  # a returned inspection walks the questions the supervisor asked to fix
        key = returns.next_to_fix(cur, after)
    if key is None:
        return await _review(turn, cur, prefix)
    return await _ask(turn, cur, cur.checklist.question(key), prefix)


async def _previous_value(turn: Turn, question: Question) -> tuple[int, Any] | None:
    """(year, answer) of the township's last submitted inspection, to be kept in one tap."""
    previous = turn.state.previous_id
    if question.type == QType.photo or previous is None:
        return None
    return await q_insp.previous_answer(turn.session, previous, question.key)


def _photos(cur: Current, question: Question) -> int:
    answer = cur.answers.get(question.key)
    if question.type != QType.photo or answer is None or answer.skipped or not answer.value:
        return 0
    return len(answer.value)


async def _ask(
    turn: Turn, cur: Current, question: Question, prefix: str | None = None, *, hints: bool = True
) -> list[Reply]:
    pending = None
    if question.type == QType.multi:
        answer = cur.answers.get(question.key)
        pending = list(answer.value) if answer and not answer.skipped and answer.value else []
    turn.state = turn.state.on_inspection("question", question=question.key, pending=pending)
    turn.next_seq()
    previous = await _previous_value(turn, question)
    last_year = await _section_last_year(turn, cur, question)
    if last_year is not None:  # the section as it was last time, kept in one tap
        prefix = f"{prefix}\n{last_year[0]}" if prefix else last_year[0]
    reply = _question_reply(turn, cur, question, previous, prefix, hints=hints)
    if last_year is not None:
        index = cur.checklist.sections.index(cur.checklist.section_of(question.key))
        reply.buttons.insert(
            0, [turn.button(turn.t("rectification.yoy.same_section"), "same_section", index)]
        )
    return [reply]


async def _section_last_year(turn: Turn, cur: Current, question: Question) -> tuple[str, int] | None:
    """At the first question of a section not yet answered in this inspection: the section's
    answers in the township's last submitted inspection, as one card (and their year)."""
    previous_id = turn.state.previous_id
    section = cur.checklist.section_of(question.key)
    asked = [q for q in section.questions if applicable(q, cur.values)]
    if previous_id is None or not asked or asked[0].key != question.key:
        return None
    if any(q.key in cur.answers for q in section.questions):
        return None
    before = await q_insp.previous_answers(turn.session, previous_id)
    if before is None:
        return None
    year, values = before
    loc = turn.locale
    shown = [
        turn.t("status.answer", question=q.short_text(loc), value=format_value(q, values[q.key], loc))
        for q in section.questions
        if q.key in values and q.type != QType.photo
    ]
    if not shown:
        return None
    lines = turn.t("status.sep").join(shown)
    return turn.t(
        "rectification.yoy.section_last_year", year=year, section=section.text(loc), answers=lines
    ), year


async def act_same_section(turn: Turn, inp: Input) -> list[Reply]:
    """The section as last year: each of its questions that still applies takes last year's
    answer, checked as if typed; the first that cannot (no answer last year, a photo, a check
    that refuses it now) is asked, and everything after it as usual."""
    found = await _on_question(turn)
    if found is None:
        return await _lost(turn)
    cur, question = found
    section = cur.checklist.section_of(question.key)
    if int_argument(inp, -1) != cur.checklist.sections.index(section) or turn.state.previous_id is None:
        return [Reply(notice=turn.t("general.stale_button"))]
    before = await q_insp.previous_answers(turn.session, turn.state.previous_id)
    values_before = before[1] if before else {}
    kept, last = 0, None
    for q in section.questions:
        values = cur.values
        if q.key in cur.answers or not applicable(q, values):
            continue
        if q.type == QType.photo or q.key not in values_before:
            break
        values.pop(q.key, None)
        if check_answer(cur.checklist, q, values_before[q.key], values, cur.ctx(turn.locale)) is not None:
            break
        await _save(turn, cur, q, values_before[q.key])
        kept, last = kept + 1, q.key
    note = turn.t("rectification.yoy.same_section_done", section=section.text(turn.locale), n=kept)
    done = Reply(note, edit=not inp.typed)
    if last is None:
        return [done, *await _ask(turn, cur, question)]
    return [done, *await _next(turn, cur, after=last)]


def _question_reply(
    turn: Turn,
    cur: Current,
    question: Question,
    previous: tuple[int, Any] | None,
    prefix: str | None = None,
    *,
    edit: bool = False,
    hints: bool = True,
) -> Reply:
    text = render.question_text(turn, cur.checklist, question, cur.answers, previous, prefix, hints=hints)
    buttons = render.question_buttons(
        turn,
        question,
        pending=turn.state.pending,
        can_keep=previous is not None,
        photos=_photos(cur, question),
    )
    return Reply(text, buttons, edit=edit)


async def again_pick_township(turn: Turn, inp: Input) -> list[Reply]:
    return _township_prompt(turn, list(await visible_townships(turn.session, turn.person)))


async def again_pick_year(turn: Turn, inp: Input) -> list[Reply]:
    township = await _visible_township(turn, turn.state.township_id or 0)
    if township is None:
        return await again_pick_township(turn, inp)
    return _year_prompt(turn, township, await _village_of_state(turn, township))


async def again_on_inspection(turn: Turn, inp: Input) -> list[Reply]:
    """The question, the review or the reopen prompt once more."""
    cur = await current(turn)
    if cur is None:
        return await _lost(turn)
    if (
        turn.state.step == "question"
        and turn.state.question
        and cur.checklist.has_question(turn.state.question)
    ):
        return await _ask(turn, cur, cur.checklist.question(turn.state.question))
    if turn.state.step == "confirm_reopen":
        return await _open(turn, cur.township.id or 0, cur.inspection.year)
    return await _review(turn, cur)


async def _on_question(turn: Turn, step: str = "question") -> tuple[Current, Question] | None:
    """The open inspection and the question the person is at on ``step`` (answering it, or
    confirming a proposed answer), if they still are."""
    if turn.state.step != step or not turn.state.question:
        return None
    cur = await current(turn)
    if cur is None or cur.inspection.status == InspectionStatus.submitted:
        return None
    if not cur.checklist.has_question(turn.state.question):
        return None
    return cur, cur.checklist.question(turn.state.question)


async def step_question(turn: Turn, inp: Input) -> list[Reply]:
    found = await _on_question(turn)
    if found is None:
        return await _lost(turn)
    cur, question = found
    if inp.kind == "photo" and inp.photo is not None:
        if question.type != QType.photo:
            return [Reply(turn.t("inspect.photo_not_expected")), *await _ask(turn, cur, question)]
        return await _add_photo(turn, cur, question, inp)
    if inp.kind != "text":
        key = "inspect.not_an_image" if question.type == QType.photo else "inspect.unsupported"
        return [Reply(turn.t(key)), *await _ask(turn, cur, question)]
    if question.type == QType.photo:
        return [Reply(turn.t("inspect.need_photo")), *await _ask(turn, cur, question)]
    result = parse_answer(question, inp.text, cur.ctx(turn.locale))
    if isinstance(result, Err):  # the message says how to answer: the hints are not repeated
        return [Reply(result.message), *await _ask(turn, cur, question, hints=False)]
    ticked = [k for k in turn.state.pending or [] if question.choice(k) is not None]
    if question.type == QType.multi and ticked:  # typed after some were pressed
        if names_every_choice(inp.text, question.choices):
            note = turn.t("question.typed_replaces", value=format_value(question, ticked, turn.locale))
            return [Reply(note), *await _store(turn, cur, question, result.value, pressed=False)]
        union = set(ticked) | set(result.value)  # adds to what was pressed
        value = [k for k in question.choice_keys() if k in union]
        return await _store(turn, cur, question, value, pressed=False)
    return await _store(turn, cur, question, result.value, pressed=False)


async def _store(
    turn: Turn,
    cur: Current,
    question: Question,
    value: Any,
    *,
    pressed: bool,
    confirmed: frozenset[str] = frozenset(),
) -> list[Reply]:
    values = cur.values
    values.pop(question.key, None)
    failure = check_answer(cur.checklist, question, value, values, cur.ctx(turn.locale), confirmed)
    if failure is not None and failure.confirm:  # unlikely, not impossible: ask
        return _confirm_prompt(turn, cur, question, value, failure.message, confirmed)
    if failure is not None:
        return [Reply(failure.message), *await _ask(turn, cur, question, hints=False)]
    await _save(turn, cur, question, value)
    shown = format_value(question, value, turn.locale)
    return await _advance(turn, cur, question, turn.t("question.recorded", value=shown), pressed)


async def _save(turn: Turn, cur: Current, question: Question, value: Any, *, skipped: bool = False) -> None:
    """Store the answer with its history row, if the inspection is still as this turn read it
    (else someone else changed it meanwhile, and the turn starts again)."""
    assert cur.inspection.id is not None
    write = q_insp.answer_write(
        cur.inspection.id,
        question.key,
        value,
        turn.person.id,
        skipped=skipped,
        current=cur.answers.get(question.key),
        source=turn.source,
    )
    if write is None:  # unchanged
        return
    if not await q_insp.write_answer(turn.session, write, seen=cur.inspection.version):
        raise Conflict(f"inspection {cur.inspection.id} changed meanwhile")
    cur.inspection.version += 1
    cur.answers[question.key] = q_insp.stored(write)


async def _advance(turn: Turn, cur: Current, question: Question, note: str, pressed: bool) -> list[Reply]:
    if pressed:  # show the answer on the message whose button was pressed, without its buttons
        done = Reply(f"{question.text(turn.locale)}\n{note}", edit=True)
        return [done, *await _next(turn, cur, after=question.key)]
    return await _next(turn, cur, after=question.key, prefix=note)


async def _add_photo(turn: Turn, cur: Current, question: Question, inp: Input) -> list[Reply]:
    assert inp.photo is not None and inp.photo.fetch is not None and cur.inspection.id is not None
    answer = cur.answers.get(question.key)
    photos = list(answer.value) if answer is not None and not answer.skipped and answer.value else []
    if all(p.get("unique_id") != inp.photo.unique_id for p in photos):
        data = await inp.photo.fetch()  # only now: the person may answer, and this question wants it
        store = turn.services.photos
        if store.too_big(data):
            size, limit = len(data) / 2**20, store.max_bytes / 2**20
            refusal = turn.t("service.photo_too_big", size=f"{size:.1f}", limit=f"{limit:g}")
            return await _ask(turn, cur, question, prefix=refusal)
        where = await store.put(turn.session, cur.inspection.id, inp.photo.unique_id, data)
        photos.append({"file_id": inp.photo.file_id, "unique_id": inp.photo.unique_id, **where})
        await _save(turn, cur, question, photos)
    return await _ask(turn, cur, question, prefix=turn.t("inspect.photo_received", n=len(photos)))


# Buttons on a question --------------------------------------------------------------------------


async def act_answer(turn: Turn, inp: Input) -> list[Reply]:
    found = await _on_question(turn)
    if found is None:
        return await _lost(turn)
    cur, question = found
    arg = argument(inp)
    if question.type == QType.yesno and arg in ("yes", "no"):
        return await _store(turn, cur, question, arg == "yes", pressed=True)
    if question.type == QType.single and question.choice(arg) is not None:
        return await _store(turn, cur, question, arg, pressed=True)
    if question.other_answer(arg) is not None:  # 从未归档
        return await _store(turn, cur, question, arg, pressed=True)
    return [Reply(notice=turn.t("general.stale_button"))]


# "Are you sure?" ---------------------------------------------------------------------------------


def _confirm_prompt(
    turn: Turn, cur: Current, question: Question, value: Any, message: str, confirmed: frozenset[str]
) -> list[Reply]:
    """Ask whether ``value`` is true as given (``confirmed``: the checks confirmed for it before)."""
    turn.state = turn.state.on_inspection(
        "confirm_answer", question=question.key, proposed=value, confirmed=sorted(confirmed)
    )
    turn.next_seq()
    shown = format_value(question, value, turn.locale)
    text = "\n".join([question.text(turn.locale), turn.t("question.unlikely", value=shown), message])
    buttons = [
        [
            turn.button(turn.t("question.confirm_as_is", value=shown), "confirm_answer"),
            turn.button(turn.t("question.answer_again"), "answer_again"),
        ]
    ]
    return [Reply(text, buttons)]


async def _confirming(turn: Turn) -> tuple[Current, Question] | None:
    return await _on_question(turn, "confirm_answer")


def _asking(turn: Turn, cur: Current, question: Question) -> Failure | None:
    """The check that asks about the proposed answer now (None if none does any more)."""
    values = cur.values
    values.pop(question.key, None)
    confirmed = frozenset(turn.state.confirmed or [])
    return check_answer(cur.checklist, question, turn.state.proposed, values, cur.ctx(turn.locale), confirmed)


async def act_confirm_answer(turn: Turn, inp: Input) -> list[Reply]:
    """The answer is true as given: stored (another check may still ask)."""
    found = await _confirming(turn)
    if found is None:
        return await _lost(turn)
    cur, question = found
    asking = _asking(turn, cur, question)
    confirmed = frozenset(turn.state.confirmed or []) | ({asking.key} if asking and asking.confirm else set())
    return await _store(turn, cur, question, turn.state.proposed, pressed=not inp.typed, confirmed=confirmed)


async def act_answer_again(turn: Turn, inp: Input) -> list[Reply]:
    found = await _confirming(turn)
    if found is None:
        return await _lost(turn)
    cur, question = found
    return [Reply(turn.t("question.answer_again_note"), edit=True), *await _ask(turn, cur, question)]


async def step_confirm_answer(turn: Turn, inp: Input) -> list[Reply]:
    """Typed text while asked to confirm: a new answer to the same question."""
    found = await _confirming(turn)
    if found is None:
        return await _lost(turn)
    _cur, question = found
    turn.state = turn.state.on_inspection("question", question=question.key)
    return await step_question(turn, inp)


async def again_confirm_answer(turn: Turn, inp: Input) -> list[Reply]:
    found = await _confirming(turn)
    if found is None:
        return await _lost(turn)
    cur, question = found
    asking = _asking(turn, cur, question)
    if asking is None or not asking.confirm:  # answers changed meanwhile: ask the question again
        return await _ask(turn, cur, question)
    confirmed = frozenset(turn.state.confirmed or [])
    return _confirm_prompt(turn, cur, question, turn.state.proposed, asking.message, confirmed)


async def act_toggle(turn: Turn, inp: Input) -> list[Reply]:
    found = await _on_question(turn)
    if found is None or found[1].type != QType.multi or found[1].choice(argument(inp)) is None:
        return [Reply(notice=turn.t("general.stale_button"))]
    cur, question = found
    chosen = set(turn.state.pending or []) ^ {argument(inp)}
    turn.state.pending = [k for k in question.choice_keys() if k in chosen]
    previous = await _previous_value(turn, question)
    return [_question_reply(turn, cur, question, previous, edit=True)]


async def act_multi_done(turn: Turn, inp: Input) -> list[Reply]:
    found = await _on_question(turn)
    if found is None or found[1].type != QType.multi:
        return [Reply(notice=turn.t("general.stale_button"))]
    cur, question = found
    return await _store(turn, cur, question, list(turn.state.pending or []), pressed=not inp.typed)


async def act_skip(turn: Turn, inp: Input) -> list[Reply]:
    found = await _on_question(turn)
    if found is None:
        return await _lost(turn)
    cur, question = found
    if question.required:
        return [Reply(notice=turn.t("question.required"))]
    await _save(turn, cur, question, None, skipped=True)
    return await _advance(turn, cur, question, turn.t("question.skipped_note"), pressed=not inp.typed)


async def act_back(turn: Turn, inp: Input) -> list[Reply]:
    found = await _on_question(turn)
    if found is None:
        return await _lost(turn)
    cur, question = found
    keys = [q.key for q in render.applicable_questions(cur.checklist, cur.values)]
    position = keys.index(question.key) if question.key in keys else len(keys)
    if position == 0:
        return [Reply(notice=turn.t("question.first"))]
    return await _ask(turn, cur, cur.checklist.question(keys[position - 1]))


async def act_keep(turn: Turn, inp: Input) -> list[Reply]:
    found = await _on_question(turn)
    if found is None:
        return await _lost(turn)
    cur, question = found
    previous = await _previous_value(turn, question)
    if previous is None:
        return [Reply(notice=turn.t("general.stale_button"))]
    return await _store(turn, cur, question, previous[1], pressed=not inp.typed)


async def act_remove_photo(turn: Turn, inp: Input) -> list[Reply]:
    """One photo taken away; the others stay."""
    found = await _on_question(turn)
    if found is None or found[1].type != QType.photo:
        return [Reply(notice=turn.t("general.stale_button"))]
    cur, question = found
    answer = cur.answers.get(question.key)
    photos = list(answer.value) if answer is not None and not answer.skipped and answer.value else []
    n = int_argument(inp)
    if not 1 <= n <= len(photos):
        return [Reply(notice=turn.t("general.stale_button"))]
    del photos[n - 1]
    await _save(turn, cur, question, photos)
    note = turn.t("inspect.photo_removed", n=n, left=len(photos))
    return [Reply(note, edit=not inp.typed), *await _ask(turn, cur, question)]


async def act_photos_done(turn: Turn, inp: Input) -> list[Reply]:
    found = await _on_question(turn)
    if found is None:
        return await _lost(turn)
    cur, question = found
    if not _photos(cur, question):
        return [Reply(notice=turn.t("inspect.need_photo"))]
    note = turn.t("inspect.photos_kept", n=_photos(cur, question))
    return await _advance(turn, cur, question, note, pressed=not inp.typed)


# Review, edit, submit ---------------------------------------------------------------------------


async def _review(turn: Turn, cur: Current, prefix: str | None = None) -> list[Reply]:
    turn.state = turn.state.on_inspection("review")
    turn.next_seq()
    derived = derive(cur.checklist, cur.values, cur.inspection.year)
    title = turn.t("review.title", township=cur.place(turn.locale), year=cur.inspection.year)
    text = render.review_text(turn, cur.checklist, title, cur.answers, derived)
    if prefix:
        text = prefix + "\n\n" + text
    buttons = [
        [
            turn.button(turn.t("review.submit"), "submit"),
            turn.button(turn.t("review.edit"), "edit"),
            turn.button(turn.t("review.later"), "later"),
        ]
    ]
    return [Reply(text, buttons)]


async def _reviewing(turn: Turn) -> Current | None:
    if turn.state.step not in ("review", "edit_section"):
        return None
    return await current(turn)


async def act_submit(turn: Turn, inp: Input) -> list[Reply]:
    cur = await _reviewing(turn)
    if cur is None:
        return await _lost(turn)
    if _next_key(cur, None) is not None:  # a changed answer opened a new question
        return await _next(turn, cur, prefix=turn.t("review.missing"))
    assert turn.person.id is not None
    was = cur.inspection.status
    turn.reset()
    if not await q_insp.submit(turn.session, cur.inspection, turn.person.id):
        return [Reply(turn.t("inspect.changed_meanwhile"), edit=True)]
    await keep_submitted(turn.session, cur.inspection, cur.checklist)  # the report's facts, now
    # In the same transaction as the submit; a village's inspection raises no township items.
    rectification = await items.after_submit(turn, cur) if cur.inspection.village_id is None else []
    done = turn.t("review.submitted", township=cur.place(turn.locale), year=cur.inspection.year)
    return [
        Reply(done, edit=True),
        *rectification,
        *await returns.after_submit(turn, cur.inspection, cur.township, was),
    ]


async def act_edit(turn: Turn, inp: Input) -> list[Reply]:
    cur = await _reviewing(turn)
    if cur is None:
        return await _lost(turn)
    turn.state = turn.state.on_inspection("edit_section")
    turn.next_seq()
    values = cur.values
    buttons = [
        turn.button(s.text(turn.locale), "section", i)
        for i, s in enumerate(cur.checklist.sections)
        if any(applicable(q, values) for q in s.questions)
    ]
    rows = [*render.pairs(buttons), [turn.button(turn.t("review.back_to_review"), "review")]]
    return [Reply(turn.t("review.pick_section"), rows, edit=True)]


async def act_edit_section(turn: Turn, inp: Input) -> list[Reply]:
    cur = await _reviewing(turn)
    index = int_argument(inp, -1)
    if cur is None or not 0 <= index < len(cur.checklist.sections):
        return [Reply(notice=turn.t("general.stale_button"))]
    section = cur.checklist.sections[index]
    turn.next_seq()
    values = cur.values
    rows = [
        [turn.button(_short(q.text(turn.locale)), "question", cur.checklist.index(q.key))]
        for q in section.questions
        if applicable(q, values)
    ]
    rows.append([turn.button(turn.t("review.back_to_review"), "review")])
    return [Reply(turn.t("review.pick_question", section=section.text(turn.locale)), rows, edit=True)]


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def act_edit_question(turn: Turn, inp: Input) -> list[Reply]:
    cur = await _reviewing(turn)
    index = int_argument(inp, -1)
    questions = cur.checklist.questions() if cur is not None else []
    if cur is None or not 0 <= index < len(questions):
        return [Reply(notice=turn.t("general.stale_button"))]
    return await _ask(turn, cur, questions[index])


async def act_review(turn: Turn, inp: Input) -> list[Reply]:
    cur = await _reviewing(turn)
    if cur is None:
        return await _lost(turn)
    return await _review(turn, cur)


async def act_later(turn: Turn, inp: Input) -> list[Reply]:
    turn.reset()
    return [Reply(turn.t("review.later_note"), edit=True)]


async def step_buttons_only(turn: Turn, inp: Input) -> list[Reply]:
    """Review and edit screens take buttons; typed text gets a pointer and the screen again."""
    return [Reply(turn.t("review.use_buttons")), *await turn.again()]


# A message edited after it was sent ------------------------------------------------------------


async def on_edit(turn: Turn, inp: Input) -> list[Reply]:
    """A message sent earlier, edited: if it answered a question of an inspection still open,
    that answer changes (understood and checked as a new one would be, and kept in the
    history); otherwise a line on how answers are changed. The screen is shown again."""
    found = (
        await q_insp.answered_by_message(turn.session, turn.person.id or 0, turn.source)
        if turn.source
        else None
    )
    if found is None:
        return [Reply(turn.t("edit.not_an_answer")), *await turn.again()]
    cur = await load(turn, found[0])
    if (
        cur is None
        or cur.inspection.status == InspectionStatus.submitted
        or not cur.checklist.has_question(found[1])
    ):
        return [Reply(turn.t("edit.closed")), *await turn.again()]
    question = cur.checklist.question(found[1])
    name = question.short_text(turn.locale)
    values = cur.values
    values.pop(question.key, None)
    if not applicable(question, values, cur.inspection.year):
        return [Reply(turn.t("edit.no_longer_asked", question=name)), *await turn.again()]
    result = parse_answer(question, inp.text, cur.ctx(turn.locale))
    if isinstance(result, Err):
        return [Reply(turn.t("edit.not_changed", question=name, why=result.message)), *await turn.again()]
    failure = check_answer(cur.checklist, question, result.value, values, cur.ctx(turn.locale))
    if failure is not None:  # a check to answer in the dialog, not in an edit
        return [Reply(turn.t("edit.not_changed", question=name, why=failure.message)), *await turn.again()]
    await _save(turn, cur, question, result.value)
    shown = format_value(question, result.value, turn.locale)
    return [Reply(turn.t("edit.changed", question=name, value=shown)), *await turn.again()]


async def act_fix(turn: Turn, inp: Input) -> list[Reply]:
    """The inspector's button on a return notice: open the inspection at the questions to fix."""
    found = await visible_inspection(turn.session, turn.person, int_argument(inp))
    if found is None:
        return [Reply(notice=turn.t("access.township_denied"))]
    inspection, township = found
    if inspection.status != InspectionStatus.returned:
        return [Reply(turn.t("returns.not_returned_now", township=township.name, year=inspection.year))]
    return await _open(turn, township.id or 0, inspection.year)
