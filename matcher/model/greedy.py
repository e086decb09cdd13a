"""Greedy by score: what a coordinator with a spreadsheet does; also the start of the other strategies."""

from __future__ import annotations

import numpy as np

from matcher.compiled import BoolArray, IntArray
from matcher.model.problem import AssignmentProblem


def greedy_in_order(problem: AssignmentProblem, order: IntArray, start: BoolArray | None = None) -> BoolArray:
    """Take pairs in `order` while the person is free and the slot and site have room, after the pairs of `start`
    (which must be feasible)."""
    pairs = problem.pairs
    chosen = np.zeros(len(pairs), dtype=np.bool_) if start is None else start.copy()
    site_of = problem.ci.s_site[pairs.slot]
    seats = problem.seats_left - np.bincount(pairs.slot[chosen], minlength=problem.ci.n_slots)
    used = np.bincount(site_of[chosen], weights=problem.supervision_use[chosen], minlength=problem.ci.n_sites)
    supervision = np.where(problem.supervision_left >= 0, problem.supervision_left - used.astype(np.int64), -1)
    taken = np.zeros(problem.ci.n_participants, dtype=np.bool_)
    taken[pairs.participant[chosen]] = True
    participant, slot, use = pairs.participant.tolist(), pairs.slot.tolist(), problem.supervision_use.tolist()
    sites = site_of.tolist()
    seats_left, room, busy = seats.tolist(), supervision.tolist(), taken.tolist()
    picked = []
    for i in order.tolist():
        p, s, t = participant[i], slot[i], sites[i]
        if busy[p] or seats_left[s] <= 0:
            continue
        if room[t] >= 0:
            if use[i] > room[t]:
                continue
            room[t] -= use[i]
        picked.append(i)
        busy[p] = True
        seats_left[s] -= 1
    chosen[np.array(picked, dtype=np.int64)] = True
    return chosen


def greedy_by_score(problem: AssignmentProblem) -> BoolArray:
    """Take pairs best score first (a holder's current slot first among equal scores) while the person is free and
    the slot and site have room."""
    pairs = problem.pairs
    order = np.lexsort((pairs.slot, pairs.participant, -problem.value))
    return greedy_in_order(problem, order)
