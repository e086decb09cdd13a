"""Greedy by score: what a coordinator with a spreadsheet does; also the CP-SAT solver's first hint."""

from __future__ import annotations

import numpy as np

from matcher.compiled import BoolArray
from matcher.model.problem import AssignmentProblem


def greedy_by_score(problem: AssignmentProblem) -> BoolArray:
    """Take pairs best score first while the person is free and the slot and site have room."""
    pairs = problem.pairs
    chosen = np.zeros(len(pairs), dtype=np.bool_)
    seats = problem.seats_left.copy()
    supervision = problem.supervision_left.copy()
    taken = np.zeros(problem.ci.n_participants, dtype=np.bool_)
    site_of = problem.ci.s_site[pairs.slot]
    order = np.lexsort((pairs.slot, pairs.participant, -pairs.score))
    for i in order.tolist():
        p, s, t = int(pairs.participant[i]), int(pairs.slot[i]), int(site_of[i])
        use = int(problem.supervision_use[i])
        if taken[p] or seats[s] <= 0 or (supervision[t] >= 0 and use > supervision[t]):
            continue
        chosen[i] = True
        taken[p] = True
        seats[s] -= 1
        if supervision[t] >= 0:
            supervision[t] -= use
    return chosen
