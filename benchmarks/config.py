"""What the benchmark runs: sizes, scenarios, methods and their time limits. Change here, nowhere else."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    time_limit_s: float  # every method, each in its own process, unless `method_limits` says otherwise
    scenarios: tuple[str, ...] | None = None  # None: all of SCENARIOS
    seeds: dict[str, tuple[int, ...]] = field(default_factory=dict)  # per scenario; otherwise (SEED,)
    methods: tuple[str, ...] | None = None  # None: every method asked for
    method_limits: dict[str, float] = field(default_factory=dict)  # a method's own time limit at this size

    def seeds_of(self, scenario: str) -> tuple[int, ...]:
        return self.seeds.get(scenario, (SEED,))

    def limit_of(self, method: str) -> float:
        return self.method_limits.get(method, self.time_limit_s)


SCENARIOS: tuple[str, ...] = ("loose", "default", "tight")  # every size has these, unless it names its own
ALL_SCENARIOS: tuple[str, ...] = (*SCENARIOS, "binding")  # "binding": about 80 % of sites (the mid-size only)
FIVE_SEEDS: tuple[int, ...] = (1, 2, 3, 4, 5)
SIZES: dict[str, Size] = {
    # The region's default scenario over five seeds: the proof-speed target is a median over them.
    "region": Size("region", 400, 40, 16, 30.0, seeds={"default": FIVE_SEEDS}),
    "county": Size("county", 5_000, None, None, 120.0),
    # Supervision-bound mid-size (about 80 % of sites limited): the engine's 60 s against HiGHS's MIP given 300 s.
    "midsize": Size(
        "midsize",
        3_000,
        450,
        300,
        60.0,
        scenarios=("binding",),
        seeds={"binding": FIVE_SEEDS},
        methods=("engine", "mip", "greedy", "flow", "lp"),
        method_limits={"mip": 300.0},
    ),  # fmt: skip
    "nation": Size("nation", 50_000, 5_000, 2_000, 120.0),
}
SMOKE_SIZE = Size("smoke", 120, 12, 5, 4.0)

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
