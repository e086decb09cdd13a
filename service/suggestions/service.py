"""Suggestions for one participant: the core's ranked, explained suggestions over the database's state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

import matcher
from service.access import visible_participant, visible_participant_id
from service.audit.log import write_entry
from service.db import models as db
from service.db.engine import transaction, write_connection
from service.errors import NotFound
from service.suggestions.cache import compiled_for


def suggestions(
    session: Session, user: db.User, participant_id: str, day: date, k: int, per_site: int | None = 2
) -> matcher.Suggestions:
    person_id = visible_participant_id(session, user, participant_id)
    kept = compiled_for(session, user.association_id, on=day)
    return matcher.suggest(kept.compiled, person_id, day, k=k, per_site=per_site, occupancy=kept.occupancy)


def suggestions_read_and_audited(
    factory: sessionmaker[Session],
    caller: Callable[[Session], db.User],
    participant_id: str,
    day: date,
    k: int,
    per_site: int,
    method: str,
    path: str,
    encode: Callable[[matcher.Suggestions], bytes],
) -> bytes:
    """The route's whole work in one thread: one read (the caller, the person, the data version, the core's
    suggestions, encoded), then its audit entry, committed before the answer is sent."""
    with transaction(factory, write=False) as session:
        user = caller(session)
        result = suggestions(session, user, participant_id, day, k, per_site)
        body = encode(result)
    with write_connection(factory) as connection:
        write_entry(connection, user, "read", [result.participant_id], method, path)
    return body


def what_if(session: Session, user: db.User, participant_id: str, slot_id: str, day: date) -> matcher.WhatIf:
    """What would let the person into the slot: the core's smallest change per blocking rule, over the database's
    state (seats and supervisor hours as the active placements hold them). 404 for a person outside the user's
    view, or a slot the association lacks."""
    person = visible_participant(session, user, participant_id)
    compiled = compiled_for(session, user.association_id, on=day).compiled
    try:
        return matcher.what_if(compiled, person.id, slot_id, day)
    except matcher.UnknownSlot:
        raise NotFound(f"no slot '{slot_id}'") from None


def for_many(
    session: Session, user: db.User, participant_ids: list[str], day: date, k: int = 3
) -> dict[str, matcher.Suggestions]:
    """Suggestions for many people over one load of the data (a plan's unplaced people), for the ones in the user's
    view and in the data; each says why the person gets no seat when fewer than `k` fit."""
    kept = compiled_for(session, user.association_id, on=day)
    found: dict[str, matcher.Suggestions] = {}
    for participant_id in participant_ids:
        try:
            visible_participant(session, user, participant_id)
            found[participant_id] = matcher.suggest(kept.compiled, participant_id, day, k=k, occupancy=kept.occupancy)
        except (NotFound, matcher.UnknownParticipant):
            continue  # removed since the plan was solved, or outside the view: no reason to give
    return found
