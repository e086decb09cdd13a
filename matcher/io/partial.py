"""Reading an upload that holds only some tables of a data set, against the data set it updates.

A coordinator often sends only the sheet that changed. The reader needs every required table, so the upload is
completed from `base` (the data set it updates) and read as a whole by `read`, which checks every reference:
- a table the upload holds keeps its rows, in its order (so problems keep their spreadsheet rows), followed by the
  base's records of that table that the upload does not mention (an import never deletes them);
- a table the upload lacks is the base's table.
Problems in the upload's rows keep the upload's file and row; problems in a base record (made by the upload, such as
a slot's seats below its pinned people) name the record instead, since no file of the upload holds it.
"""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from matcher.domain import Instance
from matcher.io.limits import UNLIMITED
from matcher.io.locator import Locator
from matcher.io.reader import read
from matcher.io.tables import OPTIONAL_TABLES, TABLE_NAMES, RawTable, read_tables
from matcher.io.writer import write_dataset
from matcher.problems import InvalidDataset, Problem

KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "enterprises": ("enterprise_id",),
    "sites": ("site_id",),
    "slots": ("slot_id",),
    "participants": ("participant_id",),
    "travel_times": ("participant_id", "site_id"),
}
SERVICE_FILE = "(the service's data)"
"""The `file` of a problem in a record the upload does not hold."""


@dataclass(frozen=True)
class PartialRead:
    tables: frozenset[str]  # the tables the upload holds
    complete: Instance  # the data set as it would be after the upload: the upload over the base
    uploaded: Instance  # only the records of the upload's rows
    warnings: list[Problem]  # warnings about the upload's rows only (the base's own are not news)
    locator: Locator  # the upload's records in the upload's files; the base's records at row 0


@dataclass(frozen=True)
class _Written:
    source: str  # what problems call the uploaded table, '' when the upload lacks it
    upload_rows: int  # the upload's rows (header excluded), followed by the base's records
    keys: list[Any]  # the key of each row of the written file, in order


def missing_tables(raw: dict[str, RawTable], problems: list[Problem]) -> tuple[frozenset[str], list[Problem]]:
    """From `read_tables`' answer: (the required tables the upload lacks, its other problems, e.g. unreadable files)."""
    # A required table that cannot be read is not missing: its problem is kept.
    missing = [n for n in TABLE_NAMES if n not in raw and n not in OPTIONAL_TABLES]
    unreadable = [p for p in problems if not (p.row == 0 and p.column == "" and "missing" in p.message)]
    named = {n for n in missing for p in unreadable if p.file == f"{n}.csv" or p.file.endswith(f"[{n}]")}
    return frozenset(n for n in missing if n not in named), unreadable


def read_partial(
    path: Path, base: Instance, tables: tuple[dict[str, RawTable], list[Problem]] | None = None
) -> PartialRead:
    """Read an upload of some tables (a CSV folder or a workbook) over `base`; `InvalidDataset` with every problem.

    `tables`: what `read_tables(path)` answered, when the caller has read the upload already.
    """
    raw, problems = tables if tables is not None else read_tables(path)
    _, other = missing_tables(raw, problems)
    if other:
        raise InvalidDataset(sorted(other), [])
    with tempfile.TemporaryDirectory(prefix="placement-partial-") as tmp:
        folder = Path(tmp)
        write_dataset(base, folder / "base")
        base_tables, _ = read_tables(folder / "base", UNLIMITED)  # written here, from the base
        complete = folder / "complete"
        complete.mkdir()
        written: dict[str, _Written] = {}
        for name in TABLE_NAMES:
            if name in raw:
                written[name] = _write_uploaded(raw[name], base_tables.get(name), complete / f"{name}.csv")
            elif name in base_tables:
                frame = base_tables[name].frame
                _write_frame(frame, complete / f"{name}.csv", ",")
                written[name] = _Written("", 0, _keys(name, frame) or [])
        try:
            dataset = read(complete, UNLIMITED)  # the upload's rows were read within the limits already
        except InvalidDataset as exc:
            raise InvalidDataset(
                sorted(_relocate(p, written) for p in exc.problems),
                [_relocate(w, written) for w in exc.warnings if _in_upload(w, written)],
            ) from None
    instance = dataset.instance
    kept = [_relocate(w, written) for w in dataset.warnings if _in_upload(w, written)]
    return PartialRead(
        frozenset(raw), instance, _only_uploaded(instance, written), kept, _upload_locator(dataset.locator, written)
    )


def _upload_locator(complete: Locator, written: dict[str, _Written]) -> Locator:
    """The complete set's locator cut to the upload's rows, under the upload's file names."""
    files = {name: info.source for name, info in written.items() if info.source}
    rows = {
        name: {key: row for key, row in complete.rows.get(name, {}).items() if row <= written[name].upload_rows + 1}
        for name in files
    }
    return Locator(files, rows)


def _column_names(frame: pd.DataFrame) -> dict[str, Any]:
    """lower-case name -> the frame's own spelling (a header may be written `Slot_ID`)."""
    return {str(c).strip().lower(): c for c in frame.columns}


def _keys(name: str, frame: pd.DataFrame) -> list[Any] | None:
    spelled = _column_names(frame)
    if any(c not in spelled for c in KEY_COLUMNS[name]):
        return None
    columns = [spelled[c] for c in KEY_COLUMNS[name]]
    if len(columns) == 1:
        return list(frame[columns[0]].tolist())
    return list(zip(*(frame[c].tolist() for c in columns), strict=True))


def _write_uploaded(table: RawTable, base: RawTable | None, path: Path) -> _Written:
    """The upload's rows as they are, then the base's records it does not mention, in the upload's columns."""
    frame = table.frame
    keys = _keys(table.name, frame)
    rows = len(frame)
    if base is not None and keys is not None:
        base_keys = _keys(table.name, base.frame) or []
        mentioned = set(keys)
        extra = [i for i, key in enumerate(base_keys) if key not in mentioned]
        if extra:
            # Columns the upload lacks are left out: the reader gives those records the defaults, as the upload's.
            # (Only the reading sees them so; the data after the import is checked again with the real records.)
            spelled = _column_names(frame)
            addition = base.frame.iloc[extra].rename(columns=lambda c: spelled.get(str(c).lower(), c))
            addition = addition.reindex(columns=frame.columns, fill_value="")
            frame = pd.concat([frame, addition], ignore_index=True)
            keys = keys + [base_keys[i] for i in extra]
    # `;` keeps the upload's decimal commas readable (a workbook allows them too); the base writes decimal points.
    _write_frame(frame, path, ";" if table.decimal_comma else ",")
    return _Written(table.source, rows, keys or [])


def _write_frame(frame: pd.DataFrame, path: Path, separator: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\n")
    writer.writerow([str(c) for c in frame.columns])
    writer.writerows(frame.astype(str).values.tolist())
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _table_of(problem: Problem, written: dict[str, _Written]) -> str | None:
    for name in written:
        if problem.file == f"{name}.csv":
            return name
    return None


def _in_upload(problem: Problem, written: dict[str, _Written]) -> bool:
    name = _table_of(problem, written)
    if name is None:
        return False
    info = written[name]
    return bool(info.source) and problem.row <= info.upload_rows + 1


def _relocate(problem: Problem, written: dict[str, _Written]) -> Problem:
    """The upload's file and row for the upload's rows; the record's key for a record of the base."""
    name = _table_of(problem, written)
    if name is None:
        return problem
    info = written[name]
    if _in_upload(problem, written):
        return replace(problem, file=info.source)
    index = problem.row - 2
    key = info.keys[index] if 0 <= index < len(info.keys) else None
    shown = "/".join(key) if isinstance(key, tuple) else key
    what = f"{name[:-1]} '{shown}'" if shown is not None else name
    return Problem(SERVICE_FILE, 0, problem.column, f"{what}, not in the upload: {problem.message}")


def _only_uploaded(instance: Instance, written: dict[str, _Written]) -> Instance:
    def keep(name: str) -> set[Any]:
        info = written.get(name)
        return set(info.keys[: info.upload_rows]) if info is not None and info.source else set()

    enterprises, sites, slots = keep("enterprises"), keep("sites"), keep("slots")
    participants, travel = keep("participants"), keep("travel_times")
    return Instance(
        enterprises=tuple(e for e in instance.enterprises if e.enterprise_id in enterprises),
        sites=tuple(s for s in instance.sites if s.site_id in sites),
        slots=tuple(s for s in instance.slots if s.slot_id in slots),
        participants=tuple(p for p in instance.participants if p.participant_id in participants),
        travel_times=tuple(t for t in instance.travel_times if (t.participant_id, t.site_id) in travel),
    )
