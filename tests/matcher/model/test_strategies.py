"""The solve strategies: every plan passes the independent checker, and the default agrees with plain CP-SAT wherever
both prove optimality. Benchmarks are never timed here (benchmarks/ measures speed)."""

from __future__ import annotations

import threading
from datetime import date

import numpy as np
import pytest

from matcher import Instance, Plan, SolverSettings, SolveStatus, check_plan, compile_instance, solve
from matcher.generate import DEFAULT_PLAN_DATE, synthetic_instance
from matcher.model import decompose
from matcher.model.cpsat import build_cpsat, solve_cpsat
from matcher.model.decompose import AreaSearch, SearchLimits
from matcher.model.flow import solve_flow
from matcher.model.greedy import greedy_by_score
from matcher.model.highs import SolverResult, integral, solve_highs, solve_scip
from matcher.model.problem import AssignmentProblem, build_problem
from matcher.model.sparse import build_sparse, sub_model

D: date = DEFAULT_PLAN_DATE
STRATEGIES = ("auto", "cpsat", "mip", "greedy")
CASES = [(60, 1, "loose"), (80, 2, "default"), (90, 3, "tight"), (120, 4, "default"), (50, 5, "tight")]


def _coefficients(problem: AssignmentProblem) -> np.ndarray:
    """The three-level objective as a floating-point MIP takes it."""
    return problem.coefficients().astype(np.float64)


def _instance(participants: int, seed: int, scenario: str) -> Instance:
    return synthetic_instance(participants, seed=seed, scenario=scenario)


def _assignment(plan: Plan) -> dict[str, str | None]:
    return {row.participant_id: row.slot_id for row in plan.rows}


def _problem(participants: int, seed: int, scenario: str) -> AssignmentProblem:
    return build_problem(compile_instance(_instance(participants, seed, scenario)), D)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(("participants", "seed", "scenario"), CASES)
def test_every_strategy_gives_a_plan_the_checker_accepts(
    strategy: str, participants: int, seed: int, scenario: str
) -> None:
    instance = _instance(participants, seed, scenario)
    plan = solve(instance, D, settings=SolverSettings(time_limit_s=10, strategy=strategy))  # type: ignore[arg-type]
    assert check_plan(instance, _assignment(plan), D) == []
    assert plan.strategy == strategy
    assert plan.placed == sum(r.placed for r in plan.rows)
    assert plan.total_score == sum(r.score or 0 for r in plan.rows)
    assert plan.placed <= plan.placed_bound


@pytest.mark.parametrize(("participants", "seed", "scenario"), CASES)
def test_default_matches_plain_cpsat_where_both_prove_optimality(participants: int, seed: int, scenario: str) -> None:
    instance = _instance(participants, seed, scenario)
    default = solve(instance, D, settings=SolverSettings(time_limit_s=20))
    assert default.strategy == "auto"
    assert default.status is SolveStatus.OPTIMAL  # small instances are solved exactly
    problem = build_problem(compile_instance(instance), D)
    plain = solve_cpsat(problem, SolverSettings(time_limit_s=20, workers=2))  # no hint: the plain model
    if not plain.proven_optimal:
        pytest.skip("CP-SAT did not prove this one within 20 s")
    assert default.placed == int(plain.chosen.sum()) + len(problem.pinned)
    assert default.total_score == int(problem.pairs.score[plain.chosen].sum()) + problem.pinned_score


def test_the_default_is_deterministic() -> None:
    instance = _instance(150, 6, "tight")
    first = solve(instance, D, settings=SolverSettings(time_limit_s=20))
    second = solve(instance, D, settings=SolverSettings(time_limit_s=20))
    assert _assignment(first) == _assignment(second)


@pytest.mark.parametrize("scenario", ["default", "tight"])
def test_area_by_area_search_is_feasible_monotone_and_deterministic(scenario: str) -> None:
    # Force the large-instance path on a small instance: small areas, no whole-problem MIP.
    problem = _problem(400, 7, scenario)
    model = build_sparse(problem)
    greedy_value = problem.objective(greedy_by_score(problem))
    seen: list[tuple[int, int]] = []
    limits = SearchLimits(area_km=10, area_max_km=10, exact_max_pairs=0, area_time_cap_s=30, whole_mip_max_pairs=0)
    searches, runs = [], []
    for _ in range(2):
        searches.append(AreaSearch(problem, 60, limits=limits, on_progress=lambda p: seen.append((p.placed, p.score))))
        runs.append(searches[-1].run())
    first, second = runs
    assert model.is_feasible(first.chosen)
    assert problem.objective(first.chosen) >= greedy_value
    # Two runs give the same plan: the search converged to a local optimum of its areas (the 60 s limit, which would
    # stop each run at a load-dependent point, did not decide). No wall-clock assertion: the machines are shared.
    assert np.array_equal(first.chosen, second.chosen)
    assert searches[0].areas_solved > 0
    assert problem.objective(first.chosen) <= first.objective_bound
    per_run = seen[: len(seen) // 2]
    assert per_run == sorted(per_run)  # every reported plan is better than the one before


@pytest.mark.parametrize(("participants", "seed", "scenario"), [(150, 11, "default"), (150, 12, "tight")])
def test_scip_from_a_start_plan_proves_the_same_optimum_as_highs(participants: int, seed: int, scenario: str) -> None:
    problem = _problem(participants, seed, scenario)
    model = build_sparse(problem)
    objective = _coefficients(problem)
    start = greedy_by_score(problem)
    # Limits far above the seconds these take: a proof is asserted; a loaded machine must not make it "feasible".
    scip = solve_scip(model.matrix, model.upper, objective, time_limit=300, hint=start)
    highs = solve_highs(model.matrix, model.upper, objective, integer=True, time_limit=300)
    assert scip.status == highs.status == "optimal"
    assert scip.values is not None and highs.values is not None
    assert model.is_feasible(integral(scip.values))
    assert problem.objective(integral(scip.values)) == problem.objective(integral(highs.values))
    assert problem.objective(integral(scip.values)) > problem.objective(start)


def test_the_search_does_not_wait_for_the_whole_model_mip_past_its_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    # A whole-model MIP that overruns its limit (as HiGHS did on a busy machine): the search ends at its local optimum
    # and must return at its own deadline with its plan, not wait for the MIP. The stand-in blocks until released.
    release, finished = threading.Event(), threading.Event()

    def overrunning(*args: object, **kwargs: object) -> SolverResult:
        release.wait(120)
        finished.set()
        return SolverResult("unknown", None, None, 120.0, time_limited=True)

    monkeypatch.setattr(decompose, "solve_whole_model", overrunning)
    problem = _problem(200, 13, "tight")
    limits = SearchLimits(area_km=10, area_max_km=10, exact_max_pairs=0)
    search = AreaSearch(problem, 3, limits=limits)
    try:
        outcome = search.run()
        assert not finished.is_set()  # returned while the MIP still ran
    finally:
        release.set()
    assert outcome.found and build_sparse(problem).is_feasible(outcome.chosen)
    if not outcome.proven_optimal:  # it did not meet the bound first: it waited, and the clock ended the wait
        assert search.clock_decided and not outcome.deterministic


def test_whole_model_mip_beside_the_area_search_ends_the_search_with_its_proof() -> None:
    # The area path with HiGHS on the whole model on the other thread: it proves this small model long before the
    # limit, and its plan is the result.
    problem = _problem(200, 13, "default")
    model = build_sparse(problem)
    optimum = solve_highs(model.matrix, model.upper, _coefficients(problem), integer=True, time_limit=300)
    assert optimum.status == "optimal" and optimum.values is not None
    limits = SearchLimits(area_km=10, area_max_km=10, exact_max_pairs=0)
    outcome = AreaSearch(problem, 120, limits=limits).run()
    assert outcome.proven_optimal  # ended by the proof, not by the limit
    assert np.array_equal(outcome.chosen, integral(optimum.values))  # deterministic: the proven plan is HiGHS's


def test_lexicographic_objective_in_the_sub_problems_prefers_a_placement() -> None:
    problem = _problem(150, 8, "tight")
    whole = solve_highs(
        build_sparse(problem).matrix, build_sparse(problem).upper, _coefficients(problem), integer=True,
        time_limit=300,
    )  # fmt: skip
    assert whole.status == "optimal" and whole.values is not None
    best = integral(whole.values)
    # Cardinality alone: nobody places more than the lexicographic optimum does.
    model = build_sparse(problem)
    most = solve_highs(model.matrix, model.upper, np.ones(model.n_pairs), integer=True, time_limit=300)
    assert most.status == "optimal" and most.values is not None
    assert int(integral(most.values).sum()) == int(best.sum())


def test_flow_relaxation_and_lp_bound_are_above_the_optimum() -> None:
    problem = _problem(200, 9, "default")
    model = build_sparse(problem)
    optimum = solve_highs(model.matrix, model.upper, _coefficients(problem), integer=True, time_limit=300)
    assert optimum.status == "optimal" and optimum.values is not None
    best = problem.objective(integral(optimum.values))
    flow = solve_flow(problem)
    assert flow.optimal
    assert problem.objective(flow.chosen) >= best  # supervision ignored: a relaxation
    lp = solve_highs(model.matrix, model.upper, _coefficients(problem), integer=False, time_limit=300)
    assert lp.objective is not None and lp.objective >= best - 1e-6


def test_sparse_model_agrees_with_the_checker() -> None:
    instance = _instance(150, 10, "tight")
    ci = compile_instance(instance)
    problem = build_problem(ci, D)
    model = build_sparse(problem)
    rng = np.random.default_rng(0)
    pairs = problem.pairs
    for _ in range(30):
        chosen = np.zeros(len(pairs), dtype=np.bool_)
        order = rng.permutation(len(pairs))
        taken: set[int] = set()
        for i in order[: rng.integers(1, 80)].tolist():  # one pair per person, limits ignored on purpose
            if int(pairs.participant[i]) not in taken:
                taken.add(int(pairs.participant[i]))
                chosen[i] = True
        assignment: dict[str, str | None] = {p.participant_id: None for p in instance.participants}
        for p, s in zip(pairs.participant[chosen].tolist(), pairs.slot[chosen].tolist(), strict=True):
            assignment[instance.participants[p].participant_id] = instance.slots[s].slot_id
        assert model.is_feasible(chosen) == (check_plan(instance, assignment, D) == [])


def test_sub_model_limits_are_what_the_fixed_pairs_leave() -> None:
    problem = _problem(200, 11, "tight")
    model = build_sparse(problem)
    chosen = greedy_by_score(problem)
    free = np.flatnonzero(problem.pairs.participant < 40)
    sub = sub_model(model, free, chosen, model.activity(chosen))
    # The current values of the free pairs fit the sub-model, and the fixed rest plus any sub-plan fits the whole.
    assert np.all(sub.matrix @ chosen[free].astype(float) <= sub.upper + 0.5)
    result = solve_highs(sub.matrix, sub.upper, _coefficients(problem)[free], integer=True, time_limit=300)
    assert result.values is not None
    combined = chosen.copy()
    combined[free] = integral(result.values)
    assert model.is_feasible(combined)
    assert problem.objective(combined) >= problem.objective(chosen)


def test_cpsat_model_accepts_exactly_the_plans_the_sparse_model_does() -> None:
    # Written row by row from the same matrix: every plan CP-SAT finds passes the exact check, and on a model small
    # enough to prove, both solvers reach the same optimum.
    from ortools.sat.python import cp_model

    problem = _problem(60, 12, "tight")
    model = build_sparse(problem)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 60
    status = solver.solve(build_cpsat(model))
    assert status == cp_model.OPTIMAL
    chosen = np.array(list(solver.response_proto.solution)[: model.n_pairs], dtype=bool)
    assert model.is_feasible(chosen)
    highs = solve_highs(model.matrix, model.upper, _coefficients(problem), integer=True, time_limit=300)
    assert highs.status == "optimal" and highs.values is not None
    assert problem.objective(chosen) == problem.objective(integral(highs.values))


def test_crossing_two_plans_keeps_what_they_share_and_is_at_least_as_good_as_either() -> None:
    # The search's plan (greedy: high fit, few placed) crossed with a whole-model plan of placements alone (many
    # placed, fit ignored): people placed alike keep their place, the rest are re-solved together.
    problem = _problem(200, 13, "tight")
    model = build_sparse(problem)
    plan = greedy_by_score(problem)
    placements = solve_highs(model.matrix, model.upper, np.ones(model.n_pairs), integer=True, time_limit=60)
    assert placements.values is not None
    other = integral(placements.values)
    assert problem.objective(other) > problem.objective(plan)
    crossed = AreaSearch(problem, 60)._cross(plan, model.activity(plan), placements)
    assert model.is_feasible(crossed)
    assert problem.objective(crossed) >= max(problem.objective(plan), problem.objective(other))
    shared = plan & other  # a pair both plans take
    assert np.all(crossed[shared])


def test_a_plan_short_of_placements_gets_the_mip_of_placements_first_and_keeps_its_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The start plan places fewer people than the LP allows: the MIP beside the search looks for placements first,
    # and whatever it finds the outcome is at least as good.
    seen: list[tuple[bool, decompose.Future[SolverResult]]] = []
    real = decompose._placements_then_whole

    def recording(*args: object, **kwargs: object) -> tuple[decompose.Future[SolverResult], ...]:
        placements, whole = real(*args, **kwargs)  # type: ignore[arg-type]
        seen.append((bool(kwargs["find_placements"]), placements))
        return placements, whole

    monkeypatch.setattr(decompose, "_placements_then_whole", recording)
    problem = _problem(200, 13, "tight")
    limits = SearchLimits(area_km=10, area_max_km=10, exact_max_pairs=0)
    outcome = AreaSearch(problem, 20, limits=limits).run()
    ((find_placements, placements),) = seen
    assert find_placements
    result = placements.result(timeout=30)
    assert outcome.found and build_sparse(problem).is_feasible(outcome.chosen)
    assert result.values is not None  # 200 people: HiGHS has a plan long before its window ends
    assert problem.objective(outcome.chosen) >= problem.objective(integral(result.values))


def test_a_start_with_every_placement_the_lp_allows_goes_to_the_mip_of_all_three_levels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Loose supervision: LP rounding already places all the LP allows, so only fit and stays are left, and the MIP
    # of all three levels runs beside the search from the start and proves the plan.
    seen: list[bool] = []
    real = decompose._placements_then_whole

    def recording(*args: object, **kwargs: object) -> tuple[decompose.Future[SolverResult], ...]:
        seen.append(bool(kwargs["find_placements"]))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(decompose, "_placements_then_whole", recording)
    problem = _problem(300, 8, "loose")
    limits = SearchLimits(area_km=10, area_max_km=10, exact_max_pairs=0)
    outcome = AreaSearch(problem, 120, limits=limits).run()
    assert seen == [False]
    assert outcome.proven_optimal


def _lp_and_start(problem: AssignmentProblem) -> tuple[np.ndarray, np.ndarray]:
    model = build_sparse(problem)
    objective = problem.two_level_coefficients(decompose.lp_weight(problem)).astype(np.float64)
    lp = solve_highs(model.matrix, model.upper, objective, integer=False, time_limit=60)
    assert lp.values is not None
    return lp.values, decompose.round_lp(problem, lp.values)


def test_the_relaxation_neighbourhood_is_every_pair_of_the_people_the_lp_places_differently() -> None:
    problem = _problem(200, 13, "tight")
    lp_values, start = _lp_and_start(problem)
    participant = problem.pairs.participant
    differs = np.zeros(problem.ci.n_participants, dtype=bool)
    differs[participant[np.abs(lp_values - start) > 1e-6]] = True
    assert differs.any()  # tight supervision: the LP places fractions the rounding cannot
    free = decompose.relaxation_neighbourhood(problem, lp_values, start)
    assert set(free.tolist()) == set(np.flatnonzero(differs[participant]).tolist())
    # Over the pair cap, whole people only, those the LP disagrees with most first.
    capped = decompose.relaxation_neighbourhood(problem, lp_values, start, max_pairs=len(free) // 2)
    assert 0 < len(capped) <= len(free) // 2
    kept = np.unique(participant[capped])
    assert set(capped.tolist()) == set(np.flatnonzero(np.isin(participant, kept)).tolist())
    disagreement = np.bincount(participant, weights=np.abs(lp_values - start), minlength=problem.ci.n_participants)
    left_out = np.setdiff1d(np.flatnonzero(differs), kept)
    assert disagreement[kept].min() >= disagreement[left_out].max() - 1e-6


@pytest.mark.parametrize("work_limit", [None, 4.0])
def test_the_relaxation_step_changes_only_its_neighbourhood_and_never_makes_the_plan_worse(
    work_limit: float | None,
) -> None:
    # From the LP-rounded start, with and without a work limit (then CP-SAT, counted as areas' work).
    problem = _problem(200, 13, "tight")
    search = AreaSearch(problem, 60, work_limit=work_limit)
    lp_values, start = _lp_and_start(problem)
    search.lp = SolverResult("optimal", lp_values, None, 0.0)
    search.offer(start)
    before, value = search.best.copy(), search.value
    search._around_relaxation()
    assert search.model.is_feasible(search.best)
    assert search.value >= value
    outside = np.ones(len(before), dtype=bool)
    outside[decompose.relaxation_neighbourhood(problem, lp_values, before)] = False
    assert np.array_equal(search.best[outside], before[outside])
    if work_limit is not None:
        counted = int(
            np.ceil(min(decompose.RELAXATION_WORK, decompose.RELAXATION_SHARE * work_limit) * decompose.AREAS_PER_WORK)
        )
        assert search.areas_solved == counted
    # On this instance the LP's disagreements hold placements the rounding missed.
    assert search.value > value
