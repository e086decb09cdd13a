"""The spec written as plain Python: check any plan against docs/data-format.md without the solver.

Deliberately independent of the array code (its own travel arithmetic, its own loops, the rule units' scalar checks
only), so that tests, benchmarks and the service can trust a plan only after this has found nothing wrong with it.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import date

from matcher.domain import Instance, Participant, Site
from matcher.rules import ONE_PLACE, PINNING, SEATS, SUPERVISION, PairContext, rule_failures
from matcher.settings import DETOUR_FACTOR, EARTH_RADIUS_KM, TRAVEL_OVERHEAD_MIN, TRAVEL_SPEED_KMH


def estimated_minutes(person: Participant, site: Site) -> int:
    """The spec's estimate for one pair, in scalar arithmetic."""
    phi1, phi2 = math.radians(person.lat), math.radians(site.lat)
    dphi, dlambda = phi2 - phi1, math.radians(site.lon - person.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    km = 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(max(h, 0.0), 1.0)))
    mode = person.travel_mode
    return math.ceil(km * DETOUR_FACTOR / TRAVEL_SPEED_KMH[mode] * 60 + TRAVEL_OVERHEAD_MIN[mode])


def pair_minutes(instance: Instance) -> Mapping[tuple[str, str], int]:
    """The journey planner's minutes by (participant_id, site_id)."""
    return {(t.participant_id, t.site_id): t.minutes for t in instance.travel_times}


def check_plan(instance: Instance, assignment: Mapping[str, str | None], on: date) -> list[str]:
    """Every way `assignment` (participant_id -> slot_id or None) breaks the spec; empty when the plan is feasible."""
    violations: list[str] = []
    slots = {s.slot_id: s for s in instance.slots}
    sites = {t.site_id: t for t in instance.sites}
    enterprises = {e.enterprise_id: e for e in instance.enterprises}
    people = {p.participant_id: p for p in instance.participants}
    overrides = pair_minutes(instance)

    for pid in assignment:
        if pid not in people:
            violations.append(f"unknown participant {pid}")
    places: Counter[str] = Counter()  # a mapping gives each person one slot; counted so the rule is checked too
    seats_used: Counter[str] = Counter()
    supervision_used: defaultdict[str, float] = defaultdict(float)
    for person in instance.participants:
        pid = person.participant_id
        slot_id = assignment.get(pid)
        unkept = PINNING.check(person, slot_id)
        if unkept is not None:
            violations.append(unkept)
        if slot_id is None:
            continue
        slot = slots.get(slot_id)
        if slot is None:
            violations.append(f"participant {pid} placed in unknown slot {slot_id}")
            continue
        site = sites[slot.site_id]
        if not (person.pinned and slot_id == person.current_slot_id):
            minutes = overrides.get((pid, site.site_id), None)
            if minutes is None:
                minutes = estimated_minutes(person, site)
            context = PairContext(person, slot, site, enterprises[site.enterprise_id], minutes, on)
            for failure in rule_failures(context):
                violations.append(f"participant {pid} in {slot_id}: {failure.rule}: {failure.message}")
        places[pid] += 1
        seats_used[slot_id] += 1
        supervision_used[site.site_id] += SUPERVISION.need(person.hours_per_week, slot.supervision_ratio)

    for pid, used in places.items():
        if not ONE_PLACE.fits(used, 0, 1):
            violations.append(ONE_PLACE.overrun(pid, used, 1))
    for slot_id, used in seats_used.items():
        if not SEATS.fits(used, 0, slots[slot_id].seats):
            violations.append(SEATS.overrun(slot_id, used, slots[slot_id].seats))
    for site_id, hours in supervision_used.items():
        limit = sites[site_id].supervisor_hours
        if limit is not None and not SUPERVISION.fits(hours, 0.0, limit):
            violations.append(SUPERVISION.overrun(site_id, hours, limit))
    return violations
