"""The assignment problem in array form: free pairs, remaining capacities, and the pinned facts taken out; and its
objective, written here once.

Pinned people are facts, not choices, so they get no variables: their seats and supervision are subtracted from the
limits and their count and score are added to the objective as constants.

The objective has three levels (docs/solver.md): placements, then the fit score, then the fewest holders of a
`current_slot_id` moved or taken out. A free pair's `value` is `fit_weight * score + stay`, where `stay` is 1 for the
pair that keeps a (not pinned) holder in their current slot and `fit_weight` is one more than the number of such
pairs, so one fit point outweighs every stay; `placement_weight` is one more than the best total value any plan
could reach. Without such holders `fit_weight` is 1 and `value` is the score: the objective of the first two levels.
The same weights, worked out over a part of the pairs (`Levels.of`), keep an area's sub-problem exact too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property

import numpy as np

from matcher.compiled import BoolArray, CompiledInstance, IntArray
from matcher.feasibility import CandidatePairs, feasible_pairs, pairs_for
from matcher.rules import PINNING, SEATS, SUPERVISION
from matcher.settings import ScoreWeights

# Largest total of a three-level objective given to a floating-point MIP as one objective (about 1.1e12). Beyond it
# the fit weight times the placement weight leaves too few digits for HiGHS's and SCIP's tolerances to resolve one
# stay, so the third level gets a phase of its own (docs/solver.md).
ONE_OBJECTIVE_MAX = 2**40


@dataclass(frozen=True)
class Levels:
    """The weights that make one integer of the three levels, over some pairs of some people:
    `total = placement_weight * placed + Σ (fit_weight * score + stay)`."""

    placement_weight: int  # > any achievable Σ value, so one more placement beats any fit score and stays
    fit_weight: int  # > the number of pairs with stay = 1, so one more fit point beats any number of stays
    fit_placement_weight: int  # > any achievable Σ score: the weight of the two-level objective
    people: int  # the people with a pair

    @classmethod
    def of(cls, participant: IntArray, score: IntArray, stay: IntArray, n_participants: int) -> Levels:
        """The exact weights for the pairs given (`participant[i]` has `score[i]` and `stay[i]`)."""
        fit_weight = int(stay.sum()) + 1
        best_score = np.zeros(n_participants, dtype=np.int64)
        np.maximum.at(best_score, participant, score)
        best_value = np.zeros(n_participants, dtype=np.int64)
        np.maximum.at(best_value, participant, score * fit_weight + stay)
        people = len(np.unique(participant))
        return cls(int(best_value.sum()) + 1, fit_weight, int(best_score.sum()) + 1, people)

    @property
    def has_third_level(self) -> bool:
        """False when no pair keeps a holder: the third level is vacuous and the objective is the two-level one."""
        return self.fit_weight > 1

    def value(self, score: IntArray, stay: IntArray) -> IntArray:
        """Per pair: `fit_weight * score + stay`, the second and third levels in one integer."""
        out: IntArray = score * self.fit_weight + stay
        return out

    def total(self, chosen: BoolArray, value: IntArray) -> int:
        """The objective of a plan in exact integers."""
        return int(chosen.sum()) * self.placement_weight + int(value[chosen].sum())

    def coefficients(self, value: IntArray) -> IntArray:
        """The objective's coefficient per pair, all three levels: `placement_weight + value`."""
        out: IntArray = self.placement_weight + value
        return out

    def two_level_coefficients(self, score: IntArray, weight: int | None = None) -> IntArray:
        """Placements, then fit score: `weight + score` per pair (by default the exact two-level weight)."""
        out: IntArray = (self.fit_placement_weight if weight is None else weight) + score
        return out

    def one_objective_is_safe(self) -> bool:
        """True when the three levels fit in one floating-point objective (always, when the third is vacuous)."""
        return not self.has_third_level or self.placement_weight * (self.people + 1) <= ONE_OBJECTIVE_MAX

    def split(self, total: int) -> tuple[int, int, int]:
        """A total as (placed, score, stays)."""
        placed, rest = divmod(total, self.placement_weight)
        score, stays = divmod(rest, self.fit_weight)
        return placed, score, stays

    def trivial_bound(self) -> int:
        """Everyone with a pair placed at their best: no plan's total is higher."""
        return self.people * self.placement_weight + self.placement_weight - 1


@dataclass(frozen=True)
class AssignmentProblem:
    """Maximise `placement_weight * placed + Σ value` over `pairs`, each participant once, within the capacities.

    `value = fit_weight * score + stay` (module docstring): placements first, then fit score, then stays."""

    ci: CompiledInstance
    on: date
    pairs: CandidatePairs  # choices for participants who are not pinned
    pinned: CandidatePairs  # the kept pairs of pinned participants
    seats_left: IntArray  # per slot, after pinned people
    supervision_use: IntArray  # per pair in `pairs`, in exact integer units (`Supervision.scaled`)
    supervision_left: IntArray  # per site, in the same units; -1 = no limit
    stay: IntArray  # per pair in `pairs`: 1 when it keeps a not pinned holder in their current slot
    holders: int  # not pinned participants with a current_slot_id (stays + moves = holders)
    levels: Levels  # the objective's weights over all free pairs

    @property
    def placement_weight(self) -> int:
        return self.levels.placement_weight

    @property
    def fit_weight(self) -> int:
        return self.levels.fit_weight

    @property
    def fit_placement_weight(self) -> int:
        return self.levels.fit_placement_weight

    @property
    def has_third_level(self) -> bool:
        return self.levels.has_third_level

    @cached_property
    def value(self) -> IntArray:
        """Per free pair: `fit_weight * score + stay`, the objective's second and third levels in one integer."""
        return self.levels.value(self.pairs.score, self.stay)

    def objective(self, chosen: BoolArray) -> int:
        """The plan's objective over free pairs (placements, fit score, stays), in exact integers."""
        return self.levels.total(chosen, self.value)

    def coefficients(self) -> IntArray:
        """The three-level objective's coefficient per free pair: `placement_weight + fit_weight * score + stay`."""
        return self.levels.coefficients(self.value)

    def two_level_coefficients(self, weight: int | None = None) -> IntArray:
        """Placements, then fit score: `weight + score` per free pair (by default the exact two-level weight)."""
        return self.levels.two_level_coefficients(self.pairs.score, weight)

    def split(self, free_value: int) -> tuple[int, int, int]:
        """A value over the free pairs as (placed, score, stays)."""
        return self.levels.split(free_value)

    def trivial_bound(self) -> int:
        """Everyone with a feasible pair placed at their best score: no plan does better."""
        return self.levels.trivial_bound()

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
    use, capacity = SUPERVISION.scaled(ci, pairs, pinned)

    holder = (ci.p_current_slot >= 0) & ~ci.p_pinned
    stay = (holder[pairs.participant] & (ci.p_current_slot[pairs.participant] == pairs.slot)).astype(np.int64)
    return AssignmentProblem(
        ci=ci,
        on=on,
        pairs=pairs,
        pinned=pinned,
        seats_left=SEATS.left_after(ci, pinned),
        supervision_use=use,
        supervision_left=capacity,
        stay=stay,
        holders=int(holder.sum()),
        levels=Levels.of(pairs.participant, pairs.score, stay, ci.n_participants),
    )
