"""Where photo answers' pictures are kept: in the database (the default), or in a directory
the settings name (PHOTO_DIR, shared storage every process mounts). An answer records which,
never a path of one host: {"file_id", "unique_id", "db": <id>} or {..., "dir": "<relative name>"}.
Answers of earlier releases carry a "path" on the host that received them: read when it is there.

Sending a picture back goes through a short-lived file in this process's data directory (the
channels send files), removed after an hour."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.queries.photos import photo_data, put_photo

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
OUTGOING_SECONDS = 3600


@dataclass
class PhotoStore:
    directory: Path | None = None  # None: the database
    max_bytes: int = DEFAULT_MAX_BYTES

    def too_big(self, data: bytes) -> bool:
        return len(data) > self.max_bytes

    async def put(
        self, session: AsyncSession, inspection_id: int, unique_id: str, data: bytes
    ) -> dict[str, Any]:
        """Keep the picture; what the answer records of where it is."""
        if self.directory is None:
            return {"db": await put_photo(session, inspection_id, unique_id, data)}
        name = f"{inspection_id}/{re.sub(r'[^A-Za-z0-9_-]', '_', unique_id)}.jpg"
        await asyncio.to_thread(_write, self.directory / name, data)
        return {"dir": name}

    async def read(self, session: AsyncSession, photo: dict[str, Any]) -> bytes | None:
        """The picture of an answer's photo, or None when it is not to be had here."""
        if isinstance(photo.get("db"), int):
            return await photo_data(session, photo["db"])
        if isinstance(photo.get("dir"), str) and self.directory is not None:
            path = self.directory / photo["dir"]
            if ".." in Path(photo["dir"]).parts:
                return None
            return await asyncio.to_thread(_read, path)
        if isinstance(photo.get("path"), str):  # an earlier release's answer: a path on some host
            return await asyncio.to_thread(_read, Path(photo["path"]))
        return None


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    partial.replace(path)  # never half a picture under the name


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def outgoing(data_dir: Path, data: bytes) -> Path:
    """A file to send ``data`` from (older ones removed)."""
    folder = data_dir / "outgoing"
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - OUTGOING_SECONDS
    for old in folder.iterdir():
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    path = folder / f"{uuid.uuid4().hex}.jpg"
    path.write_bytes(data)
    return path
