"""Turn raw tables into a valid `Instance`, or collect every problem as `file:row:column: message`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from matcher.domain import (
    DEFAULT_SUPERVISION_RATIO,
    Enterprise,
    Instance,
    Participant,
    Site,
    Slot,
    TravelTime,
)
from matcher.integrity import RowLocator, check_integrity, check_references
from matcher.io import cells
from matcher.io.codes import code_warnings
from matcher.io.limits import ReadLimits
from matcher.io.locator import Locator, RecordKey
from matcher.io.tables import RawTable, did_you_mean, header_key, read_tables
from matcher.problems import InvalidDataset, Problem

Check = Callable[[Any], str | None]
# Control characters in a cell are an export gone wrong; they would also break a workbook written back out.
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0 but tab and line breaks, DEL, C1


def at_least(low: float) -> Check:
    return lambda v: None if v >= low else f"must be at least {low:g}, got {v:g}"


def between(low: float, high: float) -> Check:
    return lambda v: None if low <= v <= high else f"must be between {low:g} and {high:g}, got {v:g}"


def above(low: float) -> Check:
    return lambda v: None if v > low else f"must be greater than {low:g}, got {v:g}"


@dataclass(frozen=True)
class Column:
    name: str
    convert: cells.Converter
    required: bool = False
    check: Check | None = None
    default: Any = None
    # The converter may correct a near miss (a municipality without its diacritics); say so in a warning.
    warn_when_corrected: bool = False


ID = cells.to_id
PID = cells.to_participant_id  # a participant's id and codes: not shaped like a name either
COLUMNS: dict[str, tuple[Column, ...]] = {
    "enterprises": (
        Column("enterprise_id", ID, True),
        Column("name", cells.to_text, True),
        Column("municipality", cells.to_municipality, True, warn_when_corrected=True),
    ),
    "sites": (
        Column("site_id", ID, True),
        Column("enterprise_id", ID, True),
        Column("name", cells.to_text, True),
        Column("municipality", cells.to_municipality, True, warn_when_corrected=True),
        Column("lat", cells.to_float, True, between(-90, 90)),
        Column("lon", cells.to_float, True, between(-180, 180)),
        Column("accessibility", cells.to_code_set, default=frozenset()),
        Column("supervisor_hours", cells.to_float, check=at_least(0)),
    ),
    "slots": (
        Column("slot_id", ID, True),
        Column("site_id", ID, True),
        Column("activity", ID, True),
        Column("seats", cells.to_int, True, at_least(0)),
        Column("min_hours", cells.to_int, True, between(0, 40)),
        Column("max_hours", cells.to_int, True, between(0, 40)),
        Column("days", cells.to_days, True, default=frozenset()),
        Column("supports", cells.to_code_set, default=frozenset()),
        Column("programmes", cells.to_code_set, default=frozenset()),
        Column("min_age", cells.to_int, check=at_least(0)),
        Column("max_age", cells.to_int, check=at_least(0)),
        Column("women_only", cells.to_bool, default=False),
        Column("supervision_ratio", cells.to_float, check=at_least(0), default=DEFAULT_SUPERVISION_RATIO),
        Column("available_from", cells.to_date),
        Column("available_to", cells.to_date),
    ),
    "participants": (
        Column("participant_id", PID, True),
        Column("programme", PID, True),
        Column("municipality", cells.to_municipality, True, warn_when_corrected=True),
        Column("lat", cells.to_float, True, between(-90, 90)),
        Column("lon", cells.to_float, True, between(-180, 180)),
        Column("age", cells.to_int, check=between(0, 150)),
        Column("gender", cells.to_gender),
        Column("hours_per_week", cells.to_int, True, between(1, 40)),
        Column("days_available", cells.to_days, True, default=frozenset()),
        Column("max_travel_minutes", cells.to_int, True, above(0)),
        Column("travel_mode", cells.to_travel_mode, default="transit"),
        Column("needs", cells.to_participant_code_set, default=frozenset()),
        Column("preferences", cells.to_participant_code_list, default=()),
        Column("avoid_enterprises", cells.to_code_set, default=frozenset()),
        Column("waiting_since", cells.to_date),
        Column("current_slot_id", ID),
        Column("pinned", cells.to_bool, default=False),
    ),
    "travel_times": (
        Column("participant_id", PID, True),
        Column("site_id", ID, True),
        Column("minutes", cells.to_int, True, at_least(0)),
    ),
}
# A required list column may hold an empty list (the row then matches nothing); other required cells may not be empty.
EMPTY_ALLOWED = {"days", "days_available"}
ID_COLUMN = {"enterprises": "enterprise_id", "sites": "site_id", "slots": "slot_id", "participants": "participant_id"}


@dataclass
class ParsedTable:
    """One table's converted cells, column by column, with the spreadsheet row of each record."""

    table: RawTable
    values: dict[str, list[Any]]  # every column of the spec; defaults where the file lacks the column
    present: frozenset[str]  # the spec's columns the file has
    rows: list[int]
    problems: list[Problem]
    warnings: list[Problem]

    def records(self) -> list[dict[str, Any]]:
        return [{name: column[i] for name, column in self.values.items()} for i in range(len(self.rows))]


@dataclass(frozen=True)
class Dataset:
    """A data set that was read: the instance, the warnings about it, and where each of its records is."""

    instance: Instance
    warnings: list[Problem]
    locator: Locator


def read(path: Path | str, limits: ReadLimits | None = None) -> Dataset:
    """Read and validate a data set; return it with its warnings and locator, or raise `InvalidDataset` with all
    problems.

    All problems means all: a bad cell in one file does not hide an unknown reference in another. References are
    checked on every row whose key cells parse. A file over one of `limits` (default `ReadLimits()`) is a problem,
    found before it is held whole.
    """
    return read_raw_tables(*read_tables(Path(path), limits))


def read_dataset(path: Path | str, limits: ReadLimits | None = None) -> tuple[Instance, list[Problem]]:
    """`read` as (instance, warnings)."""
    dataset = read(path, limits)
    return dataset.instance, dataset.warnings


def read_raw_tables(tables: dict[str, RawTable], problems: list[Problem]) -> Dataset:
    """`read` over tables that `read_tables` has read already (and its problems), so a caller that looked at the
    tables first does not read the files again."""
    problems = list(problems)
    warnings: list[Problem] = [w for table in tables.values() for w in table.warnings]
    parsed = {name: _parse_table(table) for name, table in tables.items()}
    for table in parsed.values():
        problems += table.problems
        warnings += table.warnings
    warnings += code_warnings(parsed)
    locator = RowLocator(
        files={name: table.source for name, table in tables.items()},
        rows={name: dict(enumerate(table.rows)) for name, table in parsed.items()},
    )
    if problems:
        keys = {name: {c: t.values[c] for c in t.present} for name, t in parsed.items()}
        reference_problems, reference_warnings = check_references(keys, locator)
        raise InvalidDataset(sorted(problems + reference_problems), warnings + reference_warnings)

    records = {name: table.records() for name, table in parsed.items()}
    instance = Instance(
        enterprises=tuple(Enterprise(**r) for r in records["enterprises"]),
        sites=tuple(Site(**r) for r in records["sites"]),
        slots=tuple(Slot(**r) for r in records["slots"]),
        participants=tuple(Participant(**r) for r in records["participants"]),
        travel_times=tuple(TravelTime(**r) for r in records.get("travel_times", [])),
    )
    integrity_problems, integrity_warnings = check_integrity(instance, locator)
    warnings += integrity_warnings
    if integrity_problems:
        raise InvalidDataset(sorted(integrity_problems), warnings)
    return Dataset(instance, warnings, _record_locator(tables, parsed))


def _record_locator(tables: dict[str, RawTable], parsed: dict[str, ParsedTable]) -> Locator:
    """Each record's first row, by its key."""
    rows: dict[str, dict[RecordKey, int]] = {}
    for name, table in parsed.items():
        if name == "travel_times":
            keys: list[RecordKey] = list(zip(table.values["participant_id"], table.values["site_id"], strict=True))
        else:
            keys = table.values[ID_COLUMN[name]]
        found: dict[RecordKey, int] = {}
        for key, row in zip(keys, table.rows, strict=True):
            found.setdefault(key, row)
        rows[name] = found
    return Locator(files={name: table.source for name, table in tables.items()}, rows=rows)


def parse_date(text: str) -> date:
    """A date as the data files write it: strictly YYYY-MM-DD (surrounding spaces aside); `ValueError` otherwise."""
    return cells.to_date(text.strip(), False)


def load_dataset(path: Path | str) -> Instance:
    """`read_dataset` without the warnings."""
    return read_dataset(path)[0]


def _parse_table(table: RawTable) -> ParsedTable:
    spec = COLUMNS[table.name]
    frame = table.frame
    headers = table.headers or tuple(str(c) for c in frame.columns)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    by_name = {c.name: c for c in spec}
    first_header: dict[str, str] = {}
    for key, header in zip(frame.columns, headers, strict=True):
        base = str(key).split(" ", 1)[0]  # `seats 2`: the second header that means seats
        if base in by_name and base not in first_header:
            first_header[base] = header
        elif base in by_name:
            problems.append(
                Problem(
                    table.source,
                    1,
                    base,
                    f"column '{header}' repeats column '{first_header[base]}' (names ignore case and spaces); keep one",
                )  # fmt: skip
            )
        elif base == "":
            if (frame[key] != "").any():
                warnings.append(Problem(table.source, 1, "", "a column without a name, ignored"))
        else:
            guess = did_you_mean(header, [c.name for c in spec if c.name not in frame.columns])
            hint = f"; did you mean '{guess}'?" if guess else ""
            warnings.append(Problem(table.source, 1, header, f"unknown column, ignored{hint}"))
    present = frozenset(first_header)
    for column in spec:
        if column.required and column.name not in present:
            problems.append(Problem(table.source, 1, column.name, _missing_column(column.name, headers, by_name)))

    blank = (frame == "").all(axis=1) if len(frame.columns) else pd.Series(True, index=frame.index)
    kept = frame.index[~blank]
    row_numbers = [int(i) + 2 for i in kept]
    values: dict[str, list[Any]] = {}
    for column in spec:
        if column.name not in present:
            values[column.name] = [column.default] * len(kept)
            continue
        values[column.name] = _convert_column(
            table, column, frame.loc[kept, column.name], row_numbers, problems, warnings
        )
    problems += _row_rules(table, values, row_numbers)
    problems += _unique_ids(table, values, row_numbers)
    return ParsedTable(table, values, present, row_numbers, problems, warnings)


def _missing_column(name: str, headers: tuple[str, ...], known: Mapping[str, Column]) -> str:
    """Which columns there are, and the one that is probably meant: `Seat` for `seats`."""
    unmatched = [h for h in headers if header_key(h) not in known]
    guess = did_you_mean(name, unmatched)
    hint = f"; found '{guess}', did you mean it?" if guess else ""
    found = ", ".join(f"'{h}'" for h in headers if h) or "none"
    return f"required column is missing{hint} (columns found: {found})"


def _convert_column(
    table: RawTable,
    column: Column,
    cells_: pd.Series,
    row_numbers: list[int],
    problems: list[Problem],
    warnings: list[Problem],
) -> list[Any]:
    """Convert each distinct text once (cells repeat a lot), then spread the results over the rows."""
    converted: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for text in pd.unique(cells_):
        if text == "":
            if column.required and column.name not in EMPTY_ALLOWED:
                errors[text] = "required value is empty"
            else:
                converted[text] = column.default
            continue
        if CONTROL_CHARACTER.search(text):
            errors[text] = "holds a control character (only printable text is allowed)"
            continue
        try:
            value = column.convert(text, table.decimal_comma)
            message = column.check(value) if column.check else None
        except ValueError as exc:
            message = str(exc)
        if message:
            errors[text] = message
        else:
            converted[text] = value
    out: list[Any] = []
    corrected: dict[str, list[int]] = {}
    for text, row in zip(cells_.tolist(), row_numbers, strict=True):
        if text in errors:
            problems.append(Problem(table.source, row, column.name, errors[text]))
            out.append(column.default)
        else:
            out.append(converted[text])
            if column.warn_when_corrected and converted[text] != text:
                corrected.setdefault(text, []).append(row)
    for text, rows in corrected.items():  # one warning per spelling, not one per row
        more = f" (also on {len(rows) - 1} more row{'s' if len(rows) > 2 else ''})" if len(rows) > 1 else ""
        warnings.append(Problem(table.source, rows[0], column.name, f"'{text}' read as '{converted[text]}'{more}"))
    return out


def _row_rules(table: RawTable, values: dict[str, list[Any]], row_numbers: list[int]) -> list[Problem]:
    """Rules that relate two cells of one row."""
    problems: list[Problem] = []
    pairs = {
        "slots": [("min_hours", "max_hours"), ("min_age", "max_age"), ("available_from", "available_to")],
    }.get(table.name, [])
    for low, high in pairs:
        for i, row in enumerate(row_numbers):
            a, b = values[low][i], values[high][i]
            if a is not None and b is not None and a > b:
                problems.append(Problem(table.source, row, high, f"{high} ({b}) is before {low} ({a})"))
    if table.name == "participants":
        for i, row in enumerate(row_numbers):
            if values["pinned"][i] and not values["current_slot_id"][i]:
                message = "a pinned participant needs current_slot_id"
                problems.append(Problem(table.source, row, "current_slot_id", message))
    return problems


def _unique_ids(table: RawTable, values: dict[str, list[Any]], row_numbers: list[int]) -> list[Problem]:
    problems: list[Problem] = []
    if table.name == "travel_times":
        keys: list[Any] = list(zip(values["participant_id"], values["site_id"], strict=True))
        column, what = "site_id", "travel time for this participant and site"
    else:
        column = ID_COLUMN[table.name]
        keys, what = values[column], column
    first: dict[Any, int] = {}
    for key, row in zip(keys, row_numbers, strict=True):
        if key is None or key == "":
            continue
        if key in first:
            problems.append(Problem(table.source, row, column, f"duplicate {what} (first on row {first[key]})"))
        else:
            first[key] = row
    return problems
