"""The nine feasibility rules, each on its own at its boundary, in the array form and the plain form.

Every case builds one participant and one slot that differ from a feasible pair only in what the rule reads, then
asks both `matcher.feasible_pairs` (arrays, via `compile_instance`) and `matcher.rules.rule_failures` (plain Python).
Both must agree, and the plain form must blame the expected rule and no other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest

from matcher import RULES, Instance, candidates, compile_instance, feasible_pairs
from matcher.feasibility import rule_checks
from matcher.plan import RuleFailure
from matcher.rules import PairContext, rule_failures
from tests.factories import (
    HOME,
    PLAN_DATE,
    make_enterprise,
    make_instance,
    make_participant,
    make_site,
    make_slot,
    make_travel,
)

D = PLAN_DATE


def _estimate(person_lat: float, person_lon: float, site_lat: float, site_lon: float, mode: str) -> int:
    """The spec's estimate, written out here: haversine on R = 6371.0 km, detour 1.3, speed and overhead by mode."""
    speed, overhead = {"transit": (22.0, 10.0), "car": (40.0, 5.0), "bike": (14.0, 0.0), "walk": (4.5, 0.0)}[mode]
    p1, p2 = math.radians(person_lat), math.radians(site_lat)
    dp, dl = p2 - p1, math.radians(site_lon - person_lon)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    km = 2 * 6371.0 * math.asin(math.sqrt(a))
    return math.ceil(km * 1.3 / speed * 60 + overhead)


def _minutes(instance: Instance, p: int, s: int) -> int:
    person, slot = instance.participants[p], instance.slots[s]
    site = next(t for t in instance.sites if t.site_id == slot.site_id)
    for travel in instance.travel_times:
        if (travel.participant_id, travel.site_id) == (person.participant_id, site.site_id):
            return travel.minutes
    return _estimate(person.lat, person.lon, site.lat, site.lon, person.travel_mode)


def plain_failures(instance: Instance, p: int = 0, s: int = 0, on: date = D) -> list[RuleFailure]:
    person, slot = instance.participants[p], instance.slots[s]
    site = next(t for t in instance.sites if t.site_id == slot.site_id)
    enterprise = next(e for e in instance.enterprises if e.enterprise_id == site.enterprise_id)
    return rule_failures(PairContext(person, slot, site, enterprise, _minutes(instance, p, s), on))


def array_pairs(instance: Instance, on: date = D) -> set[tuple[int, int]]:
    pairs = feasible_pairs(compile_instance(instance), on)
    return set(zip(pairs.participant.tolist(), pairs.slot.tolist(), strict=True))


def array_failed_rules(instance: Instance, on: date = D) -> list[str]:
    """The rules the array form says pair (0, 0) breaks, read from its per-rule verdicts."""
    ci = compile_instance(instance)
    p, s = np.array([0]), np.array([0])
    minutes = np.array([_minutes(instance, 0, 0)])
    checks = rule_checks(ci, p, s, minutes, on)
    assert set(checks) == set(RULES)
    return [name for name in RULES if not bool(checks[name][0])]


@dataclass
class Case:
    id: str
    expected: str | None  # the rule that must fail, or None when the pair is feasible
    participant: dict[str, Any] = field(default_factory=dict)
    slot: dict[str, Any] = field(default_factory=dict)
    site: dict[str, Any] = field(default_factory=dict)
    travel: int | None = None  # a journey-planner override for the pair
    on: date = D

    def instance(self) -> Instance:
        person = make_participant(**self.participant)
        travel = [make_travel(person.participant_id, "t1", self.travel)] if self.travel is not None else []
        return make_instance(
            [person],
            [make_slot(**self.slot)],
            sites=[make_site(**self.site)],
            enterprises=[make_enterprise("e1"), make_enterprise("e2")],
            travel_times=travel,
        )


CASES = [
    # 1. hours: slot takes 10–30 h
    Case("hours at min", None, {"hours_per_week": 10}),
    Case("hours at max", None, {"hours_per_week": 30}),
    Case("hours one below min", "hours_fit", {"hours_per_week": 9}),
    Case("hours one above max", "hours_fit", {"hours_per_week": 31}),
    Case("hours min equals max", None, {"hours_per_week": 12}, {"min_hours": 12, "max_hours": 12}),
    # 2. days
    Case("one common day", None, {"days_available": "fri|sat"}, {"days": "mon|fri"}),
    Case("no common day", "days_overlap", {"days_available": "sat|sun"}, {"days": "mon|tue|wed|thu|fri"}),
    Case("person with no days", "days_overlap", {"days_available": ""}),
    Case("slot with no days", "days_overlap", {}, {"days": ""}),
    # 3. needs
    Case("no needs", None, {"needs": ""}),
    Case("need met by the site", None, {"needs": "wheelchair"}, {}, {"accessibility": "wheelchair|quiet_room"}),
    Case("need met by the slot", None, {"needs": "npf_supervisor"}, {"supports": "npf_supervisor"}),
    Case(
        "needs met by site and slot together", None,
        {"needs": "wheelchair|npf_supervisor"}, {"supports": "npf_supervisor"}, {"accessibility": "wheelchair"},
    ),
    Case(
        "one need missing", "needs_covered",
        {"needs": "wheelchair|npf_supervisor|swedish_support"}, {"supports": "npf_supervisor"},
        {"accessibility": "wheelchair"},
    ),
    Case("need only named by the other side", "needs_covered", {"needs": "quiet_room"}, {"supports": "wheelchair"}),
    # 4. travel, the minutes set by a journey-planner override
    Case("travel exactly at the limit", None, {"max_travel_minutes": 45}, travel=45),
    Case("travel one minute over", "travel_ok", {"max_travel_minutes": 45}, travel=46),
    Case("travel override of zero", None, {"max_travel_minutes": 1}, travel=0),
    Case(
        "override makes a far site reachable", None,
        {"max_travel_minutes": 30}, {}, {"lat": HOME[0] + 3.0}, travel=30,
    ),
    Case("override makes a near site unreachable", "travel_ok", {"max_travel_minutes": 60}, travel=61),
    Case("estimate over the limit", "travel_ok", {"max_travel_minutes": 60}, {}, {"lat": HOME[0] + 1.0}),
    # 5. programmes
    Case("slot open to any programme", None, {"programme": "MIA"}, {"programmes": ""}),
    Case("programme listed", None, {"programme": "MIA"}, {"programmes": "SAMRE|MIA"}),
    Case("programme not listed", "programme_ok", {"programme": "SamMA"}, {"programmes": "SAMRE|MIA"}),
    Case("programme codes are case-sensitive", "programme_ok", {"programme": "samre"}, {"programmes": "SAMRE"}),
    # 6. age, slot takes 18–29
    Case("age at min", None, {"age": 18}, {"min_age": 18, "max_age": 29}),
    Case("age at max", None, {"age": 29}, {"min_age": 18, "max_age": 29}),
    Case("age one below min", "age_ok", {"age": 17}, {"min_age": 18, "max_age": 29}),
    Case("age one above max", "age_ok", {"age": 30}, {"min_age": 18, "max_age": 29}),
    Case("no age and an age limit", "age_ok", {"age": None}, {"min_age": 18, "max_age": 29}),
    Case("no age and only a max age", "age_ok", {"age": None}, {"max_age": 29}),
    Case("no age and no limit", None, {"age": None}),
    Case("only min age set", None, {"age": 80}, {"min_age": 16}),
    Case("min age zero", None, {"age": 0}, {"min_age": 0, "max_age": 0}),
    # 7. women only
    Case("women only, f", None, {"gender": "f"}, {"women_only": True}),
    Case("women only, m", "gender_ok", {"gender": "m"}, {"women_only": True}),
    Case("women only, x", "gender_ok", {"gender": "x"}, {"women_only": True}),
    Case("women only, no gender", "gender_ok", {"gender": None}, {"women_only": True}),
    Case("open slot, m", None, {"gender": "m"}, {"women_only": False}),
    Case("open slot, no gender", None, {"gender": None}, {"women_only": False}),
    # 8. avoided enterprises
    Case("avoids this enterprise", "not_avoided", {"avoid_enterprises": "e1"}),
    Case("avoids this and another", "not_avoided", {"avoid_enterprises": "e2|e1"}),
    Case("avoids another enterprise", None, {"avoid_enterprises": "e2"}),
    Case("avoids an unknown enterprise", None, {"avoid_enterprises": "nowhere"}),
    # 9. plan date within the slot's window
    Case("date at available_from", None, {}, {"available_from": D, "available_to": D + timedelta(days=30)}),
    Case("date at available_to", None, {}, {"available_from": D - timedelta(days=30), "available_to": D}),
    Case("date window of one day", None, {}, {"available_from": D, "available_to": D}),
    Case("date a day before available_from", "date_ok", {}, {"available_from": D + timedelta(days=1)}),
    Case("date a day after available_to", "date_ok", {}, {"available_to": D - timedelta(days=1)}),
    Case("open window", None, {}, {}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_at_its_boundary(case: Case) -> None:
    instance = case.instance()
    failures = plain_failures(instance, on=case.on)
    feasible = (0, 0) in array_pairs(instance, on=case.on)
    if case.expected is None:
        assert failures == []
        assert feasible
        assert array_failed_rules(instance, on=case.on) == []
    else:
        assert [f.rule for f in failures] == [case.expected]
        assert failures[0].message  # every failure is explained in words
        assert not feasible
        assert array_failed_rules(instance, on=case.on) == [case.expected]


def test_the_factory_pair_is_feasible_so_each_case_isolates_one_rule() -> None:
    instance = make_instance()
    assert plain_failures(instance) == []
    assert array_pairs(instance) == {(0, 0)}


def test_rule_labels_are_the_specs_order() -> None:
    assert RULES == (
        "hours_fit", "days_overlap", "needs_covered", "travel_ok", "programme_ok",
        "age_ok", "gender_ok", "not_avoided", "date_ok",
    )  # fmt: skip


def test_several_broken_rules_are_all_named_in_order() -> None:
    instance = Case(
        "many", None, {"hours_per_week": 5, "gender": "m", "avoid_enterprises": "e1"}, {"women_only": True}, travel=999
    ).instance()
    assert [f.rule for f in plain_failures(instance)] == ["hours_fit", "travel_ok", "gender_ok", "not_avoided"]
    assert array_failed_rules(instance) == ["hours_fit", "travel_ok", "gender_ok", "not_avoided"]


def test_failure_messages_name_the_values() -> None:
    travel = plain_failures(Case("t", None, {"max_travel_minutes": 45}, travel=52).instance())
    assert travel == [RuleFailure("travel_ok", "travel 52 min > 45 min")]
    needs = plain_failures(Case("n", None, {"needs": "wheelchair|quiet_room"}, {"supports": "quiet_room"}).instance())
    assert (
        needs[0].rule == "needs_covered" and "wheelchair" in needs[0].message and "quiet_room" not in needs[0].message
    )
    hours = plain_failures(Case("h", None, {"hours_per_week": 35}).instance())
    assert "35" in hours[0].message and "10" in hours[0].message and "30" in hours[0].message


# --- the travel estimate ------------------------------------------------------------------------------------------

# 0.1 degree of latitude on a sphere of 6371.0 km is 11.1195 km; times 1.3 / speed * 60 + overhead:
# transit 49.42 -> 50, car 26.68 -> 27, bike 61.95 -> 62, walk 192.74 -> 193 (none close to a whole number).
ESTIMATES = {"transit": 50, "car": 27, "bike": 62, "walk": 193}


@pytest.mark.parametrize("mode", sorted(ESTIMATES))
def test_travel_estimate_per_mode(mode: str) -> None:
    expected = ESTIMATES[mode]
    site = make_site(lat=59.0 + 0.1, lon=18.0)
    assert _estimate(59.0, 18.0, 59.1, 18.0, mode) == expected  # the hand formula agrees with the worked numbers

    at_limit = make_participant(lat=59.0, lon=18.0, travel_mode=mode, max_travel_minutes=expected)
    instance = make_instance([at_limit], [make_slot()], sites=[site])
    pairs = feasible_pairs(compile_instance(instance), D)
    assert pairs.minutes.tolist() == [expected]
    assert [r.travel_minutes for r in candidates(instance, D)] == [expected]
    assert plain_failures(instance) == []

    one_short = make_participant(lat=59.0, lon=18.0, travel_mode=mode, max_travel_minutes=expected - 1)
    instance = make_instance([one_short], [make_slot()], sites=[site])
    assert len(feasible_pairs(compile_instance(instance), D)) == 0
    assert plain_failures(instance) == [RuleFailure("travel_ok", f"travel {expected} min > {expected - 1} min")]


def test_travel_estimate_at_zero_distance_is_the_overhead() -> None:
    people = [
        make_participant(participant_id=f"p_{mode}", travel_mode=mode, max_travel_minutes=30)
        for mode in ("transit", "car", "bike", "walk")
    ]
    rows = candidates(make_instance(people, [make_slot(seats=4)]), D)
    assert {r.participant_id: r.travel_minutes for r in rows} == {"p_transit": 10, "p_car": 5, "p_bike": 0, "p_walk": 0}


def test_override_wins_over_the_estimate_in_both_directions() -> None:
    near = make_site(site_id="near")
    far = make_site(site_id="far", lat=HOME[0] + 2.0)  # ~222 km: far beyond any estimate within 60 min
    person = make_participant(max_travel_minutes=60)
    instance = make_instance(
        [person],
        [make_slot(slot_id="s_near", site_id="near"), make_slot(slot_id="s_far", site_id="far")],
        sites=[near, far],
        travel_times=[make_travel("p1", "near", 90), make_travel("p1", "far", 15)],
    )
    rows = candidates(instance, D)
    assert [(r.slot_id, r.travel_minutes) for r in rows] == [("s_far", 15)]


# --- the array form against a slow loop -------------------------------------------------------------------------


def _random_instance(seed: int, n_people: int = 300, n_sites: int = 12, n_slots: int = 36) -> Instance:
    rng = np.random.default_rng(seed)
    weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    needs_pool = ["wheelchair", "quiet_room", "npf_supervisor", "swedish_support"]
    programmes = ["SAMRE", "MIA", "SamMA"]
    activities = ["sewing", "furniture_renovation", "second_hand_shop", "cooking"]

    def subset(pool: list[str], p: float) -> list[str]:
        return [x for x in pool if rng.random() < p]

    enterprises = [make_enterprise(f"e{i}") for i in range(4)]
    sites = [
        make_site(
            site_id=f"t{i}", enterprise_id=f"e{i % 4}", lat=59.3 + rng.uniform(-0.5, 0.5),
            lon=18.0 + rng.uniform(-0.8, 0.8), accessibility=subset(needs_pool, 0.4),
        )
        for i in range(n_sites)
    ]  # fmt: skip
    slots = []
    for i in range(n_slots):
        low = int(rng.integers(0, 25))
        min_age = int(rng.integers(16, 30)) if rng.random() < 0.3 else None
        max_age = int(rng.integers(30, 66)) if rng.random() < 0.3 else None
        start = D + timedelta(days=int(rng.integers(-60, 10))) if rng.random() < 0.3 else None
        end = D + timedelta(days=int(rng.integers(-10, 60))) if rng.random() < 0.3 else None
        slots.append(
            make_slot(
                slot_id=f"s{i}", site_id=f"t{int(rng.integers(n_sites))}", activity=str(rng.choice(activities)),
                seats=int(rng.integers(0, 4)), min_hours=low, max_hours=int(rng.integers(low, 41)),
                days=subset(weekdays, 0.5), supports=subset(needs_pool, 0.3),
                programmes=subset(programmes, 0.3) if rng.random() < 0.4 else [],
                min_age=min_age, max_age=max_age, women_only=bool(rng.random() < 0.2),
                available_from=start, available_to=end,
            )
        )  # fmt: skip
    people = []
    for i in range(n_people):
        people.append(
            make_participant(
                participant_id=f"p{i}", programme=str(rng.choice(programmes)),
                lat=59.3 + rng.uniform(-0.6, 0.6), lon=18.0 + rng.uniform(-1.0, 1.0),
                age=int(rng.integers(16, 67)) if rng.random() < 0.85 else None,
                gender=[None, "f", "m", "x"][int(rng.integers(4))], hours_per_week=int(rng.integers(1, 41)),
                days_available=subset(weekdays, 0.6), max_travel_minutes=int(rng.integers(10, 121)),
                travel_mode=str(rng.choice(["transit", "car", "bike", "walk"])), needs=subset(needs_pool, 0.15),
                avoid_enterprises=subset([e.enterprise_id for e in enterprises], 0.1),
            )
        )  # fmt: skip
    # Overrides both ways: far sites made reachable, near sites made unreachable, and some exactly at the limit.
    travel = []
    for person in people:
        for site in sites:
            estimate = _estimate(person.lat, person.lon, site.lat, site.lon, person.travel_mode)
            if estimate > person.max_travel_minutes and rng.random() < 0.05:
                travel.append(
                    make_travel(
                        person.participant_id, site.site_id, int(rng.integers(0, person.max_travel_minutes + 1))
                    )
                )
            elif estimate <= person.max_travel_minutes and rng.random() < 0.2:
                travel.append(
                    make_travel(
                        person.participant_id, site.site_id, person.max_travel_minutes + int(rng.integers(1, 30))
                    )
                )
            elif rng.random() < 0.02:
                travel.append(make_travel(person.participant_id, site.site_id, person.max_travel_minutes))
    return make_instance(people, slots, sites=sites, enterprises=enterprises, travel_times=travel)


def _slow_pairs(instance: Instance, on: date) -> dict[tuple[int, int], int]:
    """Every feasible pair and its minutes, one pair at a time, straight from the spec."""
    sites = {t.site_id: t for t in instance.sites}
    enterprise_of = {t.site_id: t.enterprise_id for t in instance.sites}
    overrides = {(t.participant_id, t.site_id): t.minutes for t in instance.travel_times}
    out: dict[tuple[int, int], int] = {}
    for p, person in enumerate(instance.participants):
        for s, slot in enumerate(instance.slots):
            site = sites[slot.site_id]
            minutes = overrides.get((person.participant_id, site.site_id))
            if minutes is None:
                minutes = _estimate(person.lat, person.lon, site.lat, site.lon, person.travel_mode)
            ok = (
                slot.min_hours <= person.hours_per_week <= slot.max_hours
                and bool(person.days_available & slot.days)
                and person.needs <= (site.accessibility | slot.supports)
                and minutes <= person.max_travel_minutes
                and (not slot.programmes or person.programme in slot.programmes)
                and (slot.min_age is None or (person.age is not None and person.age >= slot.min_age))
                and (slot.max_age is None or (person.age is not None and person.age <= slot.max_age))
                and (not slot.women_only or person.gender == "f")
                and enterprise_of[site.site_id] not in person.avoid_enterprises
                and (slot.available_from is None or slot.available_from <= on)
                and (slot.available_to is None or on <= slot.available_to)
            )
            if ok:
                out[(p, s)] = minutes
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_array_form_equals_a_slow_loop_on_a_random_instance(seed: int) -> None:
    instance = _random_instance(seed)
    expected = _slow_pairs(instance, D)
    assert len(expected) > 100  # the instance is not trivially empty
    # and its overrides matter both ways: some pairs exist only through them, some only without them
    overrides = {(t.participant_id, t.site_id): t.minutes for t in instance.travel_times}
    without = _slow_pairs(Instance(instance.enterprises, instance.sites, instance.slots, instance.participants), D)
    assert set(expected) - set(without) and set(without) - set(expected)
    assert overrides

    pairs = feasible_pairs(compile_instance(instance), D)
    got = dict(
        zip(zip(pairs.participant.tolist(), pairs.slot.tolist(), strict=True), pairs.minutes.tolist(), strict=True)
    )
    assert len(got) == len(pairs)  # no pair twice
    assert sorted(got) == sorted(expected)
    assert got == expected
    assert list(zip(pairs.participant.tolist(), pairs.slot.tolist(), strict=True)) == sorted(got)  # sorted p, s

    # The plain form agrees pair by pair, on a sample of pairs both feasible and not.
    rng = np.random.default_rng(seed)
    for p, s in zip(rng.integers(0, 300, 400).tolist(), rng.integers(0, 36, 400).tolist(), strict=True):
        assert (plain_failures(instance, p, s) == []) == ((p, s) in expected), (p, s)


def test_array_form_for_some_participants_equals_the_whole() -> None:
    instance = _random_instance(4)
    ci = compile_instance(instance)
    whole = feasible_pairs(ci, D)
    chosen = np.array([3, 17, 150, 299])
    part = feasible_pairs(ci, D, participants=chosen)
    keep = np.isin(whole.participant, chosen)
    assert part.participant.tolist() == whole.participant[keep].tolist()
    assert part.slot.tolist() == whole.slot[keep].tolist()
    assert part.minutes.tolist() == whole.minutes[keep].tolist()
    assert part.score.tolist() == whole.score[keep].tolist()


def test_small_instance_uses_the_same_rules_as_a_large_one() -> None:
    # Fewer than 64 people take a dense scan instead of the KD-tree; both must give the same pairs.
    instance = _random_instance(5, n_people=40)
    pairs = feasible_pairs(compile_instance(instance), D)
    got = dict(
        zip(zip(pairs.participant.tolist(), pairs.slot.tolist(), strict=True), pairs.minutes.tolist(), strict=True)
    )
    assert got == _slow_pairs(instance, D)


@pytest.mark.parametrize("mode", ["transit", "car", "bike", "walk"])
def test_estimate_exactly_at_the_limit_is_kept_by_the_spatial_search(mode: str) -> None:
    # More than 64 people takes the KD-tree path; each person's limit is exactly their estimate to the one site,
    # including distances just inside the reach (x.999 minutes) — none may be lost, and one minute less drops all.
    site = make_site(lat=59.0, lon=18.0)
    rng = np.random.default_rng(11)
    offsets = np.concatenate([rng.uniform(0.001, 0.3, 100), np.linspace(0.0101, 0.0102, 20)])
    people = []
    for i, dlat in enumerate(offsets.tolist()):
        lon = 18.0 + float(rng.uniform(-0.2, 0.2))
        limit = _estimate(59.0 + dlat, lon, 59.0, 18.0, mode)
        people.append(
            make_participant(
                participant_id=f"p{i}", lat=59.0 + dlat, lon=lon, travel_mode=mode, max_travel_minutes=limit
            )
        )
    instance = make_instance(people, [make_slot(seats=200)], sites=[site])
    pairs = feasible_pairs(compile_instance(instance), D)
    assert len(pairs) == len(people)
    assert pairs.minutes.tolist() == [p.max_travel_minutes for p in people]

    tighter = [replace(p, max_travel_minutes=p.max_travel_minutes - 1) for p in people if p.max_travel_minutes > 1]
    instance = make_instance(tighter, [make_slot(seats=200)], sites=[site])
    assert len(feasible_pairs(compile_instance(instance), D)) == 0
