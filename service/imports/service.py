"""Importing and exporting an association's data set in the exchange format of docs/data-format.md.

An upload is saved to a temporary folder and read once by `matcher.read_update`, which reads as the command line
does, so every problem is named `file:row:column` exactly as there, and whose `Locator` places each record the import
names later; the set is then checked by `matcher.prepare`. An upload
of only some tables is read over the association's data (`matcher.read_update`): the tables it lacks are left as they
are and its references are checked against the database. A valid upload is compared, record by record, with the
association's data: what would be created, changed (field by field) and refused. A dry run stops there; an applied
import writes everything not refused in the request's one transaction.

Rules of an import (an upsert by id, never a delete):
- A record whose id belongs to another association is refused, and so is a record that needs a refused one
  (a new site of a refused enterprise, a travel time of a refused participant, …).
- Slots keep their capacity rules: seats may not drop below the seats taken by active placements (the slot is
  refused), and every change is written to the capacity history.
- A slot value that would undo a change made in the service since the file was exported is a conflict: the slot is
  refused unless `?overwrite=` covers the field (see `_Import._no_undo` and docs/service.md).
- The service's placements are the truth. A `current_slot_id` that differs from the participant's active placement
  is a warning and the placement is kept; the import never ends or moves a placement. A `current_slot_id` without
  an active placement creates one (from `waiting_since`, or today) if the slot has a free seat (else the participant
  is refused), unless the service ended this person's placement in that slot (a warning: the file is out of date).
- The association's data as it would be after the import must still be valid (pinned participants within their
  slots' seats and their sites' supervision hours); otherwise the import answers 422 and writes nothing.
"""

from __future__ import annotations

import io
import math
import re
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

import matcher
from matcher import (
    DIALECTS,
    SEMICOLON,
    SUPERVISION_TOLERANCE,
    TABLE_NAMES,
    WEEKDAYS,
    CsvDialect,
    Locator,
    check_integrity,
    dataset_files,
)
from service.audit.log import record
from service.core_bridge import load_instance
from service.db import models as db
from service.errors import Conflict, InvalidInput, ServiceError
from service.imports.loader import UNORDERED_FIELDS, enterprise_fields, participant_fields, site_fields, slot_fields
from service.imports.schemas import (
    ChangedRecord,
    ConflictRecord,
    CreatedRecord,
    FieldChange,
    ImportReport,
    ImportSummary,
    ProblemPublic,
    RefusedRecord,
    TableReport,
)
from service.imports.stamp import EXPORT_FILE, EXPORT_TABLE, Stamp, read_stamp, stamp_csv, stamp_rows

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
"""The largest upload accepted (the whole multipart body); a data set of tens of thousands of rows is far smaller."""
MAX_UPLOAD_FILES = 10
CSV_FILES = tuple(f"{name}.csv" for name in TABLE_NAMES)
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP_MEDIA_TYPE = "application/zip"
CAPACITY_FIELDS_ON_CREATE = ("seats", "min_hours", "max_hours", "days")  # as POST /slots records them
CAPACITY_HISTORY_FIELDS = (
    "activity", "seats", "min_hours", "max_hours", "days", "supports", "programmes", "min_age", "max_age",
    "women_only", "supervision_ratio", "available_from", "available_to",
)  # fmt: skip
"""The slot fields the capacity history keeps (every field a PATCH /slots or an import changes)."""
FLOAT_TOLERANCE = 1e-12  # relative; differences below it are rounding, not changes
TABLE_KINDS = {
    "enterprises": "enterprise",
    "sites": "site",
    "slots": "slot",
    "participants": "participant",
    "travel_times": "travel_time",
}
_CHUNK = 2000  # ids per IN (...) list, well below the parameter limits of SQLite and PostgreSQL

T = TypeVar("T")


class ContentTooLarge(ServiceError):
    status, title = 413, "Content too large"


@dataclass(frozen=True)
class UploadedFile:
    name: str
    content: bytes


# --- the upload --------------------------------------------------------------------------------------------------


def sort_files(files: Sequence[UploadedFile]) -> tuple[str, list[UploadedFile]]:
    """("csv" | "xlsx", the files under the names the reader expects), or 422 naming the file that does not fit."""
    expected = ", ".join(CSV_FILES)
    if not files:
        raise InvalidInput(
            f"no file was uploaded: send the CSV files of the tables to update ({expected}) or one .xlsx workbook"
        )
    csvs: list[UploadedFile] = []
    books: list[UploadedFile] = []
    for upload in files:
        name = Path(upload.name.replace("\\", "/")).name.strip()
        lower = name.lower()
        if not name:
            raise InvalidInput(
                "a file was uploaded without a file name; name it after its table, e.g. slots.csv", file=""
            )
        if lower in CSV_FILES or lower == EXPORT_FILE:
            csvs.append(UploadedFile(lower, upload.content))
        elif lower.endswith(".xlsx"):
            books.append(UploadedFile(_safe_name(name), upload.content))
        elif lower.endswith(".csv"):
            raise InvalidInput(f"'{name}' is not a file of the data set; the CSV files are {expected}", file=name)
        else:
            raise InvalidInput(f"'{name}' is neither a CSV file of the data set nor an .xlsx workbook", file=name)
    if books and csvs:
        raise InvalidInput(
            f"send either CSV files or one .xlsx workbook, not both ('{csvs[0].name}' and '{books[0].name}')",
            file=books[0].name,
        )
    if len(books) > 1:
        raise InvalidInput(
            f"send one .xlsx workbook, not {len(books)} ('{books[1].name}' is one too many)", file=books[1].name
        )
    twice = [name for name, n in Counter(f.name for f in csvs).items() if n > 1]
    if twice:
        raise InvalidInput(f"'{twice[0]}' was uploaded more than once", file=twice[0])
    return ("xlsx", books) if books else ("csv", csvs)


def _safe_name(name: str) -> str:
    """A workbook's name as problems will call it (`book.xlsx[slots]`), safe as a file name in the temporary folder."""
    stem = re.sub(r"[^\w.\- ]", "_", name[: -len(".xlsx")]).strip(" .") or "upload"
    return f"{stem}.xlsx"


def _public(problem: matcher.Problem) -> dict[str, Any]:
    return ProblemPublic(
        file=problem.file, row=problem.row, column=problem.column, message=problem.message
    ).model_dump()


def invalid_dataset(
    problems: Sequence[matcher.Problem], warnings: Sequence[matcher.Problem], what: str
) -> InvalidInput:
    head = "; ".join(str(p) for p in problems[:3])
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return InvalidInput(
        f"{what}: {len(problems)} problem(s), nothing was written: {head}{more}",
        problems=[_public(p) for p in problems],
        warnings=[_public(w) for w in warnings],
    )


@dataclass(frozen=True)
class UploadedSet:
    format: str
    files: list[str]
    instance: matcher.Instance  # only the upload's records
    warnings: list[matcher.Problem]
    where: Locator  # the upload's records in its files
    tables: frozenset[str]  # the tables the upload holds
    partial: bool  # some required table is missing: the others are the association's, left as they are
    stamp: Stamp | None = None  # when the upload was exported by the service, if it says so


def _read(path: Path, base: Callable[[], matcher.Instance]) -> matcher.Update:
    """The upload read once: a whole set alone, some tables over the database's (`base()`), checked for planning."""
    update = matcher.read_update(path, base)
    matcher.prepare(update.complete)  # pinned limits and everything else the engine needs before planning
    return update


def read_upload(files: Sequence[UploadedFile], base: Callable[[], matcher.Instance]) -> UploadedSet:
    """Save the upload to a temporary folder and read it as the command line does; 422 with every problem if invalid.

    An upload without some required table is read over `base()` (the association's data, see matcher.io.partial).
    """
    kind, files = sort_files(files)
    with tempfile.TemporaryDirectory(prefix="placement-import-") as tmp:
        folder = Path(tmp)
        for upload in files:
            (folder / upload.name).write_bytes(upload.content)
        path = folder if kind == "csv" else folder / files[0].name
        if kind == "xlsx" and not zipfile.is_zipfile(path):
            # An .xlsx is a zip archive; the reader lets zipfile's own error through for anything else.
            problem = matcher.Problem(
                path.name, 0, "", "cannot be opened as an .xlsx workbook: it is not a zip archive"
            )
            raise invalid_dataset([problem], [], "the data set is not valid")
        try:
            update = _read(path, base)
            stamp = read_stamp(path, kind)
        except matcher.InvalidDataset as exc:
            raise invalid_dataset(exc.problems, exc.warnings, "the data set is not valid") from None
        except (zipfile.BadZipFile, EOFError) as exc:  # a damaged workbook
            problem = matcher.Problem(path.name, 0, "", f"cannot be opened as an .xlsx workbook: {exc}")
            raise invalid_dataset([problem], [], "the data set is not valid") from None
    return UploadedSet(
        kind,
        [f.name for f in files],
        update.instance,
        list(update.warnings),
        update.locator,
        update.tables,
        update.partial,
        stamp,
    )


# --- reading what exists -----------------------------------------------------------------------------------------


def _chunks(items: Iterable[T]) -> Iterator[list[T]]:
    batch = list(items)
    for i in range(0, len(batch), _CHUNK):
        yield batch[i : i + _CHUNK]


def _in_chunks(session: Session, build: Any, ids: Iterable[str]) -> list[Any]:
    """Run `build(chunk)` (a select) for each chunk of ids and collect the rows."""
    out: list[Any] = []
    for chunk in _chunks(sorted(set(ids))):
        out.extend(session.execute(build(chunk)).all())
    return out


def _fetch(session: Session, build: Any, records: Sequence[Any], id_field: str) -> dict[str, Any]:
    """id -> the row (or the (row, association_id) pair) of each uploaded record that exists already."""
    found: dict[str, Any] = {}
    for row in _in_chunks(session, build, [getattr(r, id_field) for r in records]):
        found[row[0].id] = row[0] if len(row) == 1 else tuple(row)
    return found


def _lock(session: Session, model: Any, ids: Iterable[str]) -> None:
    """Lock rows in id order (PostgreSQL; SQLite transactions hold the write lock already), the order take_seat uses."""
    for chunk in _chunks(sorted(set(ids))):
        query: Select[Any] = (
            select(model)
            .where(model.id.in_(chunk))
            .order_by(model.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        list(session.scalars(query))


def _json(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


def _same(name: str, old: Any, new: Any) -> bool:
    if name in UNORDERED_FIELDS and isinstance(old, list) and isinstance(new, list):
        return set(old) == set(new)
    if isinstance(old, float) and isinstance(new, float):
        # A workbook keeps 15 significant digits (Excel's precision): 59.550000000000004 comes back as 59.55.
        return math.isclose(old, new, rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_TOLERANCE)
    return bool(old == new)


def _diff(row: Any, values: dict[str, Any]) -> list[FieldChange]:
    return [
        FieldChange(field=name, old=_json(getattr(row, name)), new=_json(new))
        for name, new in values.items()
        if name != "id" and not _same(name, getattr(row, name), new)
    ]


# --- what the service changed since a file was exported ------------------------------------------------------


@dataclass(frozen=True)
class _Change:
    order: int
    field: str
    old: Any
    new: Any
    at: datetime
    by: str | None


def _history(session: Session, slot_ids: Sequence[str]) -> dict[str, list[_Change]]:
    """slot -> its capacity history (every change made through the API or an import), oldest first."""
    out: dict[str, list[_Change]] = {}
    for change, name in _in_chunks(
        session,
        lambda c: (
            select(db.CapacityChange, db.User.name)
            .outerjoin(db.User, db.User.id == db.CapacityChange.user_id)
            .where(db.CapacityChange.slot_id.in_(c))
            .order_by(db.CapacityChange.id)
        ),
        slot_ids,
    ):
        out.setdefault(change.slot_id, []).append(
            _Change(change.id, change.field, change.old_value, change.new_value, change.changed_at, name)
        )
    return out


@dataclass(frozen=True)
class Overwrite:
    """`?overwrite=` parsed: `all`, a table (`slots`: every field) or `table:field` (`slots:seats`), comma-separated."""

    items: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, values: Sequence[str]) -> Overwrite:
        items = {item.strip().lower() for value in values for item in value.split(",") if item.strip()}
        for item in sorted(items):
            table, _, field_name = item.partition(":")
            if item == "all" or (table == "slots" and (not field_name or field_name in CAPACITY_HISTORY_FIELDS)):
                continue
            raise InvalidInput(
                f"overwrite '{item}' is not known: use all, slots or slots:<field> with a field of slots.csv "
                f"({', '.join(CAPACITY_HISTORY_FIELDS)})",
                field="overwrite",
            )
        return cls(frozenset(items))

    def allows(self, table: str, field_name: str) -> bool:
        return bool({"all", table, f"{table}:{field_name}"} & self.items)


# --- planning and applying an import -----------------------------------------------------------------------------


@dataclass
class _Op:
    kind: str
    key: Any
    values: dict[str, Any]
    existing: Any | None  # the database row to update, None to create
    changes: list[FieldChange] = field(default_factory=list)


class _Import:
    """Compares an uploaded set with the association's data, then (if asked) writes the difference."""

    def __init__(
        self, session: Session, user: db.User, upload: UploadedSet, today: date, overwrite: Overwrite | None = None
    ) -> None:
        self.session, self.user, self.upload, self.today = session, user, upload, today
        self.overwrite = overwrite or Overwrite()
        stamp = upload.stamp
        self.exported_at = stamp.exported_at if stamp and stamp.association_id == user.association_id else None
        self.association = user.association_id
        self.ops: dict[str, list[_Op]] = {k: [] for k in ("enterprise", "site", "slot", "participant", "travel_time")}
        self.unchanged: dict[str, list[Any]] = {k: [] for k in self.ops}
        self.refused: list[RefusedRecord] = []
        self.refused_keys: dict[str, set[Any]] = {k: set() for k in self.ops}
        self.placements: list[tuple[str, str, date]] = []  # (participant, slot, start) to create
        self.read_people: list[str] = []  # existing participants of the association that were compared
        self.notes: list[matcher.Problem] = []  # warnings found while planning (out-of-date current_slot_id)
        self.conflicts: list[ConflictRecord] = []
        self.current: dict[str, str | None] = {}  # uploaded participant -> the slot they will hold (the service's)
        if stamp is not None and self.exported_at is None:
            self.notes.append(
                matcher.Problem(
                    stamp.file,
                    2,
                    "association_id",
                    f"exported from association '{stamp.association_id}', not this one; its time is not used",
                )  # fmt: skip
            )

    def refuse(self, kind: str, table: str, key: Any, reason: str) -> None:
        where = self.upload.where.of(table, key)
        file, row = where.file, where.row
        shown = "/".join(key) if isinstance(key, tuple) else str(key)
        self.refused.append(RefusedRecord(kind=kind, id=shown, file=file, row=row, reason=reason))
        self.refused_keys[kind].add(key)

    def keep(
        self, kind: str, key: Any, values: dict[str, Any], existing: Any | None, extra: list[FieldChange] | None = None
    ) -> None:
        if existing is None:
            self.ops[kind].append(_Op(kind, key, values, None))
            return
        changes = _diff(existing, values) + (extra or [])
        if changes:
            self.ops[kind].append(_Op(kind, key, values, existing, changes))
        else:
            self.unchanged[kind].append(key)

    def plan(self, lock: bool) -> None:
        """Decide, record by record, what to create, change or refuse (nothing is written here)."""
        inst = self.upload.instance
        if lock:
            # The slots that change and the slots that get placements, and their sites (sites first, as take_seat).
            slot_ids = {s.slot_id for s in inst.slots} | {
                p.current_slot_id for p in inst.participants if p.current_slot_id
            }
            site_ids = {t.site_id for t in inst.sites} | {
                site
                for (site,) in _in_chunks(
                    self.session, lambda c: select(db.Slot.site_id).where(db.Slot.id.in_(c)), slot_ids
                )
            }
            _lock(self.session, db.Site, site_ids)
            _lock(self.session, db.Slot, slot_ids)
        self.base = load_instance(self.session, self.association)
        base = self.base
        # A record is usable by the records after it when it exists in the association or will be created.
        self.usable: dict[str, set[Any]] = {
            "enterprise": {e.enterprise_id for e in base.enterprises},
            "site": {t.site_id for t in base.sites},
            "slot": {s.slot_id for s in base.slots},
            "participant": {p.participant_id for p in base.participants},
            "travel_time": set(),
        }
        self.seats: dict[str, int] = {s.slot_id: s.seats for s in base.slots}  # usable slot -> the seats it will have
        self._plan_enterprises(inst.enterprises)
        self._plan_sites(inst.sites)
        self._plan_slots(inst.slots)
        self._plan_participants(inst.participants)
        self._plan_travel_times(inst.travel_times)

    def _foreign(self, kind: str, table: str, key: str) -> None:
        noun = "code" if kind == "participant" else "id"
        self.refuse(kind, table, key, f"the id belongs to another association's {kind}; use another {noun}")

    def _plan_enterprises(self, records: Sequence[matcher.Enterprise]) -> None:
        found = _fetch(
            self.session, lambda c: select(db.Enterprise).where(db.Enterprise.id.in_(c)), records, "enterprise_id"
        )
        for e in records:
            existing = found.get(e.enterprise_id)
            if existing is not None and existing.association_id != self.association:
                self._foreign("enterprise", "enterprises", e.enterprise_id)
                continue
            self.usable["enterprise"].add(e.enterprise_id)
            self.keep("enterprise", e.enterprise_id, enterprise_fields(e), existing)

    def _plan_sites(self, records: Sequence[matcher.Site]) -> None:
        found = _fetch(
            self.session,
            lambda c: (
                select(db.Site, db.Enterprise.association_id)
                .join(db.Enterprise, db.Enterprise.id == db.Site.enterprise_id)
                .where(db.Site.id.in_(c))
            ),
            records,
            "site_id",
        )
        for t in records:
            existing, owner = found.get(t.site_id, (None, None))
            if existing is not None and owner != self.association:
                self._foreign("site", "sites", t.site_id)
                continue
            if existing is not None:
                self.usable["site"].add(t.site_id)
            if t.enterprise_id not in self.usable["enterprise"]:
                self.refuse("site", "sites", t.site_id, f"its enterprise '{t.enterprise_id}' was refused")
                continue
            self.usable["site"].add(t.site_id)
            self.keep("site", t.site_id, site_fields(t), existing)

    def _plan_slots(self, records: Sequence[matcher.Slot]) -> None:
        found = _fetch(
            self.session,
            lambda c: (
                select(db.Slot, db.Enterprise.association_id)
                .join(db.Site, db.Site.id == db.Slot.site_id)
                .join(db.Enterprise, db.Enterprise.id == db.Site.enterprise_id)
                .where(db.Slot.id.in_(c))
            ),
            records,
            "slot_id",
        )
        slot_ids = {s.slot_id for s in records} | set(self.seats)
        self.taken = {
            slot_id: int(n)
            for slot_id, n in _in_chunks(
                self.session,
                lambda c: (
                    select(db.Placement.slot_id, func.count())
                    .where(db.Placement.slot_id.in_(c), db.Placement.end_date.is_(None))
                    .group_by(db.Placement.slot_id)
                ),
                slot_ids,
            )
        }
        history = _history(self.session, [s.slot_id for s in records if s.slot_id in found])
        for s in records:
            existing, owner = found.get(s.slot_id, (None, None))
            if existing is not None and owner != self.association:
                self._foreign("slot", "slots", s.slot_id)
                continue
            if s.site_id not in self.usable["site"]:
                self.refuse("slot", "slots", s.slot_id, f"its site '{s.site_id}' was refused")
                continue
            taken = self.taken.get(s.slot_id, 0)
            if s.seats < taken:
                reason = (
                    f"seats cannot go below the {taken} seat(s) taken by active placements (the file says "
                    f"{s.seats}); end placements first"
                )
                self.refuse("slot", "slots", s.slot_id, reason)
                continue
            values = slot_fields(s)
            if existing is not None and not self._no_undo(s.slot_id, existing, values, history.get(s.slot_id, [])):
                continue
            self.usable["slot"].add(s.slot_id)
            self.seats[s.slot_id] = s.seats
            self.keep("slot", s.slot_id, values, existing)

    def _no_undo(self, slot_id: str, existing: db.Slot, values: dict[str, Any], history: list[_Change]) -> bool:
        """False (the slot refused) when the file would undo a change made in the service, unless `?overwrite=`."""
        conflicts: list[ConflictRecord] = []
        where = self.upload.where.of("slots", slot_id)
        file, row = where.file, where.row
        for change in _diff(existing, values):
            of_field = [h for h in history if h.field == change.field]
            if self.exported_at is not None:
                # The export says when it was made: any change of the field since makes the file out of date there.
                undone = [h for h in of_field if h.at > self.exported_at]
            else:
                # Without it, a value the field had before a change made in the service is taken for an undo.
                undone = [h for h in of_field if _same(h.field, h.old, change.new)]
            if not undone:
                continue
            latest = max((h for h in history if h.field == change.field), key=lambda h: h.order)
            conflicts.append(
                ConflictRecord(
                    kind="slot",
                    id=slot_id,
                    field=change.field,
                    file=file,
                    row=row,
                    file_value=change.new,
                    service_value=change.old,
                    changed_at=latest.at,
                    changed_by=latest.by,
                    overwritten=self.overwrite.allows("slots", change.field),
                    overwrite=f"slots:{change.field}",
                )
            )
        self.conflicts += conflicts
        blocked = [c for c in conflicts if not c.overwritten]
        if not blocked:
            return True
        since = "after the file was exported" if self.exported_at is not None else "a value the service replaced"
        said = "; ".join(
            f"{c.field}: the file says {c.file_value!r}, {since}; "
            f"{c.changed_by or 'someone'} set {c.service_value!r} on {c.changed_at:%Y-%m-%d}"
            for c in blocked
        )
        overwrite = ",".join(c.overwrite for c in blocked)
        self.refuse(
            "slot",
            "slots",
            slot_id,
            f"would undo a change made in the service ({said}); send ?overwrite={overwrite} to apply the file",
        )
        self.usable["slot"].add(slot_id)  # it exists and keeps the service's values
        return False

    def _plan_participants(self, records: Sequence[matcher.Participant]) -> None:
        found = _fetch(
            self.session, lambda c: select(db.Participant).where(db.Participant.id.in_(c)), records, "participant_id"
        )
        ids = [p.participant_id for p in records]
        active = {
            p.participant_id: p
            for (p,) in _in_chunks(
                self.session,
                lambda c: select(db.Placement).where(
                    db.Placement.participant_id.in_(c), db.Placement.end_date.is_(None)
                ),
                ids,
            )
        }
        ended: dict[tuple[str, str], date] = {}  # (participant, slot) -> the last end of a placement there
        for pid, slot_id, end in _in_chunks(
            self.session,
            lambda c: (
                select(db.Placement.participant_id, db.Placement.slot_id, func.max(db.Placement.end_date))
                .where(db.Placement.participant_id.in_(c), db.Placement.end_date.is_not(None))
                .group_by(db.Placement.participant_id, db.Placement.slot_id)
            ),
            ids,
        ):
            ended[(pid, slot_id)] = end
        for p in records:
            pid, target = p.participant_id, p.current_slot_id
            existing = found.get(pid)
            if existing is not None and existing.association_id != self.association:
                self._foreign("participant", "participants", pid)
                continue
            if existing is not None:
                self.read_people.append(pid)
            holding = active.get(pid)
            says = f"slot '{target}'" if target else "no slot"
            extra: list[FieldChange] = []
            if holding is not None and holding.slot_id != target:
                # The placements in the service are the truth: a file exported before a placement was made (or
                # moved) is out of date there, and the rest of its row still counts.
                self.note(
                    pid,
                    f"{pid}: the file says {says}, the service has {pid} placed in '{holding.slot_id}' since "
                    f"{holding.start_date.isoformat()}; the service's placement is kept",
                )
            elif target and holding is None and (pid, target) in ended:
                self.note(
                    pid,
                    f"{pid}: the file says {says}, but the service ended {pid}'s placement there on "
                    f"{ended[(pid, target)].isoformat()}; no placement is made (take one through /placements)",
                )
                target = None
            elif target and holding is None:
                if target not in self.seats:
                    self.refuse("participant", "participants", pid, f"its current slot '{target}' was refused")
                    continue
                taken, seats = self.taken.get(target, 0), self.seats[target]
                if taken >= seats:
                    reason = f"slot '{target}' has no free seat for a placement ({taken} of {seats} taken)"
                    self.refuse("participant", "participants", pid, reason)
                    continue
                self.taken[target] = taken + 1
                self.placements.append((pid, target, p.waiting_since or self.today))
                if existing is not None:
                    extra.append(FieldChange(field="current_slot_id", old=None, new=target))
            self.current[pid] = holding.slot_id if holding is not None else target
            self.usable["participant"].add(pid)
            self.keep("participant", pid, participant_fields(p), existing, extra)

    def note(self, pid: str, message: str) -> None:
        where = self.upload.where.of("participants", pid)
        file, row = where.file, where.row
        self.notes.append(matcher.Problem(file, row, "current_slot_id", message))

    def _plan_travel_times(self, records: Sequence[matcher.TravelTime]) -> None:
        found = {
            (t.participant_id, t.site_id): t
            for (t,) in _in_chunks(
                self.session,
                lambda c: select(db.TravelTime).where(db.TravelTime.participant_id.in_(c)),
                [t.participant_id for t in records],
            )
        }
        for tt in records:
            key = (tt.participant_id, tt.site_id)
            if tt.participant_id not in self.usable["participant"]:
                self.refuse("travel_time", "travel_times", key, f"its participant '{tt.participant_id}' was refused")
            elif tt.site_id not in self.usable["site"]:
                self.refuse("travel_time", "travel_times", key, f"its site '{tt.site_id}' was refused")
            else:
                self.keep("travel_time", key, {"minutes": tt.minutes}, found.get(key))

    # The association's data after the import must still be a valid instance.

    def merged(self) -> matcher.Instance:
        inst, base = self.upload.instance, self.base

        def overlay(kind: str, old: Sequence[Any], new: Sequence[Any], key: Any) -> list[Any]:
            records = {key(r): r for r in old}
            refused = self.refused_keys[kind]
            for r in new:
                if key(r) not in refused:
                    records[key(r)] = r
            return list(records.values())

        enterprises = overlay("enterprise", base.enterprises, inst.enterprises, lambda r: r.enterprise_id)
        sites = overlay("site", base.sites, inst.sites, lambda r: r.site_id)
        slots = overlay("slot", base.slots, inst.slots, lambda r: r.slot_id)
        people = [
            # The service's placements are the truth: its current slot, whatever the file says.
            replace(
                p,
                current_slot_id=self.current[p.participant_id],
                pinned=p.pinned and bool(self.current[p.participant_id]),
            )
            if p.participant_id in self.current
            else p
            for p in overlay("participant", base.participants, inst.participants, lambda r: r.participant_id)
        ]
        travel = overlay("travel_time", base.travel_times, inst.travel_times, lambda r: (r.participant_id, r.site_id))
        merged = matcher.Instance(tuple(enterprises), tuple(sites), tuple(slots), tuple(people), tuple(travel))
        return merged

    def check_merged(self) -> list[matcher.Problem]:
        """422 when the data after the import would break a limit; warnings for sites over their supervision."""
        merged = self.merged()
        problems, _ = check_integrity(merged, self.upload.where)
        if problems:
            raise invalid_dataset(
                problems, self.upload.warnings, "the association's data after this import would not be valid"
            )
        warnings: list[matcher.Problem] = []
        uploaded_sites = {t.site_id for t in self.upload.instance.sites}
        slot_by_id = {s.slot_id: s for s in merged.slots}
        used: dict[str, float] = {}
        for p in merged.participants:
            if p.current_slot_id:
                slot = slot_by_id[p.current_slot_id]
                used[slot.site_id] = used.get(slot.site_id, 0.0) + p.hours_per_week * slot.supervision_ratio
        for site in merged.sites:
            limit = site.supervisor_hours
            if (
                site.site_id in uploaded_sites
                and limit is not None
                and used.get(site.site_id, 0.0) > limit + SUPERVISION_TOLERANCE
            ):
                where = self.upload.where.of("sites", site.site_id)
                file, row = where.file, where.row
                warnings.append(
                    matcher.Problem(
                        file,
                        row,
                        "supervisor_hours",
                        f"the current placements at site '{site.site_id}' use {used[site.site_id]:g} supervisor hours, "
                        f"more than its {limit:g}; new placements there will be refused until some end",
                    )  # fmt: skip
                )
        return warnings

    def not_in_upload(self) -> dict[str, int]:
        inst, base = self.upload.instance, self.base
        pairs = (
            ("enterprises", {e.enterprise_id for e in base.enterprises} - {e.enterprise_id for e in inst.enterprises}),
            ("sites", {t.site_id for t in base.sites} - {t.site_id for t in inst.sites}),
            ("slots", {s.slot_id for s in base.slots} - {s.slot_id for s in inst.slots}),
            (
                "participants",
                {p.participant_id for p in base.participants} - {p.participant_id for p in inst.participants},
            ),
            (
                "travel_times",
                {(t.participant_id, t.site_id) for t in base.travel_times}
                - {(t.participant_id, t.site_id) for t in inst.travel_times},
            ),
        )
        return {name: len(keys) for name, keys in pairs}

    def apply(self, endpoint: str) -> None:
        session, user = self.session, self.user
        try:
            for op in self.ops["enterprise"]:
                self._write(op, lambda v: db.Enterprise(association_id=self.association, **v))
            session.flush()
            for op in self.ops["site"]:
                self._write(op, lambda v: db.Site(**v))
            session.flush()
            for op in self.ops["slot"]:
                self._write(op, lambda v: db.Slot(**v))
            session.flush()  # the slots first: the capacity history refers to them
            for op in self.ops["slot"]:
                if op.existing is None:
                    for name in CAPACITY_FIELDS_ON_CREATE:
                        session.add(
                            db.CapacityChange(
                                slot_id=op.key,
                                user_id=user.id,
                                field=name,
                                old_value=None,
                                new_value=_json(op.values[name]),
                            )
                        )
                else:
                    for change in op.changes:
                        session.add(
                            db.CapacityChange(
                                slot_id=op.key,
                                user_id=user.id,
                                field=change.field,
                                old_value=change.old,
                                new_value=change.new,
                            )
                        )
            session.flush()
            for op in self.ops["participant"]:
                self._write(op, lambda v: db.Participant(association_id=self.association, **v))
            session.flush()
            for op in self.ops["travel_time"]:
                self._write(op, lambda v, key=op.key: db.TravelTime(participant_id=key[0], site_id=key[1], **v))
            for pid, slot_id, start in self.placements:
                session.add(db.Placement(participant_id=pid, slot_id=slot_id, start_date=start, created_by=user.id))
            session.flush()
        except (IntegrityError, StaleDataError):
            raise Conflict(
                "the data changed while the import was being written; nothing was written, run it again"
            ) from None

    def _write(self, op: _Op, create: Any) -> None:
        if op.existing is None:
            self.session.add(create(op.values))
            return
        for change in op.changes:
            if change.field in op.values:
                setattr(op.existing, change.field, op.values[change.field])

    def audit(self, endpoint: str, applied: bool) -> None:
        """One entry: applied, every participant created, changed or compared; a dry run, every one compared."""
        touched = [op.key for op in self.ops["participant"]] if applied else []
        action = "import" if applied else "read"
        record(self.session, self.user, action, [*touched, *self.read_people], endpoint, "POST")

    def report(self, applied: bool, warnings: list[matcher.Problem]) -> ImportReport:
        created: list[CreatedRecord] = []
        changed: list[ChangedRecord] = []
        for kind, ops in self.ops.items():
            for op in ops:
                shown = "/".join(op.key) if isinstance(op.key, tuple) else str(op.key)
                if op.existing is None:
                    created.append(CreatedRecord(kind=kind, id=shown))
                else:
                    changed.append(ChangedRecord(kind=kind, id=shown, changes=op.changes))
        for pid, slot_id, start in self.placements:
            created.append(
                CreatedRecord(
                    kind="placement", id=pid, detail=f"active placement in slot '{slot_id}' from {start.isoformat()}"
                )
            )
        return ImportReport(
            applied=applied,
            format=self.upload.format,
            files=self.upload.files,
            summary=ImportSummary(
                created=len(created),
                changed=len(changed),
                unchanged=sum(len(keys) for keys in self.unchanged.values()),
                refused=len(self.refused),
            ),
            created=created,
            changed=changed,
            refused=self.refused,
            warnings=[ProblemPublic.model_validate(_public(w)) for w in warnings],
            conflicts=self.conflicts,
            exported_at=self.exported_at,
            partial=self.upload.partial,
            tables=self.tables(),
            not_in_upload=self.not_in_upload(),
        )

    def tables(self) -> list[TableReport]:
        left = self.not_in_upload()
        out: list[TableReport] = []
        for table, kind in TABLE_KINDS.items():
            ops = self.ops[kind]
            counts = {
                "created": sum(op.existing is None for op in ops),
                "changed": sum(op.existing is not None for op in ops),
                "unchanged": len(self.unchanged[kind]),
                "refused": sum(r.kind == kind for r in self.refused),
            }
            if table in self.upload.tables:
                note = ", ".join(f"{n} {what}" for what, n in counts.items())
                if left[table]:
                    note += f"; {left[table]} not in the file, left as they are"
            else:
                note = "not in the upload, left as they are"
            out.append(
                TableReport(
                    table=table,
                    in_upload=table in self.upload.tables,
                    left_as_they_are=left[table],
                    note=note,
                    **counts,
                )
            )
        return out


def run_import(
    session: Session,
    user: db.User,
    files: Sequence[UploadedFile],
    apply: bool,
    endpoint: str,
    today: date | None = None,
    overwrite: Overwrite | None = None,
) -> ImportReport:
    """Read, compare and (when `apply`) write an upload in the caller's transaction; the report says what was done."""
    upload = read_upload(files, lambda: load_instance(session, user.association_id))
    job = _Import(session, user, upload, today or date.today(), overwrite)
    job.plan(lock=apply)
    warnings = upload.warnings + job.notes + job.check_merged()
    if apply:
        job.apply(endpoint)
    job.audit(endpoint, apply)
    return job.report(apply, warnings)


# --- exports -----------------------------------------------------------------------------------------------------


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


def export_dataset(
    session: Session, association_id: str, fmt: str, today: date | None = None, dialect: str = SEMICOLON.name
) -> Export:
    """The association's data set as a zip of the CSV files (in `dialect`) or as one workbook, with its time."""
    now = datetime.now(UTC)
    instance = load_instance(session, association_id)
    stem = f"dataset-{re.sub(r'[^A-Za-z0-9_-]', '_', association_id)}-{(today or date.today()).isoformat()}"
    ids = [p.participant_id for p in instance.participants]
    if fmt == "xlsx":
        return Export(_workbook(instance, association_id, now), XLSX_MEDIA_TYPE, f"{stem}.xlsx", ids)
    return Export(_zip_of_csv(instance, DIALECTS[dialect], association_id, now), ZIP_MEDIA_TYPE, f"{stem}.zip", ids)
