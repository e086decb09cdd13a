"""The assignment problem as one sparse matrix: built from arrays in one pass, never one Python object per term.

Rows, all `A x <= upper` over the free pairs of an `AssignmentProblem`:
- one per participant with two or more pairs (at most one place; a single pair needs no row, `x <= 1` is its bound);
- one per slot that could be overfilled (seats left after pinned people);
- one per site whose supervision could be overrun (scaled to exact integers, see `build_problem`).

Everything is integral: coefficients, limits and objective, so any solver's plan can be checked exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from matcher.compiled import BoolArray, IntArray
from matcher.model.problem import AssignmentProblem

ROW_PARTICIPANT, ROW_SLOT, ROW_SITE = 0, 1, 2


@dataclass(frozen=True, eq=False)
class SparseModel:
    """`matrix @ x <= upper`, x binary, one column per free pair of `problem`."""

    problem: AssignmentProblem
    matrix: sp.csr_matrix  # rows x pairs, integral float64 entries
    upper: NDArray[np.float64]  # integral
    row_kind: NDArray[np.int8]  # ROW_PARTICIPANT, ROW_SLOT or ROW_SITE
    row_key: IntArray  # the participant, slot or site of each row

    @property
    def n_pairs(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def n_rows(self) -> int:
        return int(self.matrix.shape[0])

    def columns(self) -> sp.csc_matrix:
        """The same matrix by columns, for taking sub-problems (computed once, then cached)."""
        cached: sp.csc_matrix | None = self.__dict__.get("_csc")
        if cached is None:
            cached = self.matrix.tocsc()
            object.__setattr__(self, "_csc", cached)
        return cached

    def activity(self, chosen: BoolArray) -> NDArray[np.float64]:
        out: NDArray[np.float64] = self.matrix @ chosen.astype(np.float64)
        return out

    def is_feasible(self, chosen: BoolArray) -> bool:
        """Exact check: all entries are small integers, so float sums are exact."""
        return bool(np.all(self.activity(chosen) <= self.upper + 0.5))


def _rows_of(keys: IntArray, select: BoolArray) -> tuple[IntArray, IntArray]:
    """Row number per pair for the keys that get a row (-1 for none), and the keys in row order."""
    chosen_keys = np.unique(keys[select[keys]]) if len(keys) else np.zeros(0, dtype=np.int64)
    row_of_key = np.full(int(keys.max()) + 1 if len(keys) else 0, -1, dtype=np.int64)
    row_of_key[chosen_keys] = np.arange(len(chosen_keys))
    return (row_of_key[keys] if len(keys) else np.zeros(0, dtype=np.int64)), chosen_keys


def build_sparse(problem: AssignmentProblem) -> SparseModel:
    """The rows that can bind, in one vectorised pass."""
    ci, pairs = problem.ci, problem.pairs
    n = len(pairs)
    person, slot = pairs.participant, pairs.slot
    site = ci.s_site[slot]

    per_person = np.bincount(person, minlength=ci.n_participants)
    p_row, p_keys = _rows_of(person, per_person >= 2)

    per_slot = np.bincount(slot, minlength=ci.n_slots)
    s_row, s_keys = _rows_of(slot, problem.seats_left < per_slot)

    use = problem.supervision_use
    site_use = np.bincount(site, weights=use.astype(np.float64), minlength=ci.n_sites)
    binding = (problem.supervision_left >= 0) & (site_use > problem.supervision_left)
    t_row, t_keys = _rows_of(site, binding)

    offsets = np.cumsum([0, len(p_keys), len(s_keys)])
    column = np.arange(n, dtype=np.int64)
    parts_row, parts_col, parts_val = [], [], []
    for rows, offset, values in ((p_row, offsets[0], None), (s_row, offsets[1], None), (t_row, offsets[2], use)):
        has = rows >= 0
        parts_row.append(rows[has] + offset)
        parts_col.append(column[has])
        parts_val.append(np.ones(int(has.sum())) if values is None else values[has].astype(np.float64))
    n_rows = int(offsets[2] + len(t_keys))
    matrix = sp.csr_matrix(
        (np.concatenate(parts_val), (np.concatenate(parts_row), np.concatenate(parts_col))), shape=(n_rows, n)
    )
    matrix.sum_duplicates()
    upper = np.concatenate(
        [
            np.ones(len(p_keys)),
            problem.seats_left[s_keys].astype(np.float64),
            problem.supervision_left[t_keys].astype(np.float64),
        ]
    )
    kind = np.concatenate(
        [np.full(len(p_keys), ROW_PARTICIPANT), np.full(len(s_keys), ROW_SLOT), np.full(len(t_keys), ROW_SITE)]
    ).astype(np.int8)
    return SparseModel(problem, matrix, upper, kind, np.concatenate([p_keys, s_keys, t_keys]).astype(np.int64))


@dataclass(frozen=True, eq=False)
class SubModel:
    """The free pairs `columns` of a model with every other pair fixed at its current value."""

    columns: IntArray  # indices into the full model's pairs
    matrix: sp.csr_matrix
    upper: NDArray[np.float64]


def sub_model(model: SparseModel, free: IntArray, chosen: BoolArray, activity: NDArray[np.float64]) -> SubModel:
    """Rows touching the free pairs, with limits reduced by what the fixed pairs use.

    `activity` is `model.activity(chosen)`; the free pairs' own part of it is given back to the limits.
    """
    block = model.columns()[:, free].tocsr()
    own = block @ chosen[free].astype(np.float64)
    rows = np.flatnonzero(np.diff(block.indptr) > 0)
    upper = model.upper[rows] - (activity[rows] - own[rows])
    return SubModel(free, block[rows], np.maximum(upper, 0.0))


def objective_value(problem: AssignmentProblem, chosen: BoolArray) -> int:
    """`placement_weight * placed + Σ value` over free pairs (placements, fit score, stays), in exact integers."""
    return int(chosen.sum()) * problem.placement_weight + int(problem.value[chosen].sum())
