"""The assignment problem as one sparse matrix: built from arrays in one pass, never one Python object per term.

Rows, all `A x <= upper` over the free pairs of an `AssignmentProblem`, added by the capacity rules of
`matcher.rules` (each says which of its rows can bind):
- one per participant with two or more pairs (one place; a single pair needs no row, `x <= 1` is its bound);
- one per slot that could be overfilled (seats left after pinned people);
- one per site whose supervision could be overrun (scaled to exact integers, see `Supervision.scaled`).

Everything is integral: coefficients, limits and objective, so any solver's plan can be checked exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from matcher.compiled import BoolArray, IntArray
from matcher.model.problem import AssignmentProblem
from matcher.rules import CAPACITY_RULES


@dataclass(frozen=True, eq=False)
class SparseModel:
    """`matrix @ x <= upper`, x binary, one column per free pair of `problem`."""

    problem: AssignmentProblem
    matrix: sp.csr_matrix  # rows x pairs, integral float64 entries
    upper: NDArray[np.float64]  # integral
    row_kind: NDArray[np.int8]  # the index in CAPACITY_RULES of the rule that adds the row
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
    """The rows that can bind, one block per capacity rule (`CAPACITY_RULES`, in its order), in one vectorised pass."""
    n = len(problem.pairs)
    column = np.arange(n, dtype=np.int64)
    parts_row, parts_col, parts_val, uppers, kinds, keys = [], [], [], [], [], []
    offset = 0
    for kind, rule in enumerate(CAPACITY_RULES):
        rows = rule.rows(problem)
        row, chosen_keys = _rows_of(rows.key, rows.binding)
        has = row >= 0
        parts_row.append(row[has] + offset)
        parts_col.append(column[has])
        coefficient = rows.coefficient
        parts_val.append(np.ones(int(has.sum())) if coefficient is None else coefficient[has].astype(np.float64))
        uppers.append(rows.upper[chosen_keys].astype(np.float64))
        kinds.append(np.full(len(chosen_keys), kind))
        keys.append(chosen_keys)
        offset += len(chosen_keys)
    matrix = sp.csr_matrix(
        (np.concatenate(parts_val), (np.concatenate(parts_row), np.concatenate(parts_col))), shape=(offset, n)
    )
    matrix.sum_duplicates()
    kind_of_row = np.concatenate(kinds).astype(np.int8)
    return SparseModel(problem, matrix, np.concatenate(uppers), kind_of_row, np.concatenate(keys).astype(np.int64))


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
