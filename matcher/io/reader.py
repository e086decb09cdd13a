"""Turn raw tables into a valid `Instance`, or collect every problem as `file:row:column: message`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
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
from matcher.integrity import RowLocator, check_integrity
from matcher.io import cells
from matcher.io.tables import RawTable, read_tables
from matcher.problems import InvalidDataset, Problem

Check = Callable[[Any], str | None]
# Control characters in a cell are an export gone wrong; they would also break a workbook written back out.
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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


ID = cells.to_str
COLUMNS: dict[str, tuple[Column, ...]] = {
    "enterprises": (
        Column("enterprise_id", ID, True),
        Column("name", cells.to_str, True),
        Column("municipality", cells.to_str, True),
    ),
    "sites": (
        Column("site_id", ID, True),
        Column("enterprise_id", ID, True),
        Column("name", cells.to_str, True),
        Column("municipality", cells.to_str, True),
        Column("lat", cells.to_float, True, between(-90, 90)),
        Column("lon", cells.to_float, True, between(-180, 180)),
        Column("accessibility", cells.to_set, default=frozenset()),
        Column("supervisor_hours", cells.to_float, check=at_least(0)),
    ),
    "slots": (
        Column("slot_id", ID, True),
        Column("site_id", ID, True),
        Column("activity", cells.to_str, True),
        Column("seats", cells.to_int, True, at_least(0)),
        Column("min_hours", cells.to_int, True, between(0, 40)),
        Column("max_hours", cells.to_int, True, between(0, 40)),
        Column("days", cells.to_days, True, default=frozenset()),
        Column("supports", cells.to_set, default=frozenset()),
        Column("programmes", cells.to_set, default=frozenset()),
        Column("min_age", cells.to_int, check=at_least(0)),
        Column("max_age", cells.to_int, check=at_least(0)),
        Column("women_only", cells.to_bool, default=False),
        Column("supervision_ratio", cells.to_float, check=at_least(0), default=DEFAULT_SUPERVISION_RATIO),
        Column("available_from", cells.to_date),
        Column("available_to", cells.to_date),
    ),
    "participants": (
        Column("participant_id", ID, True),
        Column("programme", cells.to_str, True),
        Column("municipality", cells.to_str, True),
        Column("lat", cells.to_float, True, between(-90, 90)),
        Column("lon", cells.to_float, True, between(-180, 180)),
        Column("age", cells.to_int, check=between(0, 150)),
        Column("gender", cells.to_gender),
        Column("hours_per_week", cells.to_int, True, between(1, 40)),
        Column("days_available", cells.to_days, True, default=frozenset()),
        Column("max_travel_minutes", cells.to_int, True, above(0)),
        Column("travel_mode", cells.to_travel_mode, default="transit"),
        Column("needs", cells.to_set, default=frozenset()),
        Column("preferences", cells.to_list, default=()),
        Column("avoid_enterprises", cells.to_set, default=frozenset()),
        Column("waiting_since", cells.to_date),
        Column("current_slot_id", ID),
        Column("pinned", cells.to_bool, default=False),
    ),
    "travel_times": (
        Column("participant_id", ID, True),
        Column("site_id", ID, True),
        Column("minutes", cells.to_int, True, at_least(0)),
    ),
}
# A required list column may hold an empty list (the row then matches nothing); other required cells may not be empty.
EMPTY_ALLOWED = {"days", "days_available"}
ID_COLUMN = {"enterprises": "enterprise_id", "sites": "site_id", "slots": "slot_id", "participants": "participant_id"}


def read_dataset(path: Path | str) -> tuple[Instance, list[Problem]]:
    """Read and validate a data set; return the instance and its warnings, or raise `InvalidDataset` with all problems."""
    path = Path(path)
    tables, problems = read_tables(path)
    warnings: list[Problem] = []
    records: dict[str, list[dict[str, Any]]] = {}
    rows: dict[str, list[int]] = {}
    for name, table in tables.items():
        records[name], rows[name], table_problems, table_warnings = _parse_table(table)
        problems += table_problems
        warnings += table_warnings
    if problems:
        raise InvalidDataset(sorted(problems), warnings)

    instance = Instance(
        enterprises=tuple(Enterprise(**r) for r in records["enterprises"]),
        sites=tuple(Site(**r) for r in records["sites"]),
        slots=tuple(Slot(**r) for r in records["slots"]),
        participants=tuple(Participant(**r) for r in records["participants"]),
        travel_times=tuple(TravelTime(**r) for r in records.get("travel_times", [])),
    )
    locator = RowLocator(
        files={name: table.source for name, table in tables.items()},
        rows={name: {i: row for i, row in enumerate(numbers)} for name, numbers in rows.items()},
    )
    integrity_problems, integrity_warnings = check_integrity(instance, locator)
    warnings += integrity_warnings
    if integrity_problems:
        raise InvalidDataset(sorted(integrity_problems), warnings)
    return instance, warnings


def load_dataset(path: Path | str) -> Instance:
    """`read_dataset` without the warnings."""
    return read_dataset(path)[0]


def _parse_table(table: RawTable) -> tuple[list[dict[str, Any]], list[int], list[Problem], list[Problem]]:
    spec = COLUMNS[table.name]
    frame = table.frame
    problems: list[Problem] = []
    warnings: list[Problem] = []
    known = {c.name for c in spec}
    for column in frame.columns:
        if column not in known:
            warnings.append(Problem(table.source, 1, str(column), "unknown column, ignored"))
    missing = [c.name for c in spec if c.required and c.name not in frame.columns]
    for name in missing:
        problems.append(Problem(table.source, 1, name, "required column is missing"))
    if missing:
        return [], [], problems, warnings

    blank = (frame == "").all(axis=1) if len(frame.columns) else pd.Series(True, index=frame.index)
    kept = frame.index[~blank]
    row_numbers = [int(i) + 2 for i in kept]
    values: dict[str, list[Any]] = {}
    for column in spec:
        if column.name not in frame.columns:
            values[column.name] = [column.default] * len(kept)
            continue
        values[column.name] = _convert_column(table, column, frame.loc[kept, column.name], row_numbers, problems)
    problems += _row_rules(table, values, row_numbers)
    problems += _unique_ids(table, values, row_numbers)
    records = [{name: values[name][i] for name in values} for i in range(len(kept))]
    return records, row_numbers, problems, warnings


def _convert_column(
    table: RawTable, column: Column, cells_: pd.Series, row_numbers: list[int], problems: list[Problem]
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
    for text, row in zip(cells_.tolist(), row_numbers, strict=True):
        if text in errors:
            problems.append(Problem(table.source, row, column.name, errors[text]))
            out.append(column.default)
        else:
            out.append(converted[text])
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
                problems.append(Problem(table.source, row, "current_slot_id", "a pinned participant needs current_slot_id"))
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
