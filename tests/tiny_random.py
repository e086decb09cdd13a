"""Tiny random instances for brute-force checks of the decision-support answers: few enough people and slots that
every assignment can be enumerated, varied enough that seats, supervision, days, programmes and travel all bind."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import date

import matcher

ON = date(2026, 11, 23)
PROGRAMMES = ("MIA", "SAMRE")
MUNICIPALITIES = ("Sigtuna", "Haninge")


def tiny_instance(seed: int, people: int = 6, slots: int = 3) -> matcher.Instance:
    rng = random.Random(seed)
    enterprises = (matcher.Enterprise("E1", "Ettan", "Sigtuna"), matcher.Enterprise("E2", "Tvåan", "Haninge"))
    sites = (
        matcher.Site(
            "T1", "E1", "Site one", "Sigtuna", 59.60, 17.85, frozenset({"wheelchair"}), rng.choice((None, 4.0, 6.5))
        ),
        matcher.Site("T2", "E2", "Site two", "Haninge", 59.20, 18.10, frozenset(), rng.choice((None, 3.0))),
    )  # fmt: skip
    slot_rows = []
    for s in range(slots):
        slot_rows.append(
            matcher.Slot(
                f"S{s + 1}",
                sites[s % 2].site_id,
                f"activity_{s + 1}",
                rng.randint(1, 2),
                rng.choice((5, 10)),
                30,
                frozenset(rng.sample(matcher.WEEKDAYS[:5], 3)),
                programmes=frozenset({rng.choice(PROGRAMMES)}) if rng.random() < 0.3 else frozenset(),
            )  # fmt: skip
        )
    participants = []
    for p in range(people):
        home = rng.choice(sites)
        participants.append(
            matcher.Participant(
                f"P{p + 1}",
                rng.choice(PROGRAMMES),
                home.municipality,
                home.lat + rng.uniform(-0.05, 0.05),
                home.lon + rng.uniform(-0.05, 0.05),
                rng.choice((5, 8, 10, 15)),
                frozenset(rng.sample(matcher.WEEKDAYS[:5], 2)),
                rng.choice((30, 60, 120)),
                age=rng.randint(18, 60),
                gender=rng.choice(("f", "m")),
                needs=frozenset({"wheelchair"}) if rng.random() < 0.2 else frozenset(),
                preferences=tuple(rng.sample([s.activity for s in slot_rows], 2)),
                waiting_since=date(2026, rng.randint(1, 10), 1),
            )  # fmt: skip
        )
    return matcher.Instance(enterprises, sites, tuple(slot_rows), tuple(participants))


def assignments(instance: matcher.Instance) -> Iterator[dict[str, str | None]]:
    """Every assignment that keeps every rule, seat and supervision limit (by the plan checker)."""
    options = []
    for person in instance.participants:
        fits = [
            s.slot_id
            for s in instance.slots
            if not matcher.pair_failures(instance, person.participant_id, s.slot_id, ON)
        ]
        options.append([None, *fits])
    ids = [p.participant_id for p in instance.participants]
    for choice in itertools.product(*options):
        assignment = dict(zip(ids, choice, strict=True))
        if not matcher.check_plan(instance, assignment, ON):
            yield assignment
