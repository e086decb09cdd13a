"""The harness's reading of HiGHS's dual bound from a method's log (benchmarks/run.py). No solver runs here."""

from __future__ import annotations

from pathlib import Path

from benchmarks.config import SIZES, SMOKE_SIZE
from benchmarks.run import _highs_dual_bound

SOLVING_REPORT = """Solving report
  Status            Time limit reached
  Primal bound      2194
  Dual bound        {dual}
  Gap               1.14% (tolerance: 0%)
"""


def _bound(tmp_path: Path, dual: str, to_total: list[int]) -> int | None:
    log = tmp_path / "method.log"
    log.write_text(SOLVING_REPORT.format(dual=dual), encoding="utf-8")
    return _highs_dual_bound(log, {"dual_bound_to_total": to_total})


def test_a_bound_on_placements_becomes_a_bound_on_the_weighted_objective(tmp_path: Path) -> None:
    # No plan places more than 2,219; any plan's value beyond its placements is below the weight 1,000.
    assert _bound(tmp_path, "2219.0000001", [1_000, 999]) == 2_219_999


def test_a_bound_on_the_weighted_objective_is_its_floor(tmp_path: Path) -> None:
    assert _bound(tmp_path, "2219999.7", [1, 0]) == 2_219_999


def test_no_dual_bound_is_no_bound(tmp_path: Path) -> None:
    assert _bound(tmp_path, "inf", [1_000, 999]) is None
    assert _highs_dual_bound(tmp_path / "missing.log", {"dual_bound_to_total": [1, 0]}) is None


def test_the_placements_bound_runs_at_nation_tight_and_in_the_smoke_run_only() -> None:
    assert SIZES["nation"].runs("placements", "tight")
    assert not SIZES["nation"].runs("placements", "default")
    assert SIZES["nation"].runs("engine", "default")
    assert not SIZES["county"].runs("placements", "tight")
    assert all(SMOKE_SIZE.runs("placements", scenario) for scenario in ("loose", "default", "tight"))
