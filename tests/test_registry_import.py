"""The township registry import: CSV (UTF-8 with and without BOM, GBK) and XLSX, Chinese and
English headers; bad rows all reported with their row numbers and nothing imported; a
re-import changes nothing; a changed count is updated; no inspection is ever deleted."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import select

from bot.admin import service
from bot.admin.township_file import parse_file
from storage.db import SessionMaker, transaction
from storage.models import Area, Inspection, Township
from storage.queries import inspections as q_insp
from storage.queries.checklists import ensure_checklist_version

ROWS = [("东县", "太平乡", 12), ("东县", "城关镇", 18), ("西县", "新华乡", 9)]


def write_csv(path: Path, header: str, rows: list[tuple[object, ...]], encoding: str = "utf-8") -> Path:
    lines = [header, *(",".join(str(c) for c in row) for row in rows)]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def write_xlsx(
    path: Path, header: list[str], rows: list[tuple[object, ...]], title: str | None = None
) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    if title:
        sheet.append([title])
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


async def registry(sessions: SessionMaker) -> dict[tuple[str, str], int]:
    async with sessions() as s:
        stmt = select(Area.name, Township.name, Township.villages).join(Area, Area.id == Township.area_id)
        return {(a, t): v for a, t, v in (await s.exec(stmt)).all()}


async def test_csv_utf8_bom_chinese_headers(sessions: SessionMaker, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", "县(市、区),乡镇(街道),村(社区)数", ROWS, "utf-8-sig")
    report = await service.import_townships(sessions, path, city="示例市")
    assert report.result.added == 3 and not report.result.updated
    assert await registry(sessions) == {(a, t): v for a, t, v in ROWS}
    async with sessions() as s:
        areas = {a.name: a for a in (await s.exec(select(Area))).all()}
    assert areas["示例市"].kind == "city"
    assert areas["东县"].parent_id == areas["示例市"].id == areas["西县"].parent_id


async def test_csv_gbk_short_headers_and_a_title_row(sessions: SessionMaker, tmp_path: Path) -> None:
    rows = [("东县", "太平乡", "十二"), ("东县", "城关镇", "18个"), ("西县", "新华乡", " 9 ")]
    path = tmp_path / "excel.csv"
    text = "某市乡镇名录,,\r\n序号,县,乡镇,村数\r\n" + "".join(
        f"{i},{a},{t},{v}\r\n" for i, (a, t, v) in enumerate(rows, 1)
    )
    path.write_bytes(text.encode("gbk"))
    report = await service.import_townships(sessions, path)
    assert report.result.added == 3
    assert await registry(sessions) == {(a, t): v for a, t, v in ROWS}


async def test_csv_english_headers_no_bom(sessions: SessionMaker, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", "Area,Township,Villages", ROWS)
    await service.import_townships(sessions, path)
    assert await registry(sessions) == {(a, t): v for a, t, v in ROWS}


async def test_xlsx_with_merged_county_cells(sessions: SessionMaker, tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["县（市、区）", "乡镇（街道）", "村（社区）数（个）"])
    sheet.append(["东县", "太平乡", 12.0])  # Excel stores numbers as floats
    sheet.append([None, "城关镇", 18])
    sheet.append(["西县", "新华乡", 9])
    sheet.merge_cells("A2:A3")  # the county written once beside its townships
    book.save(path)
    report = await service.import_townships(sessions, path, city="示例市")
    assert report.result.added == 3
    assert await registry(sessions) == {(a, t): v for a, t, v in ROWS}


async def test_xlsx_english_headers(sessions: SessionMaker, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "t.xlsx", ["county", "town", "village count"], ROWS, title="Registry")
    await service.import_townships(sessions, path)
    assert await registry(sessions) == {(a, t): v for a, t, v in ROWS}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
async def test_bad_rows_are_all_reported_and_nothing_is_imported(
    sessions: SessionMaker, tmp_path: Path, kind: str
) -> None:
    rows: list[tuple[object, ...]] = [
        ("东县", "太平乡", 12),  # row 2: fine
        ("东县", "", 5),  # row 3: no township
        ("东县", "城关镇", "很多"),  # row 4: not a number
        ("", "新华乡", 9),  # row 5: no county
        ("东县", "太平乡", 12),  # row 6: a duplicate of row 2
        ("西县", "石桥镇", -3),  # row 7: negative
        ("", "", ""),  # row 8: blank, skipped
        ("西县", "白石乡", 7),  # row 9: fine
    ]
    if kind == "csv":
        path = write_csv(tmp_path / "bad.csv", "县(市、区),乡镇,村(社区)数", rows)
    else:
        path = write_xlsx(tmp_path / "bad.xlsx", ["县(市、区)", "乡镇", "村(社区)数"], rows)
    with pytest.raises(service.AdminError) as caught:
        await service.import_townships(sessions, path)
    message = caught.value.render()
    lines = message.splitlines()
    assert "有 5 行有问题，没有导入任何数据" in lines[0]
    assert [line.split("：")[0].strip() for line in lines[1:]] == [f"第 {n} 行" for n in (3, 4, 5, 6, 7)]
    assert "乡镇为空" in lines[1] and "「很多」不是整数" in lines[2] and "县(市、区)为空" in lines[3]
    assert "与第 2 行重复" in lines[4] and "-3" in lines[5]
    assert await registry(sessions) == {}
    english = parse_file(path, "en").errors
    assert english[1].line == 4 and "the number of villages" in english[1].message


async def test_missing_column_and_unreadable_files(sessions: SessionMaker, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", "县,乡镇", [("东县", "太平乡")])
    with pytest.raises(service.AdminError) as caught:
        await service.import_townships(sessions, path)
    assert "缺少「村(社区)数」" in caught.value.render()
    with pytest.raises(service.AdminError) as caught:
        await service.import_townships(sessions, write_csv(tmp_path / "x.csv", "名称,数量", [("a", 1)]))
    assert "找不到表头" in caught.value.render()
    with pytest.raises(service.AdminError) as caught:
        await service.import_townships(sessions, tmp_path / "nothing.csv")
    assert "找不到文件" in caught.value.render()
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    with pytest.raises(service.AdminError) as caught:
        await service.import_townships(sessions, tmp_path / "old.xls")
    assert ".xlsx" in caught.value.render()


async def test_reimport_is_idempotent_updates_counts_and_keeps_inspections(
    sessions: SessionMaker, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "t.csv", "县(市、区),乡镇,村(社区)数", ROWS, "utf-8-sig")
    await service.import_townships(sessions, path, city="示例市")
    before = await registry(sessions)
    async with sessions() as s:
        ids_before = sorted((await s.exec(select(Township.id))).all())  # type: ignore[type-var]
    again = await service.import_townships(sessions, path, city="示例市")
    assert (again.result.added, again.result.updated, again.result.unchanged) == (0, [], 3)
    assert not again.result.areas_added and await registry(sessions) == before
    # An inspection of a township that a later file leaves out.
    async with transaction(sessions) as s:
        version = await ensure_checklist_version(s, "t", 1, {"name": "t"})
        township = (await s.exec(select(Township).where(Township.name == "新华乡"))).one()
        assert township.id is not None and version.id is not None
        await q_insp.start_inspection(s, township.id, 2025, version.id, None)  # type: ignore[arg-type]
    changed = write_csv(
        tmp_path / "t2.csv", "县(市、区),乡镇,村(社区)数", [("东县", "太平乡", 13), ("东县", "城关镇", 18)]
    )
    report = await service.import_townships(sessions, changed, city="示例市")
    assert report.result.updated == [("东县", "太平乡", 12, 13)] and report.result.unchanged == 1
    after = await registry(sessions)
    assert after == {**before, ("东县", "太平乡"): 13}  # 新华乡 is kept
    async with sessions() as s:
        assert len((await s.exec(select(Inspection))).all()) == 1
        ids_after = sorted((await s.exec(select(Township.id))).all())  # type: ignore[type-var]
    assert ids_after == ids_before


async def test_a_county_of_another_city_is_refused(sessions: SessionMaker, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", "市,县,乡镇,村数", [("甲市", "东县", "太平乡", 12)])
    await service.import_townships(sessions, path)
    moved = write_csv(tmp_path / "t2.csv", "市,县,乡镇,村数", [("乙市", "东县", "城关镇", 18)])
    with pytest.raises(service.AdminError) as caught:
        await service.import_townships(sessions, moved)
    assert "第 2 行" in caught.value.render() and "甲市" in caught.value.render()
    assert await registry(sessions) == {("东县", "太平乡"): 12}


async def test_large_file_reports_progress(sessions: SessionMaker, tmp_path: Path) -> None:
    rows = [(f"县{i % 7}", f"乡镇{i}", i % 40) for i in range(1200)]
    path = write_csv(tmp_path / "big.csv", "area,township,villages", rows)
    totals: list[int] = []
    advanced: list[int] = []

    def progress(total: int):  # type: ignore[no-untyped-def]
        totals.append(total)
        return advanced.append

    report = await service.import_townships(sessions, path, progress=progress)
    assert report.result.added == 1200 and totals == [1200] and sum(advanced) == 1200
    assert len(await registry(sessions)) == 1200
    again = await service.import_townships(sessions, path)
    assert again.result.unchanged == 1200


def test_header_aliases() -> None:
    from bot.admin.township_file import parse_rows

    for header in (
        ["县(市、区)", "乡镇", "村(社区)数"],
        ["县市区", "乡镇（街道）", "村数"],
        ["区", "乡(镇)", "行政村数"],
        ["AREA", "Township", "Villages"],
        ["district", "town", "villages and communities"],
    ):
        parsed = parse_rows([(1, header), (2, ["东县", "太平乡", "12"])])
        assert not parsed.errors and parsed.rows[0].villages == 12, header


def test_parse_file_reports_row_numbers_of_the_sheet(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "t.xlsx", ["县", "乡镇", "村数"], [("东县", "太平乡", "x")], title="名录")
    parsed = parse_file(path)
    assert [e.line for e in parsed.errors] == [3]  # the title is row 1, the header row 2
