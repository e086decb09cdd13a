"""The integer fit score of a participant–slot pair, part by part (weights in `ScoreWeights`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from matcher.compiled import CompiledInstance, IntArray
from matcher.settings import ScoreWeights

SCORE_PARTS: tuple[str, ...] = ("preference", "waiting", "travel", "continuity")


@dataclass(frozen=True)
class ScoreParts:
    """Points per part for each pair; the score is their sum."""

    preference: IntArray
    waiting: IntArray
    travel: IntArray
    continuity: IntArray

    @property
    def total(self) -> IntArray:
        return self.preference + self.waiting + self.travel + self.continuity

    def take(self, index: IntArray) -> ScoreParts:
        return ScoreParts(self.preference[index], self.waiting[index], self.travel[index], self.continuity[index])

    def of(self, i: int) -> dict[str, int]:
        return {name: int(getattr(self, name)[i]) for name in SCORE_PARTS}


def preference_ranks(ci: CompiledInstance, participant: IntArray, slot: IntArray) -> IntArray:
    """Rank of the slot's activity in the person's preferences (0 = most wanted), -1 when not listed."""
    keys = participant * max(len(ci.activities), 1) + ci.s_activity[slot]
    where = np.searchsorted(ci.preference_keys, keys)
    where = np.minimum(where, max(len(ci.preference_keys) - 1, 0))
    if len(ci.preference_keys) == 0:
        return np.full(len(keys), -1, dtype=np.int64)
    found = ci.preference_keys[where] == keys
    return np.where(found, ci.preference_ranks[where], -1)


def score_parts(
    ci: CompiledInstance,
    participant: IntArray,
    slot: IntArray,
    minutes: IntArray,
    on: date,
    weights: ScoreWeights,
) -> ScoreParts:
    rank = preference_ranks(ci, participant, slot)
    preference = np.where(rank >= 0, np.maximum(weights.preference_top - rank * weights.preference_step, 0), 0)
    waited = ci.waiting_days(on, participant)
    waiting = np.minimum(waited // weights.waiting_days_per_point, weights.waiting_max)
    limit = ci.p_max_travel[participant]
    # Integer arithmetic so the same pair always gets the same points; a pinned pair may exceed the limit: 0.
    travel = np.clip(weights.travel_max * (limit - minutes) // limit, 0, weights.travel_max)
    continuity = np.where(ci.p_current_slot[participant] == slot, weights.continuity, 0)
    return ScoreParts(
        preference=preference.astype(np.int64),
        waiting=waiting.astype(np.int64),
        travel=travel.astype(np.int64),
        continuity=continuity.astype(np.int64),
    )
