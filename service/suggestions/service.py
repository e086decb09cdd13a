"""Suggestions for one participant: the core's ranked, explained suggestions over the database's state."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

import matcher
from service.access import visible_participant
from service.core_bridge import load_instance
from service.db import models as db


def suggestions(
    session: Session, user: db.User, participant_id: str, day: date, k: int, per_site: int | None = 2
) -> matcher.Suggestions:
    person = visible_participant(session, user, participant_id)
    compiled = matcher.prepare(load_instance(session, user.association_id))
    return matcher.suggest(compiled, person.id, day, k=k, per_site=per_site)
