"""Where a person is in the dialog: one typed record, stored as JSON with the person
(``storage.models.DialogState``) and written in the same transaction as their answer."""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger(__name__)

IDLE = "idle"


class _Record(BaseModel):
    # Unknown fields (from an older release) are dropped rather than refused.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class InviteDraft(_Record):
    """The invitation an administrator is putting together in the chat."""

    role: str = ""
    townships: list[int] = Field(default_factory=list)
    names: dict[str, str] = Field(default_factory=dict)  # township id → name, for the buttons


class ReturnDraft(_Record):
    """The return a supervisor is putting together: which inspection, why, what to fix."""

    inspection_id: int | None = Field(None, validation_alias=AliasChoices("inspection_id", "insp"))
    year: int | None = None  # asked for while the township is still being chosen
    comment: str = ""
    questions: list[str] = Field(default_factory=list, validation_alias=AliasChoices("questions", "qs"))


class ItemDraft(_Record):
    """A rectification item being reported done (its photos and note so far), asked about, or
    sent back (the reviewer's reason is typed next)."""

    item_id: int = 0
    photos: list[dict[str, Any]] = Field(default_factory=list)
    note: str = ""


class State(_Record):
    """``seq`` numbers the prompts: a button carries the number of the prompt it belongs to
    and is stale once a newer prompt was shown. ``step`` names the screen the person is on;
    the other fields belong to that screen."""

    seq: int = 0
    step: str = IDLE
    township_id: int | None = None
    # The village picked (pick_year): the inspection is the village's, with the village checklist.
    village_id: int | None = None
    inspection_id: int | None = None
    question: str | None = Field(None, validation_alias=AliasChoices("question", "q"))
    # The choices ticked so far on a multiple-choice question.
    pending: list[str] | None = None
    # An answer a check found unlikely, waiting for the inspector to confirm it, and the
    # checks already confirmed for it.
    proposed: Any = None
    confirmed: list[str] | None = None
    # The township's last submitted inspection before this one, whose answers are offered.
    previous_id: int | None = None
    invite: InviteDraft | None = None
    ret: ReturnDraft | None = None
    item: ItemDraft | None = None
    # The buttons of the last prompt by their label as typed (see ``typed_label``): typing a
    # button's label does what pressing it does.
    labels: dict[str, str] | None = None

    @classmethod
    def load(cls, data: dict[str, Any] | None) -> State:
        """The stored state; one that no longer reads (a damaged row) starts over, idle."""
        try:
            return cls.model_validate(data or {})
        except ValidationError as exc:
            log.warning("dialog state unreadable, starting over: %s", exc)
            seq = (data or {}).get("seq")
            # The prompt numbers go on, so that every button shown before is stale.
            return cls(seq=seq + 1 if isinstance(seq, int) else 0)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(exclude_defaults=True)

    def go(self, step: str, **fields: Any) -> State:
        """Move to ``step`` with only ``fields`` of the screen; the prompt number goes on."""
        return State(seq=self.seq, step=step, labels=self.labels, **fields)

    def on_inspection(self, step: str, **fields: Any) -> State:
        """Move to a screen of the inspection in hand."""
        return self.go(step, inspection_id=self.inspection_id, previous_id=self.previous_id, **fields)


_DECORATION = re.compile(r"[（(][^）)]*[）)]|[^\w\u4e00-\u9fff]+")


def typed_label(text: str) -> str:
    """A button label or a typed text as compared: without marks, counts in brackets, spaces
    or punctuation (``✔ 完成（2 张）`` and ``完成`` are the same), case-folded."""
    return _DECORATION.sub("", unicodedata.normalize("NFKC", text)).casefold()
