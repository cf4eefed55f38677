"""Checklist versions as stored: every inspection points at the one it was answered with."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import writable
from storage.models import ChecklistVersion, Inspection
from storage.types import utcnow


def digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


async def find_checklist_version(session: AsyncSession, name: str, version: int) -> ChecklistVersion | None:
    stmt = select(ChecklistVersion).where(ChecklistVersion.name == name, ChecklistVersion.version == version)
    return (await session.exec(stmt)).first()


async def ensure_checklist_version(
    session: AsyncSession, name: str, version: int, content: dict[str, Any]
) -> ChecklistVersion:
    """The stored row for (name, version), created on first use. A changed file under an
    unchanged version number is refused: earlier inspections must stay readable as answered."""
    row = (
        await session.exec(
            select(ChecklistVersion).where(ChecklistVersion.name == name, ChecklistVersion.version == version)
        )
    ).first()
    fingerprint = digest(content)
    if row is None:
        await writable(session)
        row = ChecklistVersion(name=name, version=version, content=content, digest=fingerprint)
        session.add(row)
        await session.flush()
    elif row.digest != fingerprint:
        raise ValueError(
            f"checklist {name} version {version} differs from the stored one: raise its version number"
        )
    return row


async def get_checklist_version(session: AsyncSession, version_id: int) -> ChecklistVersion | None:
    return await session.get(ChecklistVersion, version_id)


async def checklist_versions(session: AsyncSession, name: str | None = None) -> list[ChecklistVersion]:
    """Stored versions (of ``name``, or all), by name then version."""
    stmt = select(ChecklistVersion).order_by(ChecklistVersion.name, ChecklistVersion.version)  # type: ignore[arg-type]
    if name is not None:
        stmt = stmt.where(ChecklistVersion.name == name)
    return list((await session.exec(stmt)).all())


async def newest_installed(session: AsyncSession, name: str) -> ChecklistVersion | None:
    """The highest version of ``name`` an administrator installed (None: none was)."""
    stmt = (
        select(ChecklistVersion)
        .where(ChecklistVersion.name == name, ChecklistVersion.installed_at.is_not(None))  # type: ignore[union-attr]
        .order_by(ChecklistVersion.version.desc())  # type: ignore[attr-defined]
        .limit(1)
    )
    return (await session.exec(stmt)).first()


async def install_checklist_version(
    session: AsyncSession, name: str, version: int, content: dict[str, Any]
) -> ChecklistVersion:
    """Store (name, version) as installed; the caller has checked it is new and newer."""
    await writable(session)
    row = ChecklistVersion(
        name=name, version=version, content=content, digest=digest(content), installed_at=utcnow()
    )
    session.add(row)
    await session.flush()
    return row


async def inspections_by_version(session: AsyncSession) -> dict[int, int]:
    """How many inspections were answered with each stored version (by its id)."""
    stmt = select(Inspection.checklist_version_id, func.count()).group_by(
        Inspection.checklist_version_id  # type: ignore[arg-type]
    )
    return {version_id: count for version_id, count in (await session.exec(stmt)).all()}


async def mark_installed(session: AsyncSession, row: ChecklistVersion) -> None:
    await writable(session)
    row.installed_at = utcnow()
    session.add(row)
    await session.flush()
