"""Data-subject rights (GDPR art. 15 and 17): everything stored about one participant, and erasure.

- `record`: the participant's row, travel times, placements (with warnings), the plans whose stored result or
  progress names them (the parts that do) and the audit entries about them.
- `erase`: the participant's id is replaced everywhere by a pseudonym of this erasure (`ERASED-<12 hex>`): in the
  placements (kept, so the aggregate reports stay as they were), in the association's plans (result and progress,
  every text that names the id) and in the association's audit entries (the participants they name and their
  paths). The participant row is replaced by an anonymous one under the pseudonym that keeps only what the
  aggregate reports count (programme, hours per week) and is flagged erased: no route shows it, no plan uses it,
  and it no longer counts as waiting. Travel times are deleted, and so are the kept `Idempotency-Key` replies of
  the association's users that name the id. Only the association's rows are read or written: another association
  may hold a participant of the same id, who is a different person. The erased id is kept nowhere; `erasures` keeps the
  pseudonym, when, by whom and why. A participant with an active placement is refused (409): end it first, with
  its reason, so the outcome figures stay right.
- `retention`: `placement gallra`: the participants whose last placement ended before a cut-off, erased (dry run
  by default). Participants never placed are listed when they have waited since before the cut-off, never erased
  by it: they are still waiting for a place (a plain DELETE removes one who has left).
"""

from __future__ import annotations

import calendar
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from service.db import models as db
from service.errors import Conflict, ParticipantNotFound
from service.subject import repository as repo

PSEUDONYM_PREFIX = "ERASED-"
ID_CHARS = r"A-Za-z0-9_\-"


def _not_found(participant_id: str) -> ParticipantNotFound:
    return ParticipantNotFound(f"no participant '{participant_id}'")


def _visible(session: Session, user: db.User, participant_id: str) -> db.Participant:
    """The caller's participant: a coordinator's association's (the router lets only coordinators in)."""
    person = repo.participant(session, user.association_id, participant_id)
    if person is None or user.role is not db.Role.coordinator:
        raise _not_found(participant_id)
    return person


# --- the record (subject access request) ------------------------------------------------------------------------


def _mentions(value: Any, participant_id: str, pattern: re.Pattern[str]) -> bool:
    if isinstance(value, str):
        return bool(pattern.search(value))
    if isinstance(value, dict):
        return any(_mentions([k, v], participant_id, pattern) for k, v in value.items())
    if isinstance(value, list):
        return any(_mentions(v, participant_id, pattern) for v in value)
    return False


def _id_pattern(participant_id: str) -> re.Pattern[str]:
    """The id as a whole word: `P1` in `P1: …` or `'P1'`, not in `P10`."""
    return re.compile(rf"(?<![{ID_CHARS}]){re.escape(participant_id)}(?![{ID_CHARS}])")


def _parts_naming(document: dict[str, Any] | None, participant_id: str, pattern: re.Pattern[str]) -> dict[str, Any]:
    """The parts of a plan's result or progress that name the participant: per key, the list items that do (or the
    value itself when it is not a list)."""
    if not document:
        return {}
    found: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, list):
            items = [v for v in value if _mentions(v, participant_id, pattern)]
            if items:
                found[key] = items
        elif _mentions(value, participant_id, pattern) or _mentions(key, participant_id, pattern):
            found[key] = value
    return found


def record(session: Session, user: db.User, participant_id: str) -> dict[str, Any]:
    person = _visible(session, user, participant_id)
    pattern = _id_pattern(person.id)
    plans = []
    for plan in repo.plans(session, user.association_id):
        result = _parts_naming(plan.result, person.id, pattern)
        progress = _parts_naming(plan.progress, person.id, pattern)
        if result or progress or (plan.error and pattern.search(plan.error)):
            plans.append(
                {
                    "plan_id": plan.id,
                    "status": plan.status.value,
                    "plan_date": plan.plan_date,
                    "created_at": plan.created_at,
                    "result": result,
                    "progress": progress,
                    "error": plan.error if plan.error and pattern.search(plan.error) else None,
                }
            )
    participant = {c.name: getattr(person, c.name) for c in db.Participant.__table__.columns if c.name != "erased_at"}
    placements = repo.placements(session, user.association_id, person.id)
    return {
        "participant_id": person.id,
        "generated_at": datetime.now(UTC),
        "participant": participant,
        "current_slot_id": next((p.slot_id for p in placements if p.end_date is None), None),
        "travel_times": [
            {"site_id": t.site_id, "minutes": t.minutes}
            for t in repo.travel_times(session, user.association_id, person.id)
        ],
        "placements": placements,
        "plans": plans,
        "audit": repo.audit_entries(session, user.association_id, person.id),
    }


# --- erasure ----------------------------------------------------------------------------------------------------


@dataclass
class Erased:
    pseudonym: str
    placements: int
    travel_times: int
    plans: int
    audit_entries: int


def new_pseudonym(session: Session) -> str:
    while True:
        pseudonym = PSEUDONYM_PREFIX + secrets.token_hex(6).upper()
        if not repo.pseudonym_taken(session, pseudonym):
            return pseudonym


def _replace(value: Any, pattern: re.Pattern[str], pseudonym: str) -> tuple[Any, int]:
    """`value` (JSON) with every whole-word occurrence of the id replaced, in keys and texts; and how many."""
    if isinstance(value, str):
        return pattern.subn(pseudonym, value)
    if isinstance(value, dict):
        total, out = 0, {}
        for k, v in value.items():
            new_k, n_k = _replace(k, pattern, pseudonym)
            new_v, n_v = _replace(v, pattern, pseudonym)
            out[new_k] = new_v
            total += n_k + n_v
        return out, total
    if isinstance(value, list):
        total, items = 0, []
        for v in value:
            new_v, n = _replace(v, pattern, pseudonym)
            items.append(new_v)
            total += n
        return items, total
    return value, 0


def erase_person(
    session: Session, actor: db.User | None, association_id: str, person: db.Participant, reason: str
) -> Erased:
    """Replace the person's id by a new pseudonym everywhere (see the module's docstring); no check of who asks."""
    old_id = person.id
    pseudonym = new_pseudonym(session)
    pattern = _id_pattern(old_id)
    anonymous = db.Participant(
        id=pseudonym,
        association_id=association_id,
        coach_id=None,
        programme=person.programme,
        municipality="",
        lat=0.0,
        lon=0.0,
        age=None,
        gender=None,
        hours_per_week=person.hours_per_week,
        days_available=[],
        max_travel_minutes=1,
        travel_mode="transit",
        needs=[],
        preferences=[],
        avoid_enterprises=[],
        waiting_since=None,
        pinned=False,
        erased_at=datetime.now(UTC),
    )
    repo.add(session, anonymous)
    placements = repo.move_placements(session, association_id, old_id, pseudonym)
    travel = repo.delete_travel_times(session, association_id, old_id)
    repo.delete_participant(session, person)
    plans = 0
    for plan in repo.plans(session, association_id):
        changed = 0
        for attribute in ("result", "progress"):
            document = getattr(plan, attribute)
            if document is not None:
                replaced, n = _replace(document, pattern, pseudonym)
                if n:
                    setattr(plan, attribute, replaced)
                    changed += n
        if plan.error:
            plan.error, n = pattern.subn(pseudonym, plan.error)
            changed += n
        plans += bool(changed)
    entries = {e.id: e for e in repo.rename_in_audit(session, association_id, old_id, pseudonym)}
    for entry in repo.entries_with_path(session, association_id, old_id):
        entries[entry.id] = entry
    for entry in entries.values():
        entry.path = pattern.sub(pseudonym, entry.path)[:200]
    # A kept answer to an Idempotency-Key retry may hold the id (a created placement, an import's report): it goes,
    # so a late retry runs afresh instead of replaying the erased id.
    answers = [
        row
        for row in repo.idempotency_bodies_naming(session, association_id, old_id)
        if row.body is not None and pattern.search(row.body)
    ]
    repo.delete_rows(session, answers)
    repo.add(
        session,
        db.Erasure(
            association_id=association_id,
            pseudonym=pseudonym,
            reason=reason,
            erased_by=actor.id if actor is not None else None,
        ),
    )
    return Erased(pseudonym, placements, travel, plans, len(entries))


def erase(session: Session, user: db.User, participant_id: str) -> Erased:
    """A coordinator's erasure of one participant (a data subject's request); 409 while a placement is active."""
    person = _visible(session, user, participant_id)
    active = [p for p in repo.placements(session, user.association_id, person.id) if p.end_date is None]
    if active:
        raise Conflict(
            f"participant '{participant_id}' holds placement {active[0].id} in slot '{active[0].slot_id}'; end it "
            f"first (PATCH /placements/{active[0].id} with an end_reason), then erase",
            placement_id=active[0].id,
        )
    return erase_person(session, user, user.association_id, person, "request")


# --- retention ("gallring") ---------------------------------------------------------------------------------------


@dataclass
class Retention:
    cutoff: date
    applied: bool
    due: list[tuple[str, date]] = field(default_factory=list)  # (participant, end of last placement)
    erased: list[tuple[str, str]] = field(default_factory=list)  # (participant, pseudonym) when applied
    never_placed: list[tuple[str, date]] = field(default_factory=list)  # listed, not erased


def retention(session: Session, association_id: str, cutoff: date, apply: bool) -> Retention:
    """The participants whose last placement ended before `cutoff` (none active), erased when `apply`."""
    report = Retention(cutoff=cutoff, applied=apply)
    report.due = repo.retention_candidates(session, association_id, cutoff)
    report.never_placed = repo.never_placed_waiting_since_before(session, association_id, cutoff)
    if apply:
        for participant_id, _ in report.due:
            person = repo.participant(session, association_id, participant_id)
            assert person is not None
            erased = erase_person(session, None, association_id, person, "retention")
            report.erased.append((participant_id, erased.pseudonym))
    return report


def cutoff_of(older_than: str, today: date) -> date:
    """`24m` (months) or `730d` (days) before `today`; a month back from the 31st is the month's last day."""
    match = re.fullmatch(r"\s*(\d{1,4})\s*([md])\s*", older_than.lower())
    if match is None:
        raise ValueError(f"--older-than '{older_than}': give months or days, e.g. 24m or 730d")
    amount, unit = int(match.group(1)), match.group(2)
    if unit == "d":
        return today - timedelta(days=amount)
    year, month = divmod(today.year * 12 + (today.month - 1) - amount, 12)
    month += 1
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))
