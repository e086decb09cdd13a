"""Writing a compared import: everything not refused, in the caller's transaction, parents before children.

Slot and site changes are kept in the capacity history through `catalogue.capacity`, the one place that writes it:
a new slot or site starts its history with its capacity fields, and every changed field gets a row, as PATCH does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from service.catalogue import capacity, fit
from service.db import models as db
from service.errors import Conflict
from service.imports import repository as repo
from service.imports.diffing import ImportDiff, Op


def apply_diff(diff: ImportDiff) -> None:
    """Write the diff; a concurrent change found at flush time is a 409 and (the transaction failing) writes nothing."""
    session, user, association = diff.session, diff.user, diff.association
    try:
        for op in diff.ops["enterprise"]:
            _write(diff, op, lambda v: db.Enterprise(association_id=association, **v))
        repo.flush(session)
        created_sites = {
            op.key: _write(diff, op, lambda v: db.Site(association_id=association, **v)) for op in diff.ops["site"]
        }
        repo.flush(session)  # the sites first: the capacity history refers to them
        _record_history(diff, diff.ops["site"], created_sites)
        created_slots = {
            op.key: _write(diff, op, lambda v: db.Slot(association_id=association, **v)) for op in diff.ops["slot"]
        }
        repo.flush(session)
        _record_history(diff, diff.ops["slot"], created_slots)
        repo.flush(session)
        _record_warnings(diff)
        for op in diff.ops["participant"]:
            _write(diff, op, lambda v: db.Participant(association_id=association, **v))
        repo.flush(session)
        for op in diff.ops["travel_time"]:
            participant_id, site_id = op.key
            _write(
                diff,
                op,
                lambda v: db.TravelTime(
                    association_id=association,
                    participant_id=participant_id,  # noqa: B023
                    site_id=site_id,  # noqa: B023
                    **v,
                ),
            )
        for pid, slot_id, start in diff.placements:
            placement = db.Placement(
                association_id=association, participant_id=pid, slot_id=slot_id, start_date=start, created_by=user.id
            )
            repo.add(session, placement)
        repo.flush(session)
    except (IntegrityError, StaleDataError):
        raise Conflict(
            "the data changed while the import was being written; nothing was written, run it again"
        ) from None


def _record_warnings(diff: ImportDiff) -> None:
    """The rules that slots and sites changed with `?force=true` make active placements break, as warnings on them;
    and the warnings of changed slots' (and changed sites' slots') placements whose rule holds again are dropped (as
    PATCH /slots and PATCH /sites do)."""
    for slot_id, broken in diff.forced:
        fit.record_warnings(diff.session, diff.user, slot_id, broken, "import")
    resolved: dict[str, db.Slot] = {}
    for op in diff.ops["slot"]:
        if op.existing is not None and any(c.field in fit.PAIR_FIELDS for c in op.changes):
            assert isinstance(op.existing, db.Slot)
            resolved[op.existing.id] = op.existing
    for op in diff.ops["site"]:
        if op.existing is not None and any(c.field in fit.SITE_PAIR_FIELDS for c in op.changes):
            assert isinstance(op.existing, db.Site)
            resolved.update({slot.id: slot for slot in op.existing.slots})
    for slot in resolved.values():
        fit.clear_resolved(diff.session, slot, diff.today)


def _record_history(diff: ImportDiff, ops: list[Op], created: dict[Any, db.Base | None]) -> None:
    """The capacity history of the written slots or sites: a new one's first rows, an existing one's changes."""
    for op in ops:
        target = created[op.key] if op.existing is None else op.existing
        assert isinstance(target, (db.Slot, db.Site))
        if op.existing is None:
            capacity.record_created(diff.session, diff.user, target)
        else:
            for change in op.changes:
                capacity.record_change(diff.session, diff.user, target, change.field, change.old, change.new)


def _write(diff: ImportDiff, op: Op, create: Callable[[dict[str, Any]], db.Base]) -> db.Base | None:
    """Create the row (returned) or set the fields that change on the existing one (None)."""
    if op.existing is None:
        row = create(op.values)
        repo.add(diff.session, row)
        return row
    for change in op.changes:
        if change.field in op.values:
            setattr(op.existing, change.field, op.values[change.field])
    return None
