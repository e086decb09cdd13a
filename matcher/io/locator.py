"""Where each record of a data set that was read came from: its file, its spreadsheet row, and a field's column.

The reader knows this while it reads; a `Locator` keeps it for the caller, so that a problem found later (by the
service comparing an upload with its database, say) can name `file:row:column` like the reader's own problems,
without reading the files a second time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from matcher import integrity
from matcher.domain import Instance
from matcher.integrity import RowLocator
from matcher.io.tables import TABLE_NAMES
from matcher.problems import Problem

RecordKey = Any
"""A record's id (`slot_id`, …); for `travel_times` the pair (participant_id, site_id)."""


@dataclass(frozen=True, slots=True)
class Location:
    """A place in the files: `row` is the spreadsheet row (the header is row 1), 0 when no row holds the record;
    `column` is the data format's column name of a field, "" for the record as a whole."""

    file: str
    row: int
    column: str = ""


@dataclass(frozen=True)
class Locator:
    """Record -> location, per table of the data format (`enterprises`, `sites`, `slots`, `participants`,
    `travel_times`). A record that appears on several rows is located at the first; a record that no file holds
    (or a table that was not read) is located at row 0 of the table's usual file name."""

    files: Mapping[str, str] = field(default_factory=dict)  # table -> the file as problems name it
    rows: Mapping[str, Mapping[RecordKey, int]] = field(default_factory=dict)  # table -> key -> row

    def file(self, table: str) -> str:
        _known(table)
        return self.files.get(table, f"{table}.csv")

    def of(self, table: str, key: RecordKey, column: str = "") -> Location:
        """Where the record `key` of `table` is (and the column of its field `column`, if given)."""
        return Location(self.file(table), self.rows.get(table, {}).get(key, 0), column)

    def problem(self, table: str, key: RecordKey, column: str, message: str) -> Problem:
        """A `Problem` at the record's row and the field's column, like the reader's own."""
        where = self.of(table, key, column)
        return Problem(where.file, where.row, where.column, message)

    def by_index(self, instance: Instance) -> RowLocator:
        """The rows of `instance`'s records by their index in each table (what the integrity checks take)."""
        keys: dict[str, list[RecordKey]] = {
            "enterprises": [e.enterprise_id for e in instance.enterprises],
            "sites": [t.site_id for t in instance.sites],
            "slots": [s.slot_id for s in instance.slots],
            "participants": [p.participant_id for p in instance.participants],
            "travel_times": [(t.participant_id, t.site_id) for t in instance.travel_times],
        }
        return RowLocator(
            files=dict(self.files),
            rows={t: {i: self.rows.get(t, {}).get(k, 0) for i, k in enumerate(ks)} for t, ks in keys.items()},
        )


def _known(table: str) -> None:
    if table not in TABLE_NAMES:
        raise KeyError(f"'{table}' is not a table of the data format ({', '.join(TABLE_NAMES)})")


def check_integrity(instance: Instance, locator: Locator | None = None) -> tuple[list[Problem], list[Problem]]:
    """(problems, warnings) of the whole-instance rules (references, duplicate ids, pinned people within their seats
    and supervision); each names its record's file and row by `locator` (row 0 without one)."""
    return integrity.check_integrity(instance, locator.by_index(instance) if locator else None)
