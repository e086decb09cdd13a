"""The generators: deterministic, valid when written and read back, and the committed sample equal to its generator."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import pytest

from matcher.domain import Instance
from matcher.generate import DEFAULT_PLAN_DATE, SCENARIOS, sample_region, synthetic_instance
from matcher.generate.sample_region import AGE_RANGES
from matcher.generate.synthetic import typical_hours
from matcher.integrity import check_integrity
from matcher.io import read_dataset, write_dataset

SAMPLE_DIR = Path(__file__).resolve().parents[3] / "data" / "sample"


def _round_trip(instance: Instance, folder: Path) -> None:
    write_dataset(instance, folder)
    back, warnings = read_dataset(folder)
    assert warnings == []
    assert back == instance


def _pinned_use(instance: Instance) -> tuple[Counter[str], dict[str, float]]:
    slot_of = {s.slot_id: s for s in instance.slots}
    seats_held: Counter[str] = Counter()
    supervision: defaultdict[str, float] = defaultdict(float)
    for person in instance.participants:
        if person.pinned:
            assert person.current_slot_id is not None
            slot = slot_of[person.current_slot_id]
            seats_held[slot.slot_id] += 1
            supervision[slot.site_id] += person.hours_per_week * slot.supervision_ratio
    return seats_held, dict(supervision)


def test_sample_is_deterministic() -> None:
    assert sample_region(60, seed=3) == sample_region(60, seed=3)
    assert sample_region(60, seed=3) != sample_region(60, seed=4)


def test_synthetic_is_deterministic() -> None:
    assert synthetic_instance(500, seed=3) == synthetic_instance(500, seed=3)
    assert synthetic_instance(500, seed=3).participants != synthetic_instance(500, seed=4).participants


def test_sample_reads_back_without_problems(tmp_path: Path) -> None:
    _round_trip(sample_region(200, seed=0), tmp_path)


@pytest.mark.parametrize("seed", range(6))
def test_sample_pinned_people_fit_their_limits(seed: int) -> None:
    instance = sample_region(200, seed=seed)
    seats_held, supervision = _pinned_use(instance)
    assert seats_held, "the sample should pin a few people"
    slot_of = {s.slot_id: s for s in instance.slots}
    site_of = {t.site_id: t for t in instance.sites}
    for slot_id, held in seats_held.items():
        assert held <= slot_of[slot_id].seats
    for site_id, used in supervision.items():
        limit = site_of[site_id].supervisor_hours
        assert limit is None or used <= limit + 1e-6
    holders = [p for p in instance.participants if p.current_slot_id is not None]
    assert 0.05 * 200 <= len(holders) <= 0.15 * 200
    assert check_integrity(instance) == ([], [])


def test_sample_looks_like_the_seeds() -> None:
    instance = sample_region(200, seed=1)
    site_of = {t.site_id: t for t in instance.sites}
    people = instance.participants
    assert [p.participant_id for p in people[:2]] == ["P0001", "P0002"]
    assert {p.programme for p in people} == {"SAMRE", "MIA", "SamMA", "UNGA"}
    for person in people:
        low, high = AGE_RANGES[person.programme]
        assert person.age is None or low <= person.age <= high
        assert person.waiting_since is not None
        assert DEFAULT_PLAN_DATE - timedelta(days=730) <= person.waiting_since <= DEFAULT_PLAN_DATE
        assert 20 <= person.max_travel_minutes <= 75
        assert 1 <= len(person.preferences) <= 3
    samre_enterprises = {site_of[s.site_id].enterprise_id for s in instance.slots if s.programmes == {"SAMRE"}}
    assert samre_enterprises == {"vioni", "varmekallan"}
    assert any(s.programmes == {"UNGA"} for s in instance.slots)
    assert any(s.women_only for s in instance.slots)
    assert any(s.min_age is not None or s.max_age is not None for s in instance.slots)
    assert any(s.available_from is not None and s.available_from > DEFAULT_PLAN_DATE for s in instance.slots)
    # About two people per seat that can be planned now.
    open_seats = sum(s.seats for s in instance.slots if s.available_from is None)
    assert 1.6 <= len(people) / open_seats <= 2.4
    # Supervision limits something: at least a few sites have fewer supervisor hours than a full house would need.
    need: defaultdict[str, float] = defaultdict(float)
    for slot in instance.slots:
        need[slot.site_id] += slot.seats * typical_hours(slot.min_hours, slot.max_hours) * slot.supervision_ratio
    limited = [t for t in instance.sites if t.supervisor_hours is not None and t.supervisor_hours < need[t.site_id]]
    assert len(limited) >= 4


def test_committed_sample_matches_the_generator(tmp_path: Path) -> None:
    write_dataset(sample_region(participants=200, seed=1), tmp_path)  # what data/README.md tells people to run
    fresh = {p.name: p.read_bytes() for p in sorted(tmp_path.glob("*.csv"))}
    committed = {p.name: p.read_bytes() for p in sorted(SAMPLE_DIR.glob("*.csv"))}
    assert sorted(committed) == sorted(fresh), "data/sample has other files than the generator writes"
    for name, content in fresh.items():
        assert committed[name] == content, f"data/sample/{name} differs from sample_region(200, seed=1); regenerate it"


def test_synthetic_counts_follow_the_arguments() -> None:
    instance = synthetic_instance(600, seed=2, slots=50, sites=20)
    assert (len(instance.participants), len(instance.slots), len(instance.sites)) == (600, 50, 20)
    default = synthetic_instance(400)
    assert (len(default.participants), len(default.slots), len(default.sites)) == (400, 40, 16)
    assert {s.site_id for s in default.slots} == {t.site_id for t in default.sites}  # every site has a slot
    seats = sum(s.seats for s in default.slots)
    assert 0.8 * 200 <= seats <= 1.2 * 200  # about two people per seat


def test_synthetic_tiles_regions_north_and_east() -> None:
    instance = synthetic_instance(4000, seed=0)  # ten regions on a 4 x 3 grid of 60 km squares
    lats = [p.lat for p in instance.participants]
    lons = [p.lon for p in instance.participants]
    assert min(lats) > 59.2 and max(lats) < 59.3 + 3 * 60 / 111.195 + 0.2
    assert min(lons) > 17.8 and max(lons) < 18.0 + 4 * 60 / (111.195 * 0.5) + 0.2
    assert max(lats) - min(lats) > 60 / 111.195  # more than one row of regions


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_synthetic_scenarios_read_back_without_problems(scenario: str, tmp_path: Path) -> None:
    _round_trip(synthetic_instance(800, seed=5, scenario=scenario), tmp_path)


def test_scenarios_differ_only_in_supervision_and_bind_as_named() -> None:
    shares = {}
    for scenario in SCENARIOS:
        instance = synthetic_instance(3000, seed=7, scenario=scenario)
        need: defaultdict[str, float] = defaultdict(float)
        for slot in instance.slots:
            need[slot.site_id] += slot.seats * typical_hours(slot.min_hours, slot.max_hours) * slot.supervision_ratio
        over = [t.supervisor_hours is not None and t.supervisor_hours < need[t.site_id] for t in instance.sites]
        shares[scenario] = sum(over) / len(over)
    assert shares["loose"] < 0.3
    assert 0.45 <= shares["default"] <= 0.75
    assert shares["tight"] >= 0.8
    assert 0.7 <= shares["binding"] <= 0.9
    loose, tight = synthetic_instance(300, seed=7, scenario="loose"), synthetic_instance(300, seed=7, scenario="tight")
    assert loose.participants == tight.participants and loose.slots == tight.slots
    assert [t.supervisor_hours for t in loose.sites] != [t.supervisor_hours for t in tight.sites]


def test_unknown_scenario_is_refused() -> None:
    with pytest.raises(ValueError, match="scenario"):
        synthetic_instance(100, scenario="relaxed")
