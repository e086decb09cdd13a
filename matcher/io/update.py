"""Reading an update of a data set: a whole set read alone, or only some of its tables read over the set it updates.

The files are read once: the tables found decide which of the two it is (see `matcher.io.partial`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from matcher.domain import Instance
from matcher.io.limits import ReadLimits
from matcher.io.locator import Locator
from matcher.io.partial import missing_tables, read_partial
from matcher.io.reader import read_raw_tables
from matcher.io.tables import TABLE_NAMES, read_tables
from matcher.problems import InvalidDataset, Problem


@dataclass(frozen=True)
class Update:
    """An update that was read.

    `instance` holds only the records of the update's rows; `complete` is the data set as it would be after it (the
    same as `instance` when the update holds every required table); `warnings` are about the update's rows;
    `locator` places the update's records in its files; `tables` are the tables it holds; `partial` says that some
    required table is missing and was taken from the base.
    """

    instance: Instance
    complete: Instance
    warnings: list[Problem]
    locator: Locator
    tables: frozenset[str]
    partial: bool


def read_update(path: Path | str, base: Callable[[], Instance], limits: ReadLimits | None = None) -> Update:
    """Read `path` (a CSV folder or an .xlsx workbook) as an update of `base()`, which is called only when the
    update lacks a required table; `InvalidDataset` with every problem (a file over one of `limits` included)."""
    path = Path(path)
    raw, problems = read_tables(path, limits)
    missing, other = missing_tables(raw, problems)
    if not missing:
        dataset = read_raw_tables(raw, problems)
        return Update(
            dataset.instance, dataset.instance, list(dataset.warnings), dataset.locator, frozenset(raw), False
        )
    if not raw and not other:
        where = path.name if path.is_file() else ""
        raise InvalidDataset([Problem(where, 0, "", f"holds none of the tables {', '.join(TABLE_NAMES)}")], [])
    read = read_partial(path, base(), (raw, problems))
    return Update(read.uploaded, read.complete, read.warnings, read.locator, read.tables, True)
