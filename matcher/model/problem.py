"""The assignment problem in array form: free pairs, remaining capacities, and the pinned facts taken out.

Pinned people are facts, not choices, so they get no variables: their seats and supervision are subtracted from the
limits and their count and score are added to the objective as constants.

The objective has three levels (docs/solver.md): placements, then the fit score, then the fewest holders of a
`current_slot_id` moved or taken out. A free pair's `value` is `fit_weight * score + stay`, where `stay` is 1 for the
pair that keeps a (not pinned) holder in their current slot and `fit_weight` is one more than the number of such
pairs, so one fit point outweighs every stay; `placement_weight` is one more than the best total value any plan
could reach. Without such holders `fit_weight` is 1 and `value` is the score: the objective of the first two levels.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property

import numpy as np

from matcher.compiled import CompiledInstance, IntArray
from matcher.feasibility import CandidatePairs, feasible_pairs, pairs_for
from matcher.rules import PINNING, SEATS, SUPERVISION
from matcher.settings import ScoreWeights


@dataclass(frozen=True)
class AssignmentProblem:
    """Maximise `placement_weight * placed + Σ value` over `pairs`, each participant once, within the capacities.

    `value = fit_weight * score + stay` (module docstring): placements first, then fit score, then stays."""

    ci: CompiledInstance
    on: date
    pairs: CandidatePairs  # choices for participants who are not pinned
    pinned: CandidatePairs  # the kept pairs of pinned participants
    seats_left: IntArray  # per slot, after pinned people
    supervision_scale: int  # supervision is compared in units of 1 / scale hours, exactly
    supervision_use: IntArray  # per pair in `pairs`, scaled
    supervision_left: IntArray  # per site, scaled; -1 = no limit
    placement_weight: int  # > any achievable total value, so one more placement beats any fit score and stays
    stay: IntArray  # per pair in `pairs`: 1 when it keeps a not pinned holder in their current slot
    fit_weight: int  # > the number of pairs with stay = 1, so one more fit point beats any number of stays
    holders: int  # not pinned participants with a current_slot_id (stays + moves = holders)
    fit_placement_weight: int  # > any achievable total score: the weight of the two-level objective

    @cached_property
    def value(self) -> IntArray:
        """Per free pair: `fit_weight * score + stay`, the objective's second and third levels in one integer."""
        out: IntArray = self.pairs.score * self.fit_weight + self.stay
        return out

    @property
    def has_third_level(self) -> bool:
        """False when no free pair keeps a holder: the third level is vacuous and the objective is the two-level one."""
        return self.fit_weight > 1

    def split(self, free_value: int) -> tuple[int, int, int]:
        """A value over the free pairs as (placed, score, stays)."""
        placed, rest = divmod(free_value, self.placement_weight)
        score, stays = divmod(rest, self.fit_weight)
        return placed, score, stays

    @property
    def limited_sites(self) -> IntArray:
        return np.flatnonzero(self.supervision_left >= 0)

    @property
    def pinned_score(self) -> int:
        return int(self.pinned.score.sum())


def build_problem(ci: CompiledInstance, on: date, weights: ScoreWeights | None = None) -> AssignmentProblem:
    weights = weights or ScoreWeights()
    all_pairs = feasible_pairs(ci, on, weights)
    pinned_people = PINNING.pinned_people(ci)
    free = ~ci.p_pinned[all_pairs.participant]
    pairs = all_pairs.take(free)
    pinned = pairs_for(ci, pinned_people, ci.p_current_slot[pinned_people], on, weights)
    scale, use, capacity = SUPERVISION.scaled(ci, pairs, pinned)

    holder = (ci.p_current_slot >= 0) & ~ci.p_pinned
    stay = (holder[pairs.participant] & (ci.p_current_slot[pairs.participant] == pairs.slot)).astype(np.int64)
    fit_weight = int(stay.sum()) + 1
    best_score = np.zeros(ci.n_participants, dtype=np.int64)
    np.maximum.at(best_score, pairs.participant, pairs.score)
    best_value = np.zeros(ci.n_participants, dtype=np.int64)
    np.maximum.at(best_value, pairs.participant, pairs.score * fit_weight + stay)
    return AssignmentProblem(
        ci=ci,
        on=on,
        pairs=pairs,
        pinned=pinned,
        seats_left=SEATS.left_after(ci, pinned),
        supervision_scale=scale,
        supervision_use=use,
        supervision_left=capacity,
        placement_weight=int(best_value.sum()) + 1,
        stay=stay,
        fit_weight=fit_weight,
        holders=int(holder.sum()),
        fit_placement_weight=int(best_score.sum()) + 1,
    )
