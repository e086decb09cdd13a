"""What a plan changes, which changes need which (seats, supervisor hours), and each move's or leave's reason."""

from __future__ import annotations

from matcher import PlanRow
from matcher.plan_changes import ChangeKind, NeedKind, dependencies, dependents, needs_graph, plan_changes
from tests.factories import PLAN_DATE, make_instance, make_participant, make_site, make_slot


def rows(assignment: dict[str, str | None]) -> list[PlanRow]:
    return [PlanRow(pid, slot) for pid, slot in assignment.items()]


def test_each_kind_of_change_is_named():
    instance = make_instance(
        participants=[
            make_participant(participant_id="a", current_slot_id="s1"),
            make_participant(participant_id="b", current_slot_id="s1"),
            make_participant(participant_id="c", current_slot_id="s1"),
            make_participant(participant_id="d"),
            make_participant(participant_id="e"),
        ],
        slots=[make_slot(slot_id="s1", seats=3), make_slot(slot_id="s2", seats=3)],
    )
    changes = plan_changes(instance, rows({"a": "s1", "b": "s2", "c": None, "d": "s2", "e": None}), PLAN_DATE)
    kinds = {pid: c.kind for pid, c in changes.items()}
    assert kinds == {
        "a": ChangeKind.UNCHANGED,
        "b": ChangeKind.MOVES,
        "c": ChangeKind.LEAVES,
        "d": ChangeKind.NEW,
        "e": ChangeKind.STILL_WAITING,
    }
    assert changes["d"].reason == "new: d to 's2'" and not changes["d"].needs  # s2 had free seats
    # Nobody needs what b and c free; their seats today still fit them, and the reason says no more than that.
    assert changes["b"].reason == "moves b from 's1' to 's2': no other change needs the seat it frees"
    assert changes["c"].reason == "takes c out of 's1': no other change needs the seat it frees"


def test_a_new_placement_into_a_full_slot_needs_the_seat_a_leave_frees():
    instance = make_instance(
        participants=[
            make_participant(participant_id="holder", current_slot_id="s1"),
            make_participant(participant_id="new"),
        ],
        slots=[make_slot(slot_id="s1", seats=1)],
    )
    changes = plan_changes(instance, rows({"holder": None, "new": "s1"}), PLAN_DATE)
    (need,) = changes["new"].needs
    assert (need.freed_by, need.kind, need.slot_id) == ("holder", NeedKind.SEAT, "s1")
    assert need.text == "the seat in 's1' that holder's leave frees"
    assert changes["new"].reason == "new: new to 's1'; needs the seat in 's1' that holder's leave frees"
    assert changes["holder"].reason == "takes holder out of 's1': frees a seat for new"
    assert changes["holder"].freed_for == ("new",)


def test_free_seats_are_used_before_freed_ones():
    instance = make_instance(
        participants=[
            make_participant(participant_id="h", current_slot_id="s1"),
            make_participant(participant_id="n1"),
            make_participant(participant_id="n2"),
        ],
        slots=[make_slot(slot_id="s1", seats=2), make_slot(slot_id="s2", seats=1)],
    )
    changes = plan_changes(instance, rows({"h": "s2", "n1": "s1", "n2": "s1"}), PLAN_DATE)
    assert not changes["n1"].needs  # the one free seat
    assert [n.freed_by for n in changes["n2"].needs] == ["h"]
    assert changes["h"].reason == "moves h from 's1' to 's2': frees a seat for n2"


def test_supervisor_hours_freed_at_a_site_are_named_with_the_hours():
    site = make_site(site_id="t1", name="Hantverkshuset", supervisor_hours=6.0)
    instance = make_instance(
        participants=[
            make_participant(participant_id="h", hours_per_week=20, current_slot_id="s1"),  # 5 of the 6 hours
            make_participant(participant_id="n1", hours_per_week=12),  # 3 hours: 1 free, 2 from h
            make_participant(participant_id="n2", hours_per_week=12),  # 3 hours: from h
        ],
        slots=[make_slot(slot_id="s1", site_id="t1", seats=5), make_slot(slot_id="elsewhere", site_id="t2", seats=1)],
        sites=[site, make_site(site_id="t2")],
    )
    changes = plan_changes(instance, rows({"h": "elsewhere", "n1": "s1", "n2": "s1"}), PLAN_DATE)
    assert [(n.freed_by, n.kind, n.hours) for n in changes["n1"].needs] == [("h", NeedKind.SUPERVISION, 2.0)]
    assert [(n.freed_by, n.hours) for n in changes["n2"].needs] == [("h", 3.0)]
    assert changes["n2"].needs[0].text == "3 of the supervisor hours at Hantverkshuset that h's move frees"
    assert (
        changes["h"].reason
        == "moves h from 's1' to 'elsewhere': frees 5 supervisor hours at Hantverkshuset for n1 and n2"
    )


def test_a_move_within_a_site_frees_only_the_difference_of_ratios():
    site = make_site(site_id="t1", supervisor_hours=5.0)
    instance = make_instance(
        participants=[
            make_participant(participant_id="m", hours_per_week=20, current_slot_id="heavy"),  # 4 h → 2 h
            make_participant(participant_id="n", hours_per_week=20),  # 2 h at light: 1 free, 1 from m's move
        ],
        slots=[
            make_slot(slot_id="heavy", site_id="t1", seats=1, supervision_ratio=0.2),
            make_slot(slot_id="light", site_id="t1", seats=2, supervision_ratio=0.1),
        ],
        sites=[site],
    )
    changes = plan_changes(instance, rows({"m": "light", "n": "light"}), PLAN_DATE)
    assert not changes["m"].needs
    assert [(x.freed_by, x.hours) for x in changes["n"].needs] == [("m", 1.0)]
    assert "frees 2 supervisor hours" in changes["m"].reason


def test_a_swap_needs_both_and_closures_follow_needs_both_ways():
    instance = make_instance(
        participants=[
            make_participant(participant_id="a", current_slot_id="s1"),
            make_participant(participant_id="b", current_slot_id="s2"),
            make_participant(participant_id="c", current_slot_id="s3"),
            make_participant(participant_id="n"),
        ],
        slots=[make_slot(slot_id="s1"), make_slot(slot_id="s2"), make_slot(slot_id="s3")],
    )
    # a and b swap; c leaves s3 so that n can have it.
    changes = plan_changes(instance, rows({"a": "s2", "b": "s1", "c": None, "n": "s3"}), PLAN_DATE)
    graph = needs_graph(changes)
    assert graph["a"] == {"b"} and graph["b"] == {"a"} and graph["n"] == {"c"} and graph["c"] == set()
    assert dependencies(graph, ["a"]) == {"b"}
    assert dependencies(graph, ["n"]) == {"c"}
    assert dependents(graph, ["c"], among=changes) == {"n"}
    assert dependents(graph, ["a"], among=["a", "b", "n"]) == {"b"}


def test_a_move_from_a_seat_that_no_longer_fits_says_why():
    instance = make_instance(
        participants=[make_participant(participant_id="m", hours_per_week=5, current_slot_id="s1")],
        slots=[make_slot(slot_id="s1", min_hours=10), make_slot(slot_id="s2", min_hours=5)],
    )
    change = plan_changes(instance, rows({"m": "s2"}), PLAN_DATE)["m"]
    assert (
        change.reason
        == "moves m from 's1' to 's2': the seat held today no longer fits: 5 h/week is outside the slot's 10–30 h"
    )


def test_a_taker_at_an_overfull_site_also_needs_what_covers_the_excess():
    site = make_site(site_id="t1", supervisor_hours=4.0)  # lowered below the 5 hours its two holders use
    instance = make_instance(
        participants=[
            make_participant(participant_id="h1", hours_per_week=10, current_slot_id="s1"),
            make_participant(participant_id="h2", hours_per_week=10, current_slot_id="s1"),
            make_participant(participant_id="n", hours_per_week=10),
        ],
        slots=[make_slot(slot_id="s1", site_id="t1", seats=3)],
        sites=[site],
    )
    changes = plan_changes(instance, rows({"h1": None, "h2": None, "n": "s1"}), PLAN_DATE)
    # n's 2.5 hours and the 1 hour over the limit: h1's 2.5 and 1 of h2's.
    assert [(x.freed_by, x.hours) for x in changes["n"].needs] == [("h1", 2.5), ("h2", 1.0)]
