"""The public entry to planning: an instance in, a plan out, every row explained."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date

from matcher.compiled import CompiledInstance, compile_instance
from matcher.domain import Instance
from matcher.feasibility import CandidatePairs, feasible_pairs
from matcher.integrity import check_integrity
from matcher.model.fanout import AreaFanOut
from matcher.model.greedy import greedy_by_score
from matcher.model.outcome import SolveProgress
from matcher.model.problem import AssignmentProblem, build_problem
from matcher.model.strategies import STRATEGIES
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


def keep_current(instance: Instance) -> Instance:
    """The instance with every holder of a `current_slot_id` pinned (`placement solve --keep-current`): nobody is
    moved or taken out. A pair that breaks a rule is then kept with a warning, as any pinned pair; holders who
    together overfill a slot or a site's supervision make the instance invalid, as pinned people do."""
    people = tuple(
        replace(person, pinned=True) if person.current_slot_id is not None and not person.pinned else person
        for person in instance.participants
    )
    return replace(instance, participants=people)


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
    fan_out: AreaFanOut | None = None,
) -> Plan:
    """The best plan on date `on`: most placements first, then the highest total fit score, then the fewest holders
    of a `current_slot_id` (not pinned) moved or taken out.

    `settings.strategy` picks how (docs/solver.md); the default is the best one measured (benchmarks/RESULTS.md).
    `settings.time_limit_s` bounds the whole call after the instance is compiled; with `settings.work_limit` the
    search stops on work done instead, and the plan says whether it is `deterministic`. `fan_out`: an executor for
    the default strategy's independent areas (other processes or machines) and how many at once; by default its own
    threads. The same settings and width give the same plan wherever the areas run."""
    settings = settings or SolverSettings()
    started = time.perf_counter()
    ci = instance if isinstance(instance, CompiledInstance) else prepare(instance)
    compiled = time.perf_counter()
    problem = build_problem(ci, on, weights)
    budget = max(settings.time_limit_s - (time.perf_counter() - compiled), 0.01)
    unfloored: int | None = None
    if settings.fairness_floor:
        from matcher.fairness import floor_outcome  # here: fairness solves through this module

        outcome, unfloored = floor_outcome(problem, settings, budget)  # ValueError when no plan keeps the floor
    else:
        outcome = STRATEGIES[settings.strategy].solve(problem, settings, budget, on_progress, fan_out)

    hint = greedy_by_score(problem)  # the floor every strategy must reach
    chosen = outcome.chosen
    objective = problem.objective(chosen)
    # The greedy plan need not keep a fairness floor, so it cannot stand in for a plan that does.
    if not settings.fairness_floor and (not outcome.found or problem.objective(hint) > objective):
        chosen, objective = hint, problem.objective(hint)
    proven = outcome.proven_optimal and outcome.found
    bound = max(outcome.objective_bound, objective) if outcome.found else problem.trivial_bound()
    status = SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE
    pinned_count = len(problem.pinned)
    free_placed, free_score, stays = problem.split(objective)
    # The bound read level by level: each part bounds plans that reach the parts before it.
    placed_limit, score_limit, stays_limit = problem.split(bound)
    placed, score = free_placed + pinned_count, free_score + problem.pinned_score
    placed_bound, score_bound = placed_limit + pinned_count, score_limit + problem.pinned_score
    if placed < placed_bound or score < score_bound:
        stays_limit = problem.fit_weight - 1  # the bound says nothing about stays for this plan's placements and score
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
        holders=problem.holders,
        moved=problem.holders - stays,
        moved_bound=problem.holders - min(stays_limit, problem.fit_weight - 1),
        fairness_floor=settings.fairness_floor or None,
        floor_cost=None if unfloored is None else max(unfloored - free_placed, 0),
        # a floor's solves stop on the clock (work_limit is refused with a floor)
        deterministic=outcome.deterministic and not settings.fairness_floor,
    )


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
            # plan.csv leaves only slot, site, enterprise, travel and score empty for a person left unplaced.
            rows.append(PlanRow(person.participant_id, hours_per_week=person.hours_per_week))
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
