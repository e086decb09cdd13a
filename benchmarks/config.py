"""What the benchmark runs: sizes, scenarios, methods and their time limits. Change here, nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
INSTANCES = HERE / "instances"  # generated, never committed (.gitignore)
RUNS = HERE / "runs"  # raw per-run results, never committed
SEED = 1


@dataclass(frozen=True)
class Size:
    name: str
    participants: int
    slots: int | None  # None: the generator's default (one slot per ten people)
    sites: int | None  # None: the generator's default (one site per 2.5 slots)
    time_limit_s: float  # every method, each in its own process


SIZES: dict[str, Size] = {
    "region": Size("region", 400, 40, 16, 30.0),
    "county": Size("county", 5_000, None, None, 120.0),
    "nation": Size("nation", 50_000, 5_000, 2_000, 120.0),
}
SMOKE_SIZE = Size("smoke", 120, 12, 5, 4.0)
SCENARIOS: tuple[str, ...] = ("loose", "default", "tight")

# The engine's default strategy first; then the peers, in the order of the issue.
METHODS: tuple[str, ...] = ("engine", "cpsat", "mip", "greedy", "flow", "lp")
METHOD_LABELS: dict[str, str] = {
    "engine": "engine (default strategy)",
    "cpsat": "CP-SAT, plain model",
    "mip": "HiGHS MIP, plain model",
    "greedy": "greedy by score",
    "flow": "min-cost flow, no supervision",
    "lp": "LP relaxation (bound)",
}
GRACE_S = 15.0  # past the time limit (after loading), before a method's process group is killed
CPSAT_WORKERS = 2
SUGGEST_SAMPLES = 1_000
