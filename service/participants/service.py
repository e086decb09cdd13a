"""Participants: who may see and assign whom, and what a change may not break. The router audits each call."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.access import visible_participant
from service.core_bridge import active_placements
from service.db import models as db
from service.errors import Conflict, Forbidden, InvalidInput
from service.pagination import PageParams, fetch_page
from service.participants import repository as repo
from service.participants.schemas import ParticipantCreate, ParticipantUpdate

Role = db.Role


def _check_coach(session: Session, user: db.User, coach_id: int | None) -> None:
    if coach_id is None:
        return
    coach = repo.user(session, coach_id)
    if coach is None or coach.role is not Role.coach or coach.association_id != user.association_id:
        raise InvalidInput(f"coach_id {coach_id} is not a coach of this association")
    if user.role is Role.coach and coach_id != user.id:
        raise Forbidden("a coach can assign participants only to themselves")


def list_participants(
    session: Session, user: db.User, page: PageParams
) -> tuple[list[tuple[db.Participant, str | None]], int]:
    """A page of the participants the user may see, each with the slot of their active placement, and the total."""
    items, total = fetch_page(session, repo.participants_query(user), page)
    active = active_placements(session, user.association_id)
    return [(p, active[p.id].slot_id if p.id in active else None) for p in items], total


ERASED_PREFIX = "ERASED-"  # the pseudonyms of erasures (service.subject); never a new participant's code


def create_participant(session: Session, user: db.User, body: ParticipantCreate) -> db.Participant:
    if body.id.upper().startswith(ERASED_PREFIX):
        raise InvalidInput(f"id: codes starting with {ERASED_PREFIX} are kept for erased participants", field="id")
    if repo.participant(session, user.association_id, body.id) is not None:
        raise Conflict(f"participant '{body.id}' exists already")
    coach_id = body.coach_id if body.coach_id is not None or user.role is not Role.coach else user.id
    _check_coach(session, user, coach_id)
    if body.pinned:
        raise InvalidInput("pinned: a new participant holds no seat yet; pin after a placement")
    person = db.Participant(association_id=user.association_id, **{**body.model_dump(), "coach_id": coach_id})
    repo.add(session, person)
    return person


def get_participant(session: Session, user: db.User, participant_id: str) -> tuple[db.Participant, str | None]:
    """The participant and the slot of their active placement."""
    person = visible_participant(session, user, participant_id)
    return person, repo.current_slot(session, person.association_id, person.id)


def update_participant(
    session: Session, user: db.User, participant_id: str, body: ParticipantUpdate
) -> tuple[db.Participant, str | None]:
    person = visible_participant(session, user, participant_id)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None and field not in body.nullable:
            raise InvalidInput(f"{field} cannot be null")
    if "coach_id" in changes:
        _check_coach(session, user, changes["coach_id"])
    current = repo.current_slot(session, person.association_id, person.id)
    if changes.get("pinned") and current is None:
        raise InvalidInput("pinned: the participant holds no seat to keep")
    for field, value in changes.items():
        setattr(person, field, value)
    return person, current


def delete_participant(session: Session, user: db.User, participant_id: str) -> None:
    person = visible_participant(session, user, participant_id)
    if repo.has_placements(session, person.association_id, person.id):
        raise Conflict(
            f"participant '{participant_id}' has placements kept for follow-up, so the participant cannot be deleted; "
            f"to remove their personal data, erase them: POST /participants/{participant_id}/erasure (their id is "
            "replaced by a pseudonym everywhere and the placements stay, anonymous, in the reports)",
            erasure=f"/api/v1/participants/{participant_id}/erasure",
        )
    repo.delete_participant(session, person)
