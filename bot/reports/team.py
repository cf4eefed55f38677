"""The year's inspection team (督查组) as written by an administrator: "张三（市委办副主任）"
for a person with a title, the leader first, then the members."""

from __future__ import annotations

import re
from typing import Any

from bot.i18n import t
from storage.models import InspectionTeam

_PERSON = re.compile(r"^\s*([^（(]+?)\s*(?:[（(]\s*(.*?)\s*[)）])?\s*$")
_SPLIT = re.compile(r"[、,，;；\s]+(?![^（(]*[)）])")  # separators outside brackets


def parse_person(text: str) -> dict[str, Any] | None:
    """``张三（市委办副主任、督查室主任）`` → name and title; None if there is no name."""
    match = _PERSON.match(text)
    if not match or not match.group(1).strip():
        return None
    person = {"name": match.group(1).strip()}
    if match.group(2):
        person["title"] = match.group(2)
    return person


def parse_people(text: str) -> list[dict[str, Any]]:
    """Several people separated by 、 , ； or spaces (a title in brackets may hold them)."""
    return [p for part in _SPLIT.split(text.strip()) if part and (p := parse_person(part)) is not None]


def describe(team: InspectionTeam | None, year: int, locale: str) -> str:
    if team is None or not team.leader:
        return t("team.none", locale, year=year)
    people = [f"{m['name']}（{m['title']}）" if m.get("title") else str(m["name"]) for m in team.members]
    leader = f"{team.leader}（{team.leader_title}）" if team.leader_title else team.leader
    text = t(
        "team.show",
        locale,
        year=year,
        leader=leader,
        members=t("summary.sep", locale).join(people) or "—",
    )
    if team.asks:
        text += "\n" + t("team.asks", locale, asks=team.asks)
    return text
