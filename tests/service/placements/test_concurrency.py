"""Two users racing for the last seat, the last supervision hour, or the same slot version: exactly one wins.

Each race releases two requests at once with a barrier against the same app; the app runs request handlers on its
thread pool, so the two really overlap. Runs on SQLite and, with PLACEMENT_TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, func, select

from service.db import models as db
from service.db.engine import transaction

API = "/api/v1"
DAY = "2026-11-23"
ROUNDS = 10


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; return their responses in order (re-raising any exception)."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = call()
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request never returned"
    if errors:
        raise errors[0]
    return results


def post_placement(service: Any, who: str, participant: str, slot: str) -> Callable[[], Any]:
    body = {"participant_id": participant, "slot_id": slot, "start_date": DAY}
    return lambda: service.client.post(f"{API}/placements", json=body, headers=service.auth(who))


def clear_placements(service: Any) -> None:
    with transaction(service.factory) as session:
        session.execute(delete(db.AuditEntry))
        session.execute(delete(db.Placement))


def active(service: Any, **where: str) -> list[db.Placement]:
    with transaction(service.factory) as session:
        query = select(db.Placement).where(db.Placement.end_date.is_(None))
        if "slot_id" in where:
            query = query.where(db.Placement.slot_id == where["slot_id"])
        if "site_id" in where:
            query = query.join(db.Slot, db.Slot.id == db.Placement.slot_id).where(db.Slot.site_id == where["site_id"])
        return list(session.scalars(query))


def assert_one_winner(responses: list[Any], loser_status: int) -> tuple[Any, Any]:
    statuses = sorted(r.status_code for r in responses)
    winner_status = 201 if loser_status == 409 else 200
    assert statuses == sorted([winner_status, loser_status]), [(r.status_code, r.text) for r in responses]
    loser = next(r for r in responses if r.status_code == loser_status)
    winner = next(r for r in responses if r.status_code == winner_status)
    assert loser.headers["content-type"].startswith("application/problem+json")
    return winner, loser


def test_two_coaches_take_the_last_seat(service):
    """sew has one seat: the coach (P1) and the other coach (P4) ask for it at the same moment."""
    for _ in range(ROUNDS):
        clear_placements(service)
        responses = race(
            post_placement(service, "coach", "P1", "sew"),
            post_placement(service, "other_coach", "P4", "sew"),
        )
        winner, loser = assert_one_winner(responses, 409)
        assert loser.json().get("reason") == "seats_free", loser.text
        held = active(service, slot_id="sew")
        assert len(held) == 1
        assert held[0].participant_id == winner.json()["participant_id"]
        assert held[0].id == winner.json()["id"]


def test_a_coach_and_the_coordinator_take_the_last_of_two_seats(service):
    """furn has two seats and one is held: the coach (P2) and the coordinator (P5) race for the other."""
    for _ in range(ROUNDS):
        clear_placements(service)
        first = post_placement(service, "coordinator", "P6", "furn")()
        assert first.status_code == 201, first.text
        responses = race(
            post_placement(service, "coach", "P2", "furn"),
            post_placement(service, "coordinator", "P5", "furn"),
        )
        assert_one_winner(responses, 409)
        assert len(active(service, slot_id="furn")) == 2


def test_the_same_person_placed_twice_at_once(service):
    """The coach and the coordinator place P1 in two different slots at once: one placement only."""
    for _ in range(ROUNDS):
        clear_placements(service)
        responses = race(
            post_placement(service, "coach", "P1", "furn"),
            post_placement(service, "coordinator", "P1", "sew"),
        )
        assert_one_winner(responses, 409)
        with transaction(service.factory) as session:
            count = session.scalar(
                select(func.count()).select_from(db.Placement).where(db.Placement.participant_id == "P1")
            )
        assert count == 1


def test_the_last_supervision_hour(service):
    """vk2 has 2.5 supervisor hours, one 10-hour person at ratio 0.25; shop and a second slot there share them."""
    with transaction(service.factory) as session:
        session.add(
            db.Slot(
                association_id="default",
                id="shop2",
                site_id="vk2",
                activity="second_hand_shop",
                seats=3,
                min_hours=5,
                max_hours=30,
                days=["mon", "tue", "wed", "thu", "fri"],
                supervision_ratio=0.25,
            )  # fmt: skip
        )
    for _ in range(ROUNDS):
        clear_placements(service)
        responses = race(
            post_placement(service, "coach", "P1", "shop"),
            post_placement(service, "other_coach", "P4", "shop2"),
        )
        _, loser = assert_one_winner(responses, 409)
        assert loser.json().get("reason") == "supervision_free", loser.text
        assert len(active(service, site_id="vk2")) == 1


def test_two_changes_with_the_same_etag(service):
    """The manager and the coordinator change sew with the same If-Match: one 200, one 412, one version step."""
    for round_ in range(ROUNDS):
        read = service.client.get(f"{API}/slots/sew", headers=service.auth("coordinator"))
        etag, version = read.headers["etag"], read.json()["version"]

        def patch(who: str, seats: int, etag: str = etag) -> Callable[[], Any]:
            return lambda: service.client.patch(
                f"{API}/slots/sew", json={"seats": seats}, headers={**service.auth(who), "If-Match": etag}
            )

        responses = race(patch("coordinator", 10 + round_), patch("enterprise_manager", 50 + round_))
        winner, loser = assert_one_winner(responses, 412)
        after = service.client.get(f"{API}/slots/sew", headers=service.auth("coordinator"))
        assert after.json()["version"] == version + 1
        assert after.json()["seats"] == winner.json()["seats"]
        assert after.headers["etag"] == winner.headers["etag"] != etag
        assert loser.json().get("current_etag") == after.headers["etag"]
        with transaction(service.factory) as session:
            changes = session.scalars(
                select(db.CapacityChange).where(db.CapacityChange.slot_id == "sew", db.CapacityChange.field == "seats")
            ).all()
        assert len(changes) == round_ + 1  # the loser wrote no history


def test_lowering_seats_while_someone_takes_one(service):
    """furn (2 seats) holds one person; the coordinator lowers it to 1 seat while a coach takes the second seat.

    Either order is fine, but never both: the slot never ends with more people than seats.
    """
    for _ in range(ROUNDS):
        clear_placements(service)
        with transaction(service.factory) as session:
            session.get(db.Slot, ("default", "furn")).seats = 2  # type: ignore[union-attr]
        assert post_placement(service, "coordinator", "P6", "furn")().status_code == 201
        etag = service.client.get(f"{API}/slots/furn", headers=service.auth("coordinator")).headers["etag"]

        def lower(etag: str = etag) -> Any:
            return service.client.patch(
                f"{API}/slots/furn", json={"seats": 1}, headers={**service.auth("coordinator"), "If-Match": etag}
            )

        placed, lowered = race(post_placement(service, "coach", "P2", "furn"), lower)
        assert sorted([placed.status_code, lowered.status_code]) in ([201, 409], [200, 409]), (
            placed.text,
            lowered.text,
        )
        with transaction(service.factory) as session:
            seats = session.get(db.Slot, ("default", "furn")).seats  # type: ignore[union-attr]
        assert len(active(service, slot_id="furn")) <= seats
