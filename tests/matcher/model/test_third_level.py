"""The objective's third level: among plans equal on placements and fit score, the fewest holders of a
`current_slot_id` (not pinned) moved or taken out — in every strategy that proves optimality, in the area search, in
the two-phase form used when one objective would be too large — and `placement solve --keep-current`."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from matcher import (
    Instance,
    Plan,
    ScoreWeights,
    SolverSettings,
    SolveStatus,
    check_plan,
    keep_current,
    load_dataset,
    prepare,
    solve,
)
from matcher.model import problem as problem_module
from matcher.model.decompose import AreaSearch, SearchLimits
from matcher.model.highs import integral
from matcher.model.problem import build_problem
from matcher.model.sparse import build_sparse
from matcher.model.whole import solve_whole_model
from placement_cli import app
from tests.factories import PLAN_DATE, dataset_rows, make_instance, make_participant, make_slot, write_rows

D = PLAN_DATE
# Every pair scores 0: placements decide, and then only the third level tells plans apart.
FLAT = ScoreWeights(preference_top=0, preference_step=0, waiting_max=0, travel_max=0, continuity=0)
EXACT = ["auto", "mip", "cpsat"]


def assignment(plan: Plan) -> dict[str, str | None]:
    return {row.participant_id: row.slot_id for row in plan.rows}


def tempting() -> Instance:
    """Four slots of one seat; h1, h2, h3 hold b, c, d; the newcomer x and every holder fit every slot, all at 0
    points. Each plan placing all four is equally good on the first two levels; the ids and the slot order make
    plans with moves what a solver meets first: the engine before the third level moved holders here in every
    strategy (auto, mip, cpsat and greedy; checked at commit 42c49a0)."""
    return make_instance(
        [
            make_participant(participant_id="h1", current_slot_id="b"),
            make_participant(participant_id="h2", current_slot_id="c"),
            make_participant(participant_id="h3", current_slot_id="d"),
            make_participant(participant_id="x"),
        ],
        [make_slot(slot_id=s) for s in ("a", "b", "c", "d")],
    )


KEPT = {"h1": "b", "h2": "c", "h3": "d", "x": "a"}


@pytest.mark.parametrize("strategy", [*EXACT, "greedy"])
def test_among_equal_plans_the_one_moving_nobody_wins(strategy: str) -> None:
    instance = tempting()
    plan = solve(instance, D, weights=FLAT, settings=SolverSettings(strategy=strategy, workers=1, time_limit_s=30))
    assert check_plan(instance, assignment(plan), D) == []
    assert assignment(plan) == KEPT
    assert (plan.placed, plan.total_score, plan.holders, plan.moved) == (4, 0, 3, 0)
    if strategy != "greedy":
        assert plan.status is SolveStatus.OPTIMAL
        assert plan.moved_bound == 0


def test_the_area_search_keeps_holders_too() -> None:
    # The area search alone, whatever the size: each square is re-solved with its own three-level weights.
    problem = build_problem(prepare(tempting()), D, FLAT)
    outcome = AreaSearch(problem, 30, threads=1, limits=SearchLimits(exact_max_pairs=0, whole_mip_max_pairs=0)).run()
    assert problem.split(problem.objective(outcome.chosen)) == (4, 0, 3)


def test_a_square_too_large_for_one_objective_still_never_takes_a_plan_with_more_moves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Above the limit a square is solved on two levels; its plan is taken only when better on all three.
    monkeypatch.setattr(problem_module, "ONE_OBJECTIVE_MAX", 1)
    problem = build_problem(prepare(tempting()), D, FLAT)
    outcome = AreaSearch(problem, 30, threads=1, limits=SearchLimits(exact_max_pairs=0, whole_mip_max_pairs=0)).run()
    assert problem.split(problem.objective(outcome.chosen)) == (4, 0, 3)


@pytest.mark.parametrize("strategy", ["auto", "mip"])
def test_the_two_phase_form_is_exact_too(strategy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Forced: the three levels never fit in one floating-point objective, so the MIPs run placements and fit first,
    # then the most stays among plans as good.
    monkeypatch.setattr(problem_module, "ONE_OBJECTIVE_MAX", 1)
    instance = tempting()
    problem = build_problem(prepare(instance), D, FLAT)
    assert not problem.levels.one_objective_is_safe()
    plan = solve(instance, D, weights=FLAT, settings=SolverSettings(strategy=strategy, workers=1, time_limit_s=30))
    assert assignment(plan) == KEPT
    assert plan.status is SolveStatus.OPTIMAL
    assert plan.moved == 0


@pytest.mark.parametrize("strategy", EXACT)
def test_a_holder_is_moved_when_that_places_one_more(strategy: str) -> None:
    # h holds a, the only slot x fits (x works 5 h; b takes 10 h and more); h fits b too.
    instance = make_instance(
        [
            make_participant(participant_id="h", current_slot_id="a"),
            make_participant(participant_id="x", hours_per_week=5),
        ],
        [make_slot(slot_id="a", min_hours=5), make_slot(slot_id="b")],
    )
    plan = solve(instance, D, settings=SolverSettings(strategy=strategy, workers=1))
    assert assignment(plan) == {"h": "b", "x": "a"}
    assert (plan.placed, plan.moved, plan.holders) == (2, 1, 1)


@pytest.mark.parametrize("strategy", EXACT)
def test_a_holder_is_moved_when_that_fits_better(strategy: str) -> None:
    # Staying is worth 10 points (continuity); moving h to the woodwork they want is worth 40.
    weights = ScoreWeights(preference_top=40, waiting_max=0, travel_max=0, continuity=10)
    instance = make_instance(
        [make_participant(participant_id="h", current_slot_id="a", preferences=["woodwork"])],
        [make_slot(slot_id="a"), make_slot(slot_id="b", activity="woodwork")],
    )
    plan = solve(instance, D, weights=weights, settings=SolverSettings(strategy=strategy, workers=1))
    assert assignment(plan) == {"h": "b"}
    assert (plan.total_score, plan.moved) == (40, 1)


@pytest.mark.parametrize("strategy", EXACT)
def test_of_two_holders_of_one_seat_the_plan_moves_only_one(strategy: str) -> None:
    # Two holders of a one-seat slot (not pinned): one must go; the other seat is anywhere, all at 0 points.
    instance = make_instance(
        [
            make_participant(participant_id="h1", current_slot_id="a"),
            make_participant(participant_id="h2", current_slot_id="a"),
        ],
        [make_slot(slot_id="a"), make_slot(slot_id="b")],
    )
    plan = solve(instance, D, weights=FLAT, settings=SolverSettings(strategy=strategy, workers=1))
    assert sorted(assignment(plan).values(), key=str) == ["a", "b"]
    assert (plan.placed, plan.holders, plan.moved, plan.status) == (2, 2, 1, SolveStatus.OPTIMAL)


def test_a_holder_whose_pair_breaks_a_rule_counts_as_moved() -> None:
    # 40 h/week does not fit a (at most 30 h): h cannot stay, so the plan moves h whatever it does.
    instance = make_instance(
        [make_participant(participant_id="h", current_slot_id="a", hours_per_week=40)],
        [make_slot(slot_id="a"), make_slot(slot_id="b", max_hours=40)],
    )
    plan = solve(instance, D)
    assert assignment(plan) == {"h": "b"}
    assert (plan.holders, plan.moved, plan.moved_bound, plan.status) == (1, 1, 1, SolveStatus.OPTIMAL)


def test_pinned_holders_are_facts_not_moves() -> None:
    instance = make_instance(
        [make_participant(participant_id="h", current_slot_id="a", pinned=True)], [make_slot(slot_id="a")]
    )
    plan = solve(instance, D)
    assert (plan.holders, plan.moved) == (0, 0)


def test_without_holders_the_objective_is_the_two_level_one() -> None:
    # No holder who is not pinned: the third level is vacuous, and the model is exactly the two-level one.
    instance = make_instance(
        [make_participant(participant_id=f"p{i}", preferences=["sewing"][: i % 2]) for i in range(5)],
        [make_slot(slot_id="a", seats=2), make_slot(slot_id="b", activity="woodwork", seats=2)],
    )
    problem = build_problem(prepare(instance), D)
    assert problem.fit_weight == 1
    assert problem.placement_weight == problem.fit_placement_weight
    assert np.array_equal(problem.value, problem.pairs.score)
    assert problem.levels.one_objective_is_safe()


def test_keep_current_pins_every_holder() -> None:
    instance = tempting()
    kept = keep_current(instance)
    assert [p.pinned for p in kept.participants] == [True, True, True, False]
    plan = solve(kept, D, weights=FLAT)
    assert assignment(plan) == KEPT
    assert (plan.holders, plan.moved) == (0, 0)


def test_solve_keep_current_keeps_every_holder_in_place_with_a_warning_for_a_broken_pair(tmp_path: Path) -> None:
    rows = dataset_rows()
    people = {p["participant_id"]: p for p in rows["participants"]}
    people["P001"]["current_slot_id"] = "furniture"  # a feasible pair
    people["P003"]["current_slot_id"] = "sewing"  # women only: P003 (m) breaks gender_ok there
    data = write_rows(tmp_path / "data", rows)
    runner = CliRunner()

    def plan_after(*flags: str) -> tuple[dict[str, str], str]:
        out = tmp_path / "plan.csv"
        result = runner.invoke(
            app, ["solve", str(data), "--date", D.isoformat(), "--out", str(out), "--no-table", *flags]
        )
        assert result.exit_code == 0, result.output
        with out.open(encoding="utf-8") as handle:
            return {r["participant_id"]: r["slot_id"] for r in csv.DictReader(handle)}, result.stderr

    moved, _ = plan_after()
    assert moved["P003"] != "sewing"  # without the flag a holder breaking a rule cannot stay
    kept, stderr = plan_after("--keep-current")
    assert (kept["P001"], kept["P002"], kept["P003"]) == ("furniture", "shop", "sewing")
    assert "P003" in stderr and "sewing" in stderr and "warning" in stderr
    assert check_plan(keep_current(load_dataset(data)), kept, D) == []


@pytest.mark.parametrize("solver", ["highs", "scip"])
@pytest.mark.parametrize("one_objective_max", [problem_module.ONE_OBJECTIVE_MAX, 1])
def test_the_whole_model_mip_proves_all_three_levels(
    solver: str, one_objective_max: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The whole-model MIP as every strategy calls it: in one objective, or (limit forced down) in two phases; from no
    # start, or for SCIP from a plan as good on the first two levels but with one move (h1 to a, x into b).
    monkeypatch.setattr(problem_module, "ONE_OBJECTIVE_MAX", one_objective_max)
    problem = build_problem(prepare(tempting()), D, FLAT)
    model = build_sparse(problem)
    pairs = problem.pairs
    tempting_start = {("h1", "a"), ("h2", "c"), ("h3", "d"), ("x", "b")}
    start = np.array(
        [(problem.ci.instance.participants[p].participant_id, problem.ci.instance.slots[s].slot_id) in tempting_start
         for p, s in zip(pairs.participant.tolist(), pairs.slot.tolist(), strict=True)]
    )  # fmt: skip
    assert model.is_feasible(start) and problem.split(problem.objective(start)) == (4, 0, 2)
    result = solve_whole_model(problem, model, 30, hint=start if solver == "scip" else None, solver=solver)
    assert result.status == "optimal" and result.values is not None
    assert problem.split(problem.objective(integral(result.values))) == (4, 0, 3)
