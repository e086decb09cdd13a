"""Feasible participant–slot pairs (the nine pair rules of `matcher.rules`, in their array form).

Travel prunes first: a KD-tree over sites finds, per person, the sites within the distance their time allows;
journey-planner overrides are added or substituted; then each site's slots are checked on the other rules at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property

import numpy as np

from matcher.compiled import BoolArray, CompiledInstance, IntArray
from matcher.rules import PAIR_RULES, PairArrays
from matcher.scoring import ScoreParts, score_parts
from matcher.settings import ScoreWeights
from matcher.travel import chord_for_km, estimated_minutes, great_circle_km, reach_km

DENSE_SCAN_MAX_PARTICIPANTS = 64  # below this, scanning all sites beats a KD-tree query


@dataclass(frozen=True)
class CandidatePairs:
    """Pairs as parallel arrays, sorted by participant then slot."""

    participant: IntArray
    slot: IntArray
    minutes: IntArray
    parts: ScoreParts

    @cached_property
    def score(self) -> IntArray:
        # Summed once: the solvers read it many times (a frozen dataclass still has a __dict__ for the cache).
        return self.parts.total

    def __len__(self) -> int:
        return len(self.participant)

    def take(self, index: IntArray | BoolArray) -> CandidatePairs:
        idx: IntArray = np.flatnonzero(index) if index.dtype == np.bool_ else index.astype(np.int64, copy=False)
        return CandidatePairs(self.participant[idx], self.slot[idx], self.minutes[idx], self.parts.take(idx))


def travel_minutes(ci: CompiledInstance, participant: IntArray, site: IntArray) -> IntArray:
    """Minutes for given (participant, site) pairs: the journey planner's where it has a row, else the estimate."""
    km = great_circle_km(ci.p_lat[participant], ci.p_lon[participant], ci.t_lat[site], ci.t_lon[site])
    minutes = estimated_minutes(km, ci.p_speed[participant], ci.p_overhead[participant])
    if len(ci.override_keys):
        keys = participant * max(ci.n_sites, 1) + site
        where = np.minimum(np.searchsorted(ci.override_keys, keys), len(ci.override_keys) - 1)
        hit = ci.override_keys[where] == keys
        minutes = np.where(hit, ci.override_minutes[where], minutes)
    return minutes


def reachable_sites(ci: CompiledInstance, participants: IntArray | None = None) -> tuple[IntArray, IntArray, IntArray]:
    """(participant, site, minutes) for every pair whose travel time is within the person's limit."""
    people = np.arange(ci.n_participants) if participants is None else np.asarray(participants, dtype=np.int64)
    if ci.n_sites == 0 or len(people) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    reach = reach_km(ci.p_max_travel[people].astype(np.float64), ci.p_speed[people], ci.p_overhead[people])
    if len(people) <= DENSE_SCAN_MAX_PARTICIPANTS:
        p = np.repeat(people, ci.n_sites)
        t = np.tile(np.arange(ci.n_sites, dtype=np.int64), len(people))
    else:
        hits = ci.site_tree.query_ball_point(ci.p_xyz[people], chord_for_km(reach), return_sorted=False)
        counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        p = np.repeat(people, counts)
        t = np.fromiter((s for h in hits for s in h), dtype=np.int64, count=int(counts.sum()))
    if len(ci.override_keys):
        # A journey-planner row can put a far site within reach: add those pairs before the time filter.
        n_sites = max(ci.n_sites, 1)
        op, ot = ci.override_keys // n_sites, ci.override_keys % n_sites
        chosen = np.isin(op, people)
        keys = np.union1d(p * n_sites + t, op[chosen] * n_sites + ot[chosen])
        p, t = keys // n_sites, keys % n_sites
    minutes = travel_minutes(ci, p, t)
    within = minutes <= ci.p_max_travel[p]
    return p[within], t[within], minutes[within]


def expand_to_slots(
    ci: CompiledInstance, p: IntArray, t: IntArray, minutes: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Every slot of each (participant, site) pair, keeping the pair's minutes."""
    start, stop = ci.t_slot_start[t], ci.t_slot_start[t + 1]
    counts = stop - start
    total = int(counts.sum())
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    slot = ci.slot_order[np.repeat(start, counts) + offsets]
    return np.repeat(p, counts), slot, np.repeat(minutes, counts)


def rule_checks(ci: CompiledInstance, p: IntArray, s: IntArray, minutes: IntArray, on: date) -> dict[str, BoolArray]:
    """Each rule's verdict for each pair (True = the rule holds), by label."""
    pairs = PairArrays(ci, p, s, minutes, on)
    return {rule.label: rule.holds(pairs) for rule in PAIR_RULES}


def feasible_pairs(
    ci: CompiledInstance,
    on: date,
    weights: ScoreWeights | None = None,
    participants: IntArray | None = None,
) -> CandidatePairs:
    """Every pair that satisfies rules 1–9 on date `on`, with travel minutes and score parts."""
    p, t, minutes = reachable_sites(ci, participants)
    return feasible_pairs_at_sites(ci, p, t, minutes, on, weights)


def feasible_pairs_at_sites(
    ci: CompiledInstance, p: IntArray, t: IntArray, minutes: IntArray, on: date, weights: ScoreWeights | None = None
) -> CandidatePairs:
    """The pairs of rules 1–9 among the slots of given (participant, site) pairs, each with its travel `minutes`:
    `feasible_pairs` when they are every pair within reach (`reachable_sites`). For a caller that has worked out
    travel already (`suggest`, to every site for one person)."""
    weights = weights or ScoreWeights()
    p, s, minutes = expand_to_slots(ci, p, t, minutes)
    checks = rule_checks(ci, p, s, minutes, on)
    ok = np.logical_and.reduce(list(checks.values())) if len(p) else np.zeros(0, dtype=np.bool_)
    p, s, minutes = p[ok], s[ok], minutes[ok]
    order = np.lexsort((s, p))
    p, s, minutes = p[order], s[order], minutes[order]
    return CandidatePairs(p, s, minutes, score_parts(ci, p, s, minutes, on, weights))


def pairs_for(
    ci: CompiledInstance, p: IntArray, s: IntArray, on: date, weights: ScoreWeights | None = None
) -> CandidatePairs:
    """Given pairs (feasible or not, e.g. pinned ones) with their minutes and scores."""
    minutes = travel_minutes(ci, p, ci.s_site[s])
    return CandidatePairs(p, s, minutes, score_parts(ci, p, s, minutes, on, weights or ScoreWeights()))
