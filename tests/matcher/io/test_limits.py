"""The reader's limits (`ReadLimits`): a file over one is a problem naming the file (and row and column), found while
the file is read, and a workbook's declared dimension or zip sizes are never trusted."""

from __future__ import annotations

import re
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from matcher import InvalidDataset, Problem, ReadLimits, read_dataset, write_dataset
from matcher.io import tables as tables_module
from tests.factories import dataset_rows, make_instance, write_rows

SMALL = ReadLimits(max_file_bytes=4096, max_rows=5, max_columns=20, max_cell_chars=50, max_workbook_bytes=200_000)


def problems_of(path: Path, limits: ReadLimits = SMALL) -> list[Problem]:
    with pytest.raises(InvalidDataset) as raised:
        read_dataset(path, limits)
    return raised.value.problems


def test_a_data_set_within_the_limits_reads(tmp_path: Path) -> None:
    instance, _ = read_dataset(write_rows(tmp_path, dataset_rows()), SMALL)
    assert len(instance.participants) == 3


def test_a_header_with_too_many_columns_is_refused_at_the_header(tmp_path: Path) -> None:
    folder = write_rows(tmp_path, dataset_rows())
    (folder / "slots.csv").write_text(",".join(f"c{i}" for i in range(200_000)) + "\n", encoding="utf-8")
    [problem] = problems_of(folder, replace(SMALL, max_file_bytes=10_000_000))
    assert (problem.file, problem.row, problem.column) == ("slots.csv", 1, "")
    assert "200,000 columns; at most 20" in problem.message


def test_too_many_rows_stop_the_scan_before_pandas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = dataset_rows()
    rows["travel_times"] = [{"participant_id": "P001", "site_id": "vasby", "minutes": "40"}] * 7
    folder = write_rows(tmp_path, rows)
    seen: list[str] = []
    real = tables_module.pd.read_csv

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append("read")
        return real(*args, **kwargs)

    monkeypatch.setattr(tables_module.pd, "read_csv", spy)
    problems = problems_of(folder)
    assert [(p.file, p.row) for p in problems] == [("travel_times.csv", 7)]
    assert "more than 5 rows" in problems[0].message
    assert len(seen) == 4  # the four other files; travel_times never reached pandas


def test_a_long_cell_names_its_file_row_and_column(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["slots"][1]["activity"] = "x" * 51
    [problem] = problems_of(write_rows(tmp_path, rows))
    assert (problem.file, problem.row, problem.column) == ("slots.csv", 3, "activity")
    assert "51 characters; at most 50" in problem.message


def test_a_cell_past_the_csv_field_limit_is_named_by_row(tmp_path: Path) -> None:
    folder = write_rows(tmp_path, dataset_rows())
    big = ReadLimits(max_file_bytes=1_000_000)
    with (folder / "sites.csv").open("a", encoding="utf-8") as handle:
        handle.write('"' + "y" * 200_000 + '"\n')
    [problem] = problems_of(folder, big)
    assert problem.file == "sites.csv" and problem.row == 4
    assert "longer than 10,000 characters" in problem.message


def test_a_file_over_the_size_limit_is_refused_without_being_read_whole(tmp_path: Path) -> None:
    folder = write_rows(tmp_path, dataset_rows())
    (folder / "participants.csv").write_bytes(b"participant_id\n" + b"P" * 10_000)
    [problem] = problems_of(folder)
    assert (problem.file, problem.row) == ("participants.csv", 0)
    assert "larger than 4,096 bytes" in problem.message


def test_the_defaults_are_what_check_uses(tmp_path: Path) -> None:
    folder = write_rows(tmp_path, dataset_rows())
    (folder / "slots.csv").write_text(",".join(f"c{i}" for i in range(101)) + "\n", encoding="utf-8")
    [problem] = problems_of(folder, ReadLimits())
    assert "at most 100 are read" in problem.message


# --- workbooks ---------------------------------------------------------------------------------------------------


def workbook(tmp_path: Path) -> Path:
    """A real small workbook of the tiny data set, one sheet per table."""
    import pandas as pd

    folder = tmp_path / "csv"
    write_dataset(make_instance(), folder)
    book = tmp_path / "data.xlsx"
    with pd.ExcelWriter(book, engine="openpyxl") as writer:
        for file in sorted(folder.glob("*.csv")):
            pd.read_csv(file, dtype=str, keep_default_na=False).to_excel(writer, sheet_name=file.stem, index=False)
    return book


def rewrite_member(book: Path, out: Path, name_part: str, edit) -> Path:  # type: ignore[no-untyped-def]
    """A copy of the workbook with the XML of the members whose name holds `name_part` edited."""
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            data = source.read(member)
            if name_part in member.filename:
                data = edit(data)
            target.writestr(member, data)
    return out


def test_a_declared_dimension_of_the_whole_sheet_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = workbook(tmp_path)
    expected, _ = read_dataset(book, SMALL)

    def declare_everything(xml: bytes) -> bytes:
        return re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', xml)

    hostile = rewrite_member(book, tmp_path / "hostile.xlsx", "worksheets/sheet", declare_everything)
    assert b"XFD1048576" in zipfile.ZipFile(hostile).read("xl/worksheets/sheet1.xml")
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    real = ReadOnlyWorksheet._cells_by_row
    widest = 0
    rows = 0

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal widest, rows
        for row in real(*args, **kwargs):
            rows += 1
            widest = max(widest, len(row))
            yield row

    monkeypatch.setattr(ReadOnlyWorksheet, "_cells_by_row", counting)
    instance, _ = read_dataset(hostile, SMALL)  # would pad each sheet to 16,384 columns x 1,048,576 rows
    assert instance == expected
    assert widest <= SMALL.max_columns + 1 and rows < 20  # the rows the sheets hold, cut a column past the limit


def test_a_workbook_too_large_unzipped_is_refused_before_openpyxl(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    book = workbook(tmp_path)

    def pad(xml: bytes) -> bytes:  # compresses to almost nothing
        return xml.replace(b"</worksheet>", b"<!--" + b" " * 300_000 + b"--></worksheet>")

    bomb = rewrite_member(book, tmp_path / "bomb.xlsx", "worksheets/sheet1", pad)
    assert bomb.stat().st_size < 50_000
    import openpyxl

    def never(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("openpyxl opened a workbook over the limit")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    [problem] = problems_of(bomb)
    assert problem.file == "bomb.xlsx" and "larger than 200,000 bytes once unzipped" in problem.message


def test_a_workbook_that_lies_about_its_sizes_is_refused(tmp_path: Path) -> None:
    book = workbook(tmp_path)
    liar = tmp_path / "liar.xlsx"
    data = bytearray(book.read_bytes())
    with zipfile.ZipFile(book) as archive:
        member = archive.getinfo("xl/worksheets/sheet1.xml")
    # The central directory's uncompressed size of that member, made 10 bytes: the real size is inflated anyway.
    name = member.filename.encode()
    start = 0
    while True:
        at = data.find(b"PK\x01\x02", start)
        assert at >= 0
        length = int.from_bytes(data[at + 28 : at + 30], "little")
        if bytes(data[at + 46 : at + 46 + length]) == name:
            data[at + 24 : at + 28] = (10).to_bytes(4, "little")
            break
        start = at + 4
    liar.write_bytes(bytes(data))
    [problem] = problems_of(liar)
    assert problem.file == "liar.xlsx" and problem.row == 0
    assert "larger than it declares" in problem.message or "cannot be opened" in problem.message


def test_a_sheet_with_too_many_rows_or_a_long_cell(tmp_path: Path) -> None:
    import openpyxl

    book = workbook(tmp_path)
    wb = openpyxl.load_workbook(book)
    sheet = wb["slots"]
    for _ in range(10):
        sheet.append([cell.value for cell in sheet[2]])
    wb.save(tmp_path / "rows.xlsx")
    [problem] = problems_of(tmp_path / "rows.xlsx")
    assert (problem.file, problem.row) == ("rows.xlsx[slots]", 7) and "more than 5 rows" in problem.message

    wb = openpyxl.load_workbook(book)
    wb["slots"]["C2"] = "z" * 60
    header = wb["slots"]["C1"].value
    wb.save(tmp_path / "cell.xlsx")
    [problem] = problems_of(tmp_path / "cell.xlsx")
    assert (problem.file, problem.row, problem.column) == ("cell.xlsx[slots]", 2, header)
    assert "60 characters; at most 50" in problem.message
