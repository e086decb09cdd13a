"""End reasons `health` and `completed`: a coach or coordinator may give them; the outcomes report counts them as
ended, never as "towards work or studies"."""

from __future__ import annotations

from typing import Any

import pytest

API = "/api/v1"
DAY = "2026-11-23"


def place(service: Any, pid: str, slot: str) -> int:
    response = service.client.post(
        f"{API}/placements",
        json={"participant_id": pid, "slot_id": slot, "start_date": DAY},
        headers=service.auth("coordinator"),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def end(service: Any, placement_id: int, reason: str, who: str = "coordinator") -> Any:
    return service.client.patch(
        f"{API}/placements/{placement_id}", json={"end_reason": reason, "end_date": DAY}, headers=service.auth(who)
    )


@pytest.mark.parametrize("reason", ["health", "completed"])
def test_a_coach_ends_a_placement_for_health_or_a_completed_period(service, reason):
    placement = place(service, "P1", "furn")
    ended = end(service, placement, reason, who="coach")
    assert ended.status_code == 200, ended.text
    assert (ended.json()["end_reason"], ended.json()["end_date"]) == (reason, DAY)


def test_transferred_stays_reserved_for_applied_plans(service):
    response = end(service, place(service, "P1", "furn"), "transferred")
    assert response.status_code == 422 and "end_reason" in response.text


def test_health_and_completed_are_ended_but_not_towards_work_or_studies(service):
    ids = {
        pid: place(service, pid, slot)
        for pid, slot in (("P1", "furn"), ("P3", "garden"), ("P4", "sew"), ("P5", "garden"))
    }
    for pid, reason in (("P1", "work"), ("P3", "health"), ("P4", "studies"), ("P5", "completed")):
        assert end(service, ids[pid], reason).status_code == 200
    body = service.client.get(f"{API}/reports/outcomes", headers=service.auth("coordinator")).json()
    assert body["by_reason"] == {"completed": 1, "health": 1, "studies": 1, "work": 1}
    assert (body["ended"], body["towards_work_or_studies"], body["share_pct"]) == (4, 2, 50.0)
    assert body["summary"] == "2 of 4 ended towards work or studies (50 %)"
    samre = {p["programme"]: p for p in body["programmes"]}["SAMRE"]  # P1 work, P3 health, P5 completed
    assert samre["summary"] == "1 of 3 ended towards work or studies (33 %)"
