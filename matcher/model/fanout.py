"""Where the area search solves its independent areas side by side (docs/solver.md, "Areas on other processes").

The core only knows a `concurrent.futures.Executor`: by default its own threads (two cores). The service may give
one whose workers are other processes or machines (`service.plans.fanout`, behind its RQ queue); each area is one
call of a plain function on picklable arguments, so any executor that pickles can run it. Areas are applied in a
fixed order, so the plan does not depend on where or in which order they were solved.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

from matcher.model.problem import AssignmentProblem
from matcher.model.sparse import SparseModel

AREA_SHARED_TYPES = (AssignmentProblem, SparseModel)
"""The types of an area call's arguments that stay the same for a whole solve: an executor may send them once."""


@dataclass(frozen=True)
class AreaFanOut:
    """An executor for the areas and how many independent areas go to it at once (`width`, at least 2: one area
    alone is solved in the caller's process). The same width gives the same plan on any executor."""

    executor: Executor
    width: int = 2

    def __post_init__(self) -> None:
        if self.width < 2:
            raise ValueError(f"an area fan-out needs a width of at least 2, not {self.width}")
