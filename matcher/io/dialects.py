"""CSV dialects for files people open in a spreadsheet, and a data set written in either of them.

Swedish Excel opens a CSV file by double-click only when it is `;`-separated with decimal commas, and reads å, ä, ö
only with a byte-order mark; other tools want `,` and decimal points. The reader (`matcher.io.tables`) reads both:
a `;` header means decimal commas are allowed, so a data set written here in either dialect reads back the same.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from matcher.domain import WEEKDAYS, Enterprise, Instance, Participant, Site, Slot, TravelTime


@dataclass(frozen=True)
class CsvDialect:
    name: str
    separator: str
    decimal_comma: bool
    bom: bool
    line_end: str


SEMICOLON = CsvDialect("semicolon", ";", decimal_comma=True, bom=True, line_end="\r\n")
"""What Swedish Excel writes and opens by double-click: `;`, decimal commas, UTF-8 with a byte-order mark, CRLF."""
COMMA = CsvDialect("comma", ",", decimal_comma=False, bom=False, line_end="\n")
"""What `matcher.write_dataset` writes: `,`, decimal points, UTF-8 without a byte-order mark, LF."""
DIALECTS: dict[str, CsvDialect] = {d.name: d for d in (SEMICOLON, COMMA)}


def cell_text(value: Any, dialect: CsvDialect) -> str:
    """One value as the text of a cell: empty for None, true/false, ISO dates, `|`-joined lists (sets sorted)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, frozenset):
        # Weekdays in calendar order, other sets sorted, so files are stable across runs.
        items = [d for d in WEEKDAYS if d in value] if value and value <= set(WEEKDAYS) else sorted(value)
        return "|".join(items)
    if isinstance(value, (tuple, list)):
        return "|".join(str(v) for v in value)
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() else str(value)
        return text.replace(".", ",") if dialect.decimal_comma else text
    return str(value)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]], dialect: CsvDialect) -> bytes:
    """A header row and the rows, every value through `cell_text`, encoded as the dialect says."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=dialect.separator, lineterminator=dialect.line_end)
    writer.writerow(header)
    writer.writerows([cell_text(v, dialect) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig" if dialect.bom else "utf-8")


def dataset_files(instance: Instance, dialect: CsvDialect) -> dict[str, bytes]:
    """file name -> content: the files and columns of `matcher.write_dataset` (travel_times only when it has rows)."""
    tables: list[tuple[str, type, tuple[Any, ...]]] = [
        ("enterprises", Enterprise, instance.enterprises),
        ("sites", Site, instance.sites),
        ("slots", Slot, instance.slots),
        ("participants", Participant, instance.participants),
    ]
    if instance.travel_times:
        tables.append(("travel_times", TravelTime, instance.travel_times))
    out: dict[str, bytes] = {}
    for name, kind, records in tables:
        header = [f.name for f in fields(kind)]
        out[f"{name}.csv"] = csv_bytes(header, ([getattr(r, h) for h in header] for r in records), dialect)
    return out
