"""Installing a checklist version at run time, and listing the stored versions.

An installed version is stored beside the earlier ones and becomes the one new inspections
use (the dialog asks the database when an inspection starts: no restart). Inspections keep
the version they were answered with, so a version is refused when its number is not newer,
or when a question key it shares with an earlier version has another type there (the stored
answers under that key would be read as the wrong kind of value).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.admin.service import AdminError
from bot.engine import Checklist, ChecklistError, builtin_checklist
from bot.i18n import t
from storage.models import ChecklistVersion
from storage.queries import checklists as q


class InstallRefused(AdminError):
    def render(self, locale: str | None = None) -> str:
        lines = []
        for key, params in self.lines:
            shown = {
                k: t(f"checklist.type.{v}", locale) if k in ("old_type", "new_type") else v
                for k, v in params.items()
            }
            lines.append(t(key, locale, **shown))
        return "\n".join(lines)


def _refused(fault: str, **params: Any) -> InstallRefused:
    return InstallRefused((f"checklists.cli.{fault}", params))


def _types(content: dict[str, Any]) -> dict[str, str]:
    """Question key → type, from a stored checklist document."""
    return {
        question["key"]: question["type"]
        for section in content.get("sections", [])
        for question in section.get("questions", [])
    }


def shipped(name: str) -> Checklist | None:
    """The checklist of that name shipped with the program, if there is one."""
    try:
        return builtin_checklist(name)
    except ChecklistError:
        return None


@dataclass(frozen=True)
class Installed:
    row: ChecklistVersion
    new: bool  # False: that exact version was installed already
    in_use: int  # the version new inspections use now


async def install(session: AsyncSession, checklist: Checklist) -> Installed:
    """Store ``checklist`` as the version of its name new inspections use (InstallRefused if not)."""
    content = checklist.to_data()
    stored = await q.checklist_versions(session, checklist.name)
    earlier: list[tuple[int, dict[str, Any], str]] = [(r.version, r.content, r.digest) for r in stored]
    builtin = shipped(checklist.name)
    if builtin is not None and builtin.version not in {r.version for r in stored}:
        data = builtin.to_data()
        earlier.append((builtin.version, data, q.digest(data)))
    fingerprint = q.digest(content)
    for version, _, digest in earlier:
        if version == checklist.version:
            same = next((r for r in stored if r.version == version), None)
            if digest != fingerprint:
                raise _refused("same_version_differs", name=checklist.name, version=version)
            if same is not None and same.installed_at is not None:
                return Installed(same, new=False, in_use=await in_use(session, checklist.name))
    newest = max((v for v, _, _ in earlier), default=0)
    if checklist.version < newest:
        raise _refused(
            "not_newer", name=checklist.name, version=checklist.version, newest=newest, next=newest + 1
        )
    mine = _types(content)
    for version, data, _ in sorted(earlier, key=lambda e: e[0]):
        for key, old_type in _types(data).items():
            if key in mine and mine[key] != old_type:
                raise _refused("type_clash", key=key, old=version, old_type=old_type, new_type=mine[key])
    same = next((r for r in stored if r.version == checklist.version), None)
    if same is not None:  # stored because inspections were answered with it: now installed too
        await q.mark_installed(session, same)
        return Installed(same, new=True, in_use=await in_use(session, checklist.name))
    row = await q.install_checklist_version(session, checklist.name, checklist.version, content)
    return Installed(row, new=True, in_use=await in_use(session, checklist.name))


@dataclass(frozen=True)
class Listed:
    name: str
    version: int
    questions: int
    inspections: int
    stored_at: datetime | None  # None: the shipped version, not stored yet
    in_use: bool


async def current_row(session: AsyncSession, name: str) -> ChecklistVersion | None:
    """The installed version new inspections of ``name`` use, unless the shipped one is newer."""
    row = await q.newest_installed(session, name)
    builtin = shipped(name)
    if row is not None and (builtin is None or row.version >= builtin.version):
        return row
    return None


async def in_use(session: AsyncSession, name: str) -> int:
    """The version number new inspections of ``name`` use (0: none known)."""
    row = await current_row(session, name)
    if row is not None:
        return row.version
    builtin = shipped(name)
    return builtin.version if builtin is not None else 0


async def listing(session: AsyncSession, names: list[str]) -> list[Listed]:
    """Every stored version, and each shipped checklist of ``names`` not stored yet."""
    rows = await q.checklist_versions(session)
    counts = await q.inspections_by_version(session)
    in_use: dict[str, int] = {}  # name → version new inspections use
    for name in {r.name for r in rows} | set(names):
        current = await current_row(session, name)
        builtin = shipped(name)
        if current is not None:
            in_use[name] = current.version
        elif builtin is not None:
            in_use[name] = builtin.version
    out = [
        Listed(
            r.name,
            r.version,
            len(_types(r.content)),
            counts.get(r.id or 0, 0),
            r.installed_at or r.created_at,
            in_use.get(r.name) == r.version,
        )
        for r in rows
    ]
    for name in names:
        builtin = shipped(name)
        if builtin is not None and not any(r.name == name and r.version == builtin.version for r in rows):
            out.append(
                Listed(
                    name,
                    builtin.version,
                    len(builtin.questions()),
                    0,
                    None,
                    in_use.get(name) == builtin.version,
                )
            )
    return sorted(out, key=lambda item: (item.name, item.version))
