"""Writing a data set out in the exchange format: a zip of the CSV files or one workbook, stamped with its time so
that importing it back can tell a stale value from a change (see `service.imports.stamp`)."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

import matcher
from matcher import WEEKDAYS, CsvDialect, dataset_files
from service.imports.stamp import EXPORT_FILE, EXPORT_TABLE, stamp_csv, stamp_rows

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP_MEDIA_TYPE = "application/zip"


@dataclass(frozen=True)
class Export:
    content: bytes
    media_type: str
    filename: str
    participant_ids: list[str]


def _tables(instance: matcher.Instance) -> list[tuple[str, type, tuple[Any, ...]]]:
    """The tables `matcher.write_dataset` writes, in its order and with its columns."""
    tables: list[tuple[str, type, tuple[Any, ...]]] = [
        ("enterprises", matcher.Enterprise, instance.enterprises),
        ("sites", matcher.Site, instance.sites),
        ("slots", matcher.Slot, instance.slots),
        ("participants", matcher.Participant, instance.participants),
    ]
    if instance.travel_times:
        tables.append(("travel_times", matcher.TravelTime, instance.travel_times))
    return tables


def _xlsx_value(value: Any) -> Any:
    """A typed cell the reader turns back into the CSV text: numbers, booleans, dates stay typed; lists are joined."""
    if isinstance(value, frozenset):
        items = [d for d in WEEKDAYS if d in value] if value and value <= set(WEEKDAYS) else sorted(value)
        return "|".join(items) or None
    if isinstance(value, tuple):
        return "|".join(value) or None
    if isinstance(value, str):
        return value or None
    return value


def _workbook(instance: matcher.Instance, association_id: str, now: datetime) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, kind, records in _tables(instance):
        sheet = book.create_sheet(name)
        header = [f.name for f in fields(kind)]
        sheet.append(header)
        for r in records:
            sheet.append([_xlsx_value(getattr(r, h)) for h in header])
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if cell.data_type == "f":  # text is never a formula: `=…` in an id or a name stays text
                    cell.data_type = "s"
    stamp = book.create_sheet(EXPORT_TABLE)
    for values in stamp_rows(association_id, now):
        stamp.append(values)  # text, never an Excel date: the time keeps its offset and microseconds
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _zip_of_csv(instance: matcher.Instance, dialect: CsvDialect, association_id: str, now: datetime) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in dataset_files(instance, dialect).items():
            archive.writestr(name, content)
        archive.writestr(EXPORT_FILE, stamp_csv(association_id, now, dialect))
    return buffer.getvalue()


def dataset_export(
    instance: matcher.Instance, association_id: str, fmt: str, today: date, dialect: CsvDialect, now: datetime
) -> Export:
    """The data set as a zip of the CSV files (in `dialect`) or as one workbook, stamped with `now`."""
    stem = f"dataset-{re.sub(r'[^A-Za-z0-9_-]', '_', association_id)}-{today.isoformat()}"
    ids = [p.participant_id for p in instance.participants]
    if fmt == "xlsx":
        return Export(_workbook(instance, association_id, now), XLSX_MEDIA_TYPE, f"{stem}.xlsx", ids)
    return Export(_zip_of_csv(instance, dialect, association_id, now), ZIP_MEDIA_TYPE, f"{stem}.zip", ids)
