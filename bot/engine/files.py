"""A checklist file of either kind: YAML (``.yaml``/``.yml``) or an XLSForm workbook (``.xlsx``)."""

from __future__ import annotations

from pathlib import Path

import yaml

from .loader import ChecklistError, load_checklist
from .schema import Checklist
from .workbook_export import export_workbook
from .workbook_import import WorkbookError, import_workbook

XLSX_SUFFIXES = (".xlsx", ".xlsm")
YAML_SUFFIXES = (".yaml", ".yml")

FileError = ChecklistError | WorkbookError
"""What reading a checklist file may raise; both have ``message(locale)``."""


def is_workbook(path: str | Path) -> bool:
    return Path(path).suffix.lower() in XLSX_SUFFIXES


def load_any(path: str | Path) -> Checklist:
    """The checklist in ``path``, a workbook or a YAML file (by its suffix)."""
    return import_workbook(path) if is_workbook(path) else load_checklist(path)


def to_yaml(checklist: Checklist) -> str:
    return yaml.safe_dump(checklist.to_data(), allow_unicode=True, sort_keys=False, width=110)


def write_any(checklist: Checklist, path: str | Path) -> Path:
    """Write ``checklist`` to ``path`` as a workbook or YAML (ValueError for another suffix)."""
    path = Path(path)
    if is_workbook(path):
        return export_workbook(checklist, path)
    if path.suffix.lower() in YAML_SUFFIXES:
        path.write_text(to_yaml(checklist), encoding="utf-8")
        return path
    raise ValueError(path)
