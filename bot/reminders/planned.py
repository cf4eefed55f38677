"""One reminder to send: to whom, under which rule and occasion (its key in the log), and what."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.dialog.types import Button
from storage.queries.recipients import Recipient


@dataclass(frozen=True)
class Planned:
    rule: str  # "supervisor" or "inspector"
    recipient: Recipient
    occasion: str
    urgent: bool
    text: str
    buttons: list[list[Button]] = field(default_factory=list)
