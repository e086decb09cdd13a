"""What a plan changes against today, which changes need which, and why each move or leave is made, in words.

A new placement or a move into a slot needs a seat; when the slot has no free seat today, the seat is one that a
move or leave out of that slot frees. Likewise for a site's supervisor hours. Each taker is given specific freers
(free seats and hours first, then freers in participant order), so a coordinator who applies only some changes can
be told exactly which others must come with them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from matcher.domain import Enterprise, Instance, Participant, Site, Slot
from matcher.plan import PlanRow
from matcher.rules import SEATS, SUPERVISION, SUPERVISION_TOLERANCE, PairContext, rule_failures
from matcher.validation import estimated_minutes, pair_minutes


class ChangeKind(StrEnum):
    NEW = "new"  # placed, holds no seat today
    MOVES = "moves"  # from the seat held today to another
    LEAVES = "leaves"  # taken out of the seat held today
    UNCHANGED = "unchanged"  # keeps the seat held today
    STILL_WAITING = "still_waiting"  # holds no seat and gets none


class NeedKind(StrEnum):
    SEAT = "seat"
    SUPERVISION = "supervision"


@dataclass(frozen=True, slots=True)
class Need:
    """One thing a change needs that another change (`freed_by`) frees."""

    freed_by: str  # participant id of the move or leave
    kind: NeedKind
    slot_id: str | None  # the slot whose seat (kind seat)
    site_id: str  # the site (its hours, or the seat's site)
    hours: float  # supervisor hours used of what `freed_by` frees (0 for a seat)
    text: str  # "the seat in 'sew' that P0093's move frees"


@dataclass(frozen=True, slots=True)
class Change:
    participant_id: str
    kind: ChangeKind
    from_slot_id: str | None
    to_slot_id: str | None
    needs: tuple[Need, ...] = ()
    reason: str = ""
    freed_for: tuple[str, ...] = field(default=())  # who uses what this change frees

    @property
    def changes_something(self) -> bool:
        return self.kind in (ChangeKind.NEW, ChangeKind.MOVES, ChangeKind.LEAVES)

    @property
    def frees(self) -> bool:
        return self.kind in (ChangeKind.MOVES, ChangeKind.LEAVES)

    @property
    def takes(self) -> bool:
        return self.kind in (ChangeKind.NEW, ChangeKind.MOVES)


def change_kind(current_slot_id: str | None, planned_slot_id: str | None) -> ChangeKind:
    if planned_slot_id == current_slot_id:
        return ChangeKind.UNCHANGED if current_slot_id else ChangeKind.STILL_WAITING
    if planned_slot_id is None:
        return ChangeKind.LEAVES
    return ChangeKind.NEW if current_slot_id is None else ChangeKind.MOVES


def _people(ids: Iterable[str]) -> str:
    names = sorted(set(ids))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _hours(value: float) -> str:
    return f"{round(value, 2):g}"


@dataclass
class _Freer:
    participant_id: str
    kind: ChangeKind
    amount: float  # seats (1) or supervisor hours freed
    left: float
    used_by: list[str] = field(default_factory=list)

    def noun(self) -> str:
        return f"{self.participant_id}'s {'move' if self.kind is ChangeKind.MOVES else 'leave'}"


def _allocate(
    takers: list[tuple[str, float]], free: float, freers: list[_Freer], tolerance: float
) -> dict[str, list[tuple[_Freer, float]]]:
    """Give each taker (in order) what is free today first, then what freers free: taker -> [(freer, amount used)].

    When today's holders already overfill (seats or hours lowered since), the first taker also needs freed what
    covers the excess, since the checks at apply time see it."""
    used: dict[str, list[tuple[_Freer, float]]] = {}
    for taker, need in takers:
        from_free = min(max(free, 0.0), need)
        missing = need - from_free + max(-free, 0.0)
        free = max(free, 0.0) - from_free
        parts: list[tuple[_Freer, float]] = []
        for freer in freers:
            if missing <= tolerance:
                break
            if freer.left <= tolerance or freer.participant_id == taker:
                continue
            part = min(freer.left, missing)
            freer.left -= part
            missing -= part
            parts.append((freer, part))
            freer.used_by.append(taker)
        used[taker] = parts
    return used


def plan_changes(instance: Instance, rows: Iterable[PlanRow], on: date) -> dict[str, Change]:
    """participant_id -> its change, with what it needs from other changes and its reason in words."""
    people = {p.participant_id: p for p in instance.participants}
    slots = {s.slot_id: s for s in instance.slots}
    sites = {s.site_id: s for s in instance.sites}
    planned = {r.participant_id: r.slot_id for r in rows}
    kinds = {pid: change_kind(people[pid].current_slot_id, slot_id) for pid, slot_id in planned.items()}

    holders: dict[str, int] = defaultdict(int)
    hours_used: dict[str, float] = defaultdict(float)
    for person in instance.participants:
        if person.current_slot_id is not None:
            slot = slots[person.current_slot_id]
            holders[slot.slot_id] += 1
            hours_used[slot.site_id] += SUPERVISION.need(person.hours_per_week, slot.supervision_ratio)

    needs: dict[str, list[Need]] = defaultdict(list)
    seat_freers: dict[str, _Freer] = {}
    hour_freers: dict[str, _Freer] = {}

    # Seats, slot by slot: a move or leave out of a slot frees one seat in it.
    seat_takers: dict[str, list[tuple[str, float]]] = defaultdict(list)
    seat_freer_lists: dict[str, list[_Freer]] = defaultdict(list)
    for pid in sorted(planned):
        kind, person = kinds[pid], people[pid]
        if kind in (ChangeKind.MOVES, ChangeKind.LEAVES):
            assert person.current_slot_id is not None
            freer = _Freer(pid, kind, 1.0, 1.0)
            seat_freers[pid] = freer
            seat_freer_lists[person.current_slot_id].append(freer)
        if kind in (ChangeKind.NEW, ChangeKind.MOVES):
            seat_takers[planned[pid] or ""].append((pid, 1.0))
    for slot_id, takers in seat_takers.items():
        slot = slots[slot_id]
        for taker, parts in _allocate(takers, slot.seats - holders[slot_id], seat_freer_lists[slot_id], 0.5).items():
            for freer, _ in parts:
                needs[taker].append(
                    Need(
                        freer.participant_id,
                        NeedKind.SEAT,
                        slot_id,
                        slot.site_id,
                        0.0,
                        f"the seat in '{slot_id}' that {freer.noun()} frees",
                    )
                )

    # Supervisor hours, site by site; a move within one site frees or takes only the difference of its ratios.
    hour_takers: dict[str, list[tuple[str, float]]] = defaultdict(list)
    hour_freer_lists: dict[str, list[_Freer]] = defaultdict(list)
    for pid in sorted(planned):
        kind, person = kinds[pid], people[pid]
        source = (
            slots[person.current_slot_id]
            if kind in (ChangeKind.MOVES, ChangeKind.LEAVES) and person.current_slot_id
            else None
        )
        target = slots[planned[pid] or ""] if kind in (ChangeKind.NEW, ChangeKind.MOVES) else None
        freed = {source.site_id: SUPERVISION.need(person.hours_per_week, source.supervision_ratio)} if source else {}
        taken = {target.site_id: SUPERVISION.need(person.hours_per_week, target.supervision_ratio)} if target else {}
        for site_id in set(freed) | set(taken):
            net = taken.get(site_id, 0.0) - freed.get(site_id, 0.0)
            if sites[site_id].supervisor_hours is None or abs(net) <= SUPERVISION_TOLERANCE:
                continue
            if net > 0:
                hour_takers[site_id].append((pid, net))
            else:
                freer = _Freer(pid, kind, -net, -net)
                hour_freers[pid] = freer
                hour_freer_lists[site_id].append(freer)
    for site_id, takers in hour_takers.items():
        site = sites[site_id]
        limit = site.supervisor_hours
        assert limit is not None
        free = limit - hours_used[site_id]
        for taker, parts in _allocate(takers, free, hour_freer_lists[site_id], SUPERVISION_TOLERANCE).items():
            for freer, part in parts:
                needs[taker].append(
                    Need(
                        freer.participant_id,
                        NeedKind.SUPERVISION,
                        None,
                        site_id,
                        round(part, 6),
                        f"{_hours(part)} of the supervisor hours at {site.name} that {freer.noun()} frees",
                    )
                )

    minutes = pair_minutes(instance)
    enterprises = {e.enterprise_id: e for e in instance.enterprises}

    def held_seat_problems(person: Participant, slot: Slot) -> list[str]:
        return _current_failures(person, slot, sites, enterprises, minutes, on) + _overfull(
            slot, sites, holders, hours_used
        )

    changes: dict[str, Change] = {}
    for pid, planned_slot in planned.items():
        person, kind = people[pid], kinds[pid]
        reason = _reason(
            person, kind, planned_slot, slots, sites, seat_freers.get(pid), hour_freers.get(pid), needs.get(pid, []),
            held_seat_problems,
        )  # fmt: skip
        freed_for = sorted(
            set(seat_freers[pid].used_by if pid in seat_freers else [])
            | set(hour_freers[pid].used_by if pid in hour_freers else [])
        )
        changes[pid] = Change(
            pid, kind, person.current_slot_id, planned_slot, tuple(needs.get(pid, [])), reason, tuple(freed_for)
        )
    return changes


def _current_failures(
    person: Participant,
    slot: Slot,
    sites: Mapping[str, Site],
    enterprises: Mapping[str, Enterprise],
    minutes: Mapping[tuple[str, str], int],
    on: date,
) -> list[str]:
    """The rules the person's seat today breaks on the plan's date (why a plan may move someone unasked)."""
    site = sites[slot.site_id]
    travel = minutes.get((person.participant_id, site.site_id), estimated_minutes(person, site))
    context = PairContext(person, slot, site, enterprises[site.enterprise_id], travel, on)
    return [f.message for f in rule_failures(context)]


def _overfull(
    slot: Slot, sites: Mapping[str, Site], holders: Mapping[str, int], hours_used: Mapping[str, float]
) -> list[str]:
    """Why the people holding seats in the slot's slot or site today cannot all stay (seats or hours lowered)."""
    site = sites[slot.site_id]
    found = []
    if not SEATS.fits(holders.get(slot.slot_id, 0), 0, slot.seats):
        found.append(f"'{slot.slot_id}' has {slot.seats} seat(s) for the {holders[slot.slot_id]} people holding one")
    used = hours_used.get(site.site_id, 0.0)
    if site.supervisor_hours is not None and not SUPERVISION.fits(used, 0.0, site.supervisor_hours):
        found.append(
            f"{site.name} gives {_hours(site.supervisor_hours)} supervisor hours, "
            f"the people placed there today need {_hours(used)}"
        )
    return found


def _reason(
    person: Participant,
    kind: ChangeKind,
    slot_id: str | None,
    slots: Mapping[str, Slot],
    sites: Mapping[str, Site],
    seat_freer: _Freer | None,
    hour_freer: _Freer | None,
    needs: list[Need],
    current_failures: Callable[[Participant, Slot], list[str]],
) -> str:
    pid, today = person.participant_id, person.current_slot_id
    if kind is ChangeKind.UNCHANGED:
        return f"keeps '{today}'"
    if kind is ChangeKind.STILL_WAITING:
        return "no seat this time"
    if kind is ChangeKind.NEW:
        what = f"new: {pid} to '{slot_id}'"
    elif kind is ChangeKind.MOVES:
        what = f"moves {pid} from '{today}' to '{slot_id}'"
    else:
        what = f"takes {pid} out of '{today}'"
    why = ""
    if kind in (ChangeKind.MOVES, ChangeKind.LEAVES):
        assert today is not None
        frees: list[str] = []
        if seat_freer is not None and seat_freer.used_by:
            frees.append(f"frees a seat for {_people(seat_freer.used_by)}")
        if hour_freer is not None and hour_freer.used_by:
            site = sites[slots[today].site_id]
            frees.append(
                f"frees {_hours(hour_freer.amount)} supervisor hours at {site.name} for {_people(hour_freer.used_by)}"
            )
        failures = current_failures(person, slots[today])
        if frees:
            why = " and ".join(frees)
        elif failures:
            why = "the seat held today no longer fits: " + "; ".join(failures)
        else:
            why = "no other change needs the seat it frees"
    text = what + (f": {why}" if why else "")
    if needs:
        text += "; needs " + "; ".join(n.text for n in needs)
    return text


def needs_graph(changes: Mapping[str, Change]) -> dict[str, set[str]]:
    """participant_id -> the participants whose changes it needs directly."""
    return {pid: {n.freed_by for n in change.needs} for pid, change in changes.items()}


def dependencies(needs: Mapping[str, Collection[str]], chosen: Iterable[str]) -> set[str]:
    """Every change the chosen ones need, directly or through others (the chosen ones not included).

    `needs` maps a participant to those whose changes it needs directly (`needs_graph`)."""
    start = set(chosen)
    seen = set(start)
    todo = list(start)
    while todo:
        for other in needs.get(todo.pop(), ()):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen - start


def dependents(needs: Mapping[str, Collection[str]], of: Iterable[str], among: Iterable[str]) -> set[str]:
    """Every change in `among` that needs one of `of`, directly or through others (`of` not included)."""
    needed_by: dict[str, set[str]] = defaultdict(set)
    for pid in set(among):
        for other in needs.get(pid, ()):
            needed_by[other].add(pid)
    return dependencies(needed_by, of)
