"""What each role may see: one place that turns a user into query filters, so no router forgets a rule.

Objects outside a user's view answer 404, never 403, so ids cannot be probed.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, select, true
from sqlalchemy.orm import Session

from service.db import models as db
from service.errors import NotFound, ParticipantNotFound


def enterprise_filter(user: db.User) -> ColumnElement[bool]:
    condition = db.Enterprise.association_id == user.association_id
    if user.role is db.Role.enterprise_manager:
        condition = and_(condition, db.Enterprise.id == user.enterprise_id)
    return condition


def participant_filter(user: db.User) -> ColumnElement[bool]:
    condition = and_(db.Participant.association_id == user.association_id, db.Participant.erased_at.is_(None))
    if user.role is db.Role.coach:
        return and_(condition, db.Participant.coach_id == user.id)
    if user.role is db.Role.enterprise_manager:
        return and_(condition, ~true())  # managers never see who the participants are
    return condition


def visible_enterprise(session: Session, user: db.User, enterprise_id: str) -> db.Enterprise:
    # Keys are (association, id): another association's enterprise of the same id is never even read.
    enterprise = session.get(db.Enterprise, (user.association_id, enterprise_id))
    if enterprise is None or (user.role is db.Role.enterprise_manager and enterprise.id != user.enterprise_id):
        raise NotFound(f"no enterprise '{enterprise_id}'")
    return enterprise


def visible_site(session: Session, user: db.User, site_id: str) -> db.Site:
    site = session.get(db.Site, (user.association_id, site_id))
    if site is None:
        raise NotFound(f"no site '{site_id}'")
    try:
        visible_enterprise(session, user, site.enterprise_id)
    except NotFound:
        raise NotFound(f"no site '{site_id}'") from None
    return site


def visible_slot(session: Session, user: db.User, slot_id: str) -> db.Slot:
    slot = session.get(db.Slot, (user.association_id, slot_id))
    if slot is None:
        raise NotFound(f"no slot '{slot_id}'")
    try:
        visible_site(session, user, slot.site_id)
    except NotFound:
        raise NotFound(f"no slot '{slot_id}'") from None
    return slot


def visible_participant_id(session: Session, user: db.User, participant_id: str) -> str:
    """`visible_participant` for a read that needs only to know the person is in the user's view: one indexed
    read of the key through `participant_filter` (the same rules), no row loaded."""
    found = session.execute(
        select(db.Participant.id).where(db.Participant.id == participant_id, participant_filter(user))
    ).scalar()
    if found is None:
        raise ParticipantNotFound(f"no participant '{participant_id}'")
    return str(found)


def visible_participant(session: Session, user: db.User, participant_id: str) -> db.Participant:
    person = session.get(db.Participant, (user.association_id, participant_id))
    if (
        person is None
        or person.erased_at is not None
        or user.role is db.Role.enterprise_manager
        or (user.role is db.Role.coach and person.coach_id != user.id)
    ):
        raise ParticipantNotFound(f"no participant '{participant_id}'")
    return person
