"""Applying plans as the coordinator: active placements are kept unless the plan may move people; a plan applied
whole gives exactly its state; a subset comes with what it needs or the answer names it; a stale proposal is refused
with everything that needs it, and the rest is applied consistently; two overlapping applies never overbook.

The tiny data set (conftest) is set up so that moves pay: the SAMRE people P1, P3 and P5 hold sew and both furn
seats, which the MIA people P2, P4 and P6 could also take, while garden (4 seats) takes only SAMRE. Kept where they
are, only one MIA person gets a seat (shop's supervisor hours allow one); with moves allowed everybody is placed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

import matcher
from service.app import create_app
from service.auth.users import add_user
from service.db import models as db
from service.db.engine import make_session_factory, transaction
from service.imports.loader import insert_dataset
from tests.service.conftest import Service, _empty, make_settings
from tests.service.placements.test_concurrency import race
from tests.service.plans.test_plans import API, DAY, wait_for

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"

HOLDERS = {"P1": "sew", "P3": "furn", "P5": "furn"}
SEATS = {"furn": 2, "sew": 1, "shop": 3, "garden": 4}
SUPERVISION = {"hantverk": (20.0, ("furn",)), "vk2": (2.5, ("shop",))}  # site -> (hours, its slots)


def place(service: Any, holders: dict[str, str] = HOLDERS) -> dict[str, int]:
    ids = {}
    for pid, slot in holders.items():
        response = service.client.post(
            f"{API}/placements",
            json={"participant_id": pid, "slot_id": slot, "start_date": "2026-09-01"},
            headers=service.auth("coordinator"),
        )
        assert response.status_code == 201, response.text
        ids[pid] = response.json()["id"]
    return ids


def solve(service: Any, allow_moves: bool | None, who: str = "coordinator") -> dict[str, Any]:
    body: dict[str, Any] = {"date": DAY, "time_limit_s": 5}
    if allow_moves is not None:
        body["allow_moves"] = allow_moves
    response = service.client.post(f"{API}/plans", json=body, headers=service.auth(who))
    assert response.status_code == 202, response.text
    plan = wait_for(service.client, service.auth(who), response.json()["id"])
    assert plan["status"] == "done", plan["error"]
    assert plan["allow_moves"] is bool(allow_moves)
    return plan


def proposals(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["participant_id"]: p for p in plan["result"]["proposals"]}


def apply(service: Any, plan_id: int, body: dict[str, Any] | None = None, who: str = "coordinator") -> Any:
    return service.client.post(f"{API}/plans/{plan_id}/apply", json=body or {}, headers=service.auth(who))


def active_seats(service: Any) -> dict[str, str]:
    with transaction(service.factory) as session:
        rows = session.execute(
            select(db.Placement.participant_id, db.Placement.slot_id).where(db.Placement.end_date.is_(None))
        )
        return {pid: slot for pid, slot in rows}


def placements_of(service: Any, pid: str) -> list[db.Placement]:
    with transaction(service.factory) as session:
        return list(
            session.scalars(select(db.Placement).where(db.Placement.participant_id == pid).order_by(db.Placement.id))
        )


def assert_within_capacity(service: Any) -> None:
    seats = active_seats(service)
    for slot, limit in SEATS.items():
        assert sum(1 for s in seats.values() if s == slot) <= limit, seats
    for site, (hours, slots) in SUPERVISION.items():  # everyone works 10 h at the default ratio 0.25
        assert sum(2.5 for s in seats.values() if s in slots) <= hours, (site, seats)


def planned_state(plan: dict[str, Any], applied: set[str] | None = None) -> dict[str, str]:
    """The seats after applying `applied` (default: every change) of the plan on top of today's seats."""
    state = dict(HOLDERS)
    for pid, p in proposals(plan).items():
        if applied is None or pid in applied:
            state.pop(pid, None)
            if p["slot_id"] is not None:
                state[pid] = p["slot_id"]
    return state


def moving_plan(service: Any) -> tuple[dict[str, int], dict[str, Any], dict[str, dict[str, Any]]]:
    held = place(service)
    plan = solve(service, allow_moves=True)
    by_id = proposals(plan)
    assert plan["result"]["summary"]["placed"] == 6
    assert any(p["change"] == "moves" for p in by_id.values())
    return held, plan, by_id


def a_taker_with_needs(by_id: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return next(p for pid, p in sorted(by_id.items()) if p["change"] == "new" and p["needs"])


# --- allow_moves off: every active placement is kept --------------------------------------------------------------


def test_without_allow_moves_every_active_placement_is_kept(service):
    place(service)
    for allow_moves in (None, False):  # the default, and said explicitly
        plan = solve(service, allow_moves)
        by_id = proposals(plan)
        assert not [p for p in by_id.values() if p["change"] in ("moves", "leaves")]
        for pid, slot in HOLDERS.items():
            assert by_id[pid]["change"] == "unchanged" and by_id[pid]["slot_id"] == slot
            assert by_id[pid]["pinned"] is True  # kept as a fact of the solve
        new = [p for p in by_id.values() if p["change"] == "new"]
        assert [p["slot_id"] for p in new] == ["shop"]  # the only free seat MIA people can take
        assert all(not p["needs"] and p["reason"].startswith(f"new: {p['participant_id']} to 'shop'") for p in new)
    applied = apply(service, plan["id"])
    assert applied.status_code == 200, applied.text
    assert applied.json()["applied"] == 1 and applied.json()["refused"] == 0
    assert active_seats(service) == planned_state(plan)


def test_pinned_people_never_move_even_with_moves_allowed(service):
    place(service)
    for pid in ("P1", "P3", "P5"):
        response = service.client.patch(
            f"{API}/participants/{pid}", json={"pinned": True}, headers=service.auth("coordinator")
        )
        assert response.status_code == 200, response.text
    by_id = proposals(solve(service, allow_moves=True))
    assert not [p for p in by_id.values() if p["change"] in ("moves", "leaves")]


def test_kept_placements_over_a_sites_hours_fail_the_plan_saying_how_to_go_on(service):
    place(service, {"P2": "shop"})
    with transaction(service.factory) as session:  # hours lowered under what is used, as an older database may hold
        session.get(db.Site, ("default", "vk2")).supervisor_hours = 1.0  # type: ignore[union-attr]
    response = service.client.post(
        f"{API}/plans", json={"date": DAY, "time_limit_s": 5}, headers=service.auth("coordinator")
    )
    plan = wait_for(service.client, service.auth("coordinator"), response.json()["id"])
    assert plan["status"] == "failed" and "vk2" in plan["error"] and "allow_moves=true" in plan["error"], plan["error"]
    p2 = proposals(solve(service, allow_moves=True))["P2"]  # with moves allowed the plan takes P2 out, saying why
    assert p2["change"] in ("leaves", "moves"), p2
    assert "Värmekällan Second hand gives 1 supervisor hours, the people placed there today need 2.5" in p2["reason"]


# --- allow_moves on: moves carry reasons, and the whole plan applies as computed ----------------------------------


def test_moves_carry_their_reasons_and_the_proposals_that_need_them(service):
    _, _, by_id = moving_plan(service)
    for pid, p in by_id.items():
        assert p["reason"], p
        if p["change"] == "moves":
            assert p["reason"].startswith(f"moves {pid} from '{HOLDERS[pid]}' to '{p['slot_id']}'")
        for need in p["needs"]:  # whoever needs a freed seat is named by the one who frees it, and the reverse
            freer = by_id[need["freed_by"]]
            assert freer["change"] in ("moves", "leaves") and pid in freer["freed_for"]
            assert need["kind"] == "seat" and need["slot_id"] == p["slot_id"] == freer["current_slot_id"]
            assert need["text"] == f"the seat in '{p['slot_id']}' that {need['freed_by']}'s move frees"
            assert f"needs {need['text']}" in p["reason"]
    for p in by_id.values():
        if p["freed_for"]:
            assert f"frees a seat for {' and '.join(p['freed_for'])}" in p["reason"]
    # Three MIA people and only shop's one free seat: at least two of them need a seat a move frees.
    assert sum(1 for p in by_id.values() if p["change"] == "new" and p["needs"]) >= 2


def test_the_whole_plan_applied_gives_exactly_the_plans_state(service):
    held, plan, by_id = moving_plan(service)
    response = apply(service, plan["id"])
    assert response.status_code == 200, response.text
    body = response.json()
    changes = {pid for pid, p in by_id.items() if p["change"] in ("new", "moves", "leaves")}
    assert body["refused"] == 0 and body["applied"] == len(changes)
    assert {o["participant_id"] for o in body["outcomes"]} == changes
    assert all(
        o["status"] == "applied" and o["reason"] == by_id[o["participant_id"]]["reason"] for o in body["outcomes"]
    )
    assert active_seats(service) == {pid: p["slot_id"] for pid, p in by_id.items() if p["slot_id"]}
    assert_within_capacity(service)
    for o in body["outcomes"]:
        if o["change"] == "moves":
            old, new = placements_of(service, o["participant_id"])
            assert (old.id, old.end_date.isoformat(), old.end_reason) == (
                held[o["participant_id"]],
                DAY,
                db.EndReason.transferred,
            )
            assert (new.id, new.slot_id, new.plan_id, new.end_date) == (
                o["placement_id"],
                o["slot_id"],
                plan["id"],
                None,
            )
            assert o["ended_placement_id"] == old.id
    # Planned again from the applied state, nothing is left to change.
    again = proposals(solve(service, allow_moves=True))
    assert all(p["change"] in ("unchanged", "still_waiting") for p in again.values())


# --- a subset: with what it needs, or the answer names it ---------------------------------------------------------


def test_a_subset_missing_what_it_needs_is_refused_naming_it(service):
    _, plan, by_id = moving_plan(service)
    taker = a_taker_with_needs(by_id)
    before = active_seats(service)
    response = apply(service, plan["id"], {"participant_ids": [taker["participant_id"]]})
    assert response.status_code == 409, response.text
    problem = response.json()
    freer = taker["needs"][0]["freed_by"]
    assert (
        f"{taker['participant_id']} needs the seat in '{taker['slot_id']}' that {freer}'s move frees: choose it too"
        in problem["detail"]
    )
    assert freer in problem["missing"]
    assert problem["needs"][0] == {
        "participant_id": taker["participant_id"],
        "freed_by": freer,
        "text": taker["needs"][0]["text"],
    }
    assert active_seats(service) == before  # nothing applied


def test_a_subset_with_what_it_needs_applies_just_that(service):
    _, plan, by_id = moving_plan(service)
    taker = a_taker_with_needs(by_id)
    chosen = {taker["participant_id"]} | {n["freed_by"] for n in taker["needs"]}
    for pid in list(chosen):  # the moves it needs may need others in turn
        chosen |= {n["freed_by"] for n in by_id[pid]["needs"]}
    response = apply(service, plan["id"], {"participant_ids": sorted(chosen)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["applied"] == len(chosen) and body["refused"] == 0
    assert not any(o["added_as_dependency"] for o in body["outcomes"])
    assert active_seats(service) == planned_state(plan, chosen)
    assert_within_capacity(service)


def test_include_dependencies_adds_what_a_chosen_proposal_needs(service):
    _, plan, by_id = moving_plan(service)
    taker = a_taker_with_needs(by_id)
    response = apply(service, plan["id"], {"participant_ids": [taker["participant_id"]], "include_dependencies": True})
    assert response.status_code == 200, response.text
    outcomes = {o["participant_id"]: o for o in response.json()["outcomes"]}
    assert outcomes[taker["participant_id"]]["added_as_dependency"] is False
    needed = {n["freed_by"] for n in taker["needs"]}
    assert needed <= set(outcomes) and all(outcomes[pid]["added_as_dependency"] for pid in needed)
    assert all(o["status"] == "applied" for o in outcomes.values())
    assert active_seats(service) == planned_state(plan, set(outcomes))


def restore(service: Any, held: dict[str, int]) -> None:
    """Back to the seats the plan was solved from, with the same placement ids (the plan's premises)."""
    with transaction(service.factory) as session:
        session.execute(delete(db.Placement))
        for pid, placement_id in held.items():
            session.add(
                db.Placement(
                    association_id="default",
                    id=placement_id,
                    participant_id=pid,
                    slot_id=HOLDERS[pid],
                    start_date=date(2026, 9, 1),
                )
            )


def test_every_subset_applies_with_its_needs_or_names_them(service):
    held, plan, by_id = moving_plan(service)
    changes = sorted(pid for pid, p in by_id.items() if p["change"] in ("new", "moves", "leaves"))
    needs = {pid: {n["freed_by"] for n in by_id[pid]["needs"]} for pid in changes}

    def closure(chosen: set[str]) -> set[str]:
        grown = set(chosen)
        while True:
            more = grown | {other for pid in grown for other in needs[pid]}
            if more == grown:
                return grown
            grown = more

    for size in range(1, len(changes) + 1):
        for subset in itertools.combinations(changes, size):
            chosen, whole = set(subset), closure(set(subset))
            strict = apply(service, plan["id"], {"participant_ids": list(subset)})
            if whole != chosen:
                assert strict.status_code == 409, (subset, strict.text)
                assert set(strict.json()["missing"]) == whole - chosen
                assert active_seats(service) == HOLDERS
                response = apply(service, plan["id"], {"participant_ids": list(subset), "include_dependencies": True})
            else:
                response = strict
            assert response.status_code == 200, (subset, response.text)
            body = response.json()
            assert body["refused"] == 0 and {o["participant_id"] for o in body["outcomes"]} == whole, (subset, body)
            assert {o["participant_id"] for o in body["outcomes"] if o["added_as_dependency"]} == whole - chosen
            assert active_seats(service) == planned_state(plan, whole), subset
            assert_within_capacity(service)
            restore(service, held)


def test_choosing_what_changes_nothing_or_is_not_in_the_plan_is_invalid(service):
    _, plan, by_id = moving_plan(service)
    kept = next((pid for pid, p in by_id.items() if p["change"] == "unchanged"), None)
    if kept is not None:
        response = apply(service, plan["id"], {"participant_ids": [kept]})
        assert response.status_code == 422 and kept in response.json()["detail"]
    response = apply(service, plan["id"], {"participant_ids": ["P404"]})
    assert response.status_code == 422 and "P404" in response.json()["detail"]


# --- stale proposals ----------------------------------------------------------------------------------------------


def test_a_proposal_whose_person_changed_is_refused_with_what_needs_it(service):
    held, plan, by_id = moving_plan(service)
    taker = a_taker_with_needs(by_id)
    freer = taker["needs"][0]["freed_by"]
    # Meanwhile the freer's placement is ended (work): the plan's move of them no longer starts from what it saw.
    who = "coach" if freer in ("P1", "P2", "P3") else "coordinator"
    ended = service.client.patch(
        f"{API}/placements/{held[freer]}", json={"end_reason": "work", "end_date": DAY}, headers=service.auth(who)
    )
    assert ended.status_code == 200, ended.text
    response = apply(service, plan["id"])
    assert response.status_code == 200, response.text
    outcomes = {o["participant_id"]: o for o in response.json()["outcomes"]}
    assert outcomes[freer]["status"] == "refused"
    assert outcomes[freer]["reason"].startswith(f"{freer}'s placement changed since the plan was computed")
    assert outcomes[taker["participant_id"]]["status"] == "refused"
    assert f"{freer}'s proposal is refused" in outcomes[taker["participant_id"]]["reason"]
    applied = {pid for pid, o in outcomes.items() if o["status"] == "applied"}
    assert applied  # the other changes still go through, all of them together
    for pid in applied:  # and each applied one has what it needs applied too
        assert {n["freed_by"] for n in by_id[pid]["needs"]} <= applied
    expected = planned_state(plan, applied)
    expected.pop(freer)  # ended meanwhile
    assert active_seats(service) == expected
    assert_within_capacity(service)


def test_a_seat_taken_meanwhile_refuses_only_that_proposal(service):
    _, plan, by_id = moving_plan(service)
    into_shop = next(p for p in by_id.values() if p["slot_id"] == "shop" and p["change"] == "new")
    assert not into_shop["needs"]  # shop's hours were free at solve time
    outsider = add_person(service, "P7")
    taken = service.client.post(
        f"{API}/placements",
        json={"participant_id": outsider, "slot_id": "shop", "start_date": DAY},
        headers=service.auth("coordinator"),
    )
    assert taken.status_code == 201, taken.text
    response = apply(service, plan["id"])
    assert response.status_code == 200, response.text
    outcomes = {o["participant_id"]: o for o in response.json()["outcomes"]}
    refused = {pid for pid, o in outcomes.items() if o["status"] == "refused"}
    assert refused == {into_shop["participant_id"]}
    assert "supervisor hours left" in outcomes[into_shop["participant_id"]]["reason"]
    expected = planned_state(plan, set(outcomes) - refused)
    expected[outsider] = "shop"
    assert active_seats(service) == expected
    assert_within_capacity(service)


def test_a_slot_changed_since_the_solve_refuses_the_proposals_into_it(service):
    _, plan, by_id = moving_plan(service)
    into_garden = {pid for pid, p in by_id.items() if p["slot_id"] == "garden" and p["change"] in ("new", "moves")}
    assert into_garden
    manager = service.auth("enterprise_manager")  # vk's manager; garden is at vk1
    etag = service.client.get(f"{API}/slots/garden", headers=manager).headers["etag"]
    changed = service.client.patch(f"{API}/slots/garden", json={"max_hours": 25}, headers={**manager, "If-Match": etag})
    assert changed.status_code == 200, changed.text
    response = apply(service, plan["id"])
    assert response.status_code == 200, response.text
    outcomes = {o["participant_id"]: o for o in response.json()["outcomes"]}
    for pid in into_garden:
        assert outcomes[pid]["status"] == "refused"
        assert "slot 'garden' changed since the plan was computed" in outcomes[pid]["reason"]
    refused = {pid for pid, o in outcomes.items() if o["status"] == "refused"}
    applied = set(outcomes) - refused
    for pid in applied:
        assert {n["freed_by"] for n in by_id[pid]["needs"]} <= applied
    assert active_seats(service) == planned_state(plan, applied)
    assert_within_capacity(service)


def test_a_person_pinned_since_the_solve_is_not_moved(service):
    _, plan, by_id = moving_plan(service)
    mover = next(pid for pid, p in sorted(by_id.items()) if p["change"] == "moves" and p["freed_for"])
    pinned = service.client.patch(
        f"{API}/participants/{mover}", json={"pinned": True}, headers=service.auth("coordinator")
    )
    assert pinned.status_code == 200, pinned.text
    outcomes = {o["participant_id"]: o for o in apply(service, plan["id"]).json()["outcomes"]}
    assert outcomes[mover]["status"] == "refused" and "pinned people never move" in outcomes[mover]["reason"]
    for pid in by_id[mover]["freed_for"]:
        assert outcomes[pid]["status"] == "refused" and f"{mover}'s proposal is refused" in outcomes[pid]["reason"]
    applied = {pid for pid, o in outcomes.items() if o["status"] == "applied"}
    assert active_seats(service) == planned_state(plan, applied) and active_seats(service)[mover] == HOLDERS[mover]
    assert_within_capacity(service)


def add_person(service: Any, pid: str) -> str:
    body = {
        "id": pid, "programme": "MIA", "municipality": "Sigtuna", "lat": 59.58, "lon": 17.86, "hours_per_week": 10,
        "days_available": ["mon", "tue", "thu"], "max_travel_minutes": 60,
    }  # fmt: skip
    response = service.client.post(f"{API}/participants", json=body, headers=service.auth("coordinator"))
    assert response.status_code == 201, response.text
    return pid


# --- two coordinators, overlapping plans ---------------------------------------------------------------------------


def test_two_coordinators_applying_overlapping_plans_at_once_never_overbook(service):
    place(service)
    first = solve(service, allow_moves=True)
    second = solve(service, allow_moves=True)  # solved from the same seats: the two plans overlap
    with transaction(service.factory) as session:
        _, token = add_user(session, "second_coordinator", db.Role.coordinator, "default", None)
    service.tokens["second_coordinator"] = token
    responses = race(
        lambda: apply(service, first["id"]),
        lambda: apply(service, second["id"], who="second_coordinator"),
    )
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    bodies = sorted((r.json() for r in responses), key=lambda b: b["refused"])
    assert bodies[0]["refused"] == 0  # whoever went first applied their whole plan
    winner, loser = (first, second) if bodies[0]["plan_id"] == first["id"] else (second, first)
    # The other's proposals found their premises changed, save any the first left untouched.
    state = planned_state(winner)
    for o in bodies[1]["outcomes"]:
        if o["status"] == "applied":
            state.pop(o["participant_id"], None)
            if o["slot_id"]:
                state[o["participant_id"]] = o["slot_id"]
    assert active_seats(service) == state
    assert_within_capacity(service)


# --- who may ------------------------------------------------------------------------------------------------------


def test_only_the_coordinator_plans_and_applies(service):
    _, plan, _ = moving_plan(service)
    for who in ("coach", "enterprise_manager"):
        assert apply(service, plan["id"], who=who).status_code == 403
        denied = service.client.post(f"{API}/plans", json={"date": DAY, "allow_moves": True}, headers=service.auth(who))
        assert denied.status_code == 403
    assert apply(service, plan["id"], who="foreign_coordinator").status_code == 404
    assert active_seats(service) == HOLDERS


# --- the sample region --------------------------------------------------------------------------------------------


@pytest.fixture
def sample(engine: Any, database_url: str, tmp_path: Path) -> Iterator[Service]:
    """The service over the sample region (200 participants, 20 of them holding a seat) and one coordinator."""
    _empty(engine)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        session.add(db.Association(id="default", name="Sample region"))
        session.flush()
        insert_dataset(session, matcher.load_dataset(SAMPLE), "default")
        user, token = add_user(session, "coordinator", db.Role.coordinator, "default", None)
    with TestClient(create_app(make_settings(database_url, tmp_path))) as client:
        yield Service(client, factory, {"coordinator": token}, {"coordinator": user.id})


def test_the_sample_plan_without_moves_keeps_every_seat_held(sample):
    today = active_seats(sample)
    assert len(today) == 20
    plan = solve(sample, allow_moves=None)
    by_id = proposals(plan)
    assert not [p for p in by_id.values() if p["change"] in ("moves", "leaves")]
    assert all(by_id[pid]["slot_id"] == slot for pid, slot in today.items())
    response = apply(sample, plan["id"])
    assert response.status_code == 200, response.text
    assert response.json()["refused"] == 0
    assert active_seats(sample) == {pid: p["slot_id"] for pid, p in by_id.items() if p["slot_id"]}


def test_the_whole_sample_plan_with_moves_applies_as_computed(sample):
    """The issue's case: new placements that need the seats and supervisor hours freed by leaves apply with them."""
    plan = solve(sample, allow_moves=True)
    by_id = proposals(plan)
    freers = [p for p in by_id.values() if p["change"] in ("moves", "leaves")]
    # On this region moving or taking out some holders places more people than keeping them all, so some new
    # placements need what a move or leave frees.
    kept = solve(sample, allow_moves=False)
    assert plan["result"]["summary"]["placed"] > kept["result"]["summary"]["placed"]
    assert freers and any(p["needs"] for p in by_id.values())
    for p in freers:
        assert p["reason"] and (p["freed_for"] or "no longer fits" in p["reason"] or "no other change" in p["reason"])
    response = apply(sample, plan["id"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refused"] == 0, [o for o in body["outcomes"] if o["status"] == "refused"]
    assert body["applied"] == sum(1 for p in by_id.values() if p["change"] in ("new", "moves", "leaves"))
    assert active_seats(sample) == {pid: p["slot_id"] for pid, p in by_id.items() if p["slot_id"]}
    with transaction(sample.factory) as session:
        ended = session.scalars(select(db.Placement).where(db.Placement.end_date.is_not(None))).all()
    assert sorted(p.participant_id for p in ended) == sorted(p["participant_id"] for p in freers)
    assert all(p.end_date.isoformat() == DAY and p.end_reason is db.EndReason.transferred for p in ended)
