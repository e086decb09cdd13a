"""The what-if is exact against the rule units: each change, applied to the data, removes its rule from the pair's
failures; all changes together make the pair feasible with a seat and hours free; a change one unit smaller does
not suffice; and `alone_suffices` is true exactly when the one change lets the person in."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

import pytest

import matcher
from matcher.whatif import Edit, apply_edits, what_if

ON = date(2026, 11, 23)
KEYS = {"participants": "participant_id", "slots": "slot_id", "sites": "site_id"}


def _failures(instance: matcher.Instance, person: str, slot: str) -> list[str]:
    ci = matcher.compile_instance(instance)
    reasons = matcher.pair_failures(ci, person, slot, ON) + matcher.room_failures(ci, person, slot)
    return [r.rule for r in reasons]


def _smaller(edit: Edit, unit: str, original: object) -> Edit:
    """The edit one unit short of the proposed change (towards the original value)."""
    value = edit.value
    if isinstance(value, date):
        step = 1 if isinstance(original, date) and original > value else -1
        return replace(edit, value=date.fromordinal(value.toordinal() + step))
    assert isinstance(value, (int, float)) and isinstance(original, (int, float))
    # Supervisor hours are proposed to the microhour; the rule itself forgives 1e-6 h, so 2e-6 h less must fail.
    step = 2e-6 if unit == "supervisor h" else 1
    return replace(edit, value=value - step if original < value else value + step)


def _instances() -> list[matcher.Instance]:
    out = [matcher.sample_region(participants=60, seed=3)]
    for seed, scenario in ((1, "tight"), (2, "default")):
        inst = matcher.synthetic_instance(80, seed=seed, scenario=scenario, slots=20, sites=8)
        # Fill some seats with holders, so that seats and supervision can block too.
        rng = random.Random(seed)
        people = list(inst.participants)
        for i in rng.sample(range(len(people)), 25):
            slot = rng.choice(inst.slots)
            people[i] = replace(people[i], current_slot_id=slot.slot_id)
        taken: dict[str, int] = {}
        for p in people:
            if p.current_slot_id:
                taken[p.current_slot_id] = taken.get(p.current_slot_id, 0) + 1
        slots = tuple(replace(s, seats=max(s.seats, taken.get(s.slot_id, 0))) for s in inst.slots)
        sites = tuple(replace(t, supervisor_hours=None) for t in inst.sites)  # holders may not overrun a limit
        out.append(replace(inst, participants=tuple(people), slots=slots, sites=sites))
        # and one with tight supervision that the holders keep
        out.append(replace(inst, participants=tuple(people), slots=slots))
    return out


@pytest.mark.parametrize("instance", _instances(), ids=lambda i: f"{len(i.participants)}p")
def test_each_change_is_exact_and_smallest(instance: matcher.Instance) -> None:
    rng = random.Random(len(instance.participants))
    ci = matcher.compile_instance(instance)
    seen: set[str] = set()
    for _ in range(120):
        person = rng.choice(instance.participants).participant_id
        slot = rng.choice(instance.slots).slot_id
        result = what_if(ci, person, slot, ON)
        before = _failures(instance, person, slot)
        assert [c.rule for c in result.changes] == before
        assert result.fits_now is (before == [])
        all_edits = [e for c in result.changes for e in c.edits]
        assert _failures(apply_edits(instance, all_edits), person, slot) == []
        for change in result.changes:
            seen.add(change.rule)
            after = _failures(apply_edits(instance, change.edits), person, slot)
            assert change.rule not in after
            assert change.alone_suffices is (after == [])
            assert change.alone_suffices is (len(result.changes) == 1)
            if change.amount is not None:
                assert change.amount > 0
                edit = change.edits[0]
                record = {"participants": instance.participants, "slots": instance.slots, "sites": instance.sites}
                original = next(
                    getattr(r, edit.column) for r in record[edit.table]
                    if getattr(r, KEYS[edit.table]) == edit.key
                )  # fmt: skip
                short = _smaller(edit, change.unit, original)
                assert change.rule in _failures(apply_edits(instance, [short]), person, slot), change
    assert "travel_ok" in seen


def test_wording_in_the_rules_units() -> None:
    inst = matcher.sample_region(participants=60, seed=3)
    person = inst.participants[0]
    slot = inst.slots[0]
    site = next(t for t in inst.sites if t.site_id == slot.site_id)
    person = replace(
        person, hours_per_week=slot.min_hours, days_available=frozenset({"tue"}), needs=frozenset({"wheelchair"}),
        max_travel_minutes=0, programme="SAMRE",
    )  # fmt: skip
    slot = replace(
        slot,
        days=frozenset({"mon", "wed"}),
        seats=1,
        programmes=frozenset(),
        women_only=False,
        min_age=None,
        max_age=None,
        available_from=None,
        available_to=None,
        supports=frozenset(),
    )
    site = replace(site, accessibility=frozenset({"quiet_room"}), supervisor_hours=None)
    holder = replace(inst.participants[1], current_slot_id=slot.slot_id, participant_id="HOLDER")
    others = tuple(p for p in inst.participants[2:] if p.current_slot_id is None)
    inst = replace(
        inst, participants=(person, holder, *others),
        slots=(slot, *inst.slots[1:]), sites=tuple(site if t.site_id == site.site_id else t for t in inst.sites),
    )  # fmt: skip
    result = what_if(inst, person.participant_id, slot.slot_id, ON)
    words = {c.rule: c.change for c in result.changes}
    assert words["days_overlap"].startswith("the slot offering Tuesdays")
    assert "wheelchair" in words["needs_covered"]
    assert "more minutes of travel allowed" in words["travel_ok"]
    assert words["seats_free"].startswith("one more seat at ")
    assert "(" in words["seats_free"] and "1 of 1 taken" in words["seats_free"]
    assert not result.fits_now and not any(c.alone_suffices for c in result.changes)
    assert "none suffices alone" in result.explanation


def test_unknown_ids() -> None:
    inst = matcher.sample_region(participants=10, seed=0)
    with pytest.raises(matcher.UnknownParticipant):
        what_if(inst, "NOBODY", inst.slots[0].slot_id, ON)
    with pytest.raises(matcher.UnknownSlot):
        what_if(inst, inst.participants[0].participant_id, "NOSLOT", ON)
