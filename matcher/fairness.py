"""Who is left behind: for the optimal plan, each group's placed share beside what capacity makes possible for it.

A group is the participants sharing a programme, a municipality, a need (one group per need; a person with two
needs is in both; "none" for no needs), a gender ("unknown" when not recorded) or an age band. For each group the
report gives how many the plan places and the most of that group *any* plan with the same number of placements
could place: one small exact solve per group (`matcher.model.custom`, CP-SAT) maximising the group's placements
subject to every rule and capacity row and `Σ x = placed`. A group placed well below its possible figure is being
left behind by the plan's objective (its fit scores), not by capacity.

`fairness_floor` asks for a plan that gives every group at least `floor × possible` of its people (rounded up),
with the most placements and the best score among such plans; the report says what that costs in placements.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from datetime import date

import numpy as np

from matcher.compiled import BoolArray, CompiledInstance, IntArray
from matcher.domain import Instance, Participant
from matcher.model.custom import CustomResult, ExtraRow, solve_custom
from matcher.model.outcome import SolveOutcome
from matcher.model.problem import AssignmentProblem, build_problem
from matcher.model.sparse import SparseModel, build_sparse
from matcher.plan import Plan
from matcher.settings import ScoreWeights, SolverSettings

DIMENSIONS: tuple[str, ...] = ("programme", "municipality", "need", "gender", "age_band")
AGE_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 24, "–24"), (25, 34, "25–34"), (35, 44, "35–44"), (45, 54, "45–54"), (55, 200, "55–"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FairnessGroup:
    """One group's figures: `people` in it, `placed` by the plan and `placed_share`; `possible` (the most of the
    group any plan with as many placements could place) and `possible_share`; `shortfall` = possible − placed;
    `median_waiting_days` of the group's people the plan leaves unplaced (None: nobody, or no date recorded);
    `exact` False when the possible figure's solve stopped at its time limit (then `possible` is an upper bound);
    `floor_placed`: the group's placements in the plan with the floor (None without a floor)."""

    dimension: str
    group: str
    people: int
    placed: int
    placed_share: float
    possible: int
    possible_share: float
    shortfall: int
    median_waiting_days: float | None
    exact: bool
    floor_placed: int | None = None


@dataclass(frozen=True, slots=True)
class FairnessReport:
    """The report: the plan's `placed` of `people`, its `plan_status`, every group, and with a `floor` the plan
    that keeps it (`floor_feasible`, `floor_total_placed`, `floor_cost` = placements given up). `estimate` is True
    when some figure comes from a solve that stopped at its time limit; `notes` say which, in words."""

    on: date
    people: int
    placed: int
    plan_status: str
    groups: tuple[FairnessGroup, ...]
    floor: float | None
    floor_feasible: bool | None
    floor_total_placed: int | None
    floor_cost: int | None
    estimate: bool
    notes: tuple[str, ...]


def age_band(age: int | None) -> str:
    if age is None:
        return "unknown"
    return next((name for low, high, name in AGE_BANDS if low <= age <= high), "unknown")


def _keys(person: Participant, dimension: str) -> list[str]:
    if dimension == "programme":
        return [person.programme]
    if dimension == "municipality":
        return [person.municipality]
    if dimension == "need":
        return sorted(person.needs) or ["none"]
    if dimension == "gender":
        return [person.gender or "unknown"]
    return [age_band(person.age)]


def groups_of(ci: CompiledInstance) -> dict[tuple[str, str], BoolArray]:
    """Every group as a mask over the participants, by dimension then group name (sorted: the same order each
    time)."""
    people = ci.instance.participants
    members: dict[tuple[str, str], list[int]] = {}
    for dimension in DIMENSIONS:
        for p, person in enumerate(people):
            for name in _keys(person, dimension):
                members.setdefault((dimension, name), []).append(p)
    out: dict[tuple[str, str], BoolArray] = {}
    bands = [name for _, _, name in AGE_BANDS] + ["unknown"]

    def order(key: tuple[str, str]) -> tuple[int, int, str]:
        rank = bands.index(key[1]) if key[0] == "age_band" else 0  # age bands youngest first
        return DIMENSIONS.index(key[0]), rank, key[1]

    for group in sorted(members, key=order):
        mask = np.zeros(len(people), dtype=np.bool_)
        mask[members[group]] = True
        out[group] = mask
    return out


def plan_choice(problem: AssignmentProblem, plan: Plan) -> BoolArray:
    """The plan's free pairs as a choice over `problem.pairs` (pinned people are facts, outside the pairs)."""
    ci = problem.ci
    pairs = zip(problem.pairs.participant.tolist(), problem.pairs.slot.tolist(), strict=True)
    index = {pair: i for i, pair in enumerate(pairs)}
    chosen = np.zeros(len(problem.pairs), dtype=np.bool_)
    for row in plan.rows:
        if row.slot_id is not None and not row.pinned:
            chosen[index[(ci.participant_index[row.participant_id], ci.slot_index[row.slot_id])]] = True
    return chosen


def possible_for(
    model: SparseModel, group: BoolArray, placed_free: int, time_limit: float, hint: BoolArray | None
) -> CustomResult:
    """The most free pairs of `group`'s people any plan with exactly `placed_free` free placements can choose."""
    problem = model.problem
    objective: IntArray = group[problem.pairs.participant].astype(np.int64)
    n = len(problem.pairs)
    every = ExtraRow(np.arange(n, dtype=np.int64), np.ones(n, dtype=np.int64), placed_free, placed_free)
    return solve_custom(model, objective, [every], time_limit=time_limit, hint=hint)


def floor_rows(
    problem: AssignmentProblem, groups: dict[tuple[str, str], BoolArray], possible: dict[tuple[str, str], int],
    floor: float,
) -> list[ExtraRow]:  # fmt: skip
    """Per group: pinned in the group + Σ its free pairs ≥ ceil(floor × possible)."""
    rows = []
    for key, mask in groups.items():
        need = math.ceil(floor * possible[key] - 1e-9) - int(mask[problem.pinned.participant].sum())
        if need <= 0:
            continue
        column = np.flatnonzero(mask[problem.pairs.participant]).astype(np.int64)
        rows.append(ExtraRow(column, np.ones(len(column), dtype=np.int64), need, len(column)))
    return rows


def _possible_all(
    model: SparseModel, groups: dict[tuple[str, str], BoolArray], placed_free: int, budget: float, hint: BoolArray
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], bool], dict[tuple[str, str], int]]:
    """Per group: the possible figure (the proven most, or an upper bound when the solve stopped at its limit),
    whether it is exact, and the most actually reached by a plan found (equal to it when exact): a floor is
    measured against what is reached, never against a bound no plan may reach."""
    problem = model.problem
    started = time.perf_counter()
    possible, exact, reached = {}, {}, {}
    for n, (key, mask) in enumerate(groups.items()):
        left = max(budget - (time.perf_counter() - started), 0.05)
        result = possible_for(model, mask, placed_free, left / (len(groups) - n), hint)
        pinned = int(mask[problem.pinned.participant].sum())
        # A bound is capped by what is trivially true: no more than the group's people, nor than the placements.
        cap = min(int(mask.sum()), placed_free + len(problem.pinned))
        possible[key] = min(pinned + (result.value if result.optimal else result.bound), cap)
        exact[key] = result.optimal
        reached[key] = pinned + (result.value if result.found else int(mask[problem.pairs.participant[hint]].sum()))
    return possible, exact, reached


def floor_outcome(problem: AssignmentProblem, settings: SolverSettings, budget: float) -> tuple[SolveOutcome, int]:
    """The plan keeping `settings.fairness_floor` for every group (solve() with a floor): the best plan without the
    floor (by `settings.strategy`: auto, cpsat or mip), each group's possible figure, then the best plan subject to
    the floor rows (CP-SAT on the whole model with one row per group, whatever the strategy). Returns it and the free
    placements of the plan without the floor (the cost is their difference). Raises ValueError when no plan keeps
    the floor."""
    from matcher.model.greedy import greedy_by_score
    from matcher.model.strategies import STRATEGIES

    started = time.perf_counter()
    model = build_sparse(problem)
    base = STRATEGIES[settings.strategy].solve(problem, settings, budget * 0.3, None)
    chosen = base.chosen if base.found else greedy_by_score(problem)
    hint = greedy_by_score(problem)
    if problem.objective(hint) > problem.objective(chosen):  # as solve() does: the greedy plan is the floor
        chosen = hint
    groups = groups_of(problem.ci)
    _, exact, reached = _possible_all(model, groups, int(chosen.sum()), budget * 0.3, chosen)
    rows = floor_rows(problem, groups, reached, settings.fairness_floor)
    left = max(budget - (time.perf_counter() - started), 0.05)
    result = solve_custom(
        model, problem.coefficients(), rows, time_limit=left, workers=settings.workers, seed=settings.seed
    )
    if result.infeasible:
        raise ValueError(
            f"no plan gives every group {settings.fairness_floor:.0%} of what capacity makes possible for it"
        )
    if not result.found:
        raise ValueError(f"no plan keeping the fairness floor {settings.fairness_floor:.0%} found in the time limit")
    proven = result.optimal and base.proven_optimal and all(exact.values())
    outcome = SolveOutcome(result.chosen, proven, result.found, result.bound, time.perf_counter() - started)
    return outcome, int(chosen.sum())


def fairness(
    instance: Instance | CompiledInstance,
    on: date,
    weights: ScoreWeights | None = None,
    settings: SolverSettings | None = None,
    floor: float | None = None,
    time_limit_s: float = 60.0,
) -> FairnessReport:
    """The fairness report of the optimal plan (`solve` with `settings`), each group beside its possible figure;
    with `floor` (0–1], also the plan that gives every group at least that share of its possible figure and what it
    costs in placements. Solves are bounded by `time_limit_s` in all (the plan's own solve by `settings`)."""
    from matcher.solve import prepare, solve

    instance = instance if isinstance(instance, CompiledInstance) else prepare(instance)
    if floor is not None and not 0 < floor <= 1:
        raise ValueError("floor must lie in (0, 1]")
    settings = settings or SolverSettings()
    plan = solve(instance, on, weights, settings)
    started = time.perf_counter()
    problem = build_problem(instance, on, weights)
    model = build_sparse(problem)
    chosen = plan_choice(problem, plan)
    groups = groups_of(instance)
    share = 0.6 if floor is not None else 1.0
    possible, exact, reached = _possible_all(model, groups, int(chosen.sum()), time_limit_s * share, chosen)

    people = instance.instance.participants
    placed_mask = np.zeros(len(people), dtype=np.bool_)
    for p, row in enumerate(plan.rows):
        placed_mask[p] = row.slot_id is not None  # plan rows are in the instance's order
    floor_mask: BoolArray | None = None
    floor_feasible: bool | None = None
    floor_total: int | None = None
    floor_exact = True
    notes: list[str] = []
    if floor is not None:
        rows = floor_rows(problem, groups, reached, floor)
        if not all(exact.values()):
            notes.append(
                f"the floor is measured against the most reached, not proven, for {sum(not e for e in exact.values())} "
                "group(s) whose possible figure is an upper bound"
            )
        left = max(time_limit_s - (time.perf_counter() - started), 0.05)
        result = solve_custom(model, problem.coefficients(), rows, time_limit=left, workers=settings.workers)
        floor_feasible = not result.infeasible and result.found
        floor_exact = result.optimal or result.infeasible
        if floor_feasible:
            floor_mask = np.zeros(len(people), dtype=np.bool_)
            floor_mask[problem.pairs.participant[result.chosen]] = True
            floor_mask[problem.pinned.participant] = True
            floor_total = int(floor_mask.sum())
        elif result.infeasible:
            notes.append(f"no plan gives every group {floor:.0%} of what is possible for it")
        else:
            notes.append(f"no plan with the floor of {floor:.0%} was found within the time limit")

    out = []
    for key, mask in groups.items():
        members = int(mask.sum())
        placed = int((mask & placed_mask).sum())
        waiting = [
            (on - people[p].waiting_since).days  # type: ignore[operator]
            for p in np.flatnonzero(mask & ~placed_mask).tolist()
            if people[p].waiting_since is not None
        ]
        out.append(
            FairnessGroup(
                dimension=key[0],
                group=key[1],
                people=members,
                placed=placed,
                placed_share=round(placed / members, 4),
                possible=possible[key],
                possible_share=round(possible[key] / members, 4),
                shortfall=possible[key] - placed,
                median_waiting_days=float(statistics.median(waiting)) if waiting else None,
                exact=exact[key],
                floor_placed=None if floor_mask is None else int((mask & floor_mask).sum()),
            )  # fmt: skip
        )
    inexact = [f"{g.dimension} {g.group}" for g in out if not g.exact]
    if inexact:
        notes.append("possible figure is an upper bound (solve stopped at its time limit) for: " + ", ".join(inexact))
    if not plan.proven_optimal:
        notes.append("the plan itself is not proven optimal within its time limit")
    if not floor_exact:
        notes.append("the plan with the floor is not proven optimal within the time limit")
    behind = sorted((g for g in out if g.shortfall > 0), key=lambda g: (-g.shortfall, g.dimension, g.group))
    if behind:
        notes.append(
            "placed fewer than capacity allows: "
            + ", ".join(f"{g.dimension} {g.group} ({g.placed} of a possible {g.possible})" for g in behind[:5])
        )
    return FairnessReport(
        on=on, people=len(people), placed=plan.placed, plan_status=plan.status.value, groups=tuple(out),
        floor=floor, floor_feasible=floor_feasible, floor_total_placed=floor_total,
        floor_cost=None if floor_total is None else plan.placed - floor_total,
        estimate=bool(inexact) or not plan.proven_optimal or not floor_exact, notes=tuple(notes),
    )  # fmt: skip
