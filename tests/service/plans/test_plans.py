"""Plans: POST /plans answers 202 and a worker solves it; one solve at a time per association; apply refuses
proposals whose seat was taken meanwhile; plans interrupted by a stop are failed on the next start; the Redis queue.

The local pool uses spawn processes, so solves run outside the test process.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.app import create_app
from service.db import models as db
from service.db.engine import transaction
from service.plans.runner import job_id
from service.plans.schemas import PlanResult
from tests.service.conftest import make_settings
from tests.service.plans.queues import REDIS_URL, fresh_queue

# A stored plan result's summary as the solve writes it (service.plans.schemas.PlanSummary), with nothing placed.
SUMMARY = {
    "status": "optimal", "placed": 0, "total": 0, "total_score": 0, "placed_bound": 0, "score_bound": 0,
    "placed_gap": 0.0, "solve_seconds": 0.0, "changes": {},
}  # fmt: skip

API = "/api/v1"
DAY = "2026-11-23"
CHANGES = {"new", "moves", "leaves", "unchanged", "still_waiting"}


class RecordingRunner:
    """A runner that never solves: a plan it is given stays queued."""

    def __init__(self) -> None:
        self.submitted: list[int] = []

    def submit(self, plan_id: int) -> None:
        self.submitted.append(plan_id)

    def recover(self) -> None:
        pass

    def shutdown(self) -> None:
        pass


@pytest.fixture
def held(service: Any) -> Iterator[Any]:
    """The service with solves held back (plans stay queued); the real runner is back before the app stops."""
    real = service.client.app.state.plan_runner
    service.client.app.state.plan_runner = RecordingRunner()
    yield service
    service.client.app.state.plan_runner = real


def start_plan(client: TestClient, headers: dict[str, str], time_limit_s: float = 5) -> dict[str, Any]:
    response = client.post(f"{API}/plans", json={"date": DAY, "time_limit_s": time_limit_s}, headers=headers)
    assert response.status_code == 202, response.text
    body = response.json()
    assert isinstance(body["id"], int) and body["status"] == "queued"
    assert response.headers["location"] == body["location"] == f"{API}/plans/{body['id']}"
    return body


def wait_for(client: TestClient, headers: dict[str, str], plan_id: int, limit_s: float = 60) -> dict[str, Any]:
    """Poll GET /plans/{id} every 0.2 s until the plan is done or failed (at most `limit_s`)."""
    seen = []
    for _ in range(int(limit_s / 0.2)):
        response = client.get(f"{API}/plans/{plan_id}", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        seen.append(body["status"])
        assert body["status"] in ("queued", "running", "done", "failed")
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"plan {plan_id} did not finish within {limit_s} s (statuses seen: {sorted(set(seen))})")


def add_plan(service: Any, status: db.PlanStatus, association: str = "default") -> int:
    with transaction(service.factory) as session:
        plan = db.Plan(association_id=association, status=status, plan_date=date(2026, 11, 23), time_limit_s=5.0)
        session.add(plan)
        session.flush()
        return plan.id


def plan_row(service: Any, plan_id: int) -> db.Plan:
    with transaction(service.factory) as session:
        plan = session.get(db.Plan, plan_id)
        assert plan is not None
        return plan


def check_result(plan: dict[str, Any]) -> list[dict[str, Any]]:
    assert plan["status"] == "done", plan.get("error")
    assert plan["error"] is None
    assert plan["started_at"] and plan["finished_at"]
    result = plan["result"]
    proposals = result["proposals"]
    assert sorted(p["participant_id"] for p in proposals) == [f"P{i}" for i in range(1, 7)]
    for p in proposals:
        assert p["change"] in CHANGES, p
        if p["slot_id"] is not None:
            # Every placed proposal is explained: its score and the parts the score is made of.
            assert p["score_parts"] and sum(p["score_parts"].values()) == p["score"], p
            assert p["site_id"] and p["enterprise_id"] and p["travel_minutes"] is not None
    summary = result["summary"]
    assert summary["placed"] == sum(1 for p in proposals if p["slot_id"]) > 0
    assert summary["total"] == 6
    assert plan["progress"]["placed"] == summary["placed"]
    return proposals


# --- the whole round: solve, follow, apply -----------------------------------------------------------------------


def test_plan_is_solved_and_applied(service):
    headers = service.auth("coordinator")
    created = start_plan(service.client, headers)
    plan = wait_for(service.client, headers, created["id"])
    proposals = check_result(plan)
    assert all(p["change"] == "new" for p in proposals if p["slot_id"])  # nobody holds a seat yet
    # The stored row is a typed result, and GET shows exactly it.
    stored = PlanResult.model_validate(plan_row(service, created["id"]).result)
    assert stored.format == 2 and stored.model_dump(mode="json") == plan["result"]

    listed = service.client.get(f"{API}/plans", headers=headers).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == created["id"]
    assert listed["items"][0]["result"] is None  # lists stay light

    applied = service.client.post(f"{API}/plans/{created['id']}/apply", json={}, headers=headers)
    assert applied.status_code == 200, applied.text
    body = applied.json()
    expected = {p["participant_id"]: p["slot_id"] for p in proposals if p["change"] == "new"}
    assert body["applied"] == len(expected) and body["refused"] == 0
    placements = service.client.get(f"{API}/placements?active=true", headers=headers).json()["items"]
    assert {p["participant_id"]: p["slot_id"] for p in placements} == expected
    assert all(p["plan_id"] == created["id"] and p["start_date"] == DAY for p in placements)
    assert {o["placement_id"] for o in body["outcomes"]} == {p["id"] for p in placements}

    # A new plan now starts from those seats: nothing changes.
    second = wait_for(service.client, headers, start_plan(service.client, headers)["id"])
    again = check_result(second)
    assert all(p["change"] == "unchanged" for p in again if p["slot_id"])
    only = service.client.get(f"{API}/plans/{second['id']}?changes_only=true", headers=headers).json()
    assert all(p["change"] in ("new", "moves", "leaves") for p in only["result"]["proposals"])
    # Applying a plan twice applies nothing twice.
    twice = service.client.post(f"{API}/plans/{created['id']}/apply", json={}, headers=headers).json()
    assert twice["applied"] == 0 and twice["refused"] == len(expected)
    assert service.client.get(f"{API}/placements", headers=headers).json()["total"] == len(expected)


def test_a_plan_with_a_work_limit_says_it_is_deterministic(service):
    headers = service.auth("coordinator")
    body = {"date": DAY, "time_limit_s": 30, "work_limit": 2}
    response = service.client.post(f"{API}/plans", json=body, headers=headers)
    assert response.status_code == 202, response.text
    done = wait_for(service.client, headers, response.json()["id"])
    assert done["status"] == "done", done
    assert done["work_limit"] == 2
    assert done["result"]["summary"]["deterministic"] is True


def test_apply_refuses_a_proposal_whose_seat_was_taken_meanwhile(service):
    headers = service.auth("coordinator")
    created = start_plan(service.client, headers)
    proposals = check_result(wait_for(service.client, headers, created["id"]))
    # sew has one seat and shop one person's supervision hours: take the one the plan gave someone.
    target = next(p for p in proposals if p["change"] == "new" and p["slot_id"] in ("sew", "shop"))
    other = next(p for p in proposals if p["participant_id"] != target["participant_id"])
    taken = service.client.post(
        f"{API}/placements",
        json={"participant_id": other["participant_id"], "slot_id": target["slot_id"], "start_date": DAY},
        headers=headers,
    )
    assert taken.status_code == 201, taken.text

    applied = service.client.post(f"{API}/plans/{created['id']}/apply", json={}, headers=headers)
    assert applied.status_code == 200, applied.text
    outcomes = {o["participant_id"]: o for o in applied.json()["outcomes"]}
    refused = outcomes[target["participant_id"]]
    assert refused["status"] == "refused" and refused["placement_id"] is None
    assert "full" in refused["reason"] or "supervisor hours" in refused["reason"], refused
    assert outcomes[other["participant_id"]]["status"] == "refused"  # their seat changed since the plan
    rest = [o for pid, o in outcomes.items() if pid not in (target["participant_id"], other["participant_id"])]
    assert rest and all(o["status"] == "applied" for o in rest)
    assert applied.json()["refused"] == 2 and applied.json()["applied"] == len(rest)
    with transaction(service.factory) as session:
        holders = session.scalars(
            select(db.Placement.participant_id).where(
                db.Placement.slot_id == target["slot_id"], db.Placement.end_date.is_(None)
            )
        ).all()
    assert holders == [other["participant_id"]]


def test_apply_rejects_what_cannot_be_applied(held):
    headers = held.auth("coordinator")
    queued = start_plan(held.client, headers)
    response = held.client.post(f"{API}/plans/{queued['id']}/apply", json={}, headers=headers)
    assert response.status_code == 409 and response.headers["content-type"].startswith("application/problem+json")
    assert held.client.post(f"{API}/plans/999999/apply", json={}, headers=headers).status_code == 404
    assert held.client.get(f"{API}/plans/999999", headers=headers).status_code == 404
    with transaction(held.factory) as session:
        plan = session.get(db.Plan, queued["id"])
        plan.status = db.PlanStatus.done
        plan.result = {"summary": {}, "warnings": [], "proposals": []}  # as plans were stored before format 2
    older = held.client.post(f"{API}/plans/{queued['id']}/apply", json={}, headers=headers)
    assert older.status_code == 409 and "start a new plan" in older.json()["detail"], older.text
    with transaction(held.factory) as session:
        session.get(db.Plan, queued["id"]).result = {"format": 2, "summary": SUMMARY, "warnings": [], "proposals": []}  # type: ignore[union-attr]
    unknown = held.client.post(f"{API}/plans/{queued['id']}/apply", json={"participant_ids": ["P404"]}, headers=headers)
    assert unknown.status_code == 422 and "P404" in unknown.json()["detail"]
    extra = held.client.post(f"{API}/plans/{queued['id']}/apply", json={"everything": True}, headers=headers)
    assert extra.status_code == 422


def test_a_result_stored_before_format_2_is_shown_as_stored(held):
    headers = held.auth("coordinator")
    queued = start_plan(held.client, headers)
    legacy = {
        "summary": {"placed": 1},
        "warnings": [],
        "proposals": [{"participant_id": "P1", "change": "new"}, {"participant_id": "P2", "change": "unchanged"}],
    }
    with transaction(held.factory) as session:
        plan = session.get(db.Plan, queued["id"])
        assert plan is not None
        plan.status, plan.result = db.PlanStatus.done, legacy
    shown = held.client.get(f"{API}/plans/{queued['id']}", headers=headers)
    assert shown.status_code == 200 and shown.json()["result"] == legacy
    changes = held.client.get(f"{API}/plans/{queued['id']}?changes_only=true", headers=headers).json()["result"]
    assert changes["proposals"] == [{"participant_id": "P1", "change": "new"}]


# --- one solve at a time per association -------------------------------------------------------------------------


def test_a_second_plan_while_one_is_queued_is_refused(held):
    headers = held.auth("coordinator")
    first = start_plan(held.client, headers)
    again = held.client.post(f"{API}/plans", json={"date": DAY}, headers=headers)
    assert again.status_code == 409, again.text
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["plan_id"] == first["id"]
    assert held.client.app.state.plan_runner.submitted == [first["id"]]
    # Another association is not held up by this one.
    foreign = start_plan(held.client, held.auth("foreign_coordinator"))
    assert foreign["id"] != first["id"]

    with transaction(held.factory) as session:
        session.get(db.Plan, first["id"]).status = db.PlanStatus.running  # type: ignore[union-attr]
    assert held.client.post(f"{API}/plans", json={"date": DAY}, headers=headers).status_code == 409
    for finished in (db.PlanStatus.done, db.PlanStatus.failed):
        with transaction(held.factory) as session:
            session.get(db.Plan, first["id"]).status = finished  # type: ignore[union-attr]
        follow = start_plan(held.client, headers)
        with transaction(held.factory) as session:
            session.get(db.Plan, follow["id"]).status = finished  # type: ignore[union-attr]


def test_plan_requests_are_validated(held):
    headers = held.auth("coordinator")
    for body, field in (
        ({}, "date"),
        ({"date": DAY, "time_limit_s": 0}, "time_limit_s"),
        ({"date": DAY, "time_limit_s": 10_000}, "time_limit_s"),
        ({"date": DAY, "work_limit": 0}, "work_limit"),
        ({"date": DAY, "weights": {"preference_top": -1}}, "preference_top"),
        ({"date": DAY, "status": "done"}, "status"),
        ({"date": DAY, "fairness_floor": 0}, "fairness_floor"),
        ({"date": DAY, "fairness_floor": 1.5}, "fairness_floor"),
        ({"date": DAY, "fairness_floor": "half"}, "fairness_floor"),
    ):
        response = held.client.post(f"{API}/plans", json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert field in response.json()["detail"]
    assert held.client.get(f"{API}/plans", headers=headers).json()["total"] == 0


def test_a_plan_longer_than_the_service_allows_is_refused(service, database_url, tmp_path):
    app = create_app(make_settings(database_url, tmp_path, max_plan_seconds=10))
    with TestClient(app) as client:
        response = client.post(
            f"{API}/plans", json={"date": DAY, "time_limit_s": 20}, headers=service.auth("coordinator")
        )
    assert response.status_code == 422 and "10" in response.json()["detail"]


# --- a restart fails what was interrupted ------------------------------------------------------------------------


def test_plans_left_running_are_marked_failed_on_restart(service, database_url, tmp_path):
    running = add_plan(service, db.PlanStatus.running)
    queued = add_plan(service, db.PlanStatus.queued, association="other")
    done = add_plan(service, db.PlanStatus.done)
    assert plan_row(service, running).status is db.PlanStatus.running
    app = create_app(make_settings(database_url, tmp_path))
    with TestClient(app) as client:
        body = client.get(f"{API}/plans/{running}", headers=service.auth("coordinator")).json()
        assert body["status"] == "failed"
        assert body["error"] and body["finished_at"]
        # The association can plan again at once.
        assert client.get(f"{API}/plans/{done}", headers=service.auth("coordinator")).json()["status"] == "done"
    assert plan_row(service, queued).status is db.PlanStatus.failed
    assert plan_row(service, done).status is db.PlanStatus.done


# --- the Redis queue ---------------------------------------------------------------------------------------------


@pytest.fixture
def redis_queue(database_url: str, tmp_path: Any) -> Iterator[Any]:
    with fresh_queue("placement-plans-test") as (connection, queue):
        yield make_settings(database_url, tmp_path, queue_url=REDIS_URL, queue_name=queue.name), queue, connection


def forget_job(connection: Any, plan_id: int, database_url: str) -> None:
    """Job ids are per plan id, and ids start again in each test's emptied database: drop a job from an earlier run."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    with contextlib.suppress(NoSuchJobError):
        Job.fetch(job_id(plan_id, database_url), connection=connection).delete()


def test_a_plan_goes_through_the_redis_queue(service, redis_queue):
    from rq import SimpleWorker
    from rq.job import Job

    settings, queue, connection = redis_queue
    headers = service.auth("coordinator")
    with TestClient(create_app(settings)) as client:
        created = start_plan(client, headers, time_limit_s=5)
        assert job_id(created["id"], settings.database_url) in queue.job_ids
        job = Job.fetch(job_id(created["id"], settings.database_url), connection=connection)
        assert job.args == (created["id"], settings.database_url)
        time.sleep(0.2)
        assert client.get(f"{API}/plans/{created['id']}", headers=headers).json()["status"] == "queued"  # no worker yet
        assert client.post(f"{API}/plans", json={"date": DAY}, headers=headers).status_code == 409

        worked = SimpleWorker([queue], connection=connection).work(burst=True)
        assert worked
        plan = wait_for(client, headers, created["id"], limit_s=5)
        check_result(plan)
        assert Job.fetch(job_id(created["id"], settings.database_url), connection=connection).get_status() == "finished"


def test_redis_restart_fails_only_plans_whose_job_is_lost(service, redis_queue, database_url):
    settings, queue, connection = redis_queue
    lost = add_plan(service, db.PlanStatus.running)
    waiting = add_plan(service, db.PlanStatus.queued, association="other")
    forget_job(connection, lost, database_url)
    queue.enqueue("service.plans.job.run_plan", waiting, database_url, job_id=job_id(waiting, database_url))
    with TestClient(create_app(settings)):
        pass
    assert plan_row(service, lost).status is db.PlanStatus.failed
    assert plan_row(service, waiting).status is db.PlanStatus.queued  # its job is still in the queue


# --- fairness floor ----------------------------------------------------------------------------------------------


def test_a_plan_with_a_fairness_floor_keeps_it_and_says_what_it_costs(service):
    headers = service.auth("coordinator")
    report = service.client.get(f"{API}/reports/fairness?on={DAY}&floor=0.5&time_limit_s=30", headers=headers).json()
    assert report["floor_feasible"] is True, report
    response = service.client.post(
        f"{API}/plans", json={"date": DAY, "time_limit_s": 10, "fairness_floor": 0.5}, headers=headers
    )
    assert response.status_code == 202, response.text
    plan = wait_for(service.client, headers, response.json()["id"])
    check_result(plan)
    assert plan["fairness_floor"] == 0.5
    summary = plan["result"]["summary"]
    # The job's plan (the default strategy) keeps the floor at the report's cost, group by group.
    assert summary["fairness_floor"] == 0.5 and summary["floor_cost"] == report["floor_cost"]
    assert summary["placed"] == report["floor_total_placed"]
    placed = {p["participant_id"] for p in plan["result"]["proposals"] if p["slot_id"]}
    people = service.client.get(f"{API}/participants?limit=100", headers=headers).json()["items"]
    programme = {p["id"]: p["programme"] for p in people}
    for group in report["groups"]:
        if group["dimension"] == "programme":
            got = sum(1 for pid in placed if programme[pid] == group["group"])
            assert got >= math.ceil(0.5 * group["possible"] - 1e-9), group
    # Without a floor: no floor, no cost.
    plain = wait_for(service.client, headers, start_plan(service.client, headers)["id"])
    assert plain["fairness_floor"] is None
    assert (plain["result"]["summary"]["fairness_floor"], plain["result"]["summary"]["floor_cost"]) == (None, None)


def test_a_floor_no_plan_keeps_fails_the_plan_saying_so(service):
    headers = service.auth("coordinator")
    for slot in ("shop", "garden", "furn"):  # one seat left (sew's): the groups' possible figures cannot all be met
        tag = service.client.get(f"{API}/slots/{slot}", headers=headers).headers["etag"]
        patched = service.client.patch(f"{API}/slots/{slot}", json={"seats": 0}, headers={**headers, "If-Match": tag})
        assert patched.status_code == 200, patched.text
    floor = 1.0
    report = service.client.get(f"{API}/reports/fairness?on={DAY}&floor={floor}", headers=headers).json()
    assert report["floor_feasible"] is False, report
    response = service.client.post(
        f"{API}/plans", json={"date": DAY, "time_limit_s": 10, "fairness_floor": floor}, headers=headers
    )
    assert response.status_code == 202, response.text
    plan = wait_for(service.client, headers, response.json()["id"])
    assert plan["status"] == "failed" and plan["result"] is None
    assert plan["error"].startswith(f"fairness_floor {floor:g}: no plan gives every group {floor:.0%}"), plan["error"]
