"""The inspection a person is working on, as one turn reads it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.dialog.turn import Turn
from bot.engine import Checklist, ParseContext
from bot.i18n import t
from storage.models import Inspection, Township, Village
from storage.queries import inspections as q_insp
from storage.queries.registry import village_by_id


@dataclass
class Current:
    inspection: Inspection
    township: Township
    checklist: Checklist
    answers: dict[str, q_insp.Stored]
    village: Village | None = None  # a village's inspection (the village checklist)

    def place(self, locale: str | None = None) -> str:
        """The township, or 太平乡 红旗村 for one of its villages."""
        if self.village is None:
            return self.township.name
        return t(
            "checklists.inspect.village_of", locale, township=self.township.name, village=self.village.name
        )

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
    village_id = found.inspection.village_id
    village = await village_by_id(turn.session, village_id) if village_id is not None else None
    return Current(found.inspection, found.township, checklist, found.answers, village)


async def current(turn: Turn) -> Current | None:
    """The inspection the person's state is on."""
    return await load(turn, turn.state.inspection_id) if turn.state.inspection_id else None
