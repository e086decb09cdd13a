"""What the core returns: a plan with its status, candidate rows, and explained suggestions."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class SolveStatus(str, Enum):  # noqa: UP042 -- StrEnum would change str(status), which outputs print
    OPTIMAL = "optimal"  # proven best for all three levels of the objective
    FEASIBLE = "feasible"  # a valid plan, not proven best (time limit)
    INFEASIBLE = "infeasible"  # cannot happen for a valid data set; kept so callers never guess
    UNKNOWN = "unknown"  # no plan found in the time given


@dataclass(frozen=True, slots=True)
class PlanRow:
    """One participant's line of plan.csv; slot fields are None when the person is left unplaced."""

    participant_id: str
    slot_id: str | None = None
    site_id: str | None = None
    enterprise_id: str | None = None
    hours_per_week: int | None = None
    travel_minutes: int | None = None
    score: int | None = None
    score_parts: dict[str, int] = field(default_factory=dict)
    pinned: bool = False
    kept_despite: tuple[str, ...] = ()  # rules a pinned pair breaks

    @property
    def placed(self) -> bool:
        return self.slot_id is not None


@dataclass(frozen=True)
class Plan:
    rows: tuple[PlanRow, ...]
    status: SolveStatus
    placed: int
    total_score: int
    placed_bound: int  # no plan can place more than this
    score_bound: int  # no plan placing `placed` people scores more than this (when placed == placed_bound)
    solve_seconds: float
    build_seconds: float
    strategy: str
    warnings: tuple[str, ...] = ()
    # The third level: not pinned holders of a current_slot_id, how many the plan moves or takes out, and the fewest
    # any plan placing `placed` people with `total_score` could (equal to `moved` when proven optimal).
    holders: int = 0
    moved: int = 0
    moved_bound: int = 0
    # With `SolverSettings.fairness_floor`: the floor, and the placements it costs against the best plan without it
    # (by the same strategy, in the same solve; 0 when the floor costs nothing). None without a floor.
    fairness_floor: float | None = None
    floor_cost: int | None = None
    # The same input and settings give this plan again, on any machine, loaded or not: no wall-clock limit decided
    # where the search stopped (a work limit did, or the search finished). docs/solver.md, "Reproducible plans".
    deterministic: bool = False

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def proven_optimal(self) -> bool:
        return self.status is SolveStatus.OPTIMAL

    @property
    def placed_gap(self) -> float:
        """Relative gap of the first objective part: (bound - placed) / bound."""
        return (self.placed_bound - self.placed) / self.placed_bound if self.placed_bound else 0.0

    @property
    def score_gap(self) -> float:
        if self.placed < self.placed_bound:
            return float("nan")
        return (self.score_bound - self.total_score) / self.score_bound if self.score_bound else 0.0


@dataclass(frozen=True, slots=True)
class CandidateRow:
    participant_id: str
    slot_id: str
    travel_minutes: int
    score: int


@dataclass(frozen=True, slots=True)
class RuleFailure:
    """One rule that excludes a pair, with a message a coach can read."""

    rule: str
    message: str


@dataclass(frozen=True, slots=True)
class Suggestion:
    slot_id: str
    site_id: str
    enterprise_id: str
    activity: str
    travel_minutes: int
    score: int
    score_parts: dict[str, int]
    free_seats: int
    preference_rank: int | None  # 1 = most wanted; None when not among the person's preferences
    enterprise_name: str = ""
    site_name: str = ""
    activity_name: str = ""  # the data format has no activity names: the code


@dataclass(frozen=True, slots=True)
class ExcludedSlot:
    """A slot the person cannot get now, and every reason why: one they prefer, or, when fewer than `k` slots are
    suggested, one of the nearest (then `preference_rank` is None unless they prefer its activity)."""

    slot_id: str
    site_id: str
    enterprise_id: str
    activity: str
    preference_rank: int | None
    reasons: tuple[RuleFailure, ...]
    enterprise_name: str = ""
    site_name: str = ""
    activity_name: str = ""
    travel_minutes: int | None = None
    nearest: bool = False  # listed as one of the nearest slots that do not fit, not as a preferred one


@dataclass(frozen=True)
class Suggestions:
    participant_id: str
    suggestions: tuple[Suggestion, ...]
    excluded: tuple[ExcludedSlot, ...]
    notes: tuple[str, ...] = ()  # what keeps every slot out, said once for the person (when fewer than k fit)
