"""What every strategy returns and reports (`matcher.model.strategies`)."""

from __future__ import annotations

from dataclasses import dataclass

from matcher.compiled import BoolArray


@dataclass(frozen=True)
class SolveProgress:
    """A new best plan was found."""

    seconds: float
    placed: int
    score: int
    placed_bound: int


@dataclass(frozen=True)
class SolveOutcome:
    chosen: BoolArray  # per pair of problem.pairs
    proven_optimal: bool
    found: bool
    objective_bound: int  # over free pairs only, in the objective's units (`AssignmentProblem.objective`)
    solve_seconds: float
    # The same input and settings give this plan again on any machine, loaded or not: no wall-clock limit decided
    # where the search stopped (docs/solver.md, "Reproducible plans").
    deterministic: bool = False
