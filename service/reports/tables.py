"""One table writer for every report: CSV (machine names, a dialect) and xlsx (Swedish headings, formats, totals).

A report builds a `ReportTable` once; `to_csv` and `to_xlsx` render it. The CSV keeps the JSON's machine names and
numbers (a percentage is 0–100, as in the JSON) so programs can read it; the workbook is for people: a title row
with the report's date and filters, a bold frozen header row of Swedish headings, number formats, fitted column
widths and, where the JSON has totals, a bold "Totalt" row.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from matcher import CsvDialect, csv_bytes

Kind = Literal["text", "int", "decimal", "percent"]
NUMBER_FORMATS: dict[str, str] = {"int": "0", "decimal": "0.0", "percent": "0.0%"}
TOTAL_LABEL = "Totalt"
MAX_WIDTH = 60  # characters; longer names wrap the view, not the sheet


@dataclass(frozen=True)
class Column:
    name: str  # the machine name: the CSV header and the JSON key
    heading: str  # the Swedish heading of the workbook
    kind: Kind = "text"


@dataclass(frozen=True)
class ReportTable:
    title: str  # e.g. "Beläggning per plats"
    sheet: str  # the sheet's name (at most 31 characters)
    columns: list[Column]
    rows: list[list[Any]]
    filters: list[tuple[str, str]] = field(default_factory=list)  # (Swedish label, value), shown in the title row
    totals: list[Any] | None = None  # one value per column; the first text column says "Totalt"


def to_csv(table: ReportTable, dialect: CsvDialect) -> bytes:
    """A header row of machine names, then the rows (no totals: the rows are what programs read back)."""
    return csv_bytes([c.name for c in table.columns], table.rows, dialect)


def title_text(table: ReportTable) -> str:
    return " · ".join([table.title, *(f"{label}: {value}" for label, value in table.filters)])


def _xlsx_cell(value: Any, column: Column) -> Any:
    if value is None:
        return None
    if column.kind == "percent":
        return float(value) / 100  # the JSON's 0–100 as Excel's fraction, shown by "0.0%"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple, frozenset, set)):
        return "|".join(sorted(str(v) for v in value))
    return value


def _shown(value: Any, column: Column) -> str:
    """About what Excel shows, for the column width."""
    if value is None:
        return ""
    if column.kind == "percent":
        return f"{float(value):.1f} %"
    if column.kind == "decimal":
        return f"{float(value):.1f}"
    return str(value)


def to_xlsx(table: ReportTable) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = table.sheet[:31]
    title = title_text(table)
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=12)
    sheet.append([c.heading for c in table.columns])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    body = [*table.rows, *([_totals(table)] if table.totals is not None else [])]
    for values in body:
        sheet.append([_xlsx_cell(v, c) for v, c in zip(values, table.columns, strict=True)])
    last = 2 + len(body)
    for index, column in enumerate(table.columns, start=1):
        letter = get_column_letter(index)
        for (cell,) in sheet.iter_rows(min_row=3, max_row=last, min_col=index, max_col=index):
            if cell.data_type == "f":  # a name starting with '=' stays text, never a formula
                cell.data_type = "s"
            if column.kind in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[column.kind]
        width = max([len(column.heading), *(len(_shown(v[index - 1], column)) for v in body)])
        sheet.column_dimensions[letter].width = min(width + 2, MAX_WIDTH)
    if table.totals is not None:
        for cell in sheet[last]:
            cell.font = Font(bold=True)
    sheet.freeze_panes = "A3"  # the title and the headings stay in view
    if body:
        sheet.auto_filter.ref = f"A2:{get_column_letter(len(table.columns))}{2 + len(table.rows)}"  # not the totals
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _totals(table: ReportTable) -> list[Any]:
    assert table.totals is not None
    values = list(table.totals)
    first_text = next((i for i, c in enumerate(table.columns) if c.kind == "text"), None)
    if first_text is not None and values[first_text] is None:
        values[first_text] = TOTAL_LABEL
    return values


def columns(names: Sequence[str], headings: dict[str, tuple[str, Kind]]) -> list[Column]:
    """Columns by machine name, with their heading and kind from one table of headings (unknown: the name, text)."""
    return [Column(n, *headings.get(n, (n, "text"))) for n in names]
