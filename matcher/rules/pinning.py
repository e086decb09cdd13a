"""Pinning: a pinned participant keeps `current_slot_id`, even when that pair breaks rules 1–9 (a fact, not a
choice: such pairs are kept with a warning)."""

from __future__ import annotations

import numpy as np

from matcher.compiled import BoolArray, CompiledInstance, IntArray
from matcher.domain import Participant
from matcher.rules.base import Rule


class Pinning(Rule):
    label = "pinned"
    words = "a `pinned` participant keeps `current_slot_id`, even when that pair breaks rules 1–9 (with a warning)"

    def check(self, person: Participant, slot_id: str | None) -> str | None:
        """None when the plan's `slot_id` for the person keeps the rule; otherwise the plan checker's message."""
        if not person.pinned or slot_id == person.current_slot_id:
            return None
        return f"pinned participant {person.participant_id} is not kept in {person.current_slot_id}"

    def holds(self, ci: CompiledInstance, p: IntArray, s: IntArray) -> BoolArray:
        """Per pair: the person is not pinned, or the slot is the one they hold."""
        return np.asarray(~ci.p_pinned[p] | (ci.p_current_slot[p] == s))

    def pinned_people(self, ci: CompiledInstance) -> IntArray:
        """The participants whose pair is a fact: they get no variables in the model."""
        out: IntArray = np.flatnonzero(ci.p_pinned)
        return out


PINNING = Pinning()
