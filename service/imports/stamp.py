"""When an export was made: `export.csv` in the zip, an `export` sheet in the workbook.

An import uses it to tell a change made in the service after the export (the file is out of date there) from a
change the coordinator made in the file. The reader ignores the file and the sheet; an upload without them is
judged by the capacity history alone (see `service.imports.diffing`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matcher
from matcher import CsvDialect, csv_bytes

EXPORT_TABLE = "export"
EXPORT_FILE = f"{EXPORT_TABLE}.csv"
COLUMNS = ("exported_at", "association_id")


@dataclass(frozen=True)
class Stamp:
    exported_at: datetime  # aware, UTC
    association_id: str
    file: str  # what problems and warnings call it: `export.csv` or `book.xlsx[export]`


def stamp_rows(association_id: str, at: datetime) -> list[list[str]]:
    return [list(COLUMNS), [at.astimezone(UTC).isoformat(), association_id]]


def stamp_csv(association_id: str, at: datetime, dialect: CsvDialect) -> bytes:
    header, row = stamp_rows(association_id, at)
    return csv_bytes(header, [row], dialect)


def read_stamp(path: Path, kind: str) -> Stamp | None:
    """The stamp of an upload (a CSV folder or a workbook), None without one; `InvalidDataset` when unreadable."""
    if kind == "csv":
        file = path / EXPORT_FILE
        if not file.is_file():
            return None
        try:
            text = file.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise matcher.InvalidDataset(
                [matcher.Problem(EXPORT_FILE, 0, "", f"not UTF-8 text (byte {exc.start})")], []
            ) from None
        header = text.split("\n", 1)[0]
        rows: list[list[Any]] = list(csv.reader(io.StringIO(text), delimiter=";" if ";" in header else ","))
        return _parse(rows, EXPORT_FILE)
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheets = {name.strip().lower(): name for name in book.sheetnames}
        if EXPORT_TABLE not in sheets:
            return None
        rows = [list(r) for r in book[sheets[EXPORT_TABLE]].iter_rows(values_only=True)]
    finally:
        book.close()
    return _parse(rows, f"{path.name}[{EXPORT_TABLE}]")


def _parse(rows: list[list[Any]], source: str) -> Stamp:
    def problem(row: int, column: str, message: str) -> matcher.InvalidDataset:
        return matcher.InvalidDataset([matcher.Problem(source, row, column, message)], [])

    header = [str(h or "").strip().lower() for h in (rows[0] if rows else [])]
    for name in COLUMNS:
        if name not in header:
            raise problem(1, name, "required column is missing")
    if len(rows) < 2:
        raise problem(2, "exported_at", "the row with the export's time is missing")
    values = dict(zip(header, rows[1], strict=False))
    text = str(values.get("exported_at") or "").strip()
    try:
        at = values["exported_at"] if isinstance(values["exported_at"], datetime) else datetime.fromisoformat(text)
    except ValueError:
        raise problem(2, "exported_at", f"'{text}' is not a time such as 2026-11-23T14:05:00+00:00") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return Stamp(at.astimezone(UTC), str(values.get("association_id") or "").strip(), source)
