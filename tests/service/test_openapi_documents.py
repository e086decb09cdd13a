"""What the fuzzing found, kept as plain tests: the OpenAPI documents every error as a problem detail, a 405 names
every method of its path, a boolean or a day is only what the schema says, a PATCH refuses null before its If-Match,
and an ETag is a header that can be sent whatever the id holds."""

from __future__ import annotations

from typing import Any

API = "/api/v1"


def call(service: Any, method: str, path: str, json: Any = None, **headers: str) -> Any:
    return service.client.request(method, API + path, json=json, headers={**service.auth("coordinator"), **headers})


def test_every_operation_documents_its_errors_as_problem_details(service):
    schema = service.client.get("/openapi.json").json()
    assert "ProblemDetail" in schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            if path != f"{API}/health":
                assert {"401", "403"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "422"} <= codes, (method, path)
            for code, response in operation["responses"].items():
                if int(code) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], (method, path, code)
            for parameter in operation.get("parameters", []):
                if parameter["name"].lower() == "if-match":
                    assert parameter["required"] and {"412", "428"} <= codes, (method, path)


def test_the_openapi_links_create_read_update_delete(service):
    paths = service.client.get("/openapi.json").json()["paths"]
    created = paths[f"{API}/slots"]["post"]["responses"]["201"]["links"]
    targets = {link["operationId"]: link["parameters"] for link in created.values()}
    patch = paths[f"{API}/slots/{{slot_id}}"]["patch"]["operationId"]
    assert targets[patch] == {"slot_id": "$response.body#/id", "header.if-match": "$response.header.ETag"}


def test_a_405_lists_every_method_of_the_path(service):
    response = call(service, "PUT", "/slots/furn")
    assert response.status_code == 405
    assert {"GET", "PATCH", "DELETE"} <= {m.strip() for m in response.headers["allow"].split(",")}
    assert response.headers["content-type"].startswith("application/problem+json")


def test_booleans_numbers_and_days_are_as_published(service):
    etag = call(service, "GET", "/slots/furn").headers["etag"]
    for body in ({"women_only": 0}, {"seats": False}, {"available_from": "0"}, {"available_to": 20260101}):
        response = call(service, "PATCH", "/slots/furn", body, **{"If-Match": etag})
        assert response.status_code == 422, (body, response.text)
    assert call(service, "GET", "/participants/P1/suggestions?date=0").status_code == 422
    assert call(service, "GET", "/audit?from=0").status_code == 422


def test_a_null_where_none_is_allowed_is_refused_before_the_precondition(service):
    response = call(service, "PATCH", "/slots/furn", {"seats": None}, **{"If-Match": '"stale"'})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "seats"
    schema = service.client.get("/openapi.json").json()["components"]["schemas"]
    assert "anyOf" not in schema["SlotUpdate"]["properties"]["seats"]  # null is not offered
    assert {"type": "null"} in schema["SlotUpdate"]["properties"]["min_age"]["anyOf"]  # but here it clears
