"""Raw tables of strings from a CSV folder or an .xlsx workbook, before any value is interpreted."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from zipfile import BadZipFile

import pandas as pd

from matcher.problems import Problem

TABLE_NAMES: tuple[str, ...] = ("enterprises", "sites", "slots", "participants", "travel_times")
OPTIONAL_TABLES: frozenset[str] = frozenset({"travel_times"})


@dataclass(frozen=True)
class RawTable:
    """One file's cells as stripped strings; row i of `frame` is spreadsheet row i + 2."""

    name: str
    source: str  # what messages call the file: `sites.csv`, or `data.xlsx[sites]`
    frame: pd.DataFrame
    decimal_comma: bool


def read_tables(path: Path) -> tuple[dict[str, RawTable], list[Problem]]:
    """Read the tables of a data set; a missing required table or unreadable file is a problem, not an exception."""
    if path.is_dir():
        return _read_csv_folder(path)
    if path.suffix.lower() == ".xlsx" and path.is_file():
        return _read_workbook(path)
    if not path.exists():
        return {}, [Problem(str(path), 0, "", "no such file or folder")]
    return {}, [Problem(str(path), 0, "", "a data set is a folder of CSV files or one .xlsx workbook")]


def _read_csv_folder(folder: Path) -> tuple[dict[str, RawTable], list[Problem]]:
    tables: dict[str, RawTable] = {}
    problems: list[Problem] = []
    for name in TABLE_NAMES:
        file = folder / f"{name}.csv"
        if not file.is_file():
            if name not in OPTIONAL_TABLES:
                problems.append(Problem(f"{name}.csv", 0, "", "required file is missing"))
            continue
        try:
            text = file.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            problems.append(Problem(file.name, 0, "", f"not UTF-8 text (byte {exc.start})"))
            continue
        if name in OPTIONAL_TABLES and not text.strip():
            continue  # an empty optional file says the same as no file
        table, table_problems = _parse_csv_text(name, file.name, text)
        if table_problems:
            problems += table_problems
        else:
            tables[name] = table
    return tables, problems


def _detect_separator(text: str) -> str:
    """`;` or `,`, whichever splits the header line into more fields (Swedish Excel writes `;`)."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def _parse_csv_text(name: str, source: str, text: str) -> tuple[RawTable, list[Problem]]:
    separator = _detect_separator(text)
    empty = RawTable(name, source, pd.DataFrame(), False)
    if not text.strip():
        return empty, [Problem(source, 1, "", "file is empty; the first row must name the columns")]
    extra = _extra_cells(source, text, separator)
    if extra:
        return empty, extra
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=separator,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            quoting=csv.QUOTE_MINIMAL,
            engine="c",
            index_col=False,  # never the first column as an index: pandas would shift every column
            usecols=lambda _: True,  # and drop trailing empty cells quietly (`_extra_cells` vetted them)
        )
    except (pd.errors.ParserError, ValueError) as exc:
        return empty, [Problem(source, 0, "", f"cannot be read as CSV: {str(exc).strip()}")]
    frame = _clean(frame)
    return RawTable(name, source, frame, decimal_comma=separator == ";"), []


def _extra_cells(source: str, text: str, separator: str) -> list[Problem]:
    """Every row with more cells than the header names (mostly a separator inside an unquoted cell), each by its row.

    pandas would stop at the first, or worse, when every row has one cell too many, silently take the first column
    as an index and shift all the others. One exception: when every data row ends in the same empty cells, they are
    trailing separators (some exports write them), not a shift, and are dropped.
    """
    try:
        records = csv.reader(io.StringIO(text), delimiter=separator)
        width = len(next(records, []))
        rows = [(row, cells) for row, cells in enumerate(records, start=2) if any(c.strip() for c in cells)]
    except csv.Error:
        return []  # pandas names the problem
    longer = [(row, cells) for row, cells in rows if len(cells) > width]
    trailing = len(longer) == len(rows) and all(not any(c.strip() for c in cells[width:]) for _, cells in longer)
    if not longer or trailing:
        return []
    return [
        Problem(
            source, row, "",
            f"{len(cells)} cells but the header names {width} columns (a cell holding '{separator}' must be quoted)",
        )  # fmt: skip
        for row, cells in longer
    ]


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Strip cells and header names; blank trailing rows vanish, blank rows in between stay so row numbers hold."""
    frame = frame.rename(columns=lambda c: str(c).strip())
    frame = frame.apply(lambda col: col.str.strip() if col.dtype == object or pd.api.types.is_string_dtype(col) else col)
    frame = frame.fillna("").astype(str)
    blank = (frame == "").all(axis=1)
    if blank.any():
        last = blank[~blank].index.max() if (~blank).any() else -1
        frame = frame.loc[: last]
    return frame.reset_index(drop=True)


def _read_workbook(path: Path) -> tuple[dict[str, RawTable], list[Problem]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    tables: dict[str, RawTable] = {}
    problems: list[Problem] = []
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, OSError, KeyError, ValueError) as exc:
        return {}, [Problem(path.name, 0, "", f"cannot be opened as an .xlsx workbook: {exc}")]
    sheets = {sheet.strip(): sheet for sheet in workbook.sheetnames}
    for name in TABLE_NAMES:
        source = f"{path.name}[{name}]"
        if name not in sheets:
            if name not in OPTIONAL_TABLES:
                problems.append(Problem(path.name, 0, "", f"required sheet '{name}' is missing"))
            continue
        rows = [[_cell_text(v) for v in row] for row in workbook[sheets[name]].iter_rows(values_only=True)]
        if not rows or not any(rows[0]):
            problems.append(Problem(source, 1, "", "sheet is empty; the first row must name the columns"))
            continue
        header = rows[0]
        width = max(i + 1 for i, h in enumerate(header) if h) if any(header) else 0
        body = [(r + [""] * width)[:width] for r in rows[1:]]
        frame = pd.DataFrame(body, columns=header[:width], dtype=str)
        tables[name] = RawTable(name, source, _clean(frame), decimal_comma=True)
    workbook.close()
    return tables, problems


def _cell_text(value: object) -> str:
    """Excel cells hold typed values; turn them into the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
