"""The default strategy: exact where that is quick, otherwise LP, rounding and re-optimisation one area at a time.

1. The LP relaxation (HiGHS dual simplex) gives the bound and an order; pairs are taken in that order while they fit
   (LP rounding), and the better of that and the greedy plan is the start.
2. Small problems (up to `EXACT_MAX_PAIRS` free pairs) go whole to SCIP with that start and a zero gap: a proof of
   optimality for the lexicographic objective, or its best plan at the time limit.
3. Larger ones of moderate size (up to `PROVE_AFTER_MAX_PAIRS`): the whole model goes to HiGHS's exact MIP on one
   core for 60 % of the time (`WHOLE_SHARE`), while the area search below runs on the other; when HiGHS proves its plan
   optimal that plan is the result, otherwise the search goes on from the better of the two plans, on both cores.
4. Then areas of about `WINDOW_KM` x `WINDOW_KM` are re-solved one at a time as exact MIPs over the pairs of the people
   living there, with every other person's place fixed (their seats and supervision hours taken out of the limits).
   A result replaces the area's plan only when it is better in exact integers. Areas are taken in order of what
   the LP relaxation says they could still gain. The grid is shifted by half a cell on alternate passes so that
   people near a border can trade places, and grows by half when a cycle over both grids improves nothing. Two areas
   that share no slot and no site are independent, so they are solved side by side on two threads and applied in a
   fixed order: the outcome does not depend on which finishes first. (While HiGHS works on the whole model, one area
   at a time: two cores.)
5. It stops at the time limit, when the plan meets the bound, or when the largest grid has been cycled without
   improvement (a local optimum); then it waits for the whole-model MIP, if that still runs, until its limit.

Every sub-problem keeps the lexicographic order exact with its own weights: a fit weight one more than the number of
its holders who could stay, and a placement weight one more than the best total value its people could reach
(docs/solver.md). Whole-model MIPs take the three levels in one objective while its total stays below
`ONE_OBJECTIVE_MAX` (where doubles and the solvers' tolerances still resolve one unit); above that, in two phases
(`solve_whole_model`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from matcher.compiled import BoolArray, IntArray
from matcher.model.greedy import greedy_by_score, greedy_in_order
from matcher.model.highs import HighsResult, integral, solve_highs, solve_scip
from matcher.model.problem import AssignmentProblem
from matcher.model.sparse import SparseModel, build_sparse, objective_value, sub_model

FloatArray = NDArray[np.float64]

EXACT_MAX_PAIRS = 12_000  # a whole problem this small goes to SCIP, from the LP-rounded start
LP_EXACT_WEIGHT_MAX_PAIRS = 150_000  # above this the LP uses a smaller placement weight (much faster), see lp_weight
WINDOW_KM = 24.0
WINDOW_GROWTH = 1.5
WINDOW_MAX_KM = 60.0
WINDOW_TIME_CAP_S = 1.0  # one area's MIP never takes longer: many quick areas beat a few proven ones
WRAP_UP_S = 1.0
PROVE_AFTER_MAX_PAIRS = 150_000  # up to this size HiGHS works on the whole model beside the area search
WHOLE_SHARE = 0.6  # for this share of the time; then the search goes on from the better plan, on both cores
KM_PER_DEGREE = 111.195
DUAL_SIMPLEX = {"solver": "simplex", "simplex_strategy": "1"}
# Largest total of a three-level objective given to a floating-point MIP as one objective (about 1.1e12). Beyond it
# the fit weight times the placement weight leaves too few digits for HiGHS's and SCIP's tolerances to resolve one
# stay, so the third level gets a phase of its own (docs/solver.md).
ONE_OBJECTIVE_MAX = 2**40


@dataclass(frozen=True)
class Improvement:
    seconds: float
    chosen: BoolArray
    bound: int | None  # the best upper bound known so far (weighted), if any


@dataclass(frozen=True)
class DecomposeOutcome:
    chosen: BoolArray
    proven_optimal: bool
    objective_bound: int  # weighted with problem.placement_weight; a valid upper bound
    build_seconds: float
    solve_seconds: float
    lp_seconds: float
    windows_solved: int
    passes: int


def weighted_objective(problem: AssignmentProblem) -> FloatArray:
    """The three-level objective's coefficients: `placement_weight + fit_weight * score + stay` per free pair."""
    out: FloatArray = (problem.placement_weight + problem.value).astype(np.float64)
    return out


def two_level_objective(problem: AssignmentProblem, weight: int | None = None) -> FloatArray:
    """Placements, then fit score: `weight + score` per free pair (by default the exact two-level weight)."""
    w = problem.fit_placement_weight if weight is None else weight
    out: FloatArray = (w + problem.pairs.score).astype(np.float64)
    return out


def one_objective_is_safe(problem: AssignmentProblem) -> bool:
    """True when the three levels fit in one floating-point objective (always, when the third level is vacuous)."""
    people = len(np.unique(problem.pairs.participant))
    return not problem.has_third_level or problem.placement_weight * (people + 1) <= ONE_OBJECTIVE_MAX


def lp_weight(problem: AssignmentProblem) -> int:
    """The placement weight of the LP, which has the first two levels only (the bound on the third is then its most,
    see `lp_bound`). The exact weight (millions at 50,000 people, next to scores of tens) makes the simplex several
    times slower on big models; above `LP_EXACT_WEIGHT_MAX_PAIRS` pairs the LP only guides the rounding and the
    search, so ten times the largest pair score is used, and the bound on placements comes from the cardinality LP
    instead."""
    if len(problem.pairs) <= LP_EXACT_WEIGHT_MAX_PAIRS:
        return problem.fit_placement_weight
    return 10 * (int(problem.pairs.score.max(initial=0)) + 1)


def _floor(value: float) -> int:
    """Floor with a relative tolerance for the LP's floating point (the true optimum of an integral LP is close)."""
    return int(math.floor(value + 1e-7 * max(1.0, abs(value))))


def lp_bound(problem: AssignmentProblem, weighted: HighsResult | None, cardinality: HighsResult | None) -> int | None:
    """An upper bound on the three-level objective (free pairs), or None when no LP finished.

    From the LP with the exact two-level weight `W2`: its optimum rounded down, `Z`, bounds `W2 * placed + score`, so
    no plan places more than `P = Z // W2`, and one placing `P` scores at most `S = Z - W2 * P`: no plan's value
    exceeds `placement_weight * P + fit_weight * S + fit_weight - 1` (stays are below `fit_weight`). From the
    cardinality LP (max placements): at most floor(that) people are placed, and any plan's value over its
    placements is below `placement_weight`."""
    bounds = []
    if weighted is not None and weighted.status == "optimal" and weighted.objective is not None:
        placed, score = divmod(_floor(weighted.objective), problem.fit_placement_weight)
        bounds.append(problem.placement_weight * placed + problem.fit_weight * (score + 1) - 1)
    if cardinality is not None and cardinality.status == "optimal" and cardinality.objective is not None:
        bounds.append(_floor(cardinality.objective) * problem.placement_weight + problem.placement_weight - 1)
    return min(bounds) if bounds else None


def trivial_bound(problem: AssignmentProblem) -> int:
    """Everyone with a feasible pair placed at their best score: no plan does better."""
    people = np.unique(problem.pairs.participant)
    return len(people) * problem.placement_weight + problem.placement_weight - 1


def round_lp(problem: AssignmentProblem, values: FloatArray) -> BoolArray:
    """Take pairs by LP value (then score), while they fit."""
    pairs = problem.pairs
    order = np.lexsort((pairs.slot, pairs.participant, -problem.value, -np.round(values, 6)))
    return greedy_in_order(problem, order)


def _plane_km(problem: AssignmentProblem) -> tuple[FloatArray, FloatArray]:
    ci = problem.ci
    lat0 = float(np.mean(ci.p_lat)) if ci.n_participants else 0.0
    x = ci.p_lon * math.cos(math.radians(lat0)) * KM_PER_DEGREE
    y = ci.p_lat * KM_PER_DEGREE
    return x - x.min(initial=0.0), y - y.min(initial=0.0)


def windows(problem: AssignmentProblem, size_km: float, shift: float) -> list[IntArray]:
    """Free pair indices per grid cell of people (cells in row-major order; people without pairs left out)."""
    pairs = problem.pairs
    if len(pairs) == 0:
        return []
    x, y = _plane_km(problem)
    cx = np.floor(x / size_km + shift).astype(np.int64)
    cy = np.floor(y / size_km + shift).astype(np.int64)
    cell = (cy - cy.min()) * (int(cx.max() - cx.min()) + 1) + (cx - cx.min())
    pair_cell = cell[pairs.participant]
    order = np.argsort(pair_cell, kind="stable")
    bounds = np.flatnonzero(np.diff(pair_cell[order])) + 1
    return [np.sort(group) for group in np.split(order, bounds)]


def _can_improve(problem: AssignmentProblem, free: IntArray, chosen: BoolArray) -> bool:
    """False when everyone here is placed at a best pair of theirs (best score, then staying): no re-solve can do
    better."""
    pairs = problem.pairs
    people = pairs.participant[free]
    best = np.zeros(problem.ci.n_participants, dtype=np.int64)
    np.maximum.at(best, people, problem.value[free])
    placed_score = np.full(problem.ci.n_participants, -1, dtype=np.int64)
    mine = free[chosen[free]]
    placed_score[pairs.participant[mine]] = problem.value[mine]
    unique_people = np.unique(people)
    return bool(np.any(placed_score[unique_people] < best[unique_people]))


@dataclass(frozen=True)
class _WindowResult:
    free: IntArray
    chosen: BoolArray | None  # new values of the free pairs, when better


def _solve_window(
    problem: AssignmentProblem,
    model: SparseModel,
    free: IntArray,
    chosen: BoolArray,
    activity: FloatArray,
    time_limit: float,
) -> _WindowResult:
    """The exact MIP over `free` with everything else fixed; its plan when strictly better."""
    sub = sub_model(model, free, chosen, activity)
    scores = problem.pairs.score[free]
    stay = problem.stay[free]
    people = problem.pairs.participant[free]
    unique_people = np.unique(people)
    # The area's own weights: a fit weight above its possible stays, a placement weight above its best total value.
    fit_weight = int(stay.sum()) + 1
    values = scores * fit_weight + stay
    weight = _best_total(problem, people, values, unique_people) + 1
    if fit_weight > 1 and weight * (len(unique_people) + 1) > ONE_OBJECTIVE_MAX:
        # Too large for one floating-point objective: the area is solved on the first two levels; a plan equal on
        # those but with fewer stays is then simply not taken (the check below is on all three).
        objective = (_best_total(problem, people, scores, unique_people) + 1 + scores).astype(np.float64)
    else:
        objective = (weight + values).astype(np.float64)
    current = chosen[free]
    current_value = int(current.sum()) * weight + int(values[current].sum())
    result = solve_highs(sub.matrix, sub.upper, objective, integer=True, time_limit=time_limit)
    if result.values is None:
        return _WindowResult(free, None)
    new = integral(result.values)
    if not np.all(sub.matrix @ new.astype(np.float64) <= sub.upper + 0.5):
        return _WindowResult(free, None)  # never trust a tolerance: the exact check decides
    new_value = int(new.sum()) * weight + int(values[new].sum())
    return _WindowResult(free, new if new_value > current_value else None)


def _best_total(problem: AssignmentProblem, people: IntArray, values: IntArray, unique_people: IntArray) -> int:
    """Σ over `unique_people` of their best value among the given pairs (`people[i]` has `values[i]`)."""
    best = np.zeros(problem.ci.n_participants, dtype=np.int64)
    np.maximum.at(best, people, values)
    return int(best[unique_people].sum())


def _rows_touched(model: SparseModel, free: IntArray) -> set[int]:
    block = model.columns()[:, free]
    return set(np.unique(block.indices).tolist())


class _Search:
    """The incumbent, its exact value, and progress reports."""

    def __init__(
        self,
        problem: AssignmentProblem,
        model: SparseModel,
        started: float,
        on_improve: Callable[[Improvement], None] | None,
    ) -> None:
        self.problem, self.model, self.started, self.on_improve = problem, model, started, on_improve
        self.best = np.zeros(model.n_pairs, dtype=np.bool_)
        self.value = 0
        self.bound: int | None = None

    def offer(self, candidate: BoolArray) -> bool:
        value = objective_value(self.problem, candidate)
        if value > self.value and self.model.is_feasible(candidate):
            self.best, self.value = candidate.copy(), value
            if self.on_improve:
                self.on_improve(Improvement(time.perf_counter() - self.started, self.best, self.bound))
            return True
        return False


def solve_decomposed(
    problem: AssignmentProblem,
    time_limit: float,
    on_improve: Callable[[Improvement], None] | None = None,
    threads: int = 2,
    window_km: float = WINDOW_KM,
    exact_max_pairs: int = EXACT_MAX_PAIRS,
    window_time_cap: float = WINDOW_TIME_CAP_S,
    window_max_km: float = WINDOW_MAX_KM,
    prove_after_max_pairs: int = PROVE_AFTER_MAX_PAIRS,
) -> DecomposeOutcome:
    started = time.perf_counter()
    # Keep a little time for the caller to write the plan out: the limit is for the whole solve.
    deadline = started + time_limit - min(WRAP_UP_S, 0.02 * time_limit)
    model = build_sparse(problem)
    n = model.n_pairs
    built = time.perf_counter()
    search = _Search(problem, model, started, on_improve)
    search.offer(greedy_by_score(problem))
    if n == 0:
        return DecomposeOutcome(search.best, True, 0, built - started, 0.0, 0.0, 0, 0)

    def remaining() -> float:
        return max(deadline - time.perf_counter(), 0.01)

    pool = ThreadPoolExecutor(max_workers=threads) if threads > 1 else None
    try:
        weight = lp_weight(problem)
        lp_objective = two_level_objective(problem, weight)
        cardinality_job: Future[HighsResult] | None = None
        if weight != problem.fit_placement_weight and pool is not None:
            # The bound on placements, on the other core while the weighted LP and the search run.
            cardinality_job = pool.submit(
                solve_highs, model.matrix, model.upper, np.ones(n), integer=False, time_limit=remaining(),
                options=DUAL_SIMPLEX,
            )  # fmt: skip
        lp_started = time.perf_counter()
        lp = solve_highs(
            model.matrix, model.upper, lp_objective, integer=False, time_limit=remaining(), options=DUAL_SIMPLEX
        )
        lp_seconds = time.perf_counter() - lp_started
        weighted = lp if weight == problem.fit_placement_weight else None
        bound = search.bound = lp_bound(problem, weighted, None)

        def refresh_bound() -> None:
            # The cardinality LP runs beside the search; its bound is used for reports as soon as it is there.
            if search.bound is None and cardinality_job is not None and cardinality_job.done():
                search.bound = lp_bound(problem, weighted, cardinality_job.result())

        if lp.values is not None:
            search.offer(round_lp(problem, lp.values))

        def finish(proven: bool, solved: int, passes: int) -> DecomposeOutcome:
            final = bound
            if cardinality_job is not None:
                final = lp_bound(problem, weighted, cardinality_job.result())
            final = trivial_bound(problem) if final is None else final
            proven = proven or search.value >= final
            return DecomposeOutcome(
                search.best, proven, search.value if proven else max(final, search.value), built - started,
                time.perf_counter() - built, lp_seconds, solved, passes,
            )  # fmt: skip

        if bound is not None and search.value >= bound:
            return finish(True, 0, 0)
        if n <= exact_max_pairs:
            return _solve_whole(problem, model, search, remaining(), finish)
        whole: Future[HighsResult] | None = None
        if n <= prove_after_max_pairs and threads > 1:
            whole = _in_background(solve_whole_model, problem, model, WHOLE_SHARE * remaining())
        return _search_areas(problem, model, search, lp, lp_objective, deadline, pool, window_km, window_max_km,
                             window_time_cap, bound, finish, refresh_bound, whole)  # fmt: skip
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _in_background(fn: Callable[..., HighsResult], *args: object, **kwargs: object) -> Future[HighsResult]:
    """Run `fn` on a daemon thread. Not a pool's thread: when the search reaches the bound first, the solve cannot be
    interrupted (see highs.py), so it is left to run out its time limit without keeping the caller or the process
    from finishing."""
    future: Future[HighsResult] = Future()

    def run() -> None:
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # handed to whoever waits for the result
            future.set_exception(error)

    threading.Thread(target=run, name="whole-model-mip", daemon=True).start()
    return future


def _take_whole(problem: AssignmentProblem, model: SparseModel, search: _Search, whole: HighsResult) -> bool:
    """A whole-model MIP's result. When it is proven optimal its plan becomes the result — even if the search already
    had one as good — so the outcome does not depend on how far the search got; otherwise its best plan is offered
    like any other. True when proven."""
    if whole.values is None:
        return False
    candidate = integral(whole.values)
    if not model.is_feasible(candidate):
        return False
    value = objective_value(problem, candidate)
    if whole.status == "optimal" and value >= search.value:
        if not search.offer(candidate):
            search.best, search.value = candidate.copy(), value
        return True
    search.offer(candidate)
    return False


def _solve_whole(
    problem: AssignmentProblem,
    model: SparseModel,
    search: _Search,
    time_limit: float,
    finish: Callable[[bool, int, int], DecomposeOutcome],
) -> DecomposeOutcome:
    """SCIP on the whole model from the search's plan (the better of LP rounding and greedy); should its plan fail the
    exact check, HiGHS gets the time that is left."""
    started = time.perf_counter()
    whole = solve_whole_model(problem, model, time_limit, hint=search.best, solver="scip")
    if _take_whole(problem, model, search, whole):
        return finish(True, 1, 1)
    left = time_limit - (time.perf_counter() - started)
    if whole.status != "optimal" or left <= 0.05:
        return finish(False, 1, 1)
    highs = solve_whole_model(problem, model, left)
    return finish(_take_whole(problem, model, search, highs), 2, 1)


def _mip(
    matrix: sp.csr_matrix,
    upper: FloatArray,
    objective: FloatArray,
    time_limit: float,
    hint: BoolArray | None,
    solver: str,
) -> HighsResult:
    if solver == "scip":
        return solve_scip(matrix, upper, objective, time_limit=time_limit, hint=hint)
    return solve_highs(matrix, upper, objective, integer=True, time_limit=time_limit)


def solve_whole_model(
    problem: AssignmentProblem,
    model: SparseModel,
    time_limit: float,
    hint: BoolArray | None = None,
    solver: str = "highs",
) -> HighsResult:
    """The exact MIP of the whole model (HiGHS, or SCIP from `hint`) for all three levels of the objective.

    In one objective while `one_objective_is_safe`; otherwise in two phases: first placements and fit score (the
    two-level objective, as without holders); then, when that is proven optimal, the most stays among plans that
    place as many and score as much (two rows: `Σ x >= placed`, `Σ score x >= score`). "optimal" only when every
    phase is proven; the values are always of a plan that passed the exact check, or None."""
    if one_objective_is_safe(problem):
        return _mip(model.matrix, model.upper, weighted_objective(problem), time_limit, hint, solver)
    started = time.perf_counter()
    first = _mip(model.matrix, model.upper, two_level_objective(problem), time_limit, hint, solver)
    if first.values is None or first.status != "optimal":
        return first
    chosen = integral(first.values)
    if not model.is_feasible(chosen):
        return first  # the caller's exact check rejects it
    placed, score = int(chosen.sum()), int(problem.pairs.score[chosen].sum())
    fallback = HighsResult("feasible", first.values, first.objective, first.seconds)
    left = time_limit - (time.perf_counter() - started)
    if left <= 0.05:
        return fallback
    scores = problem.pairs.score.astype(np.float64)
    matrix = sp.vstack([model.matrix, sp.csr_matrix(-np.ones((1, model.n_pairs))), sp.csr_matrix(-scores[None, :])])
    upper = np.concatenate([model.upper, [-float(placed), -float(score)]])
    second = _mip(sp.csr_matrix(matrix), upper, problem.stay.astype(np.float64), left, chosen, solver)
    seconds = time.perf_counter() - started
    if second.values is None:
        return fallback
    kept = integral(second.values)
    same = int(kept.sum()) == placed and int(problem.pairs.score[kept].sum()) == score
    if not (same and model.is_feasible(kept)):
        return fallback  # a tolerance let a worse plan through: keep the proven two-level one
    if int(problem.stay[kept].sum()) < int(problem.stay[chosen].sum()):
        return fallback
    status = "optimal" if second.status == "optimal" else "feasible"
    return HighsResult(status, second.values, float(weighted_objective(problem) @ second.values), seconds)


def _search_areas(
    problem: AssignmentProblem,
    model: SparseModel,
    search: _Search,
    lp: HighsResult,
    lp_objective: FloatArray,
    deadline: float,
    pool: ThreadPoolExecutor | None,
    window_km: float,
    window_max_km: float,
    window_time_cap: float,
    bound: int | None,
    finish: Callable[[bool, int, int], DecomposeOutcome],
    refresh_bound: Callable[[], None],
    whole: Future[HighsResult] | None,
) -> DecomposeOutcome:
    """The area search. With `whole` (HiGHS on the whole model, on the other core, for part of the time) it runs one
    area at a time until that finishes: a proof ends the search with HiGHS's plan; otherwise the search goes on from
    the better of the two plans, on both cores."""
    chosen = search.best.copy()
    activity = model.activity(chosen)
    solved = passes = stale = 0
    whole_state = "none" if whole is None else "running"  # then "taken"

    def take_whole_if_done() -> bool:
        """When the whole-model MIP has finished: True if it proved its plan optimal (the search ends); else its plan
        is offered, the search goes on from the better one, and both cores are the search's again."""
        nonlocal chosen, activity, whole_state
        if whole is None or whole_state != "running" or not whole.done():
            return False
        whole_state = "taken"
        try:
            result = whole.result()
        except Exception:  # a failed whole-model solve must not cost the plan the search has
            return False
        if _take_whole(problem, model, search, result):
            return True
        if search.value > objective_value(problem, chosen):
            chosen = search.best.copy()
            activity = model.activity(chosen)
        return False

    size = window_km
    grids = [windows(problem, size, 0.0), windows(problem, size, 0.5)]
    while time.perf_counter() < deadline:
        if take_whole_if_done():
            return finish(True, solved + 1, passes)
        if stale >= len(grids):  # a local optimum for this size: look wider
            if size >= window_max_km:
                break  # a local optimum of the largest areas
            size = min(size * WINDOW_GROWTH, window_max_km)
            grids = [windows(problem, size, 0.0), windows(problem, size, 0.5)]
            stale = 0
        cells = [w for w in grids[passes % len(grids)] if _can_improve(problem, w, chosen)]
        if lp.values is not None:
            # Most promising areas first: where the LP relaxation places more (or better) than the plan.
            gain = lp_objective * (lp.values - chosen)
            potential = np.array([gain[w].sum() for w in cells])
            cells = [cells[k] for k in np.argsort(-np.round(potential, 6), kind="stable")]
        improved = False
        i = 0
        while i < len(cells) and time.perf_counter() < deadline:
            if whole_state == "running" and whole is not None and whole.done():
                break  # take its plan at the top of the next pass
            two_cores = pool if whole_state != "running" else None  # HiGHS has the other core while it runs
            batch = [cells[i]]
            if (
                two_cores is not None
                and i + 1 < len(cells)
                and not (_rows_touched(model, cells[i]) & _rows_touched(model, cells[i + 1]))
            ):
                batch.append(cells[i + 1])
            cap = min(window_time_cap, max(deadline - time.perf_counter(), 0.01))
            if two_cores is not None and len(batch) > 1:
                futures = [two_cores.submit(_solve_window, problem, model, w, chosen, activity, cap) for w in batch]
                results = [f.result() for f in futures]
            else:
                results = [_solve_window(problem, model, batch[0], chosen, activity, cap)]
            batch_improved = False
            for result in results:  # independent areas: the order of applying them does not matter
                solved += 1
                if result.chosen is not None:
                    before = chosen[result.free].astype(np.float64)
                    chosen[result.free] = result.chosen
                    activity = activity + model.columns()[:, result.free] @ (result.chosen - before)
                    batch_improved = improved = True
            i += len(batch)
            refresh_bound()
            if batch_improved:
                search.offer(chosen)
                if bound is not None and search.value >= bound:
                    return finish(True, solved, passes + 1)
        passes += 1
        stale = 0 if improved else stale + 1
    if whole is not None and whole_state == "running":
        # A local optimum (or out of time) before the whole-model MIP finished: it has until its own limit to prove
        # or beat the plan.
        try:
            last: HighsResult | None = whole.result()
        except Exception:  # a failed whole-model solve must not cost the plan the search has
            last = None
        if last is not None:
            return finish(_take_whole(problem, model, search, last), solved + 1, passes)
    return finish(False, solved, passes)
