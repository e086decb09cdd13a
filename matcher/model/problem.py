"""The assignment problem in array form: free pairs, remaining capacities, and the pinned facts taken out.

Pinned people are facts, not choices, so they get no variables: their seats and supervision are subtracted from the
limits and their count and score are added to the objective as constants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

import numpy as np

from matcher.compiled import CompiledInstance, IntArray
from matcher.feasibility import CandidatePairs, feasible_pairs, pairs_for
from matcher.integrity import SUPERVISION_TOLERANCE
from matcher.settings import ScoreWeights

MAX_DECIMALS = 9


@dataclass(frozen=True)
class AssignmentProblem:
    """Maximise PLACEMENT_WEIGHT * placed + score over `pairs`, each participant once, within the capacities."""

    ci: CompiledInstance
    on: date
    pairs: CandidatePairs  # choices for participants who are not pinned
    pinned: CandidatePairs  # the kept pairs of pinned participants
    seats_left: IntArray  # per slot, after pinned people
    supervision_scale: int  # supervision is compared in units of 1 / scale hours, exactly
    supervision_use: IntArray  # per pair in `pairs`, scaled
    supervision_left: IntArray  # per site, scaled; -1 = no limit
    placement_weight: int  # > any achievable total score, so one more placement beats any fit score

    @property
    def limited_sites(self) -> IntArray:
        return np.flatnonzero(self.supervision_left >= 0)

    @property
    def pinned_score(self) -> int:
        return int(self.pinned.score.sum())


def _decimals(value: float) -> int:
    """Decimal places of the shortest text of a float (0.25 -> 2), so a power of ten makes it whole."""
    exponent = Decimal(repr(float(value))).as_tuple().exponent
    return min(max(-int(exponent), 0), MAX_DECIMALS)


def _ceil(value: Fraction) -> int:
    return -((-value.numerator) // value.denominator)


def build_problem(ci: CompiledInstance, on: date, weights: ScoreWeights | None = None) -> AssignmentProblem:
    weights = weights or ScoreWeights()
    all_pairs = feasible_pairs(ci, on, weights)
    pinned_people = np.flatnonzero(ci.p_pinned)
    free = ~ci.p_pinned[all_pairs.participant]
    pairs = all_pairs.take(free)
    pinned = pairs_for(ci, pinned_people, ci.p_current_slot[pinned_people], on, weights)

    seats_left = ci.s_seats - np.bincount(pinned.slot, minlength=ci.n_slots)

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
    use = ci.p_hours[pairs.participant] * ratio_scaled[pairs.slot]
    pinned_use = np.bincount(
        ci.s_site[pinned.slot], weights=ci.p_hours[pinned.participant] * ratio_scaled[pinned.slot], minlength=ci.n_sites
    ).astype(np.int64)
    capacity = np.full(ci.n_sites, -1, dtype=np.int64)
    tolerance = Fraction(SUPERVISION_TOLERANCE)
    for t in np.flatnonzero(limited):
        # floor((H + tolerance) * scale) in exact arithmetic: whole units the site can still give.
        whole = (Fraction(repr(float(ci.t_supervisor_hours[t]))) + tolerance) * scale
        capacity[t] = max(int(whole.numerator // whole.denominator) - int(pinned_use[t]), 0)

    best_per_person = np.zeros(ci.n_participants, dtype=np.int64)
    np.maximum.at(best_per_person, pairs.participant, pairs.score)
    return AssignmentProblem(
        ci=ci,
        on=on,
        pairs=pairs,
        pinned=pinned,
        seats_left=np.maximum(seats_left, 0),
        supervision_scale=scale,
        supervision_use=use,
        supervision_left=capacity,
        placement_weight=int(best_per_person.sum()) + 1,
    )
