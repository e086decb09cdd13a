"""Min-cost flow with supervision hours ignored: the assignment relaxation a network-flow solver gives exactly.

Source -> participant (capacity 1) -> slot (one arc per free pair, cost -score) -> sink (capacity = seats left).
`SimpleMinCostFlow.solve_max_flow_with_min_cost` first maximises the flow (placements), then minimises the cost
(maximises the total fit score): the lexicographic objective, exactly, without the supervision rows. Its plan can
break supervision limits; its value is an upper bound for every plan that keeps them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from matcher.compiled import BoolArray
from matcher.model.problem import AssignmentProblem


@dataclass(frozen=True)
class FlowOutcome:
    chosen: BoolArray
    optimal: bool
    build_seconds: float
    solve_seconds: float


def solve_flow(problem: AssignmentProblem) -> FlowOutcome:
    started = time.perf_counter()
    ci, pairs = problem.ci, problem.pairs
    n_people, n_slots, n = ci.n_participants, ci.n_slots, len(pairs)
    source, sink = n_people + n_slots, n_people + n_slots + 1
    people = np.arange(n_people, dtype=np.int64)
    slots = np.arange(n_slots, dtype=np.int64)
    tails = np.concatenate([np.full(n_people, source), pairs.participant, n_people + slots])
    heads = np.concatenate([people, n_people + pairs.slot, np.full(n_slots, sink)])
    capacities = np.concatenate([np.ones(n_people), np.ones(n), problem.seats_left]).astype(np.int64)
    costs = np.concatenate([np.zeros(n_people), -pairs.score, np.zeros(n_slots)]).astype(np.int64)
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, capacities, costs)
    supplies = np.zeros(n_people + n_slots + 2, dtype=np.int64)
    supplies[source] = n_people
    supplies[sink] = -n_people
    flow.set_nodes_supplies(np.arange(len(supplies)), supplies)
    built = time.perf_counter()
    status = flow.solve_max_flow_with_min_cost()
    finished = time.perf_counter()
    optimal = status == flow.OPTIMAL
    if optimal:
        arc_flow = flow.flows(np.arange(n_people, n_people + n))
        chosen = np.asarray(arc_flow) > 0
    else:
        chosen = np.zeros(n, dtype=np.bool_)
    return FlowOutcome(chosen, optimal, built - started, finished - built)
