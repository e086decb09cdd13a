"""The default strategy: exact where that is quick, otherwise LP, rounding and re-optimisation one area at a time.

1. The LP relaxation (HiGHS dual simplex) gives the bound and an order; pairs are taken in that order while they fit
   (LP rounding), and the better of that and the greedy plan is the start.
2. Small problems (up to `EXACT_MAX_PAIRS` free pairs) go whole to SCIP with that start and a zero gap: a proof of
   optimality for the lexicographic objective, or its best plan at the time limit.
3. Larger ones of moderate size (up to `WHOLE_MIP_MAX_PAIRS`): HiGHS's MIP gets the whole model on one core for 60 %
   of the time (`WHOLE_SHARE`), while the area search below runs on the other. When the start plan places fewer
   people than the LP allows, that MIP first looks for placements (`_placements_then_whole`: placements with fit as a
   small tie-break, which HiGHS solves far faster than all three levels) and its plan is crossed with the search's
   (`AreaSearch._cross`); when the start already places all the LP allows, or that MIP is proven, the exact MIP of
   all three levels follows for the rest of the window. When it proves its plan optimal that plan is the result;
   otherwise the search goes on from the better plan, on both cores.
4. First the people the LP relaxation places differently from the best plan, wherever they live, are re-solved
   together as one exact MIP (`relaxation_neighbourhood`, the idea of RINS): where the LP says the plan can gain,
   with the trades across areas that no area holds whole. Then areas — squares of about `AREA_KM` km on a side, over
   where people live — are re-solved one at a time as exact MIPs over the pairs of the people living there, with
   every other person's place fixed (their seats and supervision hours taken out of the limits). A result replaces
   the area's plan only when it is better in exact integers. Areas are taken in order of what the LP relaxation says
   they could still gain. The grid of areas is shifted by half an area on alternate passes so that people near a
   border can trade places, and its areas grow by half when a cycle over both grids improves nothing. Two areas that
   share no slot and no site are independent, so they are solved side by side on two threads and applied in a fixed
   order: the outcome does not depend on which finishes first. (While HiGHS works on the whole model, one area at a
   time: two cores.)
5. It stops at the time limit, when the plan meets the bound (or comes within `relative_gap` of it), or when the
   largest grid has been cycled without improvement (a local optimum); then it waits for the whole-model MIP, if that
   still runs, until its limit but never past the solve's own deadline.
6. With a work limit (`SolverSettings.work_limit`) every stopping point is counted, not timed: each area is CP-SAT
   on one worker for `AREA_WORK` deterministic seconds, the search stops after `AREAS_PER_WORK` areas per unit,
   small models go whole to CP-SAT for the work limit (not to SCIP); there is no whole-model HiGHS beside the search
   (HiGHS's and SCIP's node limits do not bound their root node), so the search has both cores. The same input and
   settings then give the same plan on any machine; the time limit stays as a safety net, and when it is what
   stopped a step the outcome says the plan is not deterministic.

Every sub-problem keeps the lexicographic order exact with its own weights (`Levels.of` over its pairs, see
`matcher.model.problem`). Whole-model MIPs take the three levels in one objective while that is safe, otherwise in
two phases (`matcher.model.whole`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from ortools.sat.python import cp_model

from matcher.compiled import BoolArray, IntArray
from matcher.model.greedy import greedy_by_score, greedy_in_order
from matcher.model.highs import SolverResult, integral, solve_highs
from matcher.model.outcome import SolveOutcome, SolveProgress
from matcher.model.problem import AssignmentProblem, Levels
from matcher.model.sparse import SparseModel, build_sparse, sub_model
from matcher.model.whole import SolveOptions, solve_whole_model

FloatArray = NDArray[np.float64]

EXACT_MAX_PAIRS = 12_000  # a whole problem this small goes to SCIP, from the LP-rounded start
LP_EXACT_WEIGHT_MAX_PAIRS = 150_000  # above this the LP uses a smaller placement weight (much faster), see lp_weight
AREA_KM = 24.0  # the side of an area at the start
AREA_GROWTH = 1.5  # areas grow by this factor when a cycle over both grids improves nothing
AREA_MAX_KM = 60.0
AREA_TIME_CAP_S = 1.0  # one area's MIP never takes longer: many quick areas beat a few proven ones
WRAP_UP_S = 1.0
CROSS_TIME_CAP_S = 10.0  # the exact re-solve of where the search's plan and a whole-model MIP's plan differ
# The re-solve of the people the LP relaxation places differently from the start plan (`relaxation_neighbourhood`):
# at most this share of the time left, this long, and this many pairs (the people the LP disagrees with most first).
RELAXATION_SHARE = 0.25
RELAXATION_TIME_CAP_S = 10.0
RELAXATION_MAX_PAIRS = 30_000
RELAXATION_WORK = 2.0  # with a work limit: CP-SAT's deterministic time for it (at most RELAXATION_SHARE of the work)
WHOLE_MIP_MAX_PAIRS = 150_000  # up to this size HiGHS works on the whole model beside the area search
WHOLE_SHARE = 0.6  # for this share of the time; then the search goes on from the better plan, on both cores
KM_PER_DEGREE = 111.195
# Work limits (`SolverSettings.work_limit`, docs/solver.md "Reproducible plans"): a unit of work is about a second of
# search on one core of the reference machine (CP-SAT's deterministic time). The area search counts area re-solves,
# each CP-SAT for AREA_WORK deterministic seconds instead of HiGHS for `AREA_TIME_CAP_S`; the clock is a safety net.
AREAS_PER_WORK = 4.0
AREA_WORK = 0.25  # CP-SAT's deterministic time per area with a work limit (1 / AREAS_PER_WORK)
DUAL_SIMPLEX = {"solver": "simplex", "simplex_strategy": "1"}


@dataclass(frozen=True)
class SearchLimits:
    """The search's sizes and caps (the defaults are the measured ones; tests force paths with others)."""

    area_km: float = AREA_KM
    area_max_km: float = AREA_MAX_KM
    area_time_cap_s: float = AREA_TIME_CAP_S
    exact_max_pairs: int = EXACT_MAX_PAIRS
    whole_mip_max_pairs: int = WHOLE_MIP_MAX_PAIRS


def lp_weight(problem: AssignmentProblem) -> int:
    """The placement weight of the LP, which has the first two levels only (the bound on the third is then its most,
    see `lp_bound`). The exact weight (millions at 50,000 people, next to scores of tens) makes the simplex several
    times slower on big models; above `LP_EXACT_WEIGHT_MAX_PAIRS` pairs the LP only guides the rounding and the
    search, so ten times the largest pair score is used, and the bound on placements comes from the cardinality LP
    instead."""
    if len(problem.pairs) <= LP_EXACT_WEIGHT_MAX_PAIRS:
        return problem.fit_placement_weight
    return tie_break_weight(problem)


def tie_break_weight(problem: AssignmentProblem) -> int:
    """A placement weight that keeps the fit score as a tie-break only: ten times (largest pair score + 1). Not the
    lexicographic weight (a plan may trade a placement for fit), but far easier for the simplex and for HiGHS's MIP."""
    return 10 * (int(problem.pairs.score.max(initial=0)) + 1)


def _floor(value: float) -> int:
    """Floor with a relative tolerance for the LP's floating point (the true optimum of an integral LP is close)."""
    return int(math.floor(value + 1e-7 * max(1.0, abs(value))))


def lp_bound(problem: AssignmentProblem, weighted: SolverResult | None, cardinality: SolverResult | None) -> int | None:
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


def grid(problem: AssignmentProblem, size_km: float, shift: float) -> list[IntArray]:
    """The areas of a grid of `size_km` squares shifted by `shift` of a side: free pair indices per area (areas in
    row-major order; people without pairs left out)."""
    pairs = problem.pairs
    if len(pairs) == 0:
        return []
    x, y = _plane_km(problem)
    cx = np.floor(x / size_km + shift).astype(np.int64)
    cy = np.floor(y / size_km + shift).astype(np.int64)
    area = (cy - cy.min()) * (int(cx.max() - cx.min()) + 1) + (cx - cx.min())
    pair_area = area[pairs.participant]
    order = np.argsort(pair_area, kind="stable")
    bounds = np.flatnonzero(np.diff(pair_area[order])) + 1
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
class _AreaResult:
    free: IntArray
    chosen: BoolArray | None  # new values of the free pairs, when better
    time_limited: bool = False  # its MIP was stopped by its time cap


def _solve_area(
    problem: AssignmentProblem,
    model: SparseModel,
    free: IntArray,
    chosen: BoolArray,
    activity: FloatArray,
    time_limit: float,
    options: SolveOptions,
    work: float | None = None,
) -> _AreaResult:
    """The exact MIP over the area's pairs `free` with everything else fixed; its plan when strictly better.

    `work`: CP-SAT on one worker stopped at that deterministic time (from the area's current plan as a hint)
    instead of HiGHS stopped at `time_limit`: a stopping point that does not depend on the machine (HiGHS's node
    limit does not bound its root node, where the areas spend most of their time)."""
    sub = sub_model(model, free, chosen, activity)
    scores, stay = problem.pairs.score[free], problem.stay[free]
    levels = Levels.of(problem.pairs.participant[free], scores, stay, problem.ci.n_participants)
    values = levels.value(scores, stay)
    if levels.one_objective_is_safe():
        objective = levels.coefficients(values).astype(np.float64)
    else:
        # Too large for one floating-point objective: the area is solved on the first two levels; a plan equal on
        # those but with fewer stays is then simply not taken (the check below is on all three).
        objective = levels.two_level_coefficients(scores).astype(np.float64)
    current_value = levels.total(chosen[free], values)
    if work is not None:
        found, clock, _ = _area_cpsat(sub.matrix, sub.upper, objective, chosen[free], time_limit, work, options.seed)
        if found is None:  # no plan within the work (or the clock, if `clock`): the area keeps its own
            return _AreaResult(free, None, clock)
        new = found
    else:
        result = solve_highs(
            sub.matrix, sub.upper, objective, integer=True, time_limit=time_limit, options=options.highs()
        )
        clock = result.time_limited
        if result.values is None:
            return _AreaResult(free, None, clock)
        new = integral(result.values)
    if not np.all(sub.matrix @ new.astype(np.float64) <= sub.upper + 0.5):
        return _AreaResult(free, None, clock)  # never trust a tolerance: the exact check decides
    return _AreaResult(free, new if levels.total(new, values) > current_value else None, clock)


def _area_cpsat(
    matrix: sp.csr_matrix,
    upper: FloatArray,
    objective: FloatArray | IntArray,
    start: BoolArray,
    time_limit: float,
    work: float,
    seed: int,
) -> tuple[BoolArray | None, bool, bool]:
    """max objective @ x, matrix @ x <= upper, x binary, with CP-SAT on one worker (sequential: deterministic) for
    `work` deterministic seconds: the plan (None when it found none), whether the clock (not the work) stopped it,
    and whether it is proven optimal. Finding no plan within the work is as deterministic as finding one: only the
    clock makes a run differ from the next."""
    n = int(matrix.shape[1])
    cp = cp_model.CpModel()
    proto = cp.proto
    if n:
        template = proto.variables.add()
        template.domain.extend((0, 1))
        proto.variables.extend([template] * (n - 1))
    csr = sp.csr_matrix(matrix)
    indptr, indices = csr.indptr.tolist(), csr.indices.tolist()
    data = np.rint(csr.data).astype(np.int64).tolist()
    limits = np.floor(upper + 1e-9).astype(np.int64).tolist()
    for r in range(int(csr.shape[0])):
        a, b = indptr[r], indptr[r + 1]
        constraint = proto.constraints.add()
        constraint.linear.vars.extend(indices[a:b])
        constraint.linear.coeffs.extend(data[a:b])
        constraint.linear.domain.extend((0, limits[r]))
    coefficients = objective if np.issubdtype(objective.dtype, np.integer) else np.rint(objective)
    proto.objective.vars.extend(range(n))
    proto.objective.coeffs.extend((-coefficients.astype(np.int64)).tolist())  # CP-SAT minimises, in 64-bit integers
    proto.objective.scaling_factor = -1.0
    proto.solution_hint.vars.extend(range(n))
    proto.solution_hint.values.extend(start.astype(np.int64).tolist())
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = seed
    solver.parameters.max_deterministic_time = work
    solver.parameters.max_time_in_seconds = max(time_limit, 0.01)  # the safety net
    status = solver.solve(cp)
    clock = status != cp_model.OPTIMAL and solver.response_proto.deterministic_time < work * (1 - 1e-6)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # No plan: UNKNOWN when a limit came first (the clock's, if `clock`); infeasible or invalid, no limit at all.
        return None, clock and status == cp_model.UNKNOWN, False
    plan = np.array(solver.response_proto.solution, dtype=np.int64)[:n] > 0
    return plan, clock, status == cp_model.OPTIMAL


def relaxation_neighbourhood(
    problem: AssignmentProblem, lp_values: FloatArray, plan: BoolArray, max_pairs: int = RELAXATION_MAX_PAIRS
) -> IntArray:
    """The pairs of the people the LP relaxation treats differently from `plan` (a fractional value, or another
    place): where the relaxation says the plan could gain, wherever they live — trades across areas that no area
    holds whole. When they have more than `max_pairs` pairs, the people the LP disagrees with most come first, in a
    fixed order (ties by participant). Any set of people is a sub-problem that keeps everyone else's place."""
    participant = problem.pairs.participant
    n = problem.ci.n_participants
    disagreement = np.bincount(participant, weights=np.abs(lp_values - plan), minlength=n)
    people = np.flatnonzero(disagreement > 1e-6)
    pairs_of = np.bincount(participant, minlength=n)
    order = people[np.argsort(-np.round(disagreement[people], 6), kind="stable")]
    kept = order[np.cumsum(pairs_of[order]) <= max_pairs]
    chosen = np.zeros(n, dtype=np.bool_)
    chosen[kept] = True
    return np.flatnonzero(chosen[participant])


def _rows_touched(model: SparseModel, free: IntArray) -> set[int]:
    block = model.columns()[:, free]
    return set(np.unique(block.indices).tolist())


def _placements_then_whole(
    problem: AssignmentProblem, model: SparseModel, window: float, options: SolveOptions, *, find_placements: bool
) -> tuple[Future[SolverResult], Future[SolverResult]]:
    """The whole-model MIPs beside the search, one after the other on a daemon thread, for `window` seconds; their
    results, each as it is there. Not a pool's thread: neither HiGHS nor SCIP can be interrupted (see highs.py), so
    when the search reaches the bound first they are left to run out their time without keeping the caller or the
    process from finishing.

    1. With `find_placements`: HiGHS's MIP of placements with the fit score as a small tie-break
       (`tie_break_weight`, as the LP on big models). Not the lexicographic objective, so its plan is only a
       candidate (`AreaSearch._cross`); in exploratory runs HiGHS found placements in it sooner than under the exact
       weight (docs/solver.md, step 5).
    2. When that is proven with time left, or straight away without `find_placements`: the exact MIP of all three
       levels (`solve_whole_model`) for the rest of the window; otherwise an empty result."""
    placements: Future[SolverResult] = Future()
    whole: Future[SolverResult] = Future()
    ends = time.perf_counter() + window

    def find() -> SolverResult:
        if not find_placements:
            return SolverResult("optimal", None, None, 0.0)  # nothing to find: straight to all three levels
        coefficients = problem.two_level_coefficients(tie_break_weight(problem)).astype(np.float64)
        left = ends - time.perf_counter()
        return solve_highs(
            model.matrix, model.upper, coefficients, integer=True, time_limit=left, options=options.highs()
        )

    def all_levels(found: SolverResult) -> SolverResult:
        left = ends - time.perf_counter()
        if found.status == "optimal" and left > WRAP_UP_S:
            return solve_whole_model(problem, model, left, options=options)
        return SolverResult("unknown", None, None, 0.0)

    def run() -> None:
        try:
            found = find()
        except BaseException as error:  # handed to whoever waits for the result; the second step is not run
            placements.set_exception(error)
            whole.set_exception(error)
            return
        placements.set_result(found)
        try:
            whole.set_result(all_levels(found))
        except BaseException as error:
            whole.set_exception(error)

    threading.Thread(target=run, name="whole-model-mip", daemon=True).start()
    return placements, whole


class AreaSearch:
    """The default strategy as one object: its best plan and that plan's objective, its bound, the LP it is guided
    by, and the whole-model MIP beside it. `run()` once; it returns the outcome and leaves its counts readable."""

    def __init__(
        self,
        problem: AssignmentProblem,
        time_limit: float,
        *,
        limits: SearchLimits | None = None,
        threads: int = 2,
        options: SolveOptions | None = None,
        on_progress: Callable[[SolveProgress], None] | None = None,
        work_limit: float | None = None,
        executor: Executor | None = None,
        width: int = 2,
    ) -> None:
        self.problem, self.time_limit, self.threads = problem, time_limit, threads
        # Independent areas go `width` at a time to `executor` (matcher.model.fanout), by default this search's threads.
        self.executor, self.width = executor, width
        self.limits = limits or SearchLimits()
        self.options = options or SolveOptions()
        self.work_limit = work_limit
        self.area_budget = math.inf if work_limit is None else max(1, math.ceil(work_limit * AREAS_PER_WORK))
        counted = work_limit is not None
        # Areas stay exact (the gap is the whole plan's); with a work limit each is CP-SAT stopped at AREA_WORK.
        self.area_options = SolveOptions(seed=self.options.seed)
        self.area_work = AREA_WORK if counted else None
        self.clock_decided = False  # a wall-clock limit stopped a step: the plan may differ on another run
        self.raced = False  # the whole-model MIP was taken whenever it finished (no work limit): timing decided
        self.on_progress = on_progress
        self.started = time.perf_counter()
        # Keep a little time for the caller to write the plan out: the limit is for the whole solve.
        self.deadline = self.started + time_limit - min(WRAP_UP_S, 0.02 * time_limit)
        self.model = build_sparse(problem)
        self.built = time.perf_counter()
        self.best = np.zeros(self.model.n_pairs, dtype=np.bool_)  # the best plan found
        self.value = 0  # its objective
        self.bound: int | None = None  # the best upper bound known so far, for reports
        self.lp_bound: int | None = None  # the weighted LP's bound: the search stops when it is met
        self.lp: SolverResult | None = None
        self.lp_objective = np.zeros(0)
        self.weighted: SolverResult | None = None  # the LP, when it has the exact two-level weight
        self.cardinality: Future[SolverResult] | None = None  # the LP of placements alone, beside the search
        self.placements: Future[SolverResult] | None = None  # the MIP that looks for placements, beside the search
        self.whole: Future[SolverResult] | None = None  # the whole-model MIP while it runs beside the search
        self.areas_solved = 0
        self.passes = 0

    # -- the best plan and the bound

    def offer(self, candidate: BoolArray) -> bool:
        """Take `candidate` as the best plan when it is better and exactly feasible; report it."""
        value = self.problem.objective(candidate)
        if value > self.value and self.model.is_feasible(candidate):
            self._take(candidate, value)
            return True
        return False

    def _take(self, candidate: BoolArray, value: int) -> None:
        self.best, self.value = candidate.copy(), value
        if self.on_progress is not None:
            problem, pinned = self.problem, len(self.problem.pinned)
            bound = self.bound if self.bound is not None else problem.trivial_bound()
            self.on_progress(
                SolveProgress(
                    seconds=time.perf_counter() - self.started,
                    placed=int(self.best.sum()) + pinned,
                    score=int(problem.pairs.score[self.best].sum()),
                    placed_bound=bound // problem.placement_weight + pinned,
                )
            )

    def _meets(self, bound: int | None) -> bool:
        """The best plan is as good as `bound`, or within `relative_gap` of it."""
        if bound is None:
            return False
        return self.value >= bound - math.floor(self.options.relative_gap * bound)

    def _refresh_bound(self) -> None:
        # The cardinality LP runs beside the search; its bound is used for reports as soon as it is there.
        if self.bound is None and self.cardinality is not None and self.cardinality.done():
            self.bound = lp_bound(self.problem, self.weighted, self.cardinality.result())

    def _remaining(self) -> float:
        return max(self.deadline - time.perf_counter(), 0.01)

    def _note(self, result: SolverResult | None) -> SolverResult | None:
        """Remember when a solve was stopped by its clock (then the plan is not reproducible)."""
        if result is not None and result.time_limited:
            self.clock_decided = True
        return result

    def _go_on(self) -> bool:
        """The search may take another area: work left, and time left (the clock stopping it decides the plan)."""
        if self.areas_solved >= self.area_budget:
            return False
        if time.perf_counter() >= self.deadline:
            self.clock_decided = True
            return False
        return True

    def _outcome(self, proven: bool) -> SolveOutcome:
        final = self.lp_bound
        if self.cardinality is not None:
            final = lp_bound(self.problem, self.weighted, self._note(self.cardinality.result()))
        final = self.problem.trivial_bound() if final is None else final
        proven = proven or self.value >= final
        bound = self.value if proven else max(final, self.value)
        deterministic = not (self.clock_decided or self.raced)
        return SolveOutcome(self.best, proven, True, bound, time.perf_counter() - self.built, deterministic)

    # -- the strategy

    def run(self) -> SolveOutcome:
        problem, model = self.problem, self.model
        self.offer(greedy_by_score(problem))
        if model.n_pairs == 0:
            return SolveOutcome(self.best, True, True, 0, 0.0, True)
        pool = ThreadPoolExecutor(max_workers=self.threads) if self.threads > 1 else None
        try:
            weight = lp_weight(problem)
            self.lp_objective = problem.two_level_coefficients(weight).astype(np.float64)
            if weight != problem.fit_placement_weight and pool is not None:
                # The bound on placements, on the other core while the weighted LP and the search run.
                self.cardinality = pool.submit(
                    solve_highs, model.matrix, model.upper, np.ones(model.n_pairs), integer=False,
                    time_limit=self._remaining(), options=DUAL_SIMPLEX,
                )  # fmt: skip
            self.lp = solve_highs(
                model.matrix, model.upper, self.lp_objective, integer=False, time_limit=self._remaining(),
                options=DUAL_SIMPLEX,
            )  # fmt: skip
            self._note(self.lp)
            self.weighted = self.lp if weight == problem.fit_placement_weight else None
            self.lp_bound = self.bound = lp_bound(problem, self.weighted, None)
            if self.lp.values is not None:
                self.offer(round_lp(problem, self.lp.values))
            if self._meets(self.lp_bound):
                return self._outcome(False)  # proven when it meets the bound itself, not only the gap
            if model.n_pairs <= self.limits.exact_max_pairs:
                return self._prove_small()
            # Not with a work limit: no count bounds HiGHS's root node on the whole model (a node limit starts after
            # it), so only its clock would stop it; the search has both cores instead.
            if model.n_pairs <= self.limits.whole_mip_max_pairs and self.threads > 1 and self.work_limit is None:
                self.raced = True  # taken whenever it finishes: timing decides
                # Placements the start plan lacks are the first thing to find; when it already places all the LP
                # allows, only fit and stays are left, and the MIP of all three levels can prove the plan.
                allowed = None if self.lp_bound is None else self.lp_bound // problem.placement_weight
                settled = allowed is not None and int(self.best.sum()) >= allowed
                self.placements, self.whole = _placements_then_whole(
                    problem, model, WHOLE_SHARE * self._remaining(), self.options, find_placements=not settled
                )
            self._around_relaxation()
            if self._meets(self.lp_bound):
                return self._outcome(False)
            return self._search_areas(pool)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _take_whole(self, result: SolverResult) -> bool:
        """A whole-model MIP's result. When it is proven optimal its plan becomes the result — even if the search
        already had one as good — so the outcome does not depend on how far the search got; otherwise its best plan
        is offered like any other. True when proven."""
        if result.values is None:
            return False
        candidate = integral(result.values)
        if not self.model.is_feasible(candidate):
            return False
        value = self.problem.objective(candidate)
        if result.status == "optimal" and value >= self.value:
            if not self.offer(candidate):
                self.best, self.value = candidate.copy(), value
            return True
        self.offer(candidate)
        return False

    def _prove_small(self) -> SolveOutcome:
        """SCIP on the whole model from the best plan (the better of LP rounding and greedy); should its plan fail the
        exact check, HiGHS gets the time that is left. With a work limit, CP-SAT on one worker for the work limit's
        deterministic time instead (SCIP's node limit does not bound its root node either)."""
        started, limit = time.perf_counter(), self._remaining()
        if self.work_limit is not None:
            counted = _area_cpsat(
                self.model.matrix, self.model.upper, self.problem.coefficients(), self.best, limit, self.work_limit,
                self.options.seed,
            )  # fmt: skip
            found, clock, optimal = counted
            self.clock_decided = self.clock_decided or clock
            if found is None:
                return self._outcome(False)
            chosen = found
            if optimal and self.model.is_feasible(chosen):  # a proof in exact integers: its plan is the result
                if not self.offer(chosen):
                    self.best, self.value = chosen.copy(), self.problem.objective(chosen)
                return self._outcome(True)
            self.offer(chosen)
            return self._outcome(False)
        result = solve_whole_model(self.problem, self.model, limit, hint=self.best, solver="scip", options=self.options)
        self._note(result)
        if self._take_whole(result):
            return self._outcome(True)
        left = limit - (time.perf_counter() - started)
        if result.status != "optimal" or left <= 0.05:
            return self._outcome(False)
        highs = solve_whole_model(self.problem, self.model, left, options=self.options)
        self._note(highs)
        return self._outcome(self._take_whole(highs))

    def _whole_finished(self) -> SolverResult | None:
        """The whole-model MIP's result once it has finished (then it no longer runs beside the search). With a work
        limit, never during the search: when it finishes depends on the machine."""
        if self.whole is None or not self.whole.done() or self.work_limit is not None:
            return None
        whole, self.whole = self.whole, None
        try:
            return whole.result()
        except Exception:  # a failed whole-model solve must not cost the plan the search has
            return None

    def _placements_finished(self) -> BoolArray | None:
        """The plan of the MIP that looks for placements once it has finished, if it has one (taken only once)."""
        if self.placements is None or not self.placements.done():
            return None
        placements, self.placements = self.placements, None
        try:
            result = self._note(placements.result())
        except Exception:  # a failed solve beside the search must not cost the plan the search has
            return None
        if result is None or result.values is None:
            return None
        candidate = integral(result.values)
        return candidate if self.model.is_feasible(candidate) else None

    def _cross(self, plan: BoolArray, activity: FloatArray, other: BoolArray | SolverResult) -> BoolArray:
        """The best plan made of `plan` and `other` (a plan of a whole-model MIP): everyone they place alike keeps
        that place, and the people they treat differently are re-solved exactly together, as one area (both plans
        are plans of that area, so the result is at least as good as either). `other` when no better plan is found
        in `CROSS_TIME_CAP_S`."""
        problem, model = self.problem, self.model
        if isinstance(other, SolverResult):
            if other.values is None:
                return plan
            other = integral(other.values)
            if not model.is_feasible(other):
                return plan
        pairs, n = problem.pairs, problem.ci.n_participants
        slot_in, slot_out = np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64)
        slot_in[pairs.participant[plan]] = pairs.slot[plan]
        slot_out[pairs.participant[other]] = pairs.slot[other]
        free = np.flatnonzero((slot_in != slot_out)[pairs.participant])
        better = other if problem.objective(other) > problem.objective(plan) else plan
        if len(free) == 0:
            return better
        crossed = self._resolve(plan, activity, free, min(CROSS_TIME_CAP_S, self._remaining()))
        if crossed is None:
            return better
        return crossed if problem.objective(crossed) > problem.objective(better) else better

    def _resolve(
        self, plan: BoolArray, activity: FloatArray, free: IntArray, cap: float, work: float | None = None
    ) -> BoolArray | None:
        """`plan` with the pairs `free` re-solved exactly together, as one area; None when that finds nothing
        better within `cap` seconds (or `work`, see `_solve_area`)."""
        result = _solve_area(self.problem, self.model, free, plan, activity, cap, self.area_options, work)
        self.clock_decided = self.clock_decided or result.time_limited
        if result.chosen is None:
            return None
        resolved = plan.copy()
        resolved[free] = result.chosen
        return resolved

    def _around_relaxation(self) -> None:
        """The people the LP relaxation places differently from the best plan, re-solved together
        (`relaxation_neighbourhood`) before the area search; the plan is offered. With a work limit CP-SAT does it
        for `RELAXATION_WORK` deterministic seconds, counted as that many areas' work."""
        lp = self.lp
        if lp is None or lp.values is None:
            return
        free = relaxation_neighbourhood(self.problem, lp.values, self.best)
        if len(free) == 0:
            return
        work: float | None = None
        cap = min(RELAXATION_TIME_CAP_S, RELAXATION_SHARE * self._remaining())
        if self.work_limit is not None:
            work = min(RELAXATION_WORK, RELAXATION_SHARE * self.work_limit)
            counted = math.ceil(work * AREAS_PER_WORK)
            if self.areas_solved + counted > self.area_budget:
                return
            self.areas_solved += counted
            cap = self._remaining()  # the safety net: the work stops it
        resolved = self._resolve(self.best, self.model.activity(self.best), free, cap, work)
        if resolved is not None:
            self.offer(resolved)

    def _search_areas(self, pool: ThreadPoolExecutor | None) -> SolveOutcome:
        """Areas re-solved one grid after another. While the whole-model MIP runs (on the other core, for part of
        the time), one area at a time until it finishes: a proof ends the search with its plan; otherwise the search
        goes on from the better of the two plans, on both cores."""
        problem, model, lp = self.problem, self.model, self.lp
        plan = self.best.copy()  # the plan being improved; the best is offered each improvement
        activity = model.activity(plan)
        stale = 0
        size = self.limits.area_km
        grids = [grid(problem, size, 0.0), grid(problem, size, 0.5)]
        while self._go_on():
            placements = self._placements_finished()
            if placements is not None:
                self.offer(self._cross(plan, activity, placements))
            finished = self._whole_finished()
            if finished is not None:
                if self._take_whole(finished):
                    return self._outcome(True)
                if finished.values is not None:
                    self.offer(self._cross(plan, activity, finished))
            if self.value > problem.objective(plan):
                plan = self.best.copy()
                activity = model.activity(plan)
            if stale >= len(grids):  # a local optimum for this size: look wider
                if size >= self.limits.area_max_km:
                    break  # a local optimum of the largest areas
                size = min(size * AREA_GROWTH, self.limits.area_max_km)
                grids = [grid(problem, size, 0.0), grid(problem, size, 0.5)]
                stale = 0
            areas = [a for a in grids[self.passes % len(grids)] if _can_improve(problem, a, plan)]
            if lp is not None and lp.values is not None:
                # Most promising areas first: where the LP relaxation places more (or better) than the plan.
                gain = self.lp_objective * (lp.values - plan)
                potential = np.array([gain[a].sum() for a in areas])
                areas = [areas[k] for k in np.argsort(-np.round(potential, 6), kind="stable")]
            improved = False
            i = 0
            while i < len(areas) and self._go_on():
                if any(f is not None and f.done() for f in (self.placements, self.whole)):
                    break  # take its plan at the top of the next pass
                # The whole-model MIPs have the other core meanwhile.
                two_cores = (self.executor or pool) if self.whole is None else None
                batch = [areas[i]]
                touched = _rows_touched(model, areas[i]) if two_cores is not None else set()
                while two_cores is not None and len(batch) < self.width and i + len(batch) < len(areas):
                    rows = _rows_touched(model, areas[i + len(batch)])
                    if rows & touched:
                        break
                    batch.append(areas[i + len(batch)])
                    touched |= rows
                left = max(self.deadline - time.perf_counter(), 0.01)
                # With a work limit an area stops at its node limit; its clock is the search's own deadline.
                cap = left if self.work_limit is not None else min(self.limits.area_time_cap_s, left)
                if self.areas_solved + len(batch) > self.area_budget:
                    batch = batch[: max(1, int(self.area_budget - self.areas_solved))]  # the last the work allows
                if two_cores is not None and len(batch) > 1:
                    futures = [
                        two_cores.submit(
                            _solve_area, problem, model, a, plan, activity, cap, self.area_options, self.area_work
                        )
                        for a in batch
                    ]
                    results = [f.result() for f in futures]
                else:
                    results = [
                        _solve_area(problem, model, batch[0], plan, activity, cap, self.area_options, self.area_work)
                    ]
                batch_improved = False
                for result in results:  # independent areas: the order of applying them does not matter
                    self.areas_solved += 1
                    self.clock_decided = self.clock_decided or result.time_limited
                    if result.chosen is not None:
                        before = plan[result.free].astype(np.float64)
                        plan[result.free] = result.chosen
                        activity = activity + model.columns()[:, result.free] @ (result.chosen - before)
                        batch_improved = improved = True
                i += len(batch)
                self._refresh_bound()
                if batch_improved:
                    self.offer(plan)
                    if self._meets(self.lp_bound):
                        return self._outcome(False)
            self.passes += 1
            stale = 0 if improved else stale + 1
        if self.whole is not None:
            # A local optimum (or out of time) before the whole-model MIP finished: it has until its own limit to
            # prove or beat the plan, but never past the solve's deadline (HiGHS does not always stop at its time
            # limit, least of all on a busy machine): then the search's plan is the result, and the clock decided.
            whole, self.whole = self.whole, None
            last: SolverResult | None = None
            try:
                last = self._note(whole.result(timeout=max(self.deadline - time.perf_counter(), 0.0)))
            except TimeoutError:
                self.clock_decided = True  # left to run out on its daemon thread
            except Exception:  # a failed whole-model solve must not cost the plan the search has
                last = None
            placements = self._placements_finished()  # finished by now, unless the clock stopped the wait
            if placements is not None:
                self.offer(self._cross(self.best, model.activity(self.best), placements))
            if last is not None:
                if self._take_whole(last):
                    return self._outcome(True)
                self.offer(self._cross(self.best, model.activity(self.best), last))
        return self._outcome(False)
