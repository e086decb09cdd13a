"""Why one person cannot have one slot: the rules the pair breaks, and the room the slot lacks for them.

Thin public doors to what the plan checker and the suggestions use (the plain-Python rules in `matcher.rules`, the
checker's travel arithmetic, the suggestions' seats-and-supervision count), so a caller outside the core gets the
same reasons, worded the same, without reaching into those modules.
"""

from __future__ import annotations

from datetime import date

from matcher.compiled import CompiledInstance
from matcher.domain import Instance
from matcher.plan import RuleFailure
from matcher.rules import PairContext, rule_failures
from matcher.suggest import Occupancy, UnknownParticipant, _Room
from matcher.validation import estimated_minutes


class UnknownSlot(KeyError):
    pass


def pair_failures(
    instance: Instance | CompiledInstance, participant_id: str, slot_id: str, on: date
) -> list[RuleFailure]:
    """Every rule of 1–9 the pair breaks on date `on`, in the data format's order; empty when the pair is feasible.

    Travel is the data set's `travel_times` minutes for the pair when given, else the data format's estimate.
    Raises `UnknownParticipant` or `UnknownSlot` for an id the instance lacks.
    """
    inst = instance.instance if isinstance(instance, CompiledInstance) else instance
    person = next((p for p in inst.participants if p.participant_id == participant_id), None)
    if person is None:
        raise UnknownParticipant(participant_id)
    slot = next((s for s in inst.slots if s.slot_id == slot_id), None)
    if slot is None:
        raise UnknownSlot(slot_id)
    site = next(t for t in inst.sites if t.site_id == slot.site_id)
    enterprise = next(e for e in inst.enterprises if e.enterprise_id == site.enterprise_id)
    minutes = next(
        (t.minutes for t in inst.travel_times if t.participant_id == participant_id and t.site_id == site.site_id),
        None,
    )
    if minutes is None:
        minutes = estimated_minutes(person, site)
    return rule_failures(PairContext(person, slot, site, enterprise, minutes, on))


def room_failures(
    compiled: CompiledInstance, participant_id: str, slot_id: str, occupancy: Occupancy | None = None
) -> list[RuleFailure]:
    """What the slot lacks for the person under `occupancy` (by default the instance's `current_slot_id`s):
    `seats_free` (no seat left) and `supervision_free` (the site's supervisor hours would be exceeded). The person's
    own seat counts as free for them. Empty when there is room; the rules 1–9 are `pair_failures`."""
    if participant_id not in compiled.participant_index:
        raise UnknownParticipant(participant_id)
    if slot_id not in compiled.slot_index:
        raise UnknownSlot(slot_id)
    occupancy = occupancy or Occupancy.from_instance(compiled)
    room = _Room(compiled, compiled.participant_index[participant_id], occupancy.totals(compiled))
    return room.failures(compiled.slot_index[slot_id])
