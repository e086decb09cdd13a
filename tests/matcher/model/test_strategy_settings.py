"""Every strategy honours each setting of a solve (`seed`, `relative_gap`, `on_progress`) or rejects it: a setting
never does nothing silently. Honoured settings are seen where the strategy hands them to its solver."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from ortools.sat.python import cp_model
from pydantic import ValidationError

from matcher import SolveProgress, SolverSettings, check_plan, solve
from matcher.generate import DEFAULT_PLAN_DATE, synthetic_instance
from matcher.model import decompose, whole
from matcher.model.strategies import STRATEGIES, TUNABLE

D: date = DEFAULT_PLAN_DATE
NON_DEFAULT: dict[str, Any] = {"seed": 7, "relative_gap": 0.05, "work_limit": 1.0}


def test_every_strategy_says_for_every_tunable_setting_whether_it_honours_it() -> None:
    for strategy in STRATEGIES.values():
        assert strategy.honours <= set(TUNABLE), strategy.name


@pytest.mark.parametrize("name", sorted(STRATEGIES))
@pytest.mark.parametrize("setting", TUNABLE)
def test_a_setting_a_strategy_does_not_honour_is_rejected(name: str, setting: str) -> None:
    values = {"strategy": name, setting: NON_DEFAULT[setting]}
    if setting in STRATEGIES[name].honours:
        SolverSettings(**values)  # accepted
    else:
        with pytest.raises(ValidationError, match=f"strategy '{name}' does not use {setting}"):
            SolverSettings(**values)


def test_greedy_rejects_seed_and_gap_and_runs_with_the_defaults() -> None:
    with pytest.raises(ValidationError, match="greedy"):
        SolverSettings(strategy="greedy", seed=3)
    with pytest.raises(ValidationError, match="greedy"):
        SolverSettings(strategy="greedy", relative_gap=0.1)
    SolverSettings(strategy="greedy")


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_reports_progress_it_makes(name: str) -> None:
    instance = synthetic_instance(80, seed=2)
    seen: list[SolveProgress] = []
    settings = SolverSettings(time_limit_s=20, strategy=name)  # type: ignore[arg-type]
    plan = solve(instance, D, settings=settings, on_progress=seen.append)
    assert seen, f"{name} never reported a plan"
    assert all(p.placed <= p.placed_bound for p in seen)
    assert [(p.placed, p.score) for p in seen] == sorted((p.placed, p.score) for p in seen)
    assert seen[-1].placed <= plan.placed


def _recording(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record what the whole-model MIPs are given (HiGHS's options, SCIP's seed and gap), calling through."""
    calls: list[dict[str, Any]] = []
    highs, scip = whole.solve_highs, whole.solve_scip

    def record_highs(*args: Any, **kwargs: Any) -> Any:
        calls.append({"solver": "highs", **(kwargs.get("options") or {})})
        return highs(*args, **kwargs)

    def record_scip(*args: Any, **kwargs: Any) -> Any:
        calls.append({"solver": "scip", "seed": kwargs.get("seed"), "relative_gap": kwargs.get("relative_gap")})
        return scip(*args, **kwargs)

    monkeypatch.setattr(whole, "solve_highs", record_highs)
    monkeypatch.setattr(whole, "solve_scip", record_scip)
    return calls


@pytest.mark.parametrize("name", ["auto", "mip"])
def test_the_mip_strategies_hand_seed_and_gap_to_their_solver(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _recording(monkeypatch)
    # No LP bound: the default strategy cannot stop at the LP-rounded plan and must go to the whole-model MIP.
    monkeypatch.setattr(decompose, "lp_bound", lambda *args: None)
    instance = synthetic_instance(80, seed=2)
    settings = SolverSettings(time_limit_s=20, strategy=name, seed=7, relative_gap=0.05)  # type: ignore[arg-type]
    plan = solve(instance, D, settings=settings)
    assert check_plan(instance, {r.participant_id: r.slot_id for r in plan.rows}, D) == []
    assert calls, "no whole-model MIP was run"
    for call in calls:
        if call["solver"] == "scip":
            assert (call["seed"], call["relative_gap"]) == (7, 0.05)
        else:
            assert (call["random_seed"], call["mip_rel_gap"]) == ("7", "0.05")


def test_cpsat_hands_seed_and_gap_to_its_solver(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, float]] = []
    original = cp_model.CpSolver.solve

    def record(self: cp_model.CpSolver, *args: Any, **kwargs: Any) -> Any:
        seen.append((self.parameters.random_seed, self.parameters.relative_gap_limit))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cp_model.CpSolver, "solve", record)
    solve(synthetic_instance(60, seed=1), D, settings=SolverSettings(time_limit_s=10, strategy="cpsat", seed=7,
                                                                     relative_gap=0.05))  # fmt: skip
    assert seen == [(7, pytest.approx(0.05))]


def test_with_a_gap_the_default_strategy_never_claims_a_proof_it_does_not_have() -> None:
    instance = synthetic_instance(80, seed=2, scenario="tight")
    plan = solve(instance, D, settings=SolverSettings(time_limit_s=20, relative_gap=1.0))
    assert check_plan(instance, {r.participant_id: r.slot_id for r in plan.rows}, D) == []
    if plan.proven_optimal:
        assert plan.placed == plan.placed_bound and plan.total_score == plan.score_bound
