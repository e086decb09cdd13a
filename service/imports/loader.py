"""Writing a core `Instance` into the database (first start, and imports): the columns of each record, defined once."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

import matcher
from matcher import WEEKDAYS
from service.db import models as db


def insert_dataset(
    session: Session, instance: matcher.Instance, association_id: str, start: date | None = None
) -> None:
    """Add every record of a data set to an empty association; current_slot_id becomes an active placement."""
    for e in instance.enterprises:
        session.add(db.Enterprise(association_id=association_id, **enterprise_fields(e)))
    session.flush()
    for t in instance.sites:
        session.add(db.Site(association_id=association_id, **site_fields(t)))
    session.flush()
    for s in instance.slots:
        session.add(db.Slot(association_id=association_id, **slot_fields(s)))
    session.flush()
    for p in instance.participants:
        session.add(db.Participant(association_id=association_id, **participant_fields(p)))
    session.flush()
    for tt in instance.travel_times:
        session.add(
            db.TravelTime(
                association_id=association_id, participant_id=tt.participant_id, site_id=tt.site_id, minutes=tt.minutes
            )
        )
    for p in instance.participants:
        if p.current_slot_id:
            session.add(
                db.Placement(
                    association_id=association_id,
                    participant_id=p.participant_id,
                    slot_id=p.current_slot_id,
                    start_date=p.waiting_since or start or date.today(),
                )
            )
    session.flush()


WEEKDAY_ORDER = WEEKDAYS
UNORDERED_FIELDS = frozenset(
    {"accessibility", "days", "supports", "programmes", "days_available", "needs", "avoid_enterprises"}
)
"""List columns whose order carries no meaning (sets in the core); `preferences` is ordered (rank)."""


def enterprise_fields(e: matcher.Enterprise) -> dict[str, object]:
    """The database columns of an enterprise (without `association_id`)."""
    return {"id": e.enterprise_id, "name": e.name, "municipality": e.municipality}


def site_fields(t: matcher.Site) -> dict[str, object]:
    return {
        "id": t.site_id,
        "enterprise_id": t.enterprise_id,
        "name": t.name,
        "municipality": t.municipality,
        "lat": t.lat,
        "lon": t.lon,
        "accessibility": sorted(t.accessibility),
        "supervisor_hours": t.supervisor_hours,
    }


def slot_fields(s: matcher.Slot) -> dict[str, object]:
    return {
        "id": s.slot_id,
        "site_id": s.site_id,
        "activity": s.activity,
        "seats": s.seats,
        "min_hours": s.min_hours,
        "max_hours": s.max_hours,
        "days": [d for d in WEEKDAY_ORDER if d in s.days],
        "supports": sorted(s.supports),
        "programmes": sorted(s.programmes),
        "min_age": s.min_age,
        "max_age": s.max_age,
        "women_only": s.women_only,
        "supervision_ratio": s.supervision_ratio,
        "available_from": s.available_from,
        "available_to": s.available_to,
    }


def participant_fields(p: matcher.Participant) -> dict[str, object]:
    """Database columns of a participant (no `association_id`, `coach_id`); `current_slot_id` is a placement."""
    return {
        "id": p.participant_id,
        "programme": p.programme,
        "municipality": p.municipality,
        "lat": p.lat,
        "lon": p.lon,
        "age": p.age,
        "gender": p.gender,
        "hours_per_week": p.hours_per_week,
        "days_available": [d for d in WEEKDAY_ORDER if d in p.days_available],
        "max_travel_minutes": p.max_travel_minutes,
        "travel_mode": p.travel_mode,
        "needs": sorted(p.needs),
        "preferences": list(p.preferences),
        "avoid_enterprises": sorted(p.avoid_enterprises),
        "waiting_since": p.waiting_since,
        "pinned": p.pinned,
    }
