"""The nine feasibility rules for one pair, in plain Python, each labelled and explained in words.

This is the obvious, slow form of the rules: the plan checker and the explanations of suggestions use it, and the
tests compare it with the array form in `feasibility`, so the two can never drift apart unnoticed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from matcher.domain import Enterprise, Participant, Site, Slot
from matcher.plan import RuleFailure


@dataclass(frozen=True, slots=True)
class PairContext:
    participant: Participant
    slot: Slot
    site: Site
    enterprise: Enterprise
    minutes: int
    on: date


def hours_fit(c: PairContext) -> str | None:
    h, s = c.participant.hours_per_week, c.slot
    if s.min_hours <= h <= s.max_hours:
        return None
    return f"{h} h/week is outside the slot's {s.min_hours}–{s.max_hours} h"


def days_overlap(c: PairContext) -> str | None:
    if c.participant.days_available & c.slot.days:
        return None
    return "no common weekday"


def needs_covered(c: PairContext) -> str | None:
    missing = c.participant.needs - (c.site.accessibility | c.slot.supports)
    if not missing:
        return None
    return "needs " + ", ".join(sorted(missing)) + " (not offered here)"


def travel_ok(c: PairContext) -> str | None:
    limit = c.participant.max_travel_minutes
    if c.minutes <= limit:
        return None
    return f"travel {c.minutes} min > {limit} min"


def programme_ok(c: PairContext) -> str | None:
    if not c.slot.programmes or c.participant.programme in c.slot.programmes:
        return None
    return f"seats reserved for {', '.join(sorted(c.slot.programmes))}, not {c.participant.programme}"


def age_ok(c: PairContext) -> str | None:
    s, age = c.slot, c.participant.age
    if s.min_age is None and s.max_age is None:
        return None
    low = "" if s.min_age is None else str(s.min_age)
    high = "" if s.max_age is None else str(s.max_age)
    if age is None:
        return f"age limit {low}–{high} and no age recorded"
    if (s.min_age is not None and age < s.min_age) or (s.max_age is not None and age > s.max_age):
        return f"age {age} outside {low}–{high}"
    return None


def gender_ok(c: PairContext) -> str | None:
    if not c.slot.women_only or c.participant.gender == "f":
        return None
    return "women only"


def not_avoided(c: PairContext) -> str | None:
    if c.enterprise.enterprise_id not in c.participant.avoid_enterprises:
        return None
    return f"the person avoids {c.enterprise.name}"


def date_ok(c: PairContext) -> str | None:
    s = c.slot
    if (s.available_from is None or s.available_from <= c.on) and (s.available_to is None or c.on <= s.available_to):
        return None
    window = f"{s.available_from or ''}–{s.available_to or ''}"
    return f"not available on {c.on.isoformat()} (window {window})"


RULE_FUNCTIONS: dict[str, Callable[[PairContext], str | None]] = {
    "hours_fit": hours_fit,
    "days_overlap": days_overlap,
    "needs_covered": needs_covered,
    "travel_ok": travel_ok,
    "programme_ok": programme_ok,
    "age_ok": age_ok,
    "gender_ok": gender_ok,
    "not_avoided": not_avoided,
    "date_ok": date_ok,
}


def rule_failures(context: PairContext) -> list[RuleFailure]:
    """Every rule the pair breaks, in the spec's order; empty when the pair is feasible."""
    failures = []
    for name, rule in RULE_FUNCTIONS.items():
        message = rule(context)
        if message is not None:
            failures.append(RuleFailure(name, message))
    return failures
