"""All SQL about participants."""

from __future__ import annotations

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from service.access import participant_filter
from service.db import models as db


def participants_query(user: db.User) -> Select[db.Participant]:
    return select(db.Participant).where(participant_filter(user)).order_by(db.Participant.id)


def participant(session: Session, association_id: str, participant_id: str) -> db.Participant | None:
    return session.get(db.Participant, (association_id, participant_id))


def user(session: Session, user_id: int) -> db.User | None:
    return session.get(db.User, user_id)


def current_slot(session: Session, association_id: str, participant_id: str) -> str | None:
    return session.scalar(
        select(db.Placement.slot_id).where(
            db.Placement.association_id == association_id,
            db.Placement.participant_id == participant_id,
            db.Placement.end_date.is_(None),
        )
    )


def has_placements(session: Session, association_id: str, participant_id: str) -> bool:
    query = select(db.Placement.id).where(
        db.Placement.association_id == association_id, db.Placement.participant_id == participant_id
    )
    return session.scalar(query.limit(1)) is not None


def add(session: Session, person: db.Participant) -> None:
    session.add(person)
    session.flush()


def delete_participant(session: Session, person: db.Participant) -> None:
    """The participant and their travel times (nothing else refers to a participant without placements)."""
    session.execute(
        delete(db.TravelTime)
        .where(db.TravelTime.association_id == person.association_id, db.TravelTime.participant_id == person.id)
        .execution_options(synchronize_session=False)
    )
    session.delete(person)
