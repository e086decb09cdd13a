"""Raw tables of strings from a CSV folder or an .xlsx workbook, before any value is interpreted."""

from __future__ import annotations

import codecs
import csv
import difflib
import io
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

import pandas as pd

from matcher.io.limits import ReadLimits, check_workbook, read_bounded
from matcher.problems import Problem

TABLE_NAMES: tuple[str, ...] = ("enterprises", "sites", "slots", "participants", "travel_times")
OPTIONAL_TABLES: frozenset[str] = frozenset({"travel_times"})


@dataclass(frozen=True)
class RawTable:
    """One file's cells as stripped strings; row i of `frame` is spreadsheet row i + 2.

    The frame's columns are the header names as `header_key` gives them (`Seats`, ` seats ` -> `seats`), so code
    can ask for `frame["seats"]`; a name that repeats an earlier one after that gets a number (`seats 2`).
    `headers` keeps the names as written, in the same order, for messages.
    """

    name: str
    source: str  # what messages call the file: `sites.csv`, or `data.xlsx[sites]`
    frame: pd.DataFrame
    decimal_comma: bool
    headers: tuple[str, ...] = ()
    warnings: tuple[Problem, ...] = ()  # about the file as a whole, e.g. the encoding assumed


def header_key(text: str) -> str:
    """How column and sheet names are matched: case and whitespace (anywhere, non-breaking too) do not count."""
    return "".join(text.split()).lower()


def _unique_keys(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    keys: list[str] = []
    for header in headers:
        key = header_key(header)
        seen[key] = seen.get(key, 0) + 1
        keys.append(key if seen[key] == 1 else f"{key} {seen[key]}")  # a key has no space: no clash
    return keys


def read_tables(path: Path, limits: ReadLimits | None = None) -> tuple[dict[str, RawTable], list[Problem]]:
    """Read the tables of a data set; a missing required table or unreadable file is a problem, not an exception.

    A file over one of `limits` (default `ReadLimits()`) is a problem too, found before the file is held whole.
    """
    limits = limits or ReadLimits()
    if path.is_dir():
        return _read_csv_folder(path, limits)
    if path.suffix.lower() == ".xlsx" and path.is_file():
        return _read_workbook(path, limits)
    if not path.exists():
        return {}, [Problem(str(path), 0, "", "no such file or folder")]
    return {}, [Problem(str(path), 0, "", "a data set is a folder of CSV files or one .xlsx workbook")]


def did_you_mean(wanted: str, found: list[str]) -> str | None:
    """The found name closest to `wanted` (as `header_key` sees them), if any is close enough to be a typo."""
    keys = {header_key(f): f for f in found if f.strip()}
    close = difflib.get_close_matches(header_key(wanted), list(keys), n=1, cutoff=0.75)
    return keys[close[0]] if close else None


def _find_file(folder: Path, name: str) -> tuple[Path | None, list[Problem]]:
    """`name.csv`, else the one file whose name matches it but for case and spaces (Windows does not tell `Sites.csv`
    from `sites.csv`); `.txt` too, which is what Excel calls its "Unicode text" export."""
    exact = folder / f"{name}.csv"
    if exact.is_file():
        return exact, []
    matches = sorted(
        f for f in folder.iterdir()
        if f.is_file() and f.suffix.lower() in (".csv", ".txt") and header_key(f.stem) == name
    )  # fmt: skip
    if len(matches) == 1:
        return matches[0], []
    if matches:
        names = " and ".join(f.name for f in matches)
        return None, [Problem(f"{name}.csv", 0, "", f"{names} could both be this file; keep one")]
    return None, []


def _missing_file(folder: Path, name: str) -> Problem:
    others = sorted(f.name for f in folder.iterdir() if f.is_file() and f.suffix.lower() in (".csv", ".txt"))
    known = {f"{t}.csv" for t in TABLE_NAMES}
    guess = did_you_mean(f"{name}.csv", [f for f in others if f.lower() not in known])
    hint = f"; found '{guess}', did you mean it?" if guess else ""
    return Problem(f"{name}.csv", 0, "", f"required file is missing{hint}")


def _read_csv_folder(folder: Path, limits: ReadLimits) -> tuple[dict[str, RawTable], list[Problem]]:
    tables: dict[str, RawTable] = {}
    problems: list[Problem] = []
    for name in TABLE_NAMES:
        file, found_problems = _find_file(folder, name)
        problems += found_problems
        if file is None:
            if name not in OPTIONAL_TABLES and not found_problems:
                problems.append(_missing_file(folder, name))
            continue
        data, size_problems = read_bounded(file, limits)
        if data is None:
            problems += size_problems
            continue
        text, encoding_warnings, encoding_problems = decode(file.name, data)
        del data
        if encoding_problems:
            problems += encoding_problems
            continue
        if name in OPTIONAL_TABLES and not text.strip():
            continue  # an empty optional file says the same as no file
        table, table_problems = _parse_csv_text(name, file.name, text, tuple(encoding_warnings), limits)
        if table_problems:
            problems += table_problems
        else:
            tables[name] = table
    return tables, problems


def decode(source: str, data: bytes) -> tuple[str, list[Problem], list[Problem]]:
    """The file's text, with (warnings, problems): UTF-8 with or without a byte-order mark, UTF-16 with one, and
    otherwise Windows-1252, which Swedish Excel's "CSV (semikolonavgränsad)" writes (with a warning saying so)."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), [], []
        except UnicodeDecodeError as exc:
            start = exc.start + len(codecs.BOM_UTF8)
            return "", [], [Problem(source, 0, "", f"starts as UTF-8 but is not UTF-8 text (byte {start})")]
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), [], []
        except UnicodeDecodeError as exc:
            return "", [], [Problem(source, 0, "", f"starts as UTF-16 but is not UTF-16 text (byte {exc.start})")]
    try:
        return data.decode("utf-8"), [], []
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    if data.count(0) * 4 >= len(data):
        # Mostly NUL bytes: UTF-16 without its byte-order mark. Guessing its byte order would be a gamble.
        return "", [], [Problem(source, 0, "", "looks like UTF-16 without a byte-order mark; save it as UTF-8")]
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        return (
            "",
            [],
            [Problem(source, 0, "", f"neither UTF-8 (byte {first_bad}) nor Windows-1252 text (byte {exc.start})")],
        )
    warning = Problem(
        source, 0, "", f"not UTF-8 (byte {first_bad}); read as Windows-1252, the encoding of Excel's semicolon CSV"
    )
    return text, [warning], []


SEPARATORS = (",", ";", "\t")


def _detect_separator(text: str) -> str:
    """`,`, `;` or a tab, whichever splits the header line into most fields (Swedish Excel writes `;`, its
    "Unicode text" tabs); a tie goes to the earlier in that list."""
    header = text.split("\n", 1)[0]
    return max(SEPARATORS, key=header.count)


def _parse_csv_text(
    name: str, source: str, text: str, warnings: tuple[Problem, ...] = (), limits: ReadLimits | None = None
) -> tuple[RawTable, list[Problem]]:
    limits = limits or ReadLimits()
    separator = _detect_separator(text)
    empty = RawTable(name, source, pd.DataFrame(), False)
    if not text.strip():
        return empty, [Problem(source, 1, "", "file is empty; the first row must name the columns")]
    extra = _scan_csv(source, text, separator, limits)
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
            usecols=lambda _: True,  # and drop trailing empty cells quietly (`_scan_csv` vetted them)
        )
    except (pd.errors.ParserError, ValueError) as exc:
        return empty, [Problem(source, 0, "", f"cannot be read as CSV: {str(exc).strip()}")]
    headers = _csv_header(text, separator)
    if len(headers) != len(frame.columns):  # cannot happen after `_scan_csv`; pandas' own names then
        headers = [str(c) for c in frame.columns]
    frame.columns = pd.Index(_unique_keys(headers))
    decimal_comma = separator in (";", "\t")
    return RawTable(name, source, _clean(frame), decimal_comma, tuple(h.strip() for h in headers), warnings), []


def _csv_header(text: str, separator: str) -> list[str]:
    """The header's names as written; pandas would rename repeats (`seats.1`) and empty ones (`Unnamed: 3`)."""
    try:
        return next(csv.reader(io.StringIO(text), delimiter=separator), [])
    except csv.Error:
        return []


def _scan_csv(source: str, text: str, separator: str, limits: ReadLimits) -> list[Problem]:
    """One pass over the records before pandas sees them: the limits (columns, rows, cell length), each checked as
    the record is read so that the pass stops at the first one exceeded, and rows with more cells than the header.

    Extra cells are mostly a separator inside an unquoted cell. pandas would stop at the first, or worse, when every
    row has one cell too many, silently take the first column as an index and shift all the others. One exception:
    when every data row ends in the same empty cells, they are trailing separators (some exports write them), not a
    shift, and are dropped.
    """
    records = csv.reader(io.StringIO(text), delimiter=separator)
    header: list[str] = []
    row = 1
    longer: list[tuple[int, int, bool]] = []  # (row, cells, only empty cells past the header's width)
    filled = 0
    try:
        header = next(records, [])
        if len(header) > limits.max_columns:
            message = f"the header names {len(header):,} columns; at most {limits.max_columns:,} are read"
            return [Problem(source, 1, "", message)]
        width = len(header)
        long_cell = _long_cell(source, 1, header, header, limits)
        if long_cell:
            return long_cell
        for row, cells in enumerate(records, start=2):
            if row - 1 > limits.max_rows:
                return [Problem(source, row, "", f"more than {limits.max_rows:,} rows; at most that many are read")]
            n = len(cells)
            if n > limits.max_columns:
                message = f"{n:,} cells; at most {limits.max_columns:,} columns are read"
                return [Problem(source, row, "", message)]
            if n and max(map(len, cells)) > limits.max_cell_chars:
                return _long_cell(source, row, cells, header, limits)
            if not "".join(cells).strip():
                continue
            filled += 1
            if n > width:
                longer.append((row, n, not "".join(cells[width:]).strip()))
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            message = f"a cell is longer than {min(limits.max_cell_chars, csv.field_size_limit()):,} characters"
            return [Problem(source, row + 1, "", message)]
        return []  # pandas names the problem
    trailing = len(longer) == filled and all(empty for _, _, empty in longer)
    if not longer or trailing:
        return []
    return [
        Problem(
            source,
            row,
            "",
            f"{n} cells but the header names {width} columns (a cell holding '{separator}' must be quoted)",
        )  # fmt: skip
        for row, n, _ in longer
    ]


def _long_cell(source: str, row: int, cells: list[str], header: list[str], limits: ReadLimits) -> list[Problem]:
    """The first cell of the row longer than the limit, as a problem naming its row and column."""
    for i, cell in enumerate(cells):
        if len(cell) > limits.max_cell_chars:
            column = header[i].strip() if i < len(header) and header[i].strip() else f"column {i + 1}"
            message = f"the cell holds {len(cell):,} characters; at most {limits.max_cell_chars:,} are allowed"
            return [Problem(source, row, column, message)]
    return []


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Strip cells; blank trailing rows vanish, blank rows in between stay so row numbers hold."""
    frame = frame.apply(
        lambda col: col.str.strip() if col.dtype == object or pd.api.types.is_string_dtype(col) else col
    )
    frame = frame.fillna("").astype(str)
    blank = (frame == "").all(axis=1)
    if blank.any():
        last = blank[~blank].index.max() if (~blank).any() else -1
        frame = frame.loc[:last]
    return frame.reset_index(drop=True)


def _read_workbook(path: Path, limits: ReadLimits) -> tuple[dict[str, RawTable], list[Problem]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    too_big = check_workbook(path, limits)  # before openpyxl parses a byte of it
    if too_big:
        return {}, too_big
    tables: dict[str, RawTable] = {}
    problems: list[Problem] = []
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, OSError, KeyError, ValueError) as exc:
        return {}, [Problem(path.name, 0, "", f"cannot be opened as an .xlsx workbook: {exc}")]
    sheets: dict[str, list[str]] = {}
    for sheet in workbook.sheetnames:
        sheets.setdefault(header_key(sheet), []).append(sheet)
    for name in TABLE_NAMES:
        source = f"{path.name}[{name}]"
        found = sheets.get(name, [])
        if len(found) > 1:
            named = " and ".join(f"'{s}'" for s in found)
            problems.append(Problem(path.name, 0, "", f"sheets {named} could both be '{name}'; keep one"))
            continue
        if not found:
            if name not in OPTIONAL_TABLES:
                problems.append(_missing_sheet(path.name, name, list(workbook.sheetnames)))
            continue
        rows, limit_problems = _sheet_rows(workbook[found[0]], source, limits)
        if limit_problems:
            problems += limit_problems
            continue
        if not rows or not any(rows[0]):
            if name in OPTIONAL_TABLES and not any(any(r) for r in rows):
                continue  # an empty optional sheet says the same as no sheet
            problems.append(Problem(source, 1, "", "sheet is empty; the first row must name the columns"))
            continue
        header = rows[0]
        width = max(i + 1 for i, h in enumerate(header) if h)
        body = [(r + [""] * width)[:width] for r in rows[1:]]
        headers = [h.strip() for h in header[:width]]
        frame = pd.DataFrame(body, columns=_unique_keys(headers), dtype=str)
        tables[name] = RawTable(name, source, _clean(frame), decimal_comma=True, headers=tuple(headers))
    workbook.close()
    return tables, problems


def _sheet_rows(sheet: Any, source: str, limits: ReadLimits) -> tuple[list[list[str]], list[Problem]]:
    """A sheet's cells as text, up to its last row with a value, or a problem at the first limit exceeded.

    The sheet's declared dimension (`A1:XFD1048576`) is ignored: openpyxl would pad every row to its declared width
    (16,384 cells a row: 3 GB for a workbook of 28 KB). Rows are read as the XML holds them, cut one column past the
    limit; blank rows are counted, not held, until a row with a value follows them (trailing ones cost nothing).
    """
    sheet.reset_dimensions()
    rows: list[list[str]] = []
    header: list[str] = []
    blank = 0
    for number, values in enumerate(sheet.iter_rows(max_col=limits.max_columns + 1, values_only=True), start=1):
        cells = [_cell_text(v) for v in values]
        while cells and not cells[-1]:
            cells.pop()
        if not any(cells):
            blank += 1
            continue
        if number == 1 or not rows:
            header = cells
        if len(cells) > limits.max_columns:
            what = "the header names" if number == 1 else "the row has"
            message = f"{what} more than {limits.max_columns:,} columns; at most that many are read"
            return [], [Problem(source, number, "", message)]
        if number - 1 > limits.max_rows:
            return [], [Problem(source, number, "", f"more than {limits.max_rows:,} rows; at most that many are read")]
        long_cell = _long_cell(source, number, cells, header, limits)
        if long_cell:
            return [], long_cell
        rows += [[] for _ in range(blank)]
        blank = 0
        rows.append(cells)
    return rows, []


def _missing_sheet(book: str, name: str, found: list[str]) -> Problem:
    known = set(TABLE_NAMES)
    guess = did_you_mean(name, [s for s in found if header_key(s) not in known])
    hint = f"; found '{guess}', did you mean it?" if guess else ""
    listed = ", ".join(f"'{s}'" for s in found) or "none"
    return Problem(book, 0, "", f"required sheet '{name}' is missing{hint} (sheets found: {listed})")


def _cell_text(value: object) -> str:
    """Excel cells hold typed values; turn them into the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        # Excel has no date type: a date is a date-time at midnight. Another time is kept, for the date
        # converter to refuse by name.
        if value.time() == time(0):
            return value.date().isoformat()
        precision = "minutes" if value.second == value.microsecond == 0 else "seconds"
        return value.isoformat(sep=" ", timespec=precision)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="minutes")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
