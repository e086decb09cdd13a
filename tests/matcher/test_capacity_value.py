"""The capacity value against brute force on tiny instances: each row's "more placed" is the difference of two
optimal solves (every valid assignment enumerated with and without the added capacity), and a seat is idle exactly
when no valid assignment fills it."""

from __future__ import annotations

import sys

import pytest

import matcher
from matcher.capacity_value import capacity_value
from tests.tiny_random import ON, assignments, tiny_instance


def _most(instance: matcher.Instance) -> int:
    return max(sum(s is not None for s in a.values()) for a in assignments(instance))


@pytest.mark.parametrize("seed", range(6))
def test_each_row_is_the_difference_of_two_optimal_solves(seed: int) -> None:
    instance = tiny_instance(seed, people=5)
    report = capacity_value(instance, ON, time_limit_s=60, workers=1)
    base = _most(instance)
    assert report.placed == base and not report.estimate
    slots = {s.slot_id: s for s in instance.slots}
    sites = {t.site_id: t for t in instance.sites}
    expected_rows = len(slots) + 2 * sum(t.supervisor_hours is not None for t in sites.values())
    assert len(report.rows) == expected_rows
    for row in report.rows:
        assert row.method == "re-solve"
        if row.kind == "seat":
            assert row.slot_id is not None
            edit = matcher.Edit("slots", row.slot_id, "seats", slots[row.slot_id].seats + 1)
        else:
            hours = sites[row.site_id].supervisor_hours
            assert hours is not None
            edit = matcher.Edit("sites", row.site_id, "supervisor_hours", hours + row.added)
        assert row.more_placed == _most(matcher.apply_edits(instance, [edit])) - base, row
        # Who it would place: at least `more_placed` people the plan without it leaves out (more when a person
        # placed without it has to give way, which the re-solve avoids whenever it can).
        assert sum(row.programmes.values()) == sum(row.municipalities.values()) >= row.more_placed
    ranked = [r.more_placed for r in report.rows]
    assert ranked == sorted(ranked, reverse=True)


@pytest.mark.parametrize("seed", range(6))
def test_idle_seats_are_those_no_assignment_fills(seed: int) -> None:
    instance = tiny_instance(seed, people=5)
    report = capacity_value(instance, ON, time_limit_s=60, workers=1)
    idle = {i.slot_id: i for i in report.idle}
    every = list(assignments(instance))
    for slot in instance.slots:
        most = max(sum(s == slot.slot_id for s in a.values()) for a in every)
        if most < slot.seats:
            assert idle[slot.slot_id].idle == slot.seats - most
            assert idle[slot.slot_id].usable_by >= most
        else:
            assert slot.slot_id not in idle


def test_over_budget_rows_are_marked_as_lp_bounds() -> None:
    instance = tiny_instance(1, people=5)
    report = capacity_value(instance, ON, time_limit_s=1e-9, workers=1)
    assert report.estimate and all(r.method == "LP bound" and r.estimate for r in report.rows)
    exact = capacity_value(instance, ON, time_limit_s=60, workers=1)
    bound = {(r.kind, r.slot_id, r.site_id, r.added): r.more_placed for r in report.rows}
    for row in exact.rows:  # a bound is never below the measured value
        assert bound[(row.kind, row.slot_id, row.site_id, row.added)] >= row.more_placed


def test_same_data_same_report() -> None:
    instance = tiny_instance(3, people=6)
    assert capacity_value(instance, ON) == capacity_value(instance, ON)


@pytest.mark.parametrize("seed", range(2))
def test_the_rows_are_the_same_with_a_process_pool(seed: int) -> None:
    """The re-solves in a pool of two spawned processes answer as one process does, in the same order."""
    instance = tiny_instance(seed, people=5)
    alone = capacity_value(instance, ON, time_limit_s=60, workers=1)
    pooled = capacity_value(instance, ON, time_limit_s=60, workers=2)
    assert pooled == alone
    assert len(pooled.rows) > 1  # a pool was used (one variant runs in this process)


def test_the_default_workers_are_min_of_cores_and_resolves() -> None:
    from matcher.capacity_value import default_workers

    assert default_workers(1) == 1
    assert 1 <= default_workers(1000) <= 1000


def test_a_small_report_is_computed_without_starting_a_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-solves quicker in all than one worker's start run in this process; a pool would fail here."""
    module = sys.modules["matcher.capacity_value"]  # the package's `capacity_value` is the function

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a process pool was started for a report this small")

    monkeypatch.setattr(module, "ProcessPoolExecutor", no_pool)
    instance = tiny_instance(1, people=5)
    assert capacity_value(instance, ON, time_limit_s=60) == capacity_value(instance, ON, time_limit_s=60, workers=1)
    monkeypatch.setattr(module, "WORTH_A_POOL_S", 0.0)  # any re-solve is worth a pool now
    with pytest.raises(AssertionError, match="process pool"):
        capacity_value(instance, ON, time_limit_s=60)
