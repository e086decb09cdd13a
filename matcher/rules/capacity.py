"""The limits pairs share: one place per participant, the seats of a slot, the supervision hours of a site.

Each is a class with its label, its words, its scalar check (the plan checker, the explanations, the service), its
array check (suggestions for many slots at once) and the model rows it adds (`matcher.model.sparse`). The
supervision arithmetic — hours × ratio, the tolerance, the exact integers of the model — is written here only.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from matcher.compiled import BoolArray, CompiledInstance, FloatArray, IntArray
from matcher.rules.base import CapacityRule, ModelRows

if TYPE_CHECKING:
    from matcher.feasibility import CandidatePairs
    from matcher.model.problem import AssignmentProblem

SUPERVISION_TOLERANCE = 1e-6  # hours; the data format's tolerance on a site's supervision limit
MAX_DECIMALS = 9  # supervision ratios and hours are exact in the model up to this many decimals
Ratio = TypeVar("Ratio", float, FloatArray)


class OnePlace(CapacityRule):
    label = "one_place"
    words = "each participant gets at most one slot"
    at_most_one = True

    def fits(self, used: float, need: float, limit: float | None) -> bool:
        return limit is None or used + need <= limit

    def fits_many(self, used: FloatArray, need: FloatArray, limit: FloatArray) -> BoolArray:
        return np.asarray(used + need <= limit)

    def refusal(self, used: float, need: float, limit: float) -> str:
        return "already placed"

    def overrun(self, key: str, used: float, limit: float) -> str:
        return f"participant {key}: {int(used)} places > {int(limit)}"

    def rows(self, problem: AssignmentProblem) -> ModelRows:
        person = problem.pairs.participant
        per_person = np.bincount(person, minlength=problem.ci.n_participants)
        ones = np.ones(problem.ci.n_participants, dtype=np.int64)
        return ModelRows(person, per_person >= 2, None, ones)  # a single pair needs no row: `x <= 1` is its bound


class Seats(CapacityRule):
    label = "seats_free"
    words = "per slot, placed participants (pinned ones included) ≤ `seats`"

    def fits(self, used: float, need: float, limit: float | None) -> bool:
        return limit is None or used + need <= limit

    def fits_many(self, used: FloatArray, need: FloatArray, limit: FloatArray) -> BoolArray:
        return np.asarray(used + need <= limit)

    def refusal(self, used: float, need: float, limit: float) -> str:
        return "no seats left"

    def overrun(self, key: str, used: float, limit: float) -> str:
        return f"slot {key}: {int(used)} placed > {int(limit)} seats"

    def left_after(self, ci: CompiledInstance, pinned: CandidatePairs) -> IntArray:
        """Seats per slot after the pinned people (never below zero)."""
        out: IntArray = np.maximum(ci.s_seats - np.bincount(pinned.slot, minlength=ci.n_slots), 0)
        return out

    def rows(self, problem: AssignmentProblem) -> ModelRows:
        slot = problem.pairs.slot
        per_slot = np.bincount(slot, minlength=problem.ci.n_slots)
        return ModelRows(slot, problem.seats_left < per_slot, None, problem.seats_left)


def _decimals(value: float) -> int:
    """Decimal places of the shortest text of a float (0.25 -> 2), so a power of ten makes it whole."""
    exponent = Decimal(repr(float(value))).as_tuple().exponent
    return min(max(-int(exponent), 0), MAX_DECIMALS)


def _ceil(value: Fraction) -> int:
    return -((-value.numerator) // value.denominator)


class Supervision(CapacityRule):
    label = "supervision_free"
    words = (
        "per site with `supervisor_hours`, Σ `hours_per_week × supervision_ratio` of the participants placed there "
        "≤ `supervisor_hours` (tolerance 1e-6)"
    )
    tolerance = SUPERVISION_TOLERANCE

    @staticmethod
    def need(hours_per_week: float, supervision_ratio: Ratio) -> Ratio:
        """Supervisor hours one person uses in a slot (or in each of many slots)."""
        out: Ratio = hours_per_week * supervision_ratio
        return out

    def fits(self, used: float, need: float, limit: float | None) -> bool:
        return limit is None or used + need <= limit + SUPERVISION_TOLERANCE

    def fits_many(self, used: FloatArray, need: FloatArray, limit: FloatArray) -> BoolArray:
        return np.asarray((used + need) <= (limit + SUPERVISION_TOLERANCE))

    def refusal(self, used: float, need: float, limit: float) -> str:
        return f"supervision full ({max(limit - used, 0.0):g} h left, {need:g} h needed)"

    def overrun(self, key: str, used: float, limit: float) -> str:
        return f"site {key}: supervision {used:.10g} h > {limit:.10g} h"  # :g hid 1e-6 gaps

    def scaled(self, ci: CompiledInstance, pairs: CandidatePairs, pinned: CandidatePairs) -> tuple[IntArray, IntArray]:
        """(use per pair of `pairs`, left per site after `pinned`; -1 = no limit) in units of 1 / 10^d hours, d the
        most decimals of a ratio or limit: exact integers, so any solver's plan can be checked exactly."""
        limited = np.isfinite(ci.t_supervisor_hours)
        used_slots = np.unique(np.concatenate([pairs.slot, pinned.slot]))
        ratios = ci.s_ratio[used_slots[limited[ci.s_site[used_slots]]]]
        decimals = max(
            [_decimals(r) for r in np.unique(ratios)] + [_decimals(h) for h in ci.t_supervisor_hours[limited]] + [0]
        )
        scale = 10**decimals
        # Exact for ratios of up to MAX_DECIMALS decimals; a longer one is rounded up, never down, so the model can
        # only ever under-use a site's supervision, never break it.
        scaled_of = {r: _ceil(Fraction(repr(float(r))) * scale) for r in np.unique(ci.s_ratio).tolist()}
        ratio_scaled = np.array([scaled_of[r] for r in ci.s_ratio.tolist()], dtype=np.int64)
        use: IntArray = ci.p_hours[pairs.participant] * ratio_scaled[pairs.slot]
        pinned_use = np.bincount(
            ci.s_site[pinned.slot],
            weights=ci.p_hours[pinned.participant] * ratio_scaled[pinned.slot],
            minlength=ci.n_sites,
        ).astype(np.int64)
        left = np.full(ci.n_sites, -1, dtype=np.int64)
        tolerance = Fraction(SUPERVISION_TOLERANCE)
        for t in np.flatnonzero(limited):
            # floor((H + tolerance) * scale) in exact arithmetic: whole units the site can still give.
            whole = (Fraction(repr(float(ci.t_supervisor_hours[t]))) + tolerance) * scale
            left[t] = max(int(whole.numerator // whole.denominator) - int(pinned_use[t]), 0)
        return use, left

    def rows(self, problem: AssignmentProblem) -> ModelRows:
        site = problem.ci.s_site[problem.pairs.slot]
        use = problem.supervision_use
        site_use = np.bincount(site, weights=use.astype(np.float64), minlength=problem.ci.n_sites)
        binding = (problem.supervision_left >= 0) & (site_use > problem.supervision_left)
        return ModelRows(site, binding, use, problem.supervision_left)


ONE_PLACE, SEATS, SUPERVISION = OnePlace(), Seats(), Supervision()
# In the order of the model's rows: participants, slots, sites.
CAPACITY_RULES: tuple[CapacityRule, ...] = (ONE_PLACE, SEATS, SUPERVISION)
