"""`Idempotency-Key` (issue 14, item 6): a replay answers the first answer and creates nothing, the same key with
another request is 422, keys are the caller's and expire, and concurrent replays create exactly one record."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from service.db import models as db
from service.db.engine import transaction
from tests.service.conftest import Service

API = "/api/v1"
DAY = "2026-11-23"
PLACE = {"participant_id": "P1", "slot_id": "furn", "start_date": DAY}
SLOT = {"id": "bake", "site_id": "hantverk", "activity": "bakery", "seats": 2, "min_hours": 5, "max_hours": 20}
SLOT["days"] = ["mon"]


def post(service: Service, path: str, body: dict[str, Any], key: str | None, who: str = "coordinator") -> Any:
    headers = service.auth(who) | ({"Idempotency-Key": key} if key else {})
    return service.client.post(f"{API}{path}", json=body, headers=headers)


def placements_of(service: Service, participant_id: str) -> int:
    with transaction(service.factory) as session:
        query = select(func.count()).select_from(db.Placement).where(db.Placement.participant_id == participant_id)
        return int(session.scalar(query) or 0)


def end(service: Service, placement_id: int) -> None:
    response = service.client.patch(
        f"{API}/placements/{placement_id}",
        json={"end_reason": "completed", "end_date": DAY},
        headers=service.auth("coordinator"),
    )
    assert response.status_code == 200, response.text


def test_a_replay_after_the_placement_ended_creates_no_second_placement(service: Service) -> None:
    first = post(service, "/placements", PLACE, "retry-1")
    assert first.status_code == 201, first.text
    end(service, first.json()["id"])
    replay = post(service, "/placements", PLACE, "retry-1")
    assert replay.status_code == 201
    assert replay.json() == first.json()  # the first answer, not the placement as it is now (ended)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["content-type"] == first.headers["content-type"]
    assert placements_of(service, "P1") == 1
    # Without the key the same body is a new request: a second placement (the first has ended).
    assert post(service, "/placements", PLACE, None).status_code == 201
    assert placements_of(service, "P1") == 2


def test_a_replay_repeats_status_body_and_etag(service: Service) -> None:
    first = post(service, "/slots", SLOT, "slot-key")
    assert first.status_code == 201, first.text
    replay = post(service, "/slots", SLOT, "slot-key")
    assert (replay.status_code, replay.json(), replay.headers["etag"]) == (201, first.json(), first.headers["etag"])
    assert "idempotent-replayed" not in first.headers


def test_the_same_key_with_another_body_is_422(service: Service) -> None:
    assert post(service, "/slots", SLOT, "k").status_code == 201
    response = post(service, "/slots", {**SLOT, "seats": 3}, "k")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "used for another request" in response.json()["detail"]
    other_path = post(service, "/placements", PLACE, "k")
    assert other_path.status_code == 422


def test_a_key_is_the_callers_own(service: Service) -> None:
    assert post(service, "/placements", PLACE, "shared", who="coordinator").status_code == 201
    end(service, int(post(service, "/placements", PLACE, "shared").json()["id"]))
    second = post(service, "/placements", PLACE, "shared", who="coach")  # the coach's key: a new request
    assert second.status_code == 201 and "idempotent-replayed" not in second.headers
    assert placements_of(service, "P1") == 2


def test_a_failed_request_keeps_no_key_and_can_be_retried(service: Service) -> None:
    full = {**PLACE, "slot_id": "nope"}
    assert post(service, "/placements", full, "again").status_code == 404
    with transaction(service.factory) as session:
        assert session.scalar(select(func.count()).select_from(db.IdempotencyKey)) == 0
    assert post(service, "/placements", full, "again").status_code == 404  # run anew, not "in progress"


def test_keys_expire(service: Service) -> None:
    first = post(service, "/placements", PLACE, "old")
    end(service, first.json()["id"])
    with transaction(service.factory) as session:
        row = session.get(db.IdempotencyKey, (service.user_ids["coordinator"], "old"))
        assert row is not None
        hours = service.client.app.state.settings.idempotency_key_hours  # type: ignore[attr-defined]
        assert row.expires_at - row.created_at == timedelta(hours=hours)
        session.execute(update(db.IdempotencyKey).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    again = post(service, "/placements", PLACE, "old")
    assert again.status_code == 201 and again.json()["id"] != first.json()["id"]
    assert placements_of(service, "P1") == 2


def test_a_bad_key_is_422(service: Service) -> None:
    assert post(service, "/slots", SLOT, "x" * 256).status_code == 422


def test_concurrent_replays_create_exactly_one(service: Service) -> None:
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post(service, "/slots", SLOT, "race"), range(16)))
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}, [a.text for a in answers]
    created = [a for a in answers if a.status_code == 201]
    assert created and all(a.json() == created[0].json() for a in created)
    assert sum("idempotent-replayed" not in a.headers for a in created) == 1  # one ran, the others replayed
    with transaction(service.factory) as session:
        assert session.scalar(select(func.count()).select_from(db.Slot).where(db.Slot.id == "bake")) == 1


def test_every_post_of_the_api_takes_the_key(service: Service) -> None:
    """Every POST under /api/v1 creates something (or applies an import or a plan): each takes the header."""
    spec = service.client.get("/openapi.json").json()
    posts = {path: op for path, item in spec["paths"].items() for method, op in item.items() if method == "post"}
    assert len(posts) >= 10
    without = [
        path
        for path, op in posts.items()
        if path.startswith(API) and not any(p["name"] == "Idempotency-Key" for p in op.get("parameters", []))
    ]
    assert without == []


def test_an_upload_retried_with_a_new_multipart_boundary_is_replayed(service: Service) -> None:
    text = b"slot_id,site_id,activity,seats,min_hours,max_hours,days\nbake,hantverk,bakery,1,5,20,mon\n"

    def send(boundary: str) -> Any:
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="slots.csv"\r\n\r\n'.encode()
            + text
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = service.auth("coordinator") | {
            "Idempotency-Key": "upload-1",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        }
        return service.client.post(f"{API}/imports?apply=true", content=body, headers=headers)

    first = send("first1234")
    assert first.status_code == 200, first.text
    replay = send("second5678")
    assert replay.status_code == 200 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()


def test_concurrent_keyed_imports_apply_once(service: Service) -> None:
    """An import claims its key in its own short write, after a lock-free comparison: still exactly one applies."""
    boundary = "b0undary"
    text = b"slot_id,site_id,activity,seats,min_hours,max_hours,days\nbake,hantverk,bakery,1,5,20,mon\n"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="slots.csv"\r\n\r\n'.encode()
        + text
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = service.auth("coordinator") | {
        "Idempotency-Key": "upload-race",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }

    def send(_: int) -> Any:
        return service.client.post(f"{API}/imports?apply=true", content=body, headers=headers)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(send, range(12)))
    assert {a.status_code for a in answers} <= {200, 409}, [a.text for a in answers]
    applied = [a for a in answers if a.status_code == 200]
    assert applied and all(a.json() == applied[0].json() for a in applied)
    assert sum("idempotent-replayed" not in a.headers for a in applied) == 1  # one ran, the others replayed
    assert applied[0].json()["applied"] is True
    with transaction(service.factory) as session:
        assert session.scalar(select(func.count()).select_from(db.Slot).where(db.Slot.id == "bake")) == 1
