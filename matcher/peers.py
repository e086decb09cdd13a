"""The core's stages and the plain peer solvers, for the benchmarks that measure the engine against them.

The one public door below `import matcher`: `benchmarks/` builds the same assignment problem the engine solves and
hands it to plain CP-SAT, HiGHS and a min-cost flow (and a greedy rule), so that each is timed on equal terms.
The service never needs these. Names here may follow the core's internals when those are renamed; this module is
where such a rename is absorbed.
"""

from matcher.compiled import BoolArray
from matcher.feasibility import pairs_for
from matcher.model.cpsat import build_cpsat
from matcher.model.flow import solve_flow
from matcher.model.greedy import greedy_by_score
from matcher.model.highs import integral, solve_highs
from matcher.model.problem import AssignmentProblem, build_problem
from matcher.model.sparse import build_sparse

__all__ = [
    "AssignmentProblem",
    "BoolArray",
    "build_cpsat",
    "build_problem",
    "build_sparse",
    "greedy_by_score",
    "integral",
    "pairs_for",
    "solve_flow",
    "solve_highs",
]
