"""Rules 1–9 of docs/data-format.md: each a class with its label, its words, its scalar check (the plan checker and
the explanations) and its array check (the feasible pairs). Tests compare the two checks pair by pair."""

from __future__ import annotations

import numpy as np

from matcher.compiled import NO_AGE, BoolArray, IntArray
from matcher.rules.base import PairArrays, PairContext, PairRule


def _in_sorted(keys: IntArray, table: IntArray) -> BoolArray:
    """`np.isin` for a sorted table, by binary search: no hashing or sorting per call (suggest asks per person)."""
    if len(table) == 0:
        return np.zeros(len(keys), dtype=np.bool_)
    where = np.minimum(np.searchsorted(table, keys), len(table) - 1)
    return np.asarray(table[where] == keys)


class HoursFit(PairRule):
    label = "hours_fit"
    words = "the slot's `min_hours` ≤ the person's `hours_per_week` ≤ its `max_hours`"

    def check(self, pair: PairContext) -> str | None:
        h, s = pair.participant.hours_per_week, pair.slot
        if s.min_hours <= h <= s.max_hours:
            return None
        return f"{h} h/week is outside the slot's {s.min_hours}–{s.max_hours} h"

    def holds(self, pairs: PairArrays) -> BoolArray:
        ci, hours = pairs.ci, pairs.ci.p_hours[pairs.p]
        return np.asarray((ci.s_min_hours[pairs.s] <= hours) & (hours <= ci.s_max_hours[pairs.s]))


class DaysOverlap(PairRule):
    label = "days_overlap"
    words = "the person's `days_available` and the slot's `days` share a weekday"

    def check(self, pair: PairContext) -> str | None:
        if pair.participant.days_available & pair.slot.days:
            return None
        return "no common weekday"

    def holds(self, pairs: PairArrays) -> BoolArray:
        return np.asarray((pairs.ci.p_days[pairs.p] & pairs.ci.s_days[pairs.s]) != 0)


class NeedsCovered(PairRule):
    label = "needs_covered"
    words = "the person's `needs` ⊆ the site's `accessibility` ∪ the slot's `supports`"

    def check(self, pair: PairContext) -> str | None:
        missing = pair.participant.needs - (pair.site.accessibility | pair.slot.supports)
        if not missing:
            return None
        return "needs " + ", ".join(sorted(missing)) + " (not offered here)"

    def holds(self, pairs: PairArrays) -> BoolArray:
        ci = pairs.ci
        need, cover = ci.p_needs[pairs.p], ci.t_accessibility[pairs.site] | ci.s_supports[pairs.s]
        return np.asarray(((need & ~cover) == 0).all(axis=1))


class TravelOk(PairRule):
    label = "travel_ok"
    words = "travel minutes ≤ the person's `max_travel_minutes`"

    def check(self, pair: PairContext) -> str | None:
        limit = pair.participant.max_travel_minutes
        if pair.minutes <= limit:
            return None
        return f"travel {pair.minutes} min > {limit} min"

    def holds(self, pairs: PairArrays) -> BoolArray:
        return np.asarray(pairs.minutes <= pairs.ci.p_max_travel[pairs.p])


class ProgrammeOk(PairRule):
    label = "programme_ok"
    words = "the slot's `programmes` is empty or holds the person's `programme`"

    def check(self, pair: PairContext) -> str | None:
        if not pair.slot.programmes or pair.participant.programme in pair.slot.programmes:
            return None
        return f"seats reserved for {', '.join(sorted(pair.slot.programmes))}, not {pair.participant.programme}"

    def holds(self, pairs: PairArrays) -> BoolArray:
        ci = pairs.ci
        programme = ci.p_programme[pairs.p]
        word = ci.s_programmes[pairs.s, programme // 64]
        bit = (word >> (programme % 64).astype(np.uint64)) & np.uint64(1)
        return np.asarray(ci.s_any_programme[pairs.s] | (bit == 1))


class AgeOk(PairRule):
    label = "age_ok"
    words = "the person's `age` lies within the slot's `min_age`–`max_age` where set (no age recorded fails a limit)"

    def check(self, pair: PairContext) -> str | None:
        s, age = pair.slot, pair.participant.age
        if s.min_age is None and s.max_age is None:
            return None
        low = "" if s.min_age is None else str(s.min_age)
        high = "" if s.max_age is None else str(s.max_age)
        if age is None:
            return f"age limit {low}–{high} and no age recorded"
        if (s.min_age is not None and age < s.min_age) or (s.max_age is not None and age > s.max_age):
            return f"age {age} outside {low}–{high}"
        return None

    def holds(self, pairs: PairArrays) -> BoolArray:
        ci = pairs.ci
        age, min_age, max_age = ci.p_age[pairs.p], ci.s_min_age[pairs.s], ci.s_max_age[pairs.s]
        return np.asarray(
            ((min_age == NO_AGE) | ((age != NO_AGE) & (age >= min_age)))
            & ((max_age == NO_AGE) | ((age != NO_AGE) & (age <= max_age)))
        )


class GenderOk(PairRule):
    label = "gender_ok"
    words = "the slot is not `women_only`, or the person's `gender` is `f`"

    def check(self, pair: PairContext) -> str | None:
        if not pair.slot.women_only or pair.participant.gender == "f":
            return None
        return "women only"

    def holds(self, pairs: PairArrays) -> BoolArray:
        return np.asarray(~pairs.ci.s_women_only[pairs.s] | pairs.ci.p_female[pairs.p])


class NotAvoided(PairRule):
    label = "not_avoided"
    words = "the slot's enterprise is not in the person's `avoid_enterprises`"

    def check(self, pair: PairContext) -> str | None:
        if pair.enterprise.enterprise_id not in pair.participant.avoid_enterprises:
            return None
        return f"the person avoids {pair.enterprise.name}"

    def holds(self, pairs: PairArrays) -> BoolArray:
        ci = pairs.ci
        n_enterprises = max(len(ci.enterprise_index), 1)
        return ~_in_sorted(pairs.p * n_enterprises + ci.t_enterprise[pairs.site], ci.avoid_keys)


class DateOk(PairRule):
    label = "date_ok"
    words = "the plan date lies within the slot's `available_from`–`available_to` where set"

    def check(self, pair: PairContext) -> str | None:
        s = pair.slot
        if (s.available_from is None or s.available_from <= pair.on) and (
            s.available_to is None or pair.on <= s.available_to
        ):
            return None
        window = f"{s.available_from or ''}–{s.available_to or ''}"
        return f"not available on {pair.on.isoformat()} (window {window})"

    def holds(self, pairs: PairArrays) -> BoolArray:
        return pairs.ci.slot_available(pairs.on, pairs.s)


# In the spec's order: explanations list broken rules in this order.
PAIR_RULES: tuple[PairRule, ...] = (
    HoursFit(),
    DaysOverlap(),
    NeedsCovered(),
    TravelOk(),
    ProgrammeOk(),
    AgeOk(),
    GenderOk(),
    NotAvoided(),
    DateOk(),
)
