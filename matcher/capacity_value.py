"""Where more capacity places most people, and which seats no plan would fill.

For every slot (one more seat) and every site with a supervision limit (one and five more supervisor hours), the
most placements any plan reaches with the extra capacity, minus the most without it: measured by re-solving the
whole model exactly (CP-SAT, `matcher.model.custom`) from the plan without it (a valid start: more capacity never
makes a plan invalid). The re-solve maximises placements first and, among those, keeps as many of the base plan's
pairs as it can, so "who it would place" is the fewest changes from the plan. When the time budget is spent, or a
re-solve stops before its proof, the row is bounded instead by the LP relaxation (the most placements any
fractional plan reaches, rounded down, minus the base): an upper bound, marked `estimate`.

An idle seat is one that no plan can fill: the slot's most occupants over all valid plans is below its seats.
Its reasons count, over the people who are not pinned, the rules that keep them out of the slot.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date

import numpy as np

from matcher.compiled import BoolArray, CompiledInstance, compile_instance
from matcher.domain import Instance
from matcher.model.custom import solve_custom
from matcher.model.highs import solve_highs
from matcher.model.problem import build_problem
from matcher.model.sparse import SparseModel, build_sparse
from matcher.rules import PairContext, rule_failures
from matcher.settings import ScoreWeights
from matcher.validation import estimated_minutes
from matcher.whatif import Edit, apply_edits

SUPERVISION_STEPS: tuple[float, ...] = (1.0, 5.0)
RESOLVED, LP_BOUND = "re-solve", "LP bound"


@dataclass(frozen=True, slots=True)
class CapacityValueRow:
    """One added unit of capacity: `kind` `seat` (one more seat at `slot_id`) or `supervision` (`added` more
    supervisor hours at `site_id`; `slot_id` None); `more_placed`, how many more people the best plan places with it;
    `method` (`re-solve`: exact; `LP bound`: at most this many, `estimate` True); the programmes and municipalities
    of the people it would place (counts, for a re-solve); and an `explanation`."""

    kind: str
    slot_id: str | None
    site_id: str
    added: float
    more_placed: int
    method: str
    estimate: bool
    programmes: dict[str, int]
    municipalities: dict[str, int]
    explanation: str


@dataclass(frozen=True, slots=True)
class IdleSeat:
    """Seats of `slot_id` that no plan fills (`idle` of `seats`; `usable_by`, the people not pinned who keep
    every rule 1–9 with it), `reasons` (rule label → how many of the others it keeps out) and an `explanation`."""

    slot_id: str
    site_id: str
    seats: int
    idle: int
    usable_by: int
    reasons: dict[str, int]
    explanation: str


@dataclass(frozen=True, slots=True)
class CapacityValueReport:
    """`placed`: the most placements without added capacity; `rows` ranked by `more_placed` (then seats before
    hours, then ids); `idle` seats; `estimate` True when any row is a bound; `notes` in words."""

    on: date
    placed: int
    rows: tuple[CapacityValueRow, ...]
    idle: tuple[IdleSeat, ...]
    estimate: bool
    notes: tuple[str, ...]


def _model(instance: Instance, on: date, weights: ScoreWeights | None) -> tuple[CompiledInstance, SparseModel]:
    ci = compile_instance(instance)
    return ci, build_sparse(build_problem(ci, on, weights))


def _most_placed(model: SparseModel, time_limit: float, keep: BoolArray | None) -> tuple[int, BoolArray, bool]:
    """The most free placements (exact when the third value is True) and a plan reaching them that, among those,
    leaves out as few of the people `keep` places as it can, then keeps as many of `keep`'s pairs."""
    n = model.n_pairs
    people_weight = n + 1  # one more person kept placed beats any number of kept pairs
    placement_weight = (n + 1) * (people_weight + 1)  # one more placement beats everything else
    objective = np.full(n, placement_weight, dtype=np.int64)
    if keep is not None:
        person = model.problem.pairs.participant
        kept_people = np.zeros(model.problem.ci.n_participants, dtype=np.bool_)
        kept_people[person[keep]] = True
        objective += people_weight * kept_people[person].astype(np.int64) + keep.astype(np.int64)
    result = solve_custom(model, objective, time_limit=time_limit, hint=keep)
    return result.value // placement_weight, result.chosen, result.optimal


def _lp_most_placed(model: SparseModel, time_limit: float) -> int:
    """floor of the LP relaxation's most placements: no plan places more."""
    result = solve_highs(
        model.matrix, model.upper, np.ones(model.n_pairs), integer=False, time_limit=max(time_limit, 0.5)
    )
    if result.objective is None:
        return model.n_pairs  # no answer: the trivial bound
    return int(np.floor(result.objective + 1e-6))


def _counts(values: list[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0])))


Variant = tuple[str, str | None, str, float, Edit]  # kind, slot id, site id, amount added, the edit


@dataclass(frozen=True, slots=True)
class _Solved:
    """One variant's answer: exact `placed` and `chosen` from a re-solve, or `lp_placed` (the LP's floor)."""

    placed: int
    chosen: BoolArray | None
    exact: bool
    lp_placed: int


def _solve_variant(
    inst: Instance,
    on: date,
    weights: ScoreWeights | None,
    edit: Edit,
    base_chosen: BoolArray,
    base_exact: bool,
    deadline: float,
    solve_time_limit_s: float,
) -> _Solved:
    """Re-solve with one edit, warm-started from the plan without it, if the shared `deadline` (time.monotonic,
    the same clock in every process on the machine) leaves time; else, or when not proven, the LP bound."""
    _, model = _model(apply_edits(inst, [edit]), on, weights)
    left = deadline - time.monotonic()
    if left > 0 and base_exact:
        placed, chosen, exact = _most_placed(model, min(solve_time_limit_s, left), base_chosen)
        if exact:
            return _Solved(placed, chosen, True, -1)
    return _Solved(-1, None, False, _lp_most_placed(model, 5.0))


_WORKER_STATE: dict[str, object] = {}


def _pool_init(
    inst: Instance, on: date, weights: ScoreWeights | None, base_chosen: BoolArray, base_exact: bool
) -> None:
    _WORKER_STATE.update(inst=inst, on=on, weights=weights, base_chosen=base_chosen, base_exact=base_exact)


def _pool_solve(edit: Edit, deadline: float, solve_time_limit_s: float) -> _Solved:
    state = _WORKER_STATE
    return _solve_variant(
        state["inst"],  # type: ignore[arg-type]
        state["on"],  # type: ignore[arg-type]
        state["weights"],  # type: ignore[arg-type]
        edit,
        state["base_chosen"],  # type: ignore[arg-type]
        bool(state["base_exact"]),
        deadline,
        solve_time_limit_s,
    )


WORTH_A_POOL_S = 2.0
"""A pool only when the re-solves, each timed as the base solve, would take longer than this in one process: a
spawned worker needs about that long to start (it imports numpy and OR-Tools), so a small region's report is
quicker without one."""


def default_workers(n: int) -> int:
    """min(cores, n): one process per re-solve while cores allow (`os.process_cpu_count` where Python has it)."""
    counter = getattr(os, "process_cpu_count", os.cpu_count)
    return max(1, min(counter() or 1, n))


def _solve_variants(
    inst: Instance,
    on: date,
    weights: ScoreWeights | None,
    variants: list[Variant],
    base_chosen: BoolArray,
    base_exact: bool,
    deadline: float,
    solve_time_limit_s: float,
    workers: int,
) -> list[_Solved]:
    """Every variant's answer, in the variants' order whatever order the processes finish in. With one worker (or
    one variant) in this process; otherwise a pool of `workers` processes, each given the instance once."""
    if workers <= 1 or len(variants) <= 1:
        return [
            _solve_variant(inst, on, weights, v[4], base_chosen, base_exact, deadline, solve_time_limit_s)
            for v in variants
        ]
    # fork when this process runs no other thread (the command line): the workers start at once, with the modules
    # loaded; otherwise (a web server's threads may hold locks or run solver threads) spawn, which starts clean.
    alone = threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if alone else "spawn")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_pool_init,
        initargs=(inst, on, weights, base_chosen, base_exact),
    ) as pool:
        futures = [pool.submit(_pool_solve, v[4], deadline, solve_time_limit_s) for v in variants]
        return [f.result() for f in futures]


def capacity_value(
    instance: Instance | CompiledInstance,
    on: date,
    weights: ScoreWeights | None = None,
    time_limit_s: float = 60.0,
    solve_time_limit_s: float = 10.0,
    workers: int | None = None,
) -> CapacityValueReport:
    """The capacity-value report (module docstring). `time_limit_s` bounds the re-solves in all (a shared deadline,
    whichever process runs them); each re-solve also stops at `solve_time_limit_s`. Rows beyond the budget are LP
    bounds, marked as estimates. `workers`: processes for the re-solves, by default min(cores, re-solves); the
    rows are the same whatever the number (each re-solve is deterministic and the rows are sorted)."""
    deadline = time.monotonic() + time_limit_s
    inst = instance.instance if isinstance(instance, CompiledInstance) else instance
    ci, base = _model(inst, on, weights)
    problem = base.problem
    pinned = len(problem.pinned)
    started = time.monotonic()
    base_placed, base_chosen, base_exact = _most_placed(base, solve_time_limit_s, None)
    base_s = time.monotonic() - started
    notes: list[str] = []
    if not base_exact:
        notes.append("the most placements without added capacity is not proven within the time limit")
    people = inst.participants
    variants: list[Variant] = []
    for slot in inst.slots:
        edit = Edit("slots", slot.slot_id, "seats", slot.seats + 1)
        variants.append(("seat", slot.slot_id, slot.site_id, 1.0, edit))
    for site in inst.sites:
        if site.supervisor_hours is not None:
            for step in SUPERVISION_STEPS:
                edit = Edit("sites", site.site_id, "supervisor_hours", site.supervisor_hours + step)
                variants.append(("supervision", None, site.site_id, step, edit))
    if workers is not None:
        count = max(1, workers)
    elif base_s * len(variants) < WORTH_A_POOL_S:
        count = 1  # all the re-solves together take less than one worker process would to start
    else:
        count = default_workers(len(variants))
    answers = _solve_variants(inst, on, weights, variants, base_chosen, base_exact, deadline, solve_time_limit_s, count)
    rows = []
    for (kind, slot_id, site_id, added, _), answer in zip(variants, answers, strict=True):
        if answer.exact and answer.chosen is not None:
            more = answer.placed - base_placed
            method = RESOLVED
            before = set(problem.pairs.participant[base_chosen].tolist())
            after = set(problem.pairs.participant[answer.chosen].tolist())
            newly, dropped = sorted(after - before), len(before - after)
            programmes = _counts([people[p].programme for p in newly])
            municipalities = _counts([people[p].municipality for p in newly])
        else:
            more = max(answer.lp_placed - base_placed, 0)
            method, programmes, municipalities, dropped = LP_BOUND, {}, {}, 0
            if kind == "seat":
                more = min(more, 1)  # one seat places at most one more person
        what = f"one more seat at {slot_id}" if kind == "seat" else f"{added:g} more supervisor hours at {site_id}"
        if method == RESOLVED:
            who = ", ".join(f"{n} {k}" for k, n in programmes.items())
            explanation = f"{what}: {more} more placed" + (f" ({who})" if more else " (nobody waiting can use it)")
            if dropped:
                explanation += f", {dropped} placed without it then left out"
        else:
            explanation = f"{what}: at most {more} more placed (an LP bound: re-solving did not fit in the time)"
        rows.append(
            CapacityValueRow(
                kind, slot_id, site_id, added, more, method, method == LP_BOUND, programmes, municipalities, explanation
            )
        )
    rows.sort(key=lambda r: (-r.more_placed, r.kind != "seat", r.site_id, r.slot_id or "", r.added))
    if any(r.estimate for r in rows):
        notes.append(f"{sum(r.estimate for r in rows)} row(s) are LP bounds (time budget of {time_limit_s:g} s spent)")
    # The idle seats' solves (one small one per slot) get a quarter of the budget more, shared among them.
    idle_budget = max(time_limit_s / 4, 0.5)
    idle, idle_exact = _idle_seats(ci, base, on, min(solve_time_limit_s, time_limit_s / 4), idle_budget)
    if not idle_exact:
        notes.append("some slots' most occupants were bounded, not proven, in the time: idle seats may be more")
    return CapacityValueReport(
        on, base_placed + pinned, tuple(rows), idle, any(r.estimate for r in rows) or not base_exact, tuple(notes)
    )


def _idle_seats(
    ci: CompiledInstance, model: SparseModel, on: date, time_limit: float, budget: float
) -> tuple[tuple[IdleSeat, ...], bool]:
    """Per slot: the most occupants of any valid plan (one exact solve per slot, each within `time_limit`, all
    within `budget`); the seats above it are idle. The flag is False when some solve was not proven."""
    problem = model.problem
    inst = ci.instance
    out = []
    started = time.perf_counter()
    exact = True
    for s, slot in enumerate(inst.slots):
        pinned_here = int((problem.pinned.slot == s).sum())
        in_slot = problem.pairs.slot == s
        usable = len(np.unique(problem.pairs.participant[in_slot]))
        left = max(budget - (time.perf_counter() - started), 0.0) / (len(inst.slots) - s)
        result = solve_custom(model, in_slot.astype(np.int64), time_limit=max(min(time_limit, left), 0.05))
        exact = exact and result.optimal
        most = result.bound  # exact when optimal; otherwise an upper bound, so "idle" is never overstated
        idle = slot.seats - pinned_here - most
        if idle <= 0:
            continue
        site = inst.sites[ci.site_index[slot.site_id]]
        enterprise = inst.enterprises[ci.enterprise_index[site.enterprise_id]]
        reasons: Counter[str] = Counter()
        minutes = {(t.participant_id, t.site_id): t.minutes for t in inst.travel_times}
        for p, person in enumerate(inst.participants):
            if ci.p_pinned[p]:
                continue
            m = minutes.get((person.participant_id, site.site_id), estimated_minutes(person, site))
            for failure in rule_failures(PairContext(person, slot, site, enterprise, m, on)):
                reasons[failure.rule] += 1
        ranked = dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
        why = ", ".join(f"{label} keeps out {n}" for label, n in list(ranked.items())[:4])
        limit = f"; the site's supervisor hours allow only {most}" if usable > most else ""
        out.append(
            IdleSeat(
                slot.slot_id,
                slot.site_id,
                slot.seats,
                idle,
                usable,
                ranked,
                f"{idle} of {slot.seats} seats at {slot.slot_id} no plan fills: {usable} people waiting can use it"
                f"{limit}; {why}",
            )  # fmt: skip
        )
    return tuple(out), exact
