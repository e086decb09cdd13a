"""The fairness report against brute force on tiny instances: the plan's placements are the most possible, each
group's "possible" figure is the most of that group any assignment with as many placements places, and the plan with
a floor places as many as the best assignment that keeps the floor (also through `solve` with `fairness_floor`)."""

from __future__ import annotations

import math

import pytest

import matcher
from matcher.fairness import age_band, fairness, groups_of
from tests.tiny_random import ON, assignments, tiny_instance

EXACT = matcher.SolverSettings(strategy="cpsat", time_limit_s=20)


def _members(instance: matcher.Instance) -> dict[tuple[str, str], set[str]]:
    ci = matcher.compile_instance(instance)
    ids = [p.participant_id for p in instance.participants]
    return {key: {ids[i] for i in mask.nonzero()[0].tolist()} for key, mask in groups_of(ci).items()}


@pytest.mark.parametrize("floor", [0.3, 0.5])
@pytest.mark.parametrize("seed", range(8))
def test_possible_figures_and_floor_equal_brute_force(seed: int, floor: float) -> None:
    instance = tiny_instance(seed)
    every = list(assignments(instance))
    placed = [{p for p, s in a.items() if s is not None} for a in every]
    most = max(len(x) for x in placed)
    members = _members(instance)
    report = fairness(instance, ON, settings=EXACT, floor=floor, time_limit_s=30)
    assert report.placed == most and not report.estimate
    for group in report.groups:
        people = members[(group.dimension, group.group)]
        assert group.people == len(people)
        brute = max(len(x & people) for x in placed if len(x) == most)
        assert group.possible == brute, group
        assert group.placed <= group.possible and group.shortfall == group.possible - group.placed
    # The floor: the most placements of an assignment giving every group ceil(floor × possible).
    need = {(g.dimension, g.group): math.ceil(floor * g.possible - 1e-9) for g in report.groups}
    keeping = [len(x) for x in placed if all(len(x & members[k]) >= n for k, n in need.items())]
    if keeping:
        assert report.floor_feasible is True and report.floor_total_placed == max(keeping)
        assert report.floor_cost == most - max(keeping)
        for group in report.groups:
            assert group.floor_placed is not None and group.floor_placed >= need[(group.dimension, group.group)]
        for strategy in matcher.FLOOR_STRATEGIES:  # every strategy that honours a floor: the same placements
            settings = EXACT.model_copy(update={"fairness_floor": floor, "strategy": strategy})
            plan = matcher.solve(instance, ON, settings=settings)
            assignment = {row.participant_id: row.slot_id for row in plan.rows}
            assert matcher.check_plan(instance, assignment, ON) == [], strategy
            assert plan.placed == max(keeping), strategy
            assert (plan.fairness_floor, plan.floor_cost) == (floor, most - max(keeping)), strategy
            placed = {row.participant_id for row in plan.rows if row.slot_id is not None}
            assert all(len(placed & members[k]) >= n for k, n in need.items()), strategy
    else:
        assert report.floor_feasible is False


def test_groups_cover_every_dimension_and_person() -> None:
    instance = tiny_instance(1)
    members = _members(instance)
    ids = {p.participant_id for p in instance.participants}
    for dimension in ("programme", "municipality", "gender", "age_band", "need"):
        union = set().union(*(v for (d, _), v in members.items() if d == dimension))
        assert union == ids
    assert age_band(None) == "unknown" and age_band(24) == "–24" and age_band(25) == "25–34" and age_band(70) == "55–"


def test_floor_is_refused_by_strategies_that_do_not_honour_it() -> None:
    with pytest.raises(ValueError, match="strategy 'greedy' does not use fairness_floor"):
        matcher.SolverSettings(strategy="greedy", fairness_floor=0.5)
    for strategy in matcher.FLOOR_STRATEGIES:
        assert matcher.SolverSettings(strategy=strategy, fairness_floor=0.5).fairness_floor == 0.5  # type: ignore[arg-type]
    assert matcher.solve(tiny_instance(1), ON, settings=EXACT).floor_cost is None  # no floor, no cost
    with pytest.raises(ValueError, match="floor"):
        fairness(tiny_instance(1), ON, settings=EXACT, floor=1.5)


def test_same_data_same_report() -> None:
    instance = tiny_instance(4, people=7)
    assert fairness(instance, ON, settings=EXACT) == fairness(instance, ON, settings=EXACT)
