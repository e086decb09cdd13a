"""The benchmark report's verdicts (benchmarks/report.py) on hand-made results: what `make bench-full` says must
follow from the figures it prints. No solver runs here."""

from __future__ import annotations

from typing import Any

from benchmarks.report import _instance_bounds, _instance_rows, targets

WEIGHT = 1_000


def _run(method: str, scenario: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "method": method, "size": "nation", "scenario": scenario, "seed": 1, "outcome": "ok", "weight": WEIGHT,
        "placed": None, "score": None, "bound": None, "build_s": 1.0, "solve_s": 110.0, "peak_mb": 1500.0,
        "trace": [], "time_limit_s": 120.0,
    }  # fmt: skip
    base.update(fields)
    return base


def _nation_row(engine: dict[str, Any], lp_bound: int, *bounds: dict[str, Any]) -> tuple[str, str, str]:
    payload = {
        "sizes": [{"name": "nation"}],
        "runs": [engine, _run("lp", "tight", outcome="bound only", bound=lp_bound), *bounds],
        "core": [],
    }
    (row,) = [r for r in targets(payload) if r[0].startswith("nation, tight")]
    return row


def test_the_nation_target_is_half_a_percent_of_the_lp_bound_and_names_when_one_and_half_a_percent_came() -> None:
    # LP bound 1,000 placed (objective 1,000,000); the trace comes within 1 % at 20 s and within 0.5 % at 90 s.
    trace = [(5.0, 980, 0), (20.0, 991, 0), (90.0, 996, 0)]
    engine = _run("engine", "tight", placed=996, score=0, trace=trace)
    name, measured, verdict = _nation_row(engine, 1_000 * WEIGHT)
    assert "within 0.5 % of the LP bound" in name
    assert "within 1 % at 20.0 s" in measured and "within 0.5 % at 90.0 s" in measured
    assert verdict == "met"


def test_a_nation_plan_within_one_percent_but_not_half_a_percent_of_the_lp_bound_does_not_meet_the_target() -> None:
    trace = [(5.0, 985, 0), (60.0, 992, 0)]
    engine = _run("engine", "tight", placed=992, score=0, trace=trace)
    _, measured, verdict = _nation_row(engine, 1_000 * WEIGHT)
    assert "gap 0.80 %" in measured
    assert "within 1 % at 60.0 s" in measured and "within 0.5 % not reached" in measured
    assert verdict == "not met"


def test_a_nation_plan_over_two_gigabytes_does_not_meet_the_target() -> None:
    engine = _run("engine", "tight", placed=999, score=0, trace=[(10.0, 999, 0)], peak_mb=2100.0)
    _, _, verdict = _nation_row(engine, 1_000 * WEIGHT)
    assert verdict == "not met"


def _placements_bound(placed: int) -> dict[str, Any]:
    """The placements MIP's bound as the harness records it: no plan places more than `placed`."""
    return _run("placements", "tight", outcome="bound only", bound=placed * WEIGHT + WEIGHT - 1)


def test_a_bound_more_than_half_a_percent_below_the_lp_bound_makes_the_nation_target_unattainable() -> None:
    # No plan places more than 990 of the LP's 1,000: none can be within 0.5 % of the LP bound.
    engine = _run("engine", "tight", placed=985, score=0, trace=[(30.0, 985, 0)])
    _, measured, verdict = _nation_row(engine, 1_000 * WEIGHT, _placements_bound(990))
    assert verdict == "not met: unattainable"
    assert "no plan can be within 0.5 %" in measured
    assert "proves at most 990 placed, 0.90 % below the LP bound" in measured
    assert "the plan is 0.61 % from that bound" in measured  # (990,999 - 985,000) / 990,999


def test_a_bound_within_half_a_percent_of_the_lp_bound_leaves_the_nation_target_open() -> None:
    engine = _run("engine", "tight", placed=985, score=0, trace=[(30.0, 985, 0)])
    _, measured, verdict = _nation_row(engine, 1_000 * WEIGHT, _placements_bound(997))
    assert verdict == "not met"
    assert "no plan can be" not in measured


def test_a_bound_on_placements_alone_has_no_fit_score_part() -> None:
    engine = _run("engine", "tight", placed=990, score=700, trace=[(30.0, 990, 700)])
    payload = {"runs": [engine, _placements_bound(990)]}
    bounds = _instance_bounds(payload)[("nation", "tight", 1)]
    assert (bounds["by"], bounds["placed_bound"], bounds["score_bound"]) == ("placements", 990, None)
    rows = _instance_rows(payload, ("nation", "tight", 1), bounds)
    engine_row = rows[0].split(" | ")
    assert engine_row[7:10] == ["0.00 %", "700", "—"]  # placed gap, fit score, no fit-score gap
    assert "| *best bound* | | | | 990 | | — |" in rows[-1]
