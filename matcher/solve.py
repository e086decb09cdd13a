"""The public entry to planning: an instance in, a plan out, every row explained."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date

import numpy as np

from matcher.compiled import BoolArray, CompiledInstance, compile_instance
from matcher.domain import Instance
from matcher.feasibility import CandidatePairs, feasible_pairs
from matcher.integrity import check_integrity
from matcher.model.cpsat import SolveProgress, solve_cpsat
from matcher.model.greedy import greedy_by_score
from matcher.model.problem import AssignmentProblem, build_problem
from matcher.plan import CandidateRow, Plan, PlanRow, SolveStatus
from matcher.problems import InvalidDataset
from matcher.rules import PairContext, rule_failures
from matcher.settings import ScoreWeights, SolverSettings


def prepare(instance: Instance) -> CompiledInstance:
    """Check the instance as a whole and compile it; raises `InvalidDataset` naming every problem."""
    problems, warnings = check_integrity(instance)
    if problems:
        raise InvalidDataset(problems, warnings)
    return compile_instance(instance)


def candidates(
    instance: Instance | CompiledInstance, on: date, weights: ScoreWeights | None = None
) -> list[CandidateRow]:
    """Every feasible pair (rules 1–9) with its travel minutes and fit score."""
    ci = instance if isinstance(instance, CompiledInstance) else prepare(instance)
    pairs = feasible_pairs(ci, on, weights)
    people, slots = ci.instance.participants, ci.instance.slots
    return [
        CandidateRow(people[p].participant_id, slots[s].slot_id, m, sc)
        for p, s, m, sc in zip(
            pairs.participant.tolist(), pairs.slot.tolist(), pairs.minutes.tolist(), pairs.score.tolist(), strict=True
        )
    ]


def solve(
    instance: Instance | CompiledInstance,
    on: date,
    weights: ScoreWeights | None = None,
    settings: SolverSettings | None = None,
    on_progress: Callable[[SolveProgress], None] | None = None,
) -> Plan:
    """The best plan on date `on`: most placements first, then the highest total fit score."""
    settings = settings or SolverSettings()
    started = time.perf_counter()
    ci = instance if isinstance(instance, CompiledInstance) else prepare(instance)
    problem = build_problem(ci, on, weights)
    hint = greedy_by_score(problem)
    outcome = solve_cpsat(problem, settings, hint=hint, on_progress=on_progress)

    chosen = outcome.chosen
    weight = problem.placement_weight
    objective = _objective(problem, chosen)
    if not outcome.found or _objective(problem, hint) > objective:
        chosen, objective = hint, _objective(problem, hint)
    proven = outcome.proven_optimal and outcome.found
    bound = max(outcome.objective_bound, objective) if outcome.found else _trivial_bound(problem)
    status = SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE
    pinned_count = len(problem.pinned)
    placed_bound = bound // weight + pinned_count
    placed = int(chosen.sum()) + pinned_count
    score = int(objective % weight) + problem.pinned_score
    score_bound = (bound - (placed_bound - pinned_count) * weight) + problem.pinned_score
    rows, warnings = _rows(problem, problem.pairs.take(chosen))
    return Plan(
        rows=rows,
        status=status,
        placed=placed,
        total_score=score,
        placed_bound=placed_bound,
        score_bound=score_bound if placed == placed_bound else score,
        solve_seconds=outcome.solve_seconds,
        build_seconds=time.perf_counter() - started - outcome.solve_seconds,
        strategy=settings.strategy,
        warnings=tuple(warnings),
    )


def _objective(problem: AssignmentProblem, chosen: BoolArray) -> int:
    return int(chosen.sum()) * problem.placement_weight + int(problem.pairs.score[chosen].sum())


def _trivial_bound(problem: AssignmentProblem) -> int:
    """Everyone with a feasible pair placed at their best score: no plan does better."""
    people = np.unique(problem.pairs.participant)
    return len(people) * problem.placement_weight + problem.placement_weight - 1


def _rows(problem: AssignmentProblem, chosen: CandidatePairs) -> tuple[tuple[PlanRow, ...], list[str]]:
    ci = problem.ci
    inst = ci.instance
    by_person: dict[int, tuple[CandidatePairs, int, bool]] = {}
    for i, p in enumerate(chosen.participant.tolist()):
        by_person[p] = (chosen, i, False)
    for i, p in enumerate(problem.pinned.participant.tolist()):
        by_person[p] = (problem.pinned, i, True)
    rows: list[PlanRow] = []
    warnings: list[str] = []
    for p, person in enumerate(inst.participants):
        if p not in by_person:
            rows.append(PlanRow(person.participant_id))
            continue
        pairs, i, pinned = by_person[p]
        slot = inst.slots[int(pairs.slot[i])]
        site = inst.sites[ci.site_index[slot.site_id]]
        minutes = int(pairs.minutes[i])
        broken: tuple[str, ...] = ()
        if pinned:
            enterprise = inst.enterprises[ci.enterprise_index[site.enterprise_id]]
            failures = rule_failures(PairContext(person, slot, site, enterprise, minutes, problem.on))
            broken = tuple(f.rule for f in failures)
            warnings += [
                f"pinned participant {person.participant_id} kept in {slot.slot_id} although: {f.message}"
                for f in failures
            ]
        rows.append(
            PlanRow(
                participant_id=person.participant_id,
                slot_id=slot.slot_id,
                site_id=site.site_id,
                enterprise_id=site.enterprise_id,
                hours_per_week=person.hours_per_week,
                travel_minutes=minutes,
                score=int(pairs.score[i]),
                score_parts=pairs.parts.of(i),
                pinned=pinned,
                kept_despite=broken,
            )
        )
    return tuple(rows), warnings
