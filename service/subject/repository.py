"""All SQL of the data-subject rights: one participant's rows, and the writes of an erasure. Every query is scoped
by the association, so a participant id means one person (ids are unique within an association)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from service.db import models as db


def participant(session: Session, association_id: str, participant_id: str) -> db.Participant | None:
    """The association's participant (not an erased row), or None."""
    return session.scalar(
        select(db.Participant).where(
            db.Participant.id == participant_id,
            db.Participant.association_id == association_id,
            db.Participant.erased_at.is_(None),
        )
    )


def travel_times(session: Session, association_id: str, participant_id: str) -> list[db.TravelTime]:
    query = select(db.TravelTime).where(
        db.TravelTime.association_id == association_id, db.TravelTime.participant_id == participant_id
    )
    return list(session.scalars(query.order_by(db.TravelTime.site_id)))


def placements(session: Session, association_id: str, participant_id: str) -> list[db.Placement]:
    query = select(db.Placement).where(
        db.Placement.association_id == association_id, db.Placement.participant_id == participant_id
    )
    return list(session.scalars(query.order_by(db.Placement.id)))


def plans(session: Session, association_id: str) -> list[db.Plan]:
    return list(session.scalars(select(db.Plan).where(db.Plan.association_id == association_id).order_by(db.Plan.id)))


def _association_entries(association_id: str):  # type: ignore[no-untyped-def]
    """The ids of the audit entries written by the association's users."""
    return (
        select(db.AuditEntry.id)
        .join(db.User, db.User.id == db.AuditEntry.user_id)
        .where(db.User.association_id == association_id)
    )


def audit_entries(session: Session, association_id: str, participant_id: str) -> list[db.AuditEntry]:
    """The association's audit entries that name the participant, oldest first."""
    touched = select(db.AuditParticipant.audit_id).where(db.AuditParticipant.participant_id == participant_id)
    return list(
        session.scalars(
            select(db.AuditEntry)
            .where(db.AuditEntry.id.in_(touched), db.AuditEntry.id.in_(_association_entries(association_id)))
            .order_by(db.AuditEntry.id)
        )
    )


def pseudonym_taken(session: Session, pseudonym: str) -> bool:
    as_participant = select(db.Participant.id).where(db.Participant.id == pseudonym)
    as_erasure = select(db.Erasure.id).where(db.Erasure.pseudonym == pseudonym)
    return bool(session.scalar(select(exists(as_participant) | exists(as_erasure))))


def add(session: Session, row: db.Base) -> None:
    session.add(row)
    session.flush()


def move_placements(session: Session, association_id: str, old_id: str, new_id: str) -> int:
    result = session.execute(
        update(db.Placement)
        .where(db.Placement.association_id == association_id, db.Placement.participant_id == old_id)
        .values(participant_id=new_id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def delete_travel_times(session: Session, association_id: str, participant_id: str) -> int:
    result = session.execute(
        delete(db.TravelTime)
        .where(db.TravelTime.association_id == association_id, db.TravelTime.participant_id == participant_id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def delete_participant(session: Session, person: db.Participant) -> None:
    session.delete(person)
    session.flush()


def rename_in_audit(session: Session, association_id: str, old_id: str, new_id: str) -> list[db.AuditEntry]:
    """Replace the id in the association's audit entries that name it; those entries (for their paths)."""
    entries = audit_entries(session, association_id, old_id)
    if entries:
        session.execute(
            update(db.AuditParticipant)
            .where(
                db.AuditParticipant.participant_id == old_id,
                db.AuditParticipant.audit_id.in_([e.id for e in entries]),
            )
            .values(participant_id=new_id)
            .execution_options(synchronize_session=False)
        )
        for entry in entries:
            session.expire(entry, ["participants"])
    return entries


def entries_with_path(session: Session, association_id: str, fragment: str) -> list[db.AuditEntry]:
    """The association's audit entries whose path contains `fragment` (a path segment with the id)."""
    return list(
        session.scalars(
            select(db.AuditEntry).where(
                db.AuditEntry.path.contains(fragment, autoescape=True),
                db.AuditEntry.id.in_(_association_entries(association_id)),
            )
        )
    )


def retention_candidates(session: Session, association_id: str, cutoff: date) -> list[tuple[str, date]]:
    """(participant id, end of their last placement) of the association's participants with placements, none of
    them active, the last ended before `cutoff`; oldest first."""
    active = aliased(db.Placement)
    holds_a_seat = exists().where(
        active.association_id == db.Participant.association_id,
        active.participant_id == db.Participant.id,
        active.end_date.is_(None),
    )
    last_end = func.max(db.Placement.end_date)
    rows = session.execute(
        select(db.Participant.id, last_end)
        .join(db.Placement, db.placement_participant())
        .where(
            db.Participant.association_id == association_id,
            db.Participant.erased_at.is_(None),
            ~holds_a_seat,
        )
        .group_by(db.Participant.id)
        .having(last_end < cutoff)
        .order_by(last_end, db.Participant.id)
    )
    return [(pid, end) for pid, end in rows if end is not None]


def never_placed_waiting_since_before(session: Session, association_id: str, cutoff: date) -> list[tuple[str, date]]:
    """(participant id, waiting_since) of the association's participants never placed, waiting since before
    `cutoff`."""
    placed = exists().where(db.placement_participant())
    rows = session.execute(
        select(db.Participant.id, db.Participant.waiting_since)
        .where(
            db.Participant.association_id == association_id,
            db.Participant.erased_at.is_(None),
            db.Participant.waiting_since < cutoff,
            ~placed,
        )
        .order_by(db.Participant.waiting_since, db.Participant.id)
    )
    return [(pid, since) for pid, since in rows if since is not None]


def idempotency_bodies_naming(session: Session, association_id: str, participant_id: str) -> list[db.IdempotencyKey]:
    """The kept answers (idempotency keys of the association's users) whose stored body contains the id; the caller
    checks it as a whole word."""
    users = select(db.User.id).where(db.User.association_id == association_id)
    return list(
        session.scalars(
            select(db.IdempotencyKey).where(
                db.IdempotencyKey.user_id.in_(users),
                db.IdempotencyKey.body.contains(participant_id, autoescape=True),
            )
        )
    )


def delete_rows(session: Session, rows: list[db.IdempotencyKey]) -> None:
    for row in rows:
        session.delete(row)
    session.flush()
