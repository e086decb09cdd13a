"""What would make a place fit: for one person and one slot that is out, the smallest change on each blocking rule.

Each change is worded in the rule's own terms and units ("10 more minutes of travel allowed (52 > 45)") and carries
the edits of the data it stands for (`Edit`: a table, a record's key, a column, the new value), so the change is
exact against the rule units: `apply_edits` makes the edited instance, and `pair_failures`/`room_failures` on it
no longer name the rule (tests/matcher/test_whatif.py checks this, and that one unit less still fails).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from matcher.compiled import CompiledInstance, compile_instance
from matcher.domain import WEEKDAYS, Enterprise, Instance, Participant, Site, Slot
from matcher.reasons import UnknownSlot
from matcher.rules import SEATS, SUPERVISION, PairContext
from matcher.rules.pair import PAIR_RULES
from matcher.suggest import Occupancy, UnknownParticipant, _Room  # room_failures' arithmetic (own seat is free)
from matcher.validation import estimated_minutes

EditValue = int | float | str | bool | frozenset[str] | date | None
DAY_NAMES = dict(
    zip(WEEKDAYS, ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays"), strict=True)
)
HOURS_STEP = 1e-6  # supervisor hours are proposed to the microhour, rounded up (the rule's tolerance is 1e-6 h)


@dataclass(frozen=True, slots=True)
class Edit:
    """One value of the data set changed: `table` (`participants`, `slots` or `sites`), the record's id, the column
    of docs/data-format.md and its new value."""

    table: str
    key: str
    column: str
    value: EditValue


@dataclass(frozen=True, slots=True)
class WhatIfChange:
    """The smallest change on one blocking rule: `rule` (its label), `reason` (why it blocks now, as the rule says
    it), `change` (the change in words), `amount` and `unit` (how much, for a rule with a measure: `min`, `h/week`,
    `years`, `days`, `seats`, `supervisor h`; None for a yes/no change), the `edits` that make it, and
    `alone_suffices` (this change alone lets the person in)."""

    rule: str
    reason: str
    change: str
    amount: float | None
    unit: str
    edits: tuple[Edit, ...]
    alone_suffices: bool


@dataclass(frozen=True, slots=True)
class WhatIf:
    """What would let `participant_id` into `slot_id` on `on`: `fits_now`, every change (one per blocking rule,
    rules 1–9 in the data format's order, then seats, then supervision), and an `explanation` in words."""

    participant_id: str
    slot_id: str
    site_id: str
    on: date
    fits_now: bool
    changes: tuple[WhatIfChange, ...]
    explanation: str


def apply_edits(instance: Instance, edits: tuple[Edit, ...] | list[Edit]) -> Instance:
    """The instance with every edit made (records are frozen: each edited one is replaced)."""
    participants, slots, sites = list(instance.participants), list(instance.slots), list(instance.sites)
    for edit in edits:
        column: dict[str, Any] = {edit.column: edit.value}  # the record's own constructor checks the column
        if edit.table == "participants":
            i = next(i for i, p in enumerate(participants) if p.participant_id == edit.key)
            participants[i] = replace(participants[i], **column)
        elif edit.table == "slots":
            i = next(i for i, s in enumerate(slots) if s.slot_id == edit.key)
            slots[i] = replace(slots[i], **column)
        elif edit.table == "sites":
            i = next(i for i, t in enumerate(sites) if t.site_id == edit.key)
            sites[i] = replace(sites[i], **column)
        else:
            raise ValueError(f"no table '{edit.table}' can be edited")
    return replace(instance, participants=tuple(participants), slots=tuple(slots), sites=tuple(sites))


def _days(days: frozenset[str]) -> str:
    return ", ".join(DAY_NAMES[d] for d in WEEKDAYS if d in days) or "no days"


def _range(low: int | None, high: int | None) -> str:
    return f"{'' if low is None else low}–{'' if high is None else high}"


def _accessibility_words(instance: Instance) -> frozenset[str]:
    """Needs that some site's premises meet in this data set: a missing one is asked of the site, others of the
    slot's supports."""
    return frozenset().union(*(t.accessibility for t in instance.sites))


def _pair_change(rule: str, reason: str, pair: PairContext, premises: frozenset[str]) -> WhatIfChange:
    """The smallest change that makes `pair` keep the rule `rule` (which it breaks)."""
    person, slot, site, enterprise = pair.participant, pair.slot, pair.site, pair.enterprise

    def change(words: str, amount: float | None, unit: str, *edits: Edit) -> WhatIfChange:
        return WhatIfChange(rule, reason, words, amount, unit, tuple(edits), False)

    def slot_edit(column: str, value: EditValue) -> Edit:
        return Edit("slots", slot.slot_id, column, value)

    h = person.hours_per_week
    if rule == "hours_fit":
        if h < slot.min_hours:
            return change(
                f"the slot taking {h} h/week: its minimum {slot.min_hours - h} h lower ({h} < {slot.min_hours})",
                slot.min_hours - h, "h/week", slot_edit("min_hours", h),
            )  # fmt: skip
        return change(
            f"the slot taking {h} h/week: its maximum {h - slot.max_hours} h higher ({h} > {slot.max_hours})",
            h - slot.max_hours, "h/week", slot_edit("max_hours", h),
        )  # fmt: skip
    if rule == "days_overlap":
        day = next(d for d in WEEKDAYS if d in person.days_available) if person.days_available else None
        if day is None:  # the person has no days at all: only their availability can change
            first = next(d for d in WEEKDAYS if d in slot.days)
            return change(
                f"the person available on {DAY_NAMES[first]} (no days recorded)", None, "",
                Edit("participants", person.participant_id, "days_available", frozenset({first})),
            )  # fmt: skip
        return change(
            f"the slot offering {DAY_NAMES[day]} "
            f"(it runs {_days(slot.days)}; the person can {_days(person.days_available)})",
            None, "", slot_edit("days", slot.days | {day}),
        )  # fmt: skip
    if rule == "needs_covered":
        missing = person.needs - (site.accessibility | slot.supports)
        at_site, of_slot = sorted(missing & premises), sorted(missing - premises)
        parts, edits = [], []
        if at_site:
            parts.append(f"{site.name}'s premises meeting {', '.join(at_site)}")
            edits.append(Edit("sites", site.site_id, "accessibility", site.accessibility | frozenset(at_site)))
        if of_slot:
            parts.append(f"the slot giving {', '.join(of_slot)}")
            edits.append(slot_edit("supports", slot.supports | frozenset(of_slot)))
        return change(" and ".join(parts), None, "", *edits)
    if rule == "travel_ok":
        more = pair.minutes - person.max_travel_minutes
        return change(
            f"{more} more minute{'s' if more != 1 else ''} of travel allowed "
            f"({pair.minutes} > {person.max_travel_minutes})",
            more, "min", Edit("participants", person.participant_id, "max_travel_minutes", pair.minutes),
        )  # fmt: skip
    if rule == "programme_ok":
        return change(
            f"the slot open to {person.programme} (reserved for {', '.join(sorted(slot.programmes))})",
            None, "", slot_edit("programmes", slot.programmes | {person.programme}),
        )  # fmt: skip
    if rule == "age_ok":
        limits = _range(slot.min_age, slot.max_age)
        age = person.age
        if age is None:
            return change(
                f"the slot without its age limit {limits} (no age is recorded for the person)", None, "",
                slot_edit("min_age", None), slot_edit("max_age", None),
            )  # fmt: skip
        if slot.min_age is not None and age < slot.min_age:
            return change(
                f"the slot's lowest age {slot.min_age - age} year{'s' if slot.min_age - age != 1 else ''} lower, "
                f"to {age} (age {age}, limit {limits})",
                slot.min_age - age, "years", slot_edit("min_age", age),
            )  # fmt: skip
        assert slot.max_age is not None
        return change(
            f"the slot's highest age {age - slot.max_age} year{'s' if age - slot.max_age != 1 else ''} higher, "
            f"to {age} (age {age}, limit {limits})",
            age - slot.max_age, "years", slot_edit("max_age", age),
        )  # fmt: skip
    if rule == "gender_ok":
        return change("the slot open to everyone, not women only", None, "", slot_edit("women_only", False))
    if rule == "not_avoided":
        return change(
            f"the person no longer avoiding {enterprise.name}", None, "",
            Edit("participants", person.participant_id, "avoid_enterprises",
                 person.avoid_enterprises - {enterprise.enterprise_id}),
        )  # fmt: skip
    if rule == "date_ok":
        if slot.available_from is not None and pair.on < slot.available_from:
            days = (slot.available_from - pair.on).days
            return change(
                f"the slot available {days} day{'s' if days != 1 else ''} earlier, from {pair.on.isoformat()} "
                f"(it opens {slot.available_from.isoformat()})",
                days, "days", slot_edit("available_from", pair.on),
            )  # fmt: skip
        assert slot.available_to is not None
        days = (pair.on - slot.available_to).days
        return change(
            f"the slot available {days} day{'s' if days != 1 else ''} longer, to {pair.on.isoformat()} "
            f"(it closes {slot.available_to.isoformat()})",
            days, "days", slot_edit("available_to", pair.on),
        )  # fmt: skip
    raise ValueError(f"no what-if for rule '{rule}'")


def _room_changes(
    ci: CompiledInstance, p: int, s: int, occupancy: Occupancy, enterprise: Enterprise, site: Site, slot: Slot
) -> list[WhatIfChange]:
    """One more seat and the missing supervisor hours, counted as `room_failures` counts them."""
    room = _Room(ci, p, occupancy.totals(ci))
    changes = []
    taken = room._taken(s)
    if not SEATS.fits(taken, 1, slot.seats):
        more = taken + 1 - slot.seats
        changes.append(
            WhatIfChange(
                SEATS.label,
                SEATS.refusal(taken, 1, slot.seats),
                f"{'one more seat' if more == 1 else f'{more} more seats'} at {enterprise.name}'s {slot.activity} "
                f"({site.name}; {taken} of {slot.seats} taken)",
                more,
                "seats",
                (Edit("slots", slot.slot_id, "seats", taken + 1),),
                False,
            )  # fmt: skip
        )
    limit = site.supervisor_hours
    if limit is not None:
        used, need = room._used(int(ci.s_site[s])), room._need(s)
        if not SUPERVISION.fits(used, need, limit):
            new_limit = math.ceil(round((used + need) / HOURS_STEP, 3)) * HOURS_STEP
            new_limit = float(f"{new_limit:.6f}")
            extra = round(new_limit - limit, 6)
            changes.append(
                WhatIfChange(
                    SUPERVISION.label,
                    SUPERVISION.refusal(used, need, limit),
                    f"{extra:g} more supervisor hours at {site.name} "
                    f"({used:g} h of {limit:g} h used, {need:g} h needed)",
                    extra,
                    "supervisor h",
                    (Edit("sites", site.site_id, "supervisor_hours", new_limit),),
                    False,
                )  # fmt: skip
            )
    return changes


def what_if(
    instance: Instance | CompiledInstance, participant_id: str, slot_id: str, on: date,
    occupancy: Occupancy | None = None,
) -> WhatIf:  # fmt: skip
    """The smallest change on each rule that keeps `participant_id` out of `slot_id` on `on` (rules 1–9, then the
    seat and the supervisor hours under `occupancy`, by default the instance's `current_slot_id`s), each with the
    data edits it stands for and whether it alone would let the person in. Raises `UnknownParticipant` or
    `UnknownSlot` for an id the instance lacks."""
    ci = instance if isinstance(instance, CompiledInstance) else compile_instance(instance)
    inst = ci.instance
    if participant_id not in ci.participant_index:
        raise UnknownParticipant(participant_id)
    if slot_id not in ci.slot_index:
        raise UnknownSlot(slot_id)
    p, s = ci.participant_index[participant_id], ci.slot_index[slot_id]
    person: Participant = inst.participants[p]
    slot = inst.slots[s]
    site = inst.sites[ci.site_index[slot.site_id]]
    enterprise = next(e for e in inst.enterprises if e.enterprise_id == site.enterprise_id)
    minutes = next(
        (t.minutes for t in inst.travel_times if t.participant_id == participant_id and t.site_id == site.site_id),
        None,
    )
    pair = PairContext(
        person, slot, site, enterprise, estimated_minutes(person, site) if minutes is None else minutes, on
    )
    premises = _accessibility_words(inst)
    changes: list[WhatIfChange] = []
    for rule in PAIR_RULES:
        message = rule.check(pair)
        if message is not None:
            changes.append(_pair_change(rule.label, message, pair, premises))
    changes += _room_changes(ci, p, s, occupancy or Occupancy.from_instance(ci), enterprise, site, slot)
    alone = len(changes) == 1
    changes = [replace(c, alone_suffices=alone) for c in changes]
    where = f"{slot_id} ({slot.activity} at {enterprise.name}, {site.name})"
    if not changes:
        explanation = f"{participant_id} already fits {where}: nothing needs to change."
    elif alone:
        explanation = f"{participant_id} would fit {where} with this one change: {changes[0].change}."
    else:
        explanation = (
            f"{participant_id} is kept out of {where} by {len(changes)} rules; "
            + (
                "both changes are needed, neither suffices alone: "
                if len(changes) == 2
                else f"all {len(changes)} changes are needed, none suffices alone: "
            )
            + "; ".join(c.change for c in changes)
            + "."
        )
    return WhatIf(participant_id, slot_id, site.site_id, on, not changes, tuple(changes), explanation)
