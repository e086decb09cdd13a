"""Top suggestions for one person against the seats free now, and why the places they prefer are out.

Fast enough to answer while a coach types (`benchmarks/`: the core's part for one person against 5,000 slots):
the seats and supervision hours in use are totalled once per occupancy, the person's travel to every site is
worked out once per call, their feasible slots come from the array form of the rules, and the plain-Python rules
(which word the reasons) run only for the few slots that are listed as out: the preferred ones, nearest first,
and — when fewer than `k` slots are suggested — the nearest slots that do not fit, so that the answer always says
what to change. Suggestions are diverse: at most `per_site` from one site.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from matcher.compiled import BoolArray, CompiledInstance, FloatArray, IntArray
from matcher.feasibility import feasible_pairs_at_sites, travel_minutes
from matcher.plan import ExcludedSlot, RuleFailure, Suggestion, Suggestions
from matcher.rules import SEATS, SUPERVISION, PairContext, rule_failures
from matcher.settings import ScoreWeights

NEAREST_SORTED = 64  # slots sorted by travel at first for the nearest that are out; more only when these run out


@dataclass(frozen=True)
class SeatsInUse:
    """Totals of an occupancy over one compiled instance: seats taken per slot, supervision hours used per site."""

    taken: IntArray  # per slot
    supervision_used: FloatArray  # per site
    held_by: dict[int, list[int]]  # participant index -> slot indices they hold


@dataclass(frozen=True)
class Occupancy:
    """Who holds which seat now: seats taken per slot and the participants in them."""

    holders: dict[str, tuple[str, ...]] = field(default_factory=dict)  # slot_id -> participant_ids
    # Totals per compiled instance, computed on first use: an occupancy is built once and asked many times.
    _totals: dict[int, tuple[CompiledInstance, SeatsInUse]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def from_instance(cls, ci: CompiledInstance) -> Occupancy:
        holders: defaultdict[str, list[str]] = defaultdict(list)
        for person in ci.instance.participants:
            if person.current_slot_id:
                holders[person.current_slot_id].append(person.participant_id)
        return cls({k: tuple(v) for k, v in holders.items()})

    def totals(self, ci: CompiledInstance) -> SeatsInUse:
        cached = self._totals.get(id(ci))
        if cached is not None and cached[0] is ci:
            return cached[1]
        inst = ci.instance
        taken = np.zeros(ci.n_slots, dtype=np.int64)
        used = np.zeros(ci.n_sites, dtype=np.float64)
        held_by: defaultdict[int, list[int]] = defaultdict(list)
        for slot_id, holder_ids in self.holders.items():
            s = ci.slot_index[slot_id]
            slot = inst.slots[s]
            t = ci.site_index[slot.site_id]
            for holder in holder_ids:
                taken[s] += 1
                p = ci.participant_index.get(holder)
                if p is not None:
                    used[t] += SUPERVISION.need(inst.participants[p].hours_per_week, slot.supervision_ratio)
                    held_by[p].append(s)
        result = SeatsInUse(taken, used, dict(held_by))
        self._totals[id(ci)] = (ci, result)
        return result


class UnknownParticipant(KeyError):
    pass


class _Room:
    """Seats and supervision left for one person: their own seat counts as free for them (moving within their slot
    is no move at all). The arithmetic and the words are the capacity rules' (`SEATS`, `SUPERVISION`)."""

    def __init__(self, ci: CompiledInstance, p: int, totals: SeatsInUse) -> None:
        self.ci, self.inst, self.totals = ci, ci.instance, totals
        self.person = ci.instance.participants[p]
        self.own_slots = totals.held_by.get(p, [])

    def _need(self, s: int) -> float:
        return SUPERVISION.need(self.person.hours_per_week, self.inst.slots[s].supervision_ratio)

    def _taken(self, s: int) -> int:
        return int(self.totals.taken[s]) - self.own_slots.count(s)

    def _used(self, t: int) -> float:
        used = float(self.totals.supervision_used[t])
        for own in self.own_slots:
            if int(self.ci.s_site[own]) == t:
                used -= self._need(own)
        return used

    def fits(self, slots: IntArray) -> BoolArray:
        """`not failures(s)` for many slots at once, in the same arithmetic."""
        taken = self.totals.taken[slots].copy()
        site = self.ci.s_site[slots]
        used = self.totals.supervision_used[site].copy()
        for own in self.own_slots:
            taken[slots == own] -= 1
            used[site == self.ci.s_site[own]] -= self._need(own)
        need = SUPERVISION.need(self.person.hours_per_week, self.ci.s_ratio[slots])
        seats = self.ci.s_seats[slots].astype(np.float64)
        seated = SEATS.fits_many(taken.astype(np.float64), np.ones(len(slots)), seats)
        supervised = SUPERVISION.fits_many(used, need, self.ci.t_supervisor_hours[site])
        return np.asarray(seated & supervised)

    def free_seats(self, s: int) -> int:
        return self.inst.slots[s].seats - self._taken(s)

    def failures(self, s: int) -> list[RuleFailure]:
        slot = self.inst.slots[s]
        site = self.inst.sites[int(self.ci.s_site[s])]
        reasons = []
        taken = self._taken(s)
        if not SEATS.fits(taken, 1, slot.seats):
            reasons.append(RuleFailure(SEATS.label, SEATS.refusal(taken, 1, slot.seats)))
        limit = site.supervisor_hours
        if limit is not None:
            used, need = self._used(int(self.ci.s_site[s])), self._need(s)
            if not SUPERVISION.fits(used, need, limit):
                reasons.append(RuleFailure(SUPERVISION.label, SUPERVISION.refusal(used, need, limit)))
        return reasons


def suggest(
    ci: CompiledInstance,
    participant_id: str,
    on: date,
    k: int = 5,
    weights: ScoreWeights | None = None,
    occupancy: Occupancy | None = None,
    max_excluded: int = 10,
    per_site: int | None = 2,
) -> Suggestions:
    """The `k` best feasible slots that still have a seat and supervision for this person, best score first, at most
    `per_site` from one site (None: no limit).

    `excluded`: the preferred slots that are out (at most `max_excluded`), then, when fewer than `k` are suggested,
    as many of the nearest slots that do not fit as are missing; each with every reason. `notes` say, when fewer
    than `k` are suggested, what rules out every slot nearby (no preferences, nothing in reach, no slot in reach
    offering the person's hours or days)."""
    if participant_id not in ci.participant_index:
        raise UnknownParticipant(participant_id)
    weights = weights or ScoreWeights()
    occupancy = occupancy or Occupancy.from_instance(ci)
    p = ci.participant_index[participant_id]
    inst = ci.instance
    person = inst.participants[p]
    room = _Room(ci, p, occupancy.totals(ci))
    # Travel to every site, once: the rules, the slots listed as out and the notes all read it.
    site_minutes = _site_minutes(ci, p)
    near = np.flatnonzero(site_minutes <= ci.p_max_travel[p])
    people = np.full(len(near), p, dtype=np.int64)
    pairs = feasible_pairs_at_sites(ci, people, near, site_minutes[near], on, weights)
    order = np.lexsort((pairs.slot, pairs.minutes, -pairs.score))
    suggestions: list[Suggestion] = []
    per_site_count: dict[int, int] = {}
    for i in order.tolist():
        if len(suggestions) >= k:
            break
        s = int(pairs.slot[i])
        t = int(ci.s_site[s])
        if per_site is not None and per_site_count.get(t, 0) >= per_site:
            continue
        if room.failures(s):
            continue
        per_site_count[t] = per_site_count.get(t, 0) + 1
        slot = inst.slots[s]
        names = _names(ci, s)
        suggestions.append(
            Suggestion(
                slot_id=slot.slot_id,
                site_id=slot.site_id,
                enterprise_id=inst.sites[t].enterprise_id,
                activity=slot.activity,
                travel_minutes=int(pairs.minutes[i]),
                score=int(pairs.score[i]),
                score_parts=pairs.parts.of(i),
                free_seats=room.free_seats(s),
                preference_rank=_rank(person.preferences, slot.activity),
                enterprise_name=names[0],
                site_name=names[1],
                activity_name=names[2],
            )
        )
    minutes = site_minutes[ci.s_site]  # per slot
    excluded = _excluded(ci, p, on, room, pairs.slot, minutes, max_excluded)
    notes: tuple[str, ...] = ()
    if len(suggestions) < k:
        listed = {e.slot_id for e in excluded} | {x.slot_id for x in suggestions}
        excluded += _nearest_out(ci, p, on, room, pairs.slot, minutes, k - len(suggestions), listed, per_site)
        notes = _notes(ci, p, on, minutes)
    return Suggestions(participant_id, tuple(suggestions), excluded, notes)


def _rank(preferences: tuple[str, ...], activity: str) -> int | None:
    return preferences.index(activity) + 1 if activity in preferences else None


def _names(ci: CompiledInstance, s: int) -> tuple[str, str, str]:
    """Enterprise, site and activity names of a slot; activities have codes only in the data, so the code."""
    inst = ci.instance
    slot = inst.slots[s]
    site = inst.sites[int(ci.s_site[s])]
    return inst.enterprises[ci.enterprise_index[site.enterprise_id]].name, site.name, slot.activity


def _reasons(
    ci: CompiledInstance, p: int, on: date, room: _Room, s: int, minutes: int, feasible: bool
) -> list[RuleFailure]:
    """Every rule that keeps slot `s` from the person, and the room it lacks."""
    if feasible:
        return room.failures(s)  # rules 1-9 hold (the array form decided): only room can be missing
    inst = ci.instance
    slot = inst.slots[s]
    site = inst.sites[int(ci.s_site[s])]
    enterprise = inst.enterprises[ci.enterprise_index[site.enterprise_id]]
    context = PairContext(inst.participants[p], slot, site, enterprise, minutes, on)
    return rule_failures(context) + room.failures(s)


def _excluded_slot(
    ci: CompiledInstance, s: int, rank: int | None, reasons: list[RuleFailure], minutes: int, nearest: bool
) -> ExcludedSlot:
    slot = ci.instance.slots[s]
    site = ci.instance.sites[int(ci.s_site[s])]
    enterprise_name, site_name, activity_name = _names(ci, s)
    return ExcludedSlot(
        slot_id=slot.slot_id,
        site_id=slot.site_id,
        enterprise_id=site.enterprise_id,
        activity=slot.activity,
        preference_rank=rank,
        reasons=tuple(reasons),
        enterprise_name=enterprise_name,
        site_name=site_name,
        activity_name=activity_name,
        travel_minutes=minutes,
        nearest=nearest,
    )


def _site_minutes(ci: CompiledInstance, p: int) -> IntArray:
    """The person's travel minutes to every site (journey planner where it has a row, else the estimate)."""
    sites = np.arange(ci.n_sites, dtype=np.int64)
    return travel_minutes(ci, np.full(ci.n_sites, p, dtype=np.int64), sites)


def _nearest_out(
    ci: CompiledInstance,
    p: int,
    on: date,
    room: _Room,
    feasible_slots: IntArray,
    minutes: IntArray,
    count: int,
    listed: set[str],
    per_site: int | None,
) -> tuple[ExcludedSlot, ...]:
    """The `count` nearest slots (then by slot id) that the person cannot get and that are not listed yet, at most
    `per_site` from one site, each with every reason (`minutes`: the person's travel to each slot). The rules are
    worded only for the slots listed."""
    if count <= 0 or ci.n_slots == 0:
        return ()
    inst = ci.instance
    person = inst.participants[p]
    slots = np.arange(ci.n_slots, dtype=np.int64)
    is_feasible = np.zeros(ci.n_slots, dtype=np.bool_)
    is_feasible[feasible_slots] = True
    out = np.flatnonzero(~(is_feasible & room.fits(slots)))
    # Nearest, then slot id, as one integer per slot (the rank of its id is below n_slots): distinct keys.
    key = minutes[out] * ci.n_slots + ci.slot_id_rank[out]
    found: list[ExcludedSlot] = []
    per_site_count: dict[int, int] = {}
    for j in _smallest_first(key, NEAREST_SORTED):
        if len(found) >= count:
            break
        s = int(out[j])
        slot = inst.slots[s]
        t = int(ci.s_site[s])
        if slot.slot_id in listed or (per_site is not None and per_site_count.get(t, 0) >= per_site):
            continue
        reasons = _reasons(ci, p, on, room, s, int(minutes[s]), bool(is_feasible[s]))
        if not reasons:
            continue  # cannot happen (fits and failures agree); never list a slot without a reason
        per_site_count[t] = per_site_count.get(t, 0) + 1
        rank = _rank(person.preferences, slot.activity)
        found.append(_excluded_slot(ci, s, rank, reasons, int(minutes[s]), nearest=True))
    return tuple(found)


def _smallest_first(key: IntArray, first: int) -> Iterator[int]:
    """Positions in `key` (distinct values) from the smallest up. The `first` smallest come from a partial sort;
    the rest are sorted only when the caller reads past them (a few listed or per-site slots are skipped, so a
    caller rarely needs more than a few dozen of thousands)."""
    if not 0 < first < len(key):
        yield from np.argsort(key, kind="stable").tolist()
        return
    head = np.argpartition(key, first)[:first]
    head = head[np.argsort(key[head], kind="stable")]
    yield from head.tolist()
    rest = np.flatnonzero(key > key[head[-1]])
    yield from rest[np.argsort(key[rest], kind="stable")].tolist()


def _notes(ci: CompiledInstance, p: int, on: date, minutes: IntArray) -> tuple[str, ...]:
    """What keeps the person from every slot in reach, in a few words, from arrays over the slots (`minutes`: the
    person's travel to each slot)."""
    person = ci.instance.participants[p]
    notes = [] if person.preferences else ["no preferences recorded"]
    if ci.n_slots == 0:
        return (*notes, "no slots in the data")
    limit = int(ci.p_max_travel[p])
    near = minutes <= limit
    hours = int(ci.p_hours[p])
    if not near.any():
        nearest = int(minutes.min())
        return (*notes, f"no slot within {limit} min (the nearest is {nearest} min away)")
    open_now = ci.slot_available(on) & (ci.s_seats > 0)
    if not (near & open_now).any():
        return (*notes, f"no slot within {limit} min is open on {on.isoformat()}")
    hours_fit = (ci.s_min_hours <= hours) & (hours <= ci.s_max_hours)
    if not (near & open_now & hours_fit).any():
        notes.append(f"no slot within {limit} min offers {hours} h/week")
    days_fit = (ci.s_days & ci.p_days[p]) != 0
    if not (near & open_now & days_fit).any():
        notes.append(f"no slot within {limit} min is on the person's days")
    return tuple(notes)


def _excluded(
    ci: CompiledInstance,
    p: int,
    on: date,
    room: _Room,
    feasible_slots: IntArray,
    slot_minutes: IntArray,
    limit: int,
) -> tuple[ExcludedSlot, ...]:
    """Preferred slots that are out, with every reason (rules and lack of room): most wanted activity first, then
    nearest, then slot id (`slot_minutes`: the person's travel to each slot). Walked in that order until `limit` are
    found, one activity at a time, and the reasons are worded only for the slots listed.
    A feasible slot with room is never listed: it is suggested, or only ranked below the suggestions."""
    inst = ci.instance
    person = inst.participants[p]
    is_feasible = np.zeros(ci.n_slots, dtype=np.bool_)
    is_feasible[feasible_slots] = True
    excluded: list[ExcludedSlot] = []
    seen: set[int] = set()
    for rank, activity in enumerate(person.preferences, 1):
        if len(excluded) >= limit:
            break
        a = ci.activity_index.get(activity)
        if a is None or a in seen:  # not offered anywhere, or listed twice (the first rank counts)
            continue
        seen.add(a)
        slots = ci.slots_of_activity[a]
        minutes = slot_minutes[slots]
        order = np.lexsort((ci.slot_id_rank[slots], minutes))
        out = ~(is_feasible[slots] & room.fits(slots))
        for j in order[out[order]].tolist():
            s = int(slots[j])
            reasons = _reasons(ci, p, on, room, s, int(minutes[j]), bool(is_feasible[s]))
            if not reasons:
                continue  # cannot happen (fits and failures agree); never list a slot without a reason
            excluded.append(_excluded_slot(ci, s, rank, reasons, int(minutes[j]), nearest=False))
            if len(excluded) >= limit:
                break
    return tuple(excluded)
