"""Reading a township registry file: CSV (UTF-8 with or without BOM, or GBK as Excel in China
saves it) or XLSX, with a header row naming the county, the township and the number of
villages and communities. Every bad row is reported with its row number; nothing here
touches the database."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.engine.parsers import Ok, ParseContext, parse_integer
from bot.i18n import t

MAX_NAME = 64
MAX_VILLAGES = 5000  # no township has more; a larger number is a typing error
HEADER_SEARCH_ROWS = 10  # a title row or two may sit above the header


def _norm_header(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).casefold()
    s = re.sub(r"[\s*＊:：]", "", s)
    s = s.replace("（", "(").replace("）", ")").replace("，", ",")
    for unit in ("(个)", "(个数)", "(数量)"):
        s = s.removesuffix(unit)
    return s


def _aliases(*names: str) -> frozenset[str]:
    return frozenset(_norm_header(n) for n in names)


COLUMNS: dict[str, frozenset[str]] = {
    "city": _aliases("市", "地市", "市(州)", "城市", "所属市", "city"),
    "area": _aliases(
        "县(市、区)",
        "县(市,区)",
        "县(市区)",
        "县市区",
        "县(市)",
        "县(区)",
        "县区",
        "县",
        "区",
        "所属县(市、区)",
        "所属县",
        "县级",
        "area",
        "county",
        "district",
        "county/district",
    ),
    "township": _aliases(
        "乡镇",
        "乡镇(街道)",
        "乡(镇)",
        "乡(镇、街道)",
        "乡镇街道",
        "乡镇名称",
        "乡镇(街道)名称",
        "街道",
        "township",
        "town",
        "townships",
        "township name",
    ),
    "villages": _aliases(
        "村(社区)数",
        "村(社区)",
        "村(社区)个数",
        "村(社区)数量",
        "村社区数",
        "村(居)数",
        "村居数",
        "村数",
        "行政村数",
        "村(社区)总数",
        "villages",
        "village count",
        "villages and communities",
        "number of villages",
        "villages/communities",
    ),
    # The villages by name (optional): 红旗村、新村、东街社区. The count may then be left empty.
    "village_names": _aliases(
        "村(社区)名单",
        "村(社区)名称",
        "村(社区)名",
        "村名单",
        "村名称",
        "村(居)名单",
        "village names",
        "villages named",
    ),
}
REQUIRED = ("area", "township", "villages")
NAME_SEPARATORS = re.compile(r"[、,，;；/\n]+")


@dataclass(frozen=True)
class TownshipRow:
    line: int  # the row number as a spreadsheet shows it (the header is usually row 1)
    area: str
    township: str
    villages: int
    city: str | None = None
    village_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass
class Parsed:
    rows: list[TownshipRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped_blank: int = 0


class FileProblem(Exception):
    """The file cannot be read at all (missing, not CSV/XLSX, no header)."""


# Reading ----------------------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """UTF-8 (a BOM is dropped), else GB18030, which reads GBK and GB2312 alike."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise FileProblem("encoding") from exc


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    rows = []
    for index, cells in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        rows.append((index, cells))
    return rows


def _xlsx_rows(data: bytes) -> list[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise FileProblem("xlsx") from exc
    sheet = book.worksheets[0]
    # Merged cells (a county written once beside its townships) give every row their value.
    merged: dict[tuple[int, int], Any] = {}
    for span in sheet.merged_cells.ranges:
        value = sheet.cell(span.min_row, span.min_col).value
        for r in range(span.min_row, span.max_row + 1):
            for c in range(span.min_col, span.max_col + 1):
                merged[(r, c)] = value
    rows = []
    for r, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
        row = list(cells)
        for c in range(len(row)):
            if (r, c + 1) in merged:
                row[c] = merged[(r, c + 1)]
        rows.append((r, row))
    return rows


def read_rows(path: Path) -> list[tuple[int, list[Any]]]:
    if not path.is_file():
        raise FileProblem("missing")
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04") or path.suffix.lower() in (".xlsx", ".xlsm"):
        return _xlsx_rows(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):  # the old binary .xls
        raise FileProblem("xls")
    return _csv_rows(decode(data))


# Validating -------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def _find_header(rows: list[tuple[int, list[Any]]]) -> tuple[int, dict[str, int]] | None:
    for position, (_line, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        found: dict[str, int] = {}
        for index, cell in enumerate(cells):
            name = _norm_header(_cell(cell))
            for column, aliases in COLUMNS.items():
                if name in aliases and column not in found:
                    found[column] = index
        if "area" in found and "township" in found:
            return position, found
    return None


def _villages(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    result = parse_integer(_cell(value), ParseContext(inspection_year=2000))
    return result.value if isinstance(result, Ok) else None


def parse_rows(rows: list[tuple[int, list[Any]]], locale: str | None = None) -> Parsed:
    """Validate every row; ``errors`` lists each bad one with its row number and reason."""
    parsed = Parsed()
    header = _find_header(rows)
    if header is None:
        raise FileProblem("header")
    position, columns = header
    missing = [c for c in REQUIRED if c not in columns]
    header_line = rows[position][0]
    if missing:
        for column in missing:
            parsed.errors.append(
                RowError(header_line, t("admin.import.missing_column", locale, column=_label(column, locale)))
            )
        return parsed
    seen: dict[tuple[str, str], int] = {}
    city_of: dict[str, tuple[str | None, int]] = {}
    for line, cells in rows[position + 1 :]:
        values = {c: _cell(cells[i]) if i < len(cells) else "" for c, i in columns.items()}
        raw_villages = cells[columns["villages"]] if columns["villages"] < len(cells) else None
        if not any(_cell(c) for c in cells):
            parsed.skipped_blank += 1
            continue
        problems = []
        area, township = values["area"], values["township"]
        city = values.get("city") or None
        for column, value in (("area", area), ("township", township), ("city", city or "")):
            if len(value) > MAX_NAME:
                problems.append(
                    t("admin.import.too_long", locale, column=_label(column, locale), max=MAX_NAME)
                )
        if not area:
            problems.append(t("admin.import.empty", locale, column=_label("area", locale)))
        if not township:
            problems.append(t("admin.import.empty", locale, column=_label("township", locale)))
        villages = _villages(raw_villages)
        names = tuple(
            dict.fromkeys(
                n.strip() for n in NAME_SEPARATORS.split(values.get("village_names", "")) if n.strip()
            )
        )
        if names and values["villages"] == "":
            villages, values["villages"] = len(names), str(len(names))
        if any(len(n) > MAX_NAME for n in names):
            problems.append(
                t("admin.import.too_long", locale, column=_label("village_names", locale), max=MAX_NAME)
            )
        if names and villages is not None and villages != len(names):
            problems.append(t("checklists.registry.count_differs", locale, count=villages, named=len(names)))
        if values["villages"] == "":
            problems.append(t("admin.import.empty", locale, column=_label("villages", locale)))
        elif villages is None:
            problems.append(t("admin.import.not_a_number", locale, value=values["villages"]))
        elif not 0 <= villages <= MAX_VILLAGES:
            problems.append(t("admin.import.out_of_range", locale, value=villages, max=MAX_VILLAGES))
        if area and township and (area, township) in seen:
            problems.append(t("admin.import.duplicate", locale, line=seen[(area, township)]))
        if area and area in city_of and city_of[area][0] != city:
            earlier, earlier_line = city_of[area]
            problems.append(
                t(
                    "admin.import.two_cities",
                    locale,
                    area=area,
                    city=city or "-",
                    other=earlier or "-",
                    line=earlier_line,
                )
            )
        if problems:
            parsed.errors.append(RowError(line, "；".join(problems) if _zh(locale) else "; ".join(problems)))
            continue
        assert villages is not None
        seen[(area, township)] = line
        city_of.setdefault(area, (city, line))
        parsed.rows.append(TownshipRow(line, area, township, villages, city, names))
    return parsed


def _zh(locale: str | None) -> bool:
    return not (locale or "").startswith("en")


def _label(column: str, locale: str | None) -> str:
    if column == "village_names":
        return t("checklists.registry.column", locale)
    return t(f"admin.import.column.{column}", locale)


def parse_file(path: Path, locale: str | None = None) -> Parsed:
    return parse_rows(read_rows(path), locale)


def describe_problem(problem: FileProblem, path: Path, locale: str | None = None) -> str:
    return t(f"admin.import.file.{problem}", locale, file=str(path))


def format_errors(errors: Iterable[RowError], locale: str | None = None) -> list[str]:
    return [t("admin.import.row_error", locale, line=e.line, message=e.message) for e in errors]
