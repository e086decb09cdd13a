"""Importing and exporting an association's whole data set in the exchange format of docs/data-format.md.

An upload is saved to a temporary folder and read by `matcher.read_dataset`, the function the command line uses, so
every problem is named `file:row:column` exactly as there; the set is then checked by `matcher.prepare`. A valid set
is compared, record by record, with the association's data: what would be created, changed (field by field) and
refused. A dry run stops there; an applied import writes everything not refused in the request's one transaction.

Rules of an import (an upsert by id, never a delete):
- A record whose id belongs to another association is refused, and so is a record that needs a refused one
  (a new site of a refused enterprise, a travel time of a refused participant, …).
- Slots keep their capacity rules: seats may not drop below the seats taken by active placements (the slot is
  refused), and every change is written to the capacity history.
- `current_slot_id` is compared with the participant's active placement. The import never ends a placement: a
  participant whose active placement differs from the file is refused. A `current_slot_id` without an active
  placement creates one (from `waiting_since`, or today), if the slot has a free seat (else the participant is
  refused).
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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

import matcher
from matcher.domain import WEEKDAYS
from matcher.integrity import SUPERVISION_TOLERANCE, RowLocator, check_integrity
from matcher.io.reader import ID_COLUMN
from matcher.io.tables import TABLE_NAMES, read_tables
from service.audit.log import record
from service.core_bridge import load_instance
from service.db import models as db
from service.errors import Conflict, InvalidInput, ServiceError
from service.imports.loader import UNORDERED_FIELDS, enterprise_fields, participant_fields, site_fields, slot_fields
from service.imports.schemas import (
    ChangedRecord,
    CreatedRecord,
    FieldChange,
    ImportReport,
    ImportSummary,
    ProblemPublic,
    RefusedRecord,
)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
"""The largest upload accepted (the whole multipart body); a data set of tens of thousands of rows is far smaller."""
MAX_UPLOAD_FILES = 10
CSV_FILES = tuple(f"{name}.csv" for name in TABLE_NAMES)
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP_MEDIA_TYPE = "application/zip"
CAPACITY_FIELDS_ON_CREATE = ("seats", "min_hours", "max_hours", "days")  # as POST /slots records them
FLOAT_TOLERANCE = 1e-12  # relative; differences below it are rounding, not changes
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
            f"no file was uploaded: send {expected} (travel_times.csv is optional) or one .xlsx workbook"
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
        if lower in CSV_FILES:
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
class Locations:
    """Where each record of the upload is: the file as problems name it, and the spreadsheet row per id."""

    files: dict[str, str]
    rows: dict[str, dict[Any, int]]

    def of(self, table: str, key: Any) -> tuple[str, int]:
        return self.files.get(table, f"{table}.csv"), self.rows.get(table, {}).get(key, 0)

    def locator(self, keys: dict[str, list[Any]]) -> RowLocator:
        """A `RowLocator` for an instance whose records, per table, have these keys (in order)."""
        return RowLocator(
            files=dict(self.files),
            rows={t: {i: self.rows.get(t, {}).get(k, 0) for i, k in enumerate(ks)} for t, ks in keys.items()},
        )


def _locations(path: Path) -> Locations:
    tables, _ = read_tables(path)
    files: dict[str, str] = {}
    rows: dict[str, dict[Any, int]] = {}
    for name, table in tables.items():
        files[name] = table.source
        frame = table.frame
        if name == "travel_times":
            keys: list[Any] = list(zip(frame["participant_id"].tolist(), frame["site_id"].tolist(), strict=True))
        else:
            keys = frame[ID_COLUMN[name]].tolist()
        found: dict[Any, int] = {}
        for i, key in enumerate(keys):
            found.setdefault(key, i + 2)  # row i of a frame is spreadsheet row i + 2
        rows[name] = found
    return Locations(files, rows)


@dataclass(frozen=True)
class UploadedSet:
    format: str
    files: list[str]
    instance: matcher.Instance
    warnings: list[matcher.Problem]
    where: Locations


def read_upload(files: Sequence[UploadedFile]) -> UploadedSet:
    """Save the upload to a temporary folder and read it as the command line does; 422 with every problem if invalid."""
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
            instance, warnings = matcher.read_dataset(path)
            matcher.prepare(instance)  # pinned limits and everything else the engine needs before planning
        except matcher.InvalidDataset as exc:
            raise invalid_dataset(exc.problems, exc.warnings, "the data set is not valid") from None
        except (zipfile.BadZipFile, EOFError) as exc:  # a damaged workbook
            problem = matcher.Problem(path.name, 0, "", f"cannot be opened as an .xlsx workbook: {exc}")
            raise invalid_dataset([problem], [], "the data set is not valid") from None
        where = _locations(path)
    return UploadedSet(kind, [f.name for f in files], instance, list(warnings), where)


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

    def __init__(self, session: Session, user: db.User, upload: UploadedSet, today: date) -> None:
        self.session, self.user, self.upload, self.today = session, user, upload, today
        self.association = user.association_id
        self.ops: dict[str, list[_Op]] = {k: [] for k in ("enterprise", "site", "slot", "participant", "travel_time")}
        self.unchanged: dict[str, list[Any]] = {k: [] for k in self.ops}
        self.refused: list[RefusedRecord] = []
        self.refused_keys: dict[str, set[Any]] = {k: set() for k in self.ops}
        self.placements: list[tuple[str, str, date]] = []  # (participant, slot, start) to create
        self.read_people: list[str] = []  # existing participants of the association that were compared

    def refuse(self, kind: str, table: str, key: Any, reason: str) -> None:
        file, row = self.upload.where.of(table, key)
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
            _lock(self.session, db.Site, [t.site_id for t in inst.sites])
            _lock(self.session, db.Slot, [s.slot_id for s in inst.slots])
        self.base = load_instance(self.session, self.association)
        # A record is usable by the records after it when it exists in the association or will be created.
        self.usable: dict[str, set[Any]] = {k: set() for k in self.ops}
        self.seats: dict[str, int] = {}  # usable slot -> the seats it will have
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
        self.taken = {
            slot_id: int(n)
            for slot_id, n in _in_chunks(
                self.session,
                lambda c: (
                    select(db.Placement.slot_id, func.count())
                    .where(db.Placement.slot_id.in_(c), db.Placement.end_date.is_(None))
                    .group_by(db.Placement.slot_id)
                ),
                [s.slot_id for s in records],
            )
        }
        for s in records:
            existing, owner = found.get(s.slot_id, (None, None))
            if existing is not None and owner != self.association:
                self._foreign("slot", "slots", s.slot_id)
                continue
            if existing is not None:
                self.seats[s.slot_id] = existing.seats
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
            self.seats[s.slot_id] = s.seats
            self.keep("slot", s.slot_id, slot_fields(s), existing)

    def _plan_participants(self, records: Sequence[matcher.Participant]) -> None:
        found = _fetch(
            self.session, lambda c: select(db.Participant).where(db.Participant.id.in_(c)), records, "participant_id"
        )
        active = {
            p.participant_id: p
            for (p,) in _in_chunks(
                self.session,
                lambda c: select(db.Placement).where(
                    db.Placement.participant_id.in_(c), db.Placement.end_date.is_(None)
                ),
                [p.participant_id for p in records],
            )
        }
        for p in records:
            pid, target = p.participant_id, p.current_slot_id
            existing = found.get(pid)
            if existing is not None and existing.association_id != self.association:
                self._foreign("participant", "participants", pid)
                continue
            if existing is not None:
                self.usable["participant"].add(pid)
                self.read_people.append(pid)
            holding = active.get(pid)
            if holding is not None and holding.slot_id != target:
                says = f"slot '{target}'" if target else "none"
                reason = (
                    f"holds active placement {holding.id} in slot '{holding.slot_id}' but current_slot_id says {says}; "
                    "an import never ends a placement: end it through /placements first, or correct the file"
                )
                self.refuse("participant", "participants", pid, reason)
                continue
            extra: list[FieldChange] = []
            if target and holding is None:
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
            self.usable["participant"].add(pid)
            self.keep("participant", pid, participant_fields(p), existing, extra)

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

    def merged(self) -> tuple[matcher.Instance, RowLocator]:
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
        people = overlay("participant", base.participants, inst.participants, lambda r: r.participant_id)
        travel = overlay("travel_time", base.travel_times, inst.travel_times, lambda r: (r.participant_id, r.site_id))
        merged = matcher.Instance(tuple(enterprises), tuple(sites), tuple(slots), tuple(people), tuple(travel))
        locator = self.upload.where.locator(
            {
                "enterprises": [e.enterprise_id for e in enterprises],
                "sites": [t.site_id for t in sites],
                "slots": [s.slot_id for s in slots],
                "participants": [p.participant_id for p in people],
                "travel_times": [(t.participant_id, t.site_id) for t in travel],
            }
        )
        return merged, locator

    def check_merged(self) -> list[matcher.Problem]:
        """422 when the data after the import would break a limit; warnings for sites over their supervision."""
        merged, locator = self.merged()
        problems, _ = check_integrity(merged, locator)
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
                file, row = self.upload.where.of("sites", site.site_id)
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
            not_in_upload=self.not_in_upload(),
        )


def run_import(
    session: Session,
    user: db.User,
    files: Sequence[UploadedFile],
    apply: bool,
    endpoint: str,
    today: date | None = None,
) -> ImportReport:
    """Read, compare and (when `apply`) write an upload in the caller's transaction; the report says what was done."""
    upload = read_upload(files)
    job = _Import(session, user, upload, today or date.today())
    job.plan(lock=apply)
    warnings = upload.warnings + job.check_merged()
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


def _workbook(instance: matcher.Instance) -> bytes:
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
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _zip_of_csv(instance: matcher.Instance) -> bytes:
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="placement-export-") as tmp:
        matcher.write_dataset(instance, tmp)
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in CSV_FILES:
                path = Path(tmp) / name
                if path.is_file():
                    archive.write(path, arcname=name)
    return buffer.getvalue()


def export_dataset(session: Session, association_id: str, fmt: str, today: date | None = None) -> Export:
    """The association's data set as `matcher.write_dataset` writes it (a zip of CSV files) or as one workbook."""
    instance = load_instance(session, association_id)
    stem = f"dataset-{re.sub(r'[^A-Za-z0-9_-]', '_', association_id)}-{(today or date.today()).isoformat()}"
    ids = [p.participant_id for p in instance.participants]
    if fmt == "xlsx":
        return Export(_workbook(instance), XLSX_MEDIA_TYPE, f"{stem}.xlsx", ids)
    return Export(_zip_of_csv(instance), ZIP_MEDIA_TYPE, f"{stem}.zip", ids)
