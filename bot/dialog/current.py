"""The inspection a person is working on, as one turn reads it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.dialog.turn import Turn
from bot.engine import Checklist, ParseContext
from storage.models import Inspection, Township
from storage.queries import inspections as q_insp


@dataclass
class Current:
    inspection: Inspection
    township: Township
    checklist: Checklist
    answers: dict[str, q_insp.Stored]

    @property
    def values(self) -> dict[str, Any]:
        return q_insp.answered_values(self.answers)

    def ctx(self, locale: str) -> ParseContext:
        """How answers are read here: the year inspected, and what the registry knows of the
        township (the checks compare with it)."""
        known = {"villages": self.township.villages}
        return ParseContext(inspection_year=self.inspection.year, locale=locale, known=known)


async def load(turn: Turn, inspection_id: int) -> Current | None:
    """The inspection with its answers, if the person may still work on it."""
    found = await q_insp.inspection_in_hand(turn.session, turn.person, inspection_id)
    if found is None:
        return None
    checklist = await turn.services.checklist_of(turn.session, found.inspection.checklist_version_id)
    return Current(found.inspection, found.township, checklist, found.answers)


async def current(turn: Turn) -> Current | None:
    """The inspection the person's state is on."""
    return await load(turn, turn.state.inspection_id) if turn.state.inspection_id else None
