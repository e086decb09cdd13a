"""An instance turned into numpy arrays once, so feasibility and scoring run on arrays, not Python objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from matcher.domain import WEEKDAYS, Instance
from matcher.travel import mode_speed_and_overhead, unit_vectors

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
MaskArray = NDArray[np.uint64]

NO_AGE = -1


def _days_mask(days: frozenset[str]) -> int:
    return sum(1 << WEEKDAYS.index(d) for d in days)


def _token_masks(token_sets: list[frozenset[str]], vocabulary: dict[str, int]) -> MaskArray:
    """One row of 64-bit words per set; bit k of the row set when the set holds vocabulary item k."""
    words = max(1, (len(vocabulary) + 63) // 64)
    masks = np.zeros((len(token_sets), words), dtype=np.uint64)
    for row, tokens in enumerate(token_sets):
        for token in tokens:
            k = vocabulary.get(token)
            if k is not None:
                masks[row, k // 64] |= np.uint64(1) << np.uint64(k % 64)
    return masks


@dataclass(frozen=True, eq=False)
class CompiledInstance:
    """Arrays over participants (p), slots (s), sites (t) and enterprises (e), indexed as in the instance."""

    instance: Instance
    # participants
    p_lat: FloatArray
    p_lon: FloatArray
    p_xyz: FloatArray
    p_hours: IntArray
    p_days: IntArray
    p_needs: MaskArray
    p_programme: IntArray  # index into programme vocabulary
    p_age: IntArray  # NO_AGE when unknown
    p_female: BoolArray
    p_speed: FloatArray
    p_overhead: FloatArray
    p_max_travel: IntArray
    p_current_slot: IntArray  # -1 when none
    p_pinned: BoolArray
    p_waiting_since: NDArray[np.datetime64]  # NaT when unknown
    preference_keys: IntArray  # sorted p * n_activities + activity
    preference_ranks: IntArray  # rank (0 = most wanted) for each key
    avoid_keys: IntArray  # sorted p * n_enterprises + e
    # slots
    s_site: IntArray
    s_activity: IntArray
    s_seats: IntArray
    s_min_hours: IntArray
    s_max_hours: IntArray
    s_days: IntArray
    s_supports: MaskArray
    s_programmes: MaskArray
    s_any_programme: BoolArray
    s_min_age: IntArray  # NO_AGE when unset
    s_max_age: IntArray  # NO_AGE when unset
    s_women_only: BoolArray
    s_ratio: FloatArray
    s_available_from: NDArray[np.datetime64]
    s_available_to: NDArray[np.datetime64]
    # sites
    t_lat: FloatArray
    t_lon: FloatArray
    t_enterprise: IntArray
    t_accessibility: MaskArray
    t_supervisor_hours: FloatArray  # inf when unlimited
    t_slot_start: IntArray  # slots of site t are slot_order[t_slot_start[t]:t_slot_start[t+1]]
    slot_order: IntArray
    site_tree: cKDTree
    # travel_times overrides, sorted by key p * n_sites + t
    override_keys: IntArray
    override_minutes: IntArray
    # lookups
    participant_index: dict[str, int]
    slot_index: dict[str, int]
    site_index: dict[str, int]
    enterprise_index: dict[str, int]
    activities: tuple[str, ...]
    programmes: tuple[str, ...]
    needs: tuple[str, ...]

    @cached_property
    def slot_id_rank(self) -> IntArray:
        """Each slot's place in the order of slot ids (for ties broken by id, as a sort key on arrays)."""
        ids = [slot.slot_id for slot in self.instance.slots]
        rank = np.empty(len(ids), dtype=np.int64)
        rank[sorted(range(len(ids)), key=ids.__getitem__)] = np.arange(len(ids), dtype=np.int64)
        return rank

    @cached_property
    def activity_index(self) -> dict[str, int]:
        return {a: i for i, a in enumerate(self.activities)}

    @cached_property
    def slots_of_activity(self) -> list[IntArray]:
        """The slot indices offering each activity (by index into `activities`), in slot order."""
        order = np.argsort(self.s_activity, kind="stable")
        bounds = np.searchsorted(self.s_activity[order], np.arange(len(self.activities) + 1))
        return [order[bounds[a] : bounds[a + 1]] for a in range(len(self.activities))]

    @property
    def n_participants(self) -> int:
        return len(self.p_hours)

    @property
    def n_slots(self) -> int:
        return len(self.s_seats)

    @property
    def n_sites(self) -> int:
        return len(self.t_lat)

    def slot_available(self, on: date, slots: IntArray | None = None) -> BoolArray:
        """Rule 9 per slot (all, or the given indices): the plan date lies in the slot's window.

        NaT bounds are open."""
        start = self.s_available_from if slots is None else self.s_available_from[slots]
        end = self.s_available_to if slots is None else self.s_available_to[slots]
        day = np.datetime64(on, "D")
        return np.asarray((np.isnat(start) | (start <= day)) & (np.isnat(end) | (day <= end)))

    def waiting_days(self, on: date, participants: IntArray | None = None) -> IntArray:
        """Days each person has waited on date `on` (0 when unknown), for all or for the given indices."""
        since = self.p_waiting_since if participants is None else self.p_waiting_since[participants]
        day = np.datetime64(on, "D")
        days = (day - since).astype("timedelta64[D]").astype(np.int64)
        return np.where(np.isnat(since), 0, np.maximum(days, 0))


def _dates(values: list[date | None]) -> NDArray[np.datetime64]:
    return np.array([np.datetime64(v, "D") if v else np.datetime64("NaT", "D") for v in values], dtype="datetime64[D]")


def compile_instance(instance: Instance) -> CompiledInstance:
    """Build the arrays; linear in the size of the instance. Assumes `check_integrity` found no problems."""
    people, slots, sites, enterprises = instance.participants, instance.slots, instance.sites, instance.enterprises
    enterprise_index = {e.enterprise_id: i for i, e in enumerate(enterprises)}
    site_index = {t.site_id: i for i, t in enumerate(sites)}
    slot_index = {s.slot_id: i for i, s in enumerate(slots)}
    participant_index = {p.participant_id: i for i, p in enumerate(people)}

    activities = tuple(sorted({s.activity for s in slots}))
    activity_index = {a: i for i, a in enumerate(activities)}
    programmes = tuple(sorted({p.programme for p in people} | {c for s in slots for c in s.programmes}))
    programme_index = {c: i for i, c in enumerate(programmes)}
    # Only needs someone has matter: a site's extra features can never make a pair infeasible.
    needs = tuple(sorted({n for p in people for n in p.needs}))
    need_index = {n: i for i, n in enumerate(needs)}

    p_lat = np.array([p.lat for p in people], dtype=np.float64)
    p_lon = np.array([p.lon for p in people], dtype=np.float64)
    speed, overhead = mode_speed_and_overhead([p.travel_mode for p in people])

    n_activities = max(len(activities), 1)
    pref_keys: list[int] = []
    pref_ranks: list[int] = []
    for i, person in enumerate(people):
        seen: set[int] = set()
        for rank, activity in enumerate(person.preferences):
            a = activity_index.get(activity)
            if a is not None and a not in seen:  # the first mention of an activity is its rank
                seen.add(a)
                pref_keys.append(i * n_activities + a)
                pref_ranks.append(rank)
    pref_order = np.argsort(np.array(pref_keys, dtype=np.int64), kind="stable")

    n_enterprises = max(len(enterprises), 1)
    avoid = sorted(
        i * n_enterprises + enterprise_index[e]
        for i, p in enumerate(people)
        for e in p.avoid_enterprises
        if e in enterprise_index
    )

    t_lat = np.array([t.lat for t in sites], dtype=np.float64)
    t_lon = np.array([t.lon for t in sites], dtype=np.float64)
    s_site = np.array([site_index[s.site_id] for s in slots], dtype=np.int64)
    slot_order = np.argsort(s_site, kind="stable").astype(np.int64)
    t_slot_start = np.searchsorted(s_site[slot_order], np.arange(len(sites) + 1)).astype(np.int64)

    n_sites = max(len(sites), 1)
    overrides: dict[int, int] = {}
    for travel in instance.travel_times:
        overrides[participant_index[travel.participant_id] * n_sites + site_index[travel.site_id]] = travel.minutes
    override_keys = np.array(sorted(overrides), dtype=np.int64)

    return CompiledInstance(
        instance=instance,
        p_lat=p_lat,
        p_lon=p_lon,
        p_xyz=unit_vectors(p_lat, p_lon).reshape(-1, 3),
        p_hours=np.array([p.hours_per_week for p in people], dtype=np.int64),
        p_days=np.array([_days_mask(p.days_available) for p in people], dtype=np.int64),
        p_needs=_token_masks([p.needs for p in people], need_index),
        p_programme=np.array([programme_index[p.programme] for p in people], dtype=np.int64),
        p_age=np.array([NO_AGE if p.age is None else p.age for p in people], dtype=np.int64),
        p_female=np.array([p.gender == "f" for p in people], dtype=np.bool_),
        p_speed=speed,
        p_overhead=overhead,
        p_max_travel=np.array([p.max_travel_minutes for p in people], dtype=np.int64),
        p_current_slot=np.array(
            [slot_index.get(p.current_slot_id, -1) if p.current_slot_id else -1 for p in people], dtype=np.int64
        ),
        p_pinned=np.array([p.pinned for p in people], dtype=np.bool_),
        p_waiting_since=_dates([p.waiting_since for p in people]),
        preference_keys=np.array(pref_keys, dtype=np.int64)[pref_order],
        preference_ranks=np.array(pref_ranks, dtype=np.int64)[pref_order],
        avoid_keys=np.array(avoid, dtype=np.int64),
        s_site=s_site,
        s_activity=np.array([activity_index[s.activity] for s in slots], dtype=np.int64),
        s_seats=np.array([s.seats for s in slots], dtype=np.int64),
        s_min_hours=np.array([s.min_hours for s in slots], dtype=np.int64),
        s_max_hours=np.array([s.max_hours for s in slots], dtype=np.int64),
        s_days=np.array([_days_mask(s.days) for s in slots], dtype=np.int64),
        s_supports=_token_masks([s.supports for s in slots], need_index),
        s_programmes=_token_masks([s.programmes for s in slots], programme_index),
        s_any_programme=np.array([not s.programmes for s in slots], dtype=np.bool_),
        s_min_age=np.array([NO_AGE if s.min_age is None else s.min_age for s in slots], dtype=np.int64),
        s_max_age=np.array([NO_AGE if s.max_age is None else s.max_age for s in slots], dtype=np.int64),
        s_women_only=np.array([s.women_only for s in slots], dtype=np.bool_),
        s_ratio=np.array([s.supervision_ratio for s in slots], dtype=np.float64),
        s_available_from=_dates([s.available_from for s in slots]),
        s_available_to=_dates([s.available_to for s in slots]),
        t_lat=t_lat,
        t_lon=t_lon,
        t_enterprise=np.array([enterprise_index[t.enterprise_id] for t in sites], dtype=np.int64),
        t_accessibility=_token_masks([t.accessibility for t in sites], need_index),
        t_supervisor_hours=np.array(
            [np.inf if t.supervisor_hours is None else t.supervisor_hours for t in sites], dtype=np.float64
        ),
        t_slot_start=t_slot_start,
        slot_order=slot_order,
        site_tree=cKDTree(unit_vectors(t_lat, t_lon).reshape(-1, 3)),
        override_keys=override_keys,
        override_minutes=np.array([overrides[k] for k in override_keys.tolist()], dtype=np.int64),
        participant_index=participant_index,
        slot_index=slot_index,
        site_index=site_index,
        enterprise_index=enterprise_index,
        activities=activities,
        programmes=programmes,
        needs=needs,
    )
