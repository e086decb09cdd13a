"""The service starts, answers health without a token, and refuses the API without one."""


def test_health_needs_no_token(service):
    response = service.client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_api_needs_a_token(service):
    response = service.client.get("/api/v1/participants")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_coach_sees_only_own_participants(service):
    response = service.client.get("/api/v1/participants", headers=service.auth("coach"))
    assert response.status_code == 200
    assert sorted(p["id"] for p in response.json()["items"]) == ["P1", "P2", "P3"]
