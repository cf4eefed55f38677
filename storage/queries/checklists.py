"""Checklist versions as stored: every inspection points at the one it was answered with."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import writable
from storage.models import ChecklistVersion


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
