"""Settings passed into the core: the fit score's weights and the solver's limits.

The core never reads the environment."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

TRAVEL_SPEED_KMH: dict[str, float] = {"transit": 22.0, "car": 40.0, "bike": 14.0, "walk": 4.5}
TRAVEL_OVERHEAD_MIN: dict[str, float] = {"transit": 10.0, "car": 5.0, "bike": 0.0, "walk": 0.0}
DETOUR_FACTOR = 1.3
EARTH_RADIUS_KM = 6371.0
FLOOR_STRATEGIES: tuple[str, ...] = ("auto", "cpsat", "mip")  # the strategies that honour fairness_floor


class ScoreWeights(BaseModel):
    """How the integer fit score of a pair is made; every part is a whole number of points.

    - preference: `preference_top` for the most wanted activity, `preference_step` less for each later rank
      (never below zero); nothing for an activity the person did not list.
    - waiting: one point per `waiting_days_per_point` days waited by the plan date, at most `waiting_max`.
    - travel: `travel_max` scaled down linearly from zero minutes to the person's own `max_travel_minutes`.
    - continuity: `continuity` for keeping a person in the slot they hold now.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    preference_top: int = Field(40, ge=0, le=10_000)
    preference_step: int = Field(10, ge=0, le=10_000)
    waiting_days_per_point: int = Field(30, ge=1, le=3650)
    waiting_max: int = Field(24, ge=0, le=10_000)
    travel_max: int = Field(20, ge=0, le=10_000)
    continuity: int = Field(50, ge=0, le=10_000)


class SolverSettings(BaseModel):
    """Limits of one solve. Same input and settings give the same plan."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_limit_s: float = Field(60.0, gt=0, le=86_400)
    workers: int = Field(2, ge=1, le=64)
    seed: int = Field(0, ge=0)
    strategy: Literal["auto", "cpsat", "mip", "greedy"] = Field(
        "auto",
        description="auto: LP + rounding, then the exact MIP (SCIP from that start) when small, else area-by-area "
        "exact re-optimisation, beside HiGHS on the whole model when of moderate size (docs/solver.md; measured in "
        "benchmarks/RESULTS.md); cpsat: CP-SAT on the whole model; mip: HiGHS on the whole model; greedy: best score "
        "first",
    )
    relative_gap: float = Field(0.0, ge=0.0, le=1.0, description="stop when proven this close to the bound")
    work_limit: float | None = Field(
        None,
        gt=0,
        le=1_000_000,
        description="stop on work done, not on the clock: the same input and settings then give the same plan on "
        "any machine, loaded or not, and time_limit_s is only a safety net (a plan it stops says it is not "
        "deterministic). Units of about a second of search on one core of the reference machine (docs/solver.md, "
        "'Reproducible plans'): CP-SAT's deterministic time for 'cpsat', area re-solves and node limits for 'auto' "
        "and 'mip'. None: the time limit decides (the plan says whether it did)",
    )
    fairness_floor: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="ask for at least this share of what capacity makes possible for every group (programme, "
        "municipality, need, gender, age band; matcher.fairness), at a cost in placements; 0 = none. Honoured by "
        "strategies auto, cpsat and mip (each finds the best plan without the floor its own way; the plan with the "
        "floor is the exact whole model with one row per group, solved by CP-SAT); refused by greedy",
    )

    @model_validator(mode="after")
    def _strategy_honours_every_setting(self) -> SolverSettings:
        """A setting the strategy would not use is refused, never ignored (matcher.model.strategies)."""
        from matcher.model.strategies import STRATEGIES  # here, not at the top: the strategies read these settings

        rejected = STRATEGIES[self.strategy].rejected(self)
        if self.fairness_floor and self.strategy not in FLOOR_STRATEGIES:
            rejected.append(
                f"fairness_floor (a greedy fill keeps no row per group; use {' or '.join(FLOOR_STRATEGIES)})"
            )
        if self.fairness_floor and self.work_limit is not None:
            rejected.append("work_limit with fairness_floor (the floor's solves stop on the clock)")
        if rejected:
            unused = " or ".join(rejected)
            raise ValueError(f"strategy '{self.strategy}' does not use {unused}; leave it at its default")
        return self
