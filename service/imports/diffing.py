"""Comparing an upload with the association's data, record by record: what is created, changed and refused.

Rules of an import (an upsert by id, never a delete):
- Ids are the association's own: a record is created or changed in the importing association whatever other
  associations hold under the same id (they are never looked at, nor mentioned). A record that needs a refused one
  is refused (a new site of a refused enterprise, a travel time of a refused participant, …).
- Slots and sites keep their capacity rules: seats may not drop below the seats taken by active placements, nor a
  site's supervisor_hours below what its active placements need (the row is refused, naming them), and every change
  is written to the capacity history (by `applying`, through `catalogue.capacity`, as PATCH does).
- A slot change that would make an active placement break a rule of a feasible pair (hours, days, supports,
  programmes, age, women only, availability, or its site's accessibility and travel when the slot moves) is
  refused, naming the placements and rules, unless `?force=true`: then it is applied and each broken rule becomes a
  warning on the placement (`catalogue.fit`, as PATCH /slots?force=true), and the report lists it as a warning.
  A site change does the same for the active placements of every slot at the site (accessibility, position, so
  travel, and enterprise, so an avoided one), as PATCH /sites does: the site's row is refused, or applied with
  `?force=true`; a slot of the file is checked against its site as the file leaves it, and again against the
  service's site when that site's row is refused.
- A slot or site value that would undo a change made in the service since the file was exported is a conflict: the
  row is refused unless `?overwrite=` covers the field (see `ImportDiff._no_undo` and docs/service.md).
- The service's placements are the truth. A `current_slot_id` that differs from the participant's active placement
  is a warning and the placement is kept; the import never ends or moves a placement. A `current_slot_id` without
  an active placement creates one (from `waiting_since`, or today) if the slot has a free seat (else the participant
  is refused), unless the service ended this person's placement in that slot (a warning: the file is out of date).
- The association's data as it would be after the import must still be valid (pinned participants within their
  slots' seats and their sites' supervision hours); otherwise the import answers 422 and writes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

import matcher
from matcher import SUPERVISION, check_integrity
from service.catalogue import capacity, fit
from service.core_bridge import load_instance
from service.db import models as db
from service.errors import InvalidInput
from service.imports import repository as repo
from service.imports.loader import UNORDERED_FIELDS, enterprise_fields, participant_fields, site_fields, slot_fields
from service.imports.reading import UploadedSet, invalid_dataset
from service.imports.schemas import (
    ConflictRecord,
    FieldChange,
    RefusedRecord,
)

CAPACITY_HISTORY_FIELDS = (
    "activity", "seats", "min_hours", "max_hours", "days", "supports", "programmes", "min_age", "max_age",
    "women_only", "supervision_ratio", "available_from", "available_to",
)  # fmt: skip
"""The slot fields the capacity history keeps (every field a PATCH /slots or an import changes)."""
SITE_HISTORY_FIELDS = ("enterprise_id", "name", "municipality", "lat", "lon", "accessibility", "supervisor_hours")
"""The site fields the capacity history keeps (every field a PATCH /sites or an import changes)."""
HISTORY_FIELDS = {"slots": ("site_id", *CAPACITY_HISTORY_FIELDS), "sites": SITE_HISTORY_FIELDS}
"""What `?overwrite=<table>:<field>` may name: every field an import changes, and so keeps in the history (an import
may also move a slot to another site)."""
FLOAT_TOLERANCE = 1e-12  # relative; differences below it are rounding, not changes
TABLE_KINDS = {
    "enterprises": "enterprise",
    "sites": "site",
    "slots": "slot",
    "participants": "participant",
    "travel_times": "travel_time",
}


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


def _history(
    session: Session, association_id: str, kind: Literal["slot", "site"], ids: Sequence[str]
) -> dict[str, list[_Change]]:
    """slot (or site) -> its capacity history (every change made through the API or an import), oldest first."""
    out: dict[str, list[_Change]] = {}
    for change, name in repo.capacity_history(session, association_id, kind, ids):
        key = change.slot_id if kind == "slot" else change.site_id
        assert key is not None  # the rows were selected by it
        out.setdefault(key, []).append(
            _Change(change.id, change.field, change.old_value, change.new_value, change.changed_at, name)
        )
    return out


@dataclass(frozen=True)
class Overwrite:
    """`?overwrite=` parsed: `all`, a table (`slots`, `sites`: every field) or `table:field` (`slots:seats`,
    `sites:supervisor_hours`), comma-separated."""

    items: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, values: Sequence[str]) -> Overwrite:
        items = {item.strip().lower() for value in values for item in value.split(",") if item.strip()}
        for item in sorted(items):
            table, _, field_name = item.partition(":")
            if item == "all" or (table in HISTORY_FIELDS and (not field_name or field_name in HISTORY_FIELDS[table])):
                continue
            raise InvalidInput(
                f"overwrite '{item}' is not known: use all, slots, sites, slots:<field> with a field of slots.csv "
                f"({', '.join(HISTORY_FIELDS['slots'])}) or sites:<field> with a field of sites.csv "
                f"({', '.join(HISTORY_FIELDS['sites'])})",
                field="overwrite",
            )
        return cls(frozenset(items))

    def allows(self, table: str, field_name: str) -> bool:
        return bool({"all", table, f"{table}:{field_name}"} & self.items)


# --- comparing an upload with the database --------------------------------------------------------------------------


@dataclass
class Op:
    kind: str
    key: Any
    values: dict[str, Any]
    existing: Any | None  # the database row to update, None to create
    changes: list[FieldChange] = field(default_factory=list)


class ImportDiff:
    """An uploaded set compared with the association's data: what to create, change and refuse (`applying` writes
    it). Reads the database, never writes it."""

    def __init__(
        self,
        session: Session,
        user: db.User,
        upload: UploadedSet,
        today: date,
        overwrite: Overwrite | None = None,
        force: bool = False,
    ) -> None:
        self.session, self.user, self.upload, self.today = session, user, upload, today
        self.overwrite = overwrite or Overwrite()
        self.force = force
        self.forced: list[tuple[str, list[fit.Broken]]] = []  # slot id -> the placements it breaks (with force)
        self.sites_after: dict[str, matcher.Site] = {}  # a site the file creates, or changes in a pair's field
        self.checked_at: dict[str, str] = {}  # a file's slot kept after a check against its changed site -> the site
        stamp = upload.stamp
        self.exported_at = stamp.exported_at if stamp and stamp.association_id == user.association_id else None
        self.association = user.association_id
        self.ops: dict[str, list[Op]] = {k: [] for k in ("enterprise", "site", "slot", "participant", "travel_time")}
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
            self.ops[kind].append(Op(kind, key, values, None))
            return
        changes = _diff(existing, values) + (extra or [])
        if changes:
            self.ops[kind].append(Op(kind, key, values, existing, changes))
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
            repo.lock_sites_and_slots(self.session, self.association, {t.site_id for t in inst.sites}, slot_ids)
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
        self._refuse_sites_below_supervision()
        # A slot refused again below stays where it is, at a site that may change: until nothing more is refused.
        while self._refuse_sites_breaking_placements() | self._recheck_slots_at_refused_sites():
            pass
        self._plan_participants(inst.participants)
        self._plan_travel_times(inst.travel_times)

    def _plan_enterprises(self, records: Sequence[matcher.Enterprise]) -> None:
        found = repo.enterprises(self.session, self.association, [e.enterprise_id for e in records])
        for e in records:
            existing = found.get(e.enterprise_id)
            self.usable["enterprise"].add(e.enterprise_id)
            self.keep("enterprise", e.enterprise_id, enterprise_fields(e), existing)

    def _plan_sites(self, records: Sequence[matcher.Site]) -> None:
        found = repo.sites(self.session, self.association, [t.site_id for t in records])
        history = _history(self.session, self.association, "site", [t.site_id for t in records if t.site_id in found])
        for t in records:
            existing = found.get(t.site_id)
            if existing is not None:
                self.usable["site"].add(t.site_id)
            if t.enterprise_id not in self.usable["enterprise"]:
                self.refuse("site", "sites", t.site_id, f"its enterprise '{t.enterprise_id}' was refused")
                continue
            self.usable["site"].add(t.site_id)
            values = site_fields(t)
            if existing is not None and not self._no_undo(
                "site", t.site_id, existing, values, history.get(t.site_id, [])
            ):
                continue
            self.keep("site", t.site_id, values, existing)
        for op in self.ops["site"]:
            if op.existing is None:
                self.sites_after[op.key] = next(t for t in records if t.site_id == op.key)
            elif any(c.field in fit.SITE_PAIR_FIELDS for c in op.changes):
                self.sites_after[op.key] = fit.site_with(op.existing, op.values)

    def _refuse_sites_below_supervision(self) -> None:
        """Refuse the sites whose file lowers supervisor_hours below what their active placements need.

        As PATCH /sites refuses it: the placements are facts, and only ending or moving them frees the hours. Checked
        once the slots are planned, with the ratios the import leaves them, so a file that lowers a slot's
        supervision_ratio and its site's hours together passes. A file that raises the hours, or leaves them, is not
        held back by a site that is over already (check_merged warns)."""
        ratios = {
            s.slot_id: s.supervision_ratio
            for s in self.upload.instance.slots
            if s.slot_id not in self.refused_keys["slot"]
        }
        kept: list[Op] = []
        for op in self.ops["site"]:
            if op.existing is None or self._within_supervision(op.key, op.existing, op.values, ratios):
                kept.append(op)
        self.ops["site"] = kept

    def _within_supervision(
        self, site_id: str, existing: db.Site, values: dict[str, Any], ratios: dict[str, float]
    ) -> bool:
        hours, before = values["supervisor_hours"], existing.supervisor_hours
        if hours is None or _same("supervisor_hours", before, hours) or (before is not None and hours > before):
            return True
        need, placement_ids = capacity.supervision_need(self.session, self.association, site_id, ratio_of=ratios)
        if SUPERVISION.fits(0.0, need, hours):
            return True
        ids = ", ".join(str(i) for i in placement_ids)
        self.refuse(
            "site",
            "sites",
            site_id,
            f"the active placements {ids} need {need:g} supervisor hours a week, so supervisor_hours cannot go below "
            f"that (the file says {hours:g}); end or move those placements first",
        )
        return False

    def _plan_slots(self, records: Sequence[matcher.Slot]) -> None:
        found = repo.slots(self.session, self.association, [s.slot_id for s in records])
        self.taken = repo.taken_seats(self.session, self.association, {s.slot_id for s in records} | set(self.seats))
        history = _history(self.session, self.association, "slot", [s.slot_id for s in records if s.slot_id in found])
        for s in records:
            existing = found.get(s.slot_id)
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
            if existing is not None and not self._no_undo(
                "slot", s.slot_id, existing, values, history.get(s.slot_id, [])
            ):
                continue
            if existing is not None and not self._placements_fit(s, existing, values):
                continue
            self.usable["slot"].add(s.slot_id)
            self.seats[s.slot_id] = s.seats
            self.keep("slot", s.slot_id, values, existing)

    def _placements_fit(self, s: matcher.Slot, existing: db.Slot, values: dict[str, Any]) -> bool:
        """False (the slot refused) when the file's values, with its site as the file leaves it, make active
        placements break a rule of a feasible pair, unless `force`: then they are kept to be warned of (`applying`)
        and the report says so."""
        if not fit.touches_pairs(existing, values):
            return True  # a change of its site alone is the site's row's (`_refuse_sites_breaking_placements`)
        site = self.sites_after.get(s.site_id)
        broken = fit.broken_placements(self.session, existing, values, self.today, site=site)
        if self._fits("slot", "slots", s.slot_id, [(s.slot_id, broken)]):
            if site is not None:
                self.checked_at[s.slot_id] = s.site_id
            return True
        self.usable["slot"].add(s.slot_id)  # it exists and keeps the service's values
        return False

    def _fits(self, kind: str, table: str, key: str, found: list[tuple[str, list[fit.Broken]]]) -> bool:
        """True when no placement is broken (`found`: slot id -> the placements of it that are), or with `force`
        (the broken rules kept for `applying`, the report told); else the row is refused, naming them and the
        rules."""
        found = [(slot_id, broken) for slot_id, broken in found if broken]
        if not found:
            return True
        said = fit.describe([b for _, broken in found for b in broken], with_messages=True)
        if self.force:
            self.forced += found
            where = self.upload.where.of(table, key)
            self.notes.append(
                matcher.Problem(
                    where.file,
                    where.row,
                    f"{kind}_id",
                    f"{kind} '{key}' is changed with force although active placements now break rules: {said}; "
                    "each is kept as a warning on the placement",
                )
            )
            return True
        self.refuse(
            kind,
            table,
            key,
            f"the file's values would make active placements break rules of a feasible pair: {said}; end or move "
            "those placements first, or send ?force=true to apply the file and keep the conflicts as warnings on "
            "those placements",
        )
        return False

    def _refuse_sites_breaking_placements(self) -> bool:
        """Refuse the changed sites that make active placements of their slots break a rule of a feasible pair (the
        slots of the file were checked against the site already, in `_placements_fit`), unless `force`. True when
        one is refused."""
        changed = [op for op in self.ops["site"] if op.existing is not None and op.key in self.sites_after]
        if not changed:
            return False
        moving = {s.slot_id: s.site_id for s in self.upload.instance.slots}
        kept = {op.key for op in self.ops["slot"]} | set(self.unchanged["slot"])
        at = {
            op.key: [
                s.slot_id
                for s in self.base.slots
                if s.site_id == op.key and not (s.slot_id in kept and moving[s.slot_id] != op.key)
            ]
            for op in changed
        }
        rows = repo.slots(self.session, self.association, [i for ids in at.values() for i in ids])
        refused: set[str] = set()
        for op in changed:
            site = self.sites_after[op.key]
            found = [
                (slot_id, fit.broken_placements(self.session, rows[slot_id], {}, self.today, site=site))
                for slot_id in at[op.key]
                if slot_id not in self.checked_at and slot_id in rows
            ]
            if not self._fits("site", "sites", op.key, found):
                refused.add(op.key)
        self.ops["site"] = [op for op in self.ops["site"] if op.key not in refused]
        return bool(refused)

    def _recheck_slots_at_refused_sites(self) -> bool:
        """A file's slot checked against its site as the file changes it, whose site's row was refused since, is
        checked again against the site the service keeps. True when one is refused."""
        kept = {op.key for op in self.ops["site"]}
        again = [slot_id for slot_id, site_id in self.checked_at.items() if site_id not in kept]
        for slot_id in again:
            del self.checked_at[slot_id]
        if not again:
            return False
        self.forced = [(slot_id, broken) for slot_id, broken in self.forced if slot_id not in again]
        values = {s.slot_id: slot_fields(s) for s in self.upload.instance.slots if s.slot_id in again}
        ops = {op.key: op for op in self.ops["slot"]}
        refused = False
        for slot_id in again:
            op = ops.get(slot_id)
            if op is None or op.existing is None:  # unchanged: with the service's site, nothing changes
                continue
            assert isinstance(op.existing, db.Slot)
            broken = fit.broken_placements(self.session, op.existing, values[slot_id], self.today)
            if not self._fits("slot", "slots", slot_id, [(slot_id, broken)]):
                self.ops["slot"].remove(op)
                self.seats[slot_id] = op.existing.seats
                refused = True
        return refused

    def _no_undo(
        self,
        kind: Literal["slot", "site"],
        key: str,
        existing: db.Slot | db.Site,
        values: dict[str, Any],
        history: list[_Change],
    ) -> bool:
        """False (the slot or site refused) when the file would undo a change made in the service, unless
        `?overwrite=` covers the field."""
        table = f"{kind}s"
        conflicts: list[ConflictRecord] = []
        where = self.upload.where.of(table, key)
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
                    kind=kind,
                    id=key,
                    field=change.field,
                    file=file,
                    row=row,
                    file_value=change.new,
                    service_value=change.old,
                    changed_at=latest.at,
                    changed_by=latest.by,
                    overwritten=self.overwrite.allows(table, change.field),
                    overwrite=f"{table}:{change.field}",
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
            kind,
            table,
            key,
            f"would undo a change made in the service ({said}); send ?overwrite={overwrite} to apply the file",
        )
        self.usable[kind].add(key)  # it exists and keeps the service's values
        return False

    def _plan_participants(self, records: Sequence[matcher.Participant]) -> None:
        ids = [p.participant_id for p in records]
        found = repo.participants(self.session, self.association, ids)
        active = repo.active_placements(self.session, self.association, ids)
        ended = repo.last_ended(
            self.session, self.association, ids
        )  # (participant, slot) -> the last end of a placement there
        for p in records:
            pid, target = p.participant_id, p.current_slot_id
            existing = found.get(pid)
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
        found = repo.travel_times(self.session, self.association, [t.participant_id for t in records])
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
                used[slot.site_id] = used.get(slot.site_id, 0.0) + SUPERVISION.need(
                    p.hours_per_week, slot.supervision_ratio
                )
        for site in merged.sites:
            limit = site.supervisor_hours
            if site.site_id in uploaded_sites and not SUPERVISION.fits(0.0, used.get(site.site_id, 0.0), limit):
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
