"""Top suggestions for one person against the seats free now, and why the places they prefer are out."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from matcher.compiled import CompiledInstance
from matcher.feasibility import feasible_pairs, travel_minutes
from matcher.integrity import SUPERVISION_TOLERANCE
from matcher.plan import ExcludedSlot, RuleFailure, Suggestion, Suggestions
from matcher.rules import PairContext, rule_failures
from matcher.settings import ScoreWeights


@dataclass(frozen=True)
class Occupancy:
    """Who holds which seat now: seats taken per slot and the participants in them."""

    holders: dict[str, tuple[str, ...]] = field(default_factory=dict)  # slot_id -> participant_ids

    @classmethod
    def from_instance(cls, ci: CompiledInstance) -> Occupancy:
        holders: defaultdict[str, list[str]] = defaultdict(list)
        for person in ci.instance.participants:
            if person.current_slot_id:
                holders[person.current_slot_id].append(person.participant_id)
        return cls({k: tuple(v) for k, v in holders.items()})


class UnknownParticipant(KeyError):
    pass


def suggest(
    ci: CompiledInstance,
    participant_id: str,
    on: date,
    k: int = 5,
    weights: ScoreWeights | None = None,
    occupancy: Occupancy | None = None,
    max_excluded: int = 10,
) -> Suggestions:
    """The `k` best feasible slots that still have a seat and supervision for this person, best score first."""
    if participant_id not in ci.participant_index:
        raise UnknownParticipant(participant_id)
    weights = weights or ScoreWeights()
    occupancy = occupancy or Occupancy.from_instance(ci)
    p = ci.participant_index[participant_id]
    inst = ci.instance
    person = inst.participants[p]

    # The person's own seat counts as free for them: moving within their slot is no move at all.
    taken: Counter[str] = Counter()
    supervision_used: defaultdict[str, float] = defaultdict(float)
    people = ci.participant_index
    for slot_id, holder_ids in occupancy.holders.items():
        slot = inst.slots[ci.slot_index[slot_id]]
        for holder in holder_ids:
            if holder == participant_id:
                continue
            taken[slot_id] += 1
            hours = inst.participants[people[holder]].hours_per_week if holder in people else 0
            supervision_used[slot.site_id] += hours * slot.supervision_ratio

    def room(slot_index: int) -> list[RuleFailure]:
        slot = inst.slots[slot_index]
        site = inst.sites[ci.site_index[slot.site_id]]
        reasons = []
        if taken[slot.slot_id] >= slot.seats:
            reasons.append(RuleFailure("seats_free", "no seats left"))
        need = person.hours_per_week * slot.supervision_ratio
        if site.supervisor_hours is not None and supervision_used[site.site_id] + need > (
            site.supervisor_hours + SUPERVISION_TOLERANCE
        ):
            left = max(site.supervisor_hours - supervision_used[site.site_id], 0.0)
            reasons.append(RuleFailure("supervision_free", f"supervision full ({left:g} h left, {need:g} h needed)"))
        return reasons

    pairs = feasible_pairs(ci, on, weights, participants=np.array([p], dtype=np.int64))
    order = np.lexsort((pairs.slot, pairs.minutes, -pairs.score))
    suggestions: list[Suggestion] = []
    for i in order.tolist():
        if len(suggestions) >= k:
            break
        s = int(pairs.slot[i])
        if room(s):
            continue
        slot = inst.slots[s]
        rank = _rank(person.preferences, slot.activity)
        suggestions.append(
            Suggestion(
                slot_id=slot.slot_id,
                site_id=slot.site_id,
                enterprise_id=inst.sites[ci.site_index[slot.site_id]].enterprise_id,
                activity=slot.activity,
                travel_minutes=int(pairs.minutes[i]),
                score=int(pairs.score[i]),
                score_parts=pairs.parts.of(i),
                free_seats=slot.seats - taken[slot.slot_id],
                preference_rank=rank,
            )
        )
    return Suggestions(participant_id, tuple(suggestions), _excluded(ci, p, on, room, suggestions, max_excluded))


def _rank(preferences: tuple[str, ...], activity: str) -> int | None:
    return preferences.index(activity) + 1 if activity in preferences else None


def _excluded(ci, p, on, room, suggestions, limit) -> tuple[ExcludedSlot, ...]:  # type: ignore[no-untyped-def]
    """Preferred slots not suggested: rule failures and lack of room, nearest first."""
    inst = ci.instance
    person = inst.participants[p]
    if not person.preferences:
        return ()
    suggested = {s.slot_id for s in suggestions}
    wanted = np.flatnonzero(np.isin(ci.s_activity, [ci.activities.index(a) for a in person.preferences if a in ci.activities]))
    if len(wanted) == 0:
        return ()
    minutes = travel_minutes(ci, np.full(len(wanted), p, dtype=np.int64), ci.s_site[wanted])
    excluded: list[tuple[int, int, ExcludedSlot]] = []
    for s, m in zip(wanted.tolist(), minutes.tolist(), strict=True):
        slot = inst.slots[s]
        if slot.slot_id in suggested:
            continue
        site = inst.sites[ci.site_index[slot.site_id]]
        enterprise = inst.enterprises[ci.enterprise_index[site.enterprise_id]]
        reasons = rule_failures(PairContext(person, slot, site, enterprise, m, on)) + room(s)
        if not reasons:
            continue  # feasible with room, only ranked below the k suggested
        rank = _rank(person.preferences, slot.activity) or 0
        excluded.append((rank, m, ExcludedSlot(slot.slot_id, slot.site_id, site.enterprise_id, slot.activity, rank, tuple(reasons))))
    excluded.sort(key=lambda e: (e[0], e[1], e[2].slot_id))
    return tuple(e[2] for e in excluded[:limit])
