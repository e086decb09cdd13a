"""Ids are unique within an association, not across associations (issue 14, item 7).

Association 'default' (A) holds vioni, vk, hantverk, vk1, vk2, furn, sew, shop, garden and P1–P6; the other
association (B, its coordinator `foreign_coordinator`) may create every one of those ids for itself, by the API and
by an import, and is never told that A has them. A keeps seeing its own records under the same ids.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import pytest

from service.db import models as db
from service.db.engine import transaction
from service.imports.stamp import EXPORT_FILE
from tests.service.test_authorization import add_plan, add_twin, assert_nothing_of_the_twin

API = "/api/v1"
B = "foreign_coordinator"


def _get(service: Any, who: str, path: str) -> Any:
    return service.client.get(f"{API}{path}", headers=service.auth(who))


def _post(service: Any, who: str, path: str, body: dict[str, Any]) -> Any:
    return service.client.post(f"{API}{path}", json=body, headers=service.auth(who))


ENTERPRISE = {"id": "vk", "name": "B:s Värmekällan", "municipality": "Luleå"}
SITE = {"id": "vk1", "enterprise_id": "vk", "name": "B:s site", "municipality": "Luleå", "lat": 65.58, "lon": 22.15}
SLOT = {"id": "sew", "site_id": "vk1", "activity": "cafe", "seats": 7, "min_hours": 5, "max_hours": 20, "days": ["mon"]}
PARTICIPANT = {
    "id": "P1",
    "programme": "MIA",
    "municipality": "Luleå",
    "lat": 65.58,
    "lon": 22.15,
    "hours_per_week": 15,
    "days_available": ["mon"],
    "max_travel_minutes": 30,
}


def _create_all_in_b(service: Any) -> None:
    for path, body in (
        ("/enterprises", ENTERPRISE),
        ("/sites", SITE),
        ("/slots", SLOT),
        ("/participants", PARTICIPANT),
    ):
        response = _post(service, B, path, body)
        assert response.status_code == 201, (path, response.text)
        assert "exists already" not in response.text


@pytest.mark.parametrize(
    ("path", "field", "a_value", "b_value"),
    [
        ("/enterprises/vk", "name", "Värmekällan", "B:s Värmekällan"),
        ("/sites/vk1", "name", "Värmekällan", "B:s site"),
        ("/slots/sew", "seats", 1, 7),
        ("/participants/P1", "municipality", "Sigtuna", "Luleå"),
    ],
)
def test_an_id_association_a_uses_is_created_in_b_and_each_reads_its_own(service, path, field, a_value, b_value):
    _create_all_in_b(service)
    mine, theirs = _get(service, "coordinator", path), _get(service, B, path)
    assert mine.status_code == theirs.status_code == 200, (mine.text, theirs.text)
    assert mine.json()[field] == a_value and theirs.json()[field] == b_value


def test_a_second_post_of_the_same_id_in_the_same_association_is_still_409(service):
    _create_all_in_b(service)
    for path, body in (
        ("/enterprises", ENTERPRISE),
        ("/sites", SITE),
        ("/slots", SLOT),
        ("/participants", PARTICIPANT),
    ):
        response = _post(service, B, path, body)
        assert response.status_code == 409, (path, response.text)
        assert "exists already" in response.json()["detail"]


def test_b_places_its_p1_in_its_sew_and_a_sees_neither(service):
    _create_all_in_b(service)
    placed = _post(service, B, "/placements", {"participant_id": "P1", "slot_id": "sew", "start_date": "2026-11-23"})
    assert placed.status_code == 201, placed.text
    assert _get(service, B, "/slots/sew").json()["taken"] == 1
    assert _get(service, "coordinator", "/slots/sew").json()["taken"] == 0
    assert _get(service, "coordinator", "/participants/P1").json()["current_slot_id"] is None
    assert _get(service, "coordinator", "/placements").json()["total"] == 0
    assert _get(service, "coordinator", f"/placements/{placed.json()['id']}").status_code == 404
    # A places its own P1 in its own sew: the active-placement rule is per association too.
    mine = _post(
        service, "coordinator", "/placements", {"participant_id": "P1", "slot_id": "sew", "start_date": "2026-11-23"}
    )
    assert mine.status_code == 201, mine.text
    # B's slot 'sew' is not A's: A's participant cannot be placed in it, and B's seat count is unchanged.
    assert _get(service, B, "/slots/sew").json()["taken"] == 1


def test_deleting_b_s_records_leaves_a_s_records_of_the_same_ids(service):
    _create_all_in_b(service)
    headers = {**service.auth(B), "If-Match": "*"}
    for path in ("/participants/P1", "/slots/sew", "/sites/vk1", "/enterprises/vk"):
        response = service.client.delete(f"{API}{path}", headers=headers)
        assert response.status_code == 204, (path, response.text)
    for path in ("/participants/P1", "/slots/sew", "/sites/vk1", "/enterprises/vk"):
        assert _get(service, "coordinator", path).status_code == 200
        assert _get(service, B, path).status_code == 404


def test_importing_a_s_ids_into_b_creates_them_in_b_and_no_message_names_a(service):
    """The reported case: B's coordinator imported a file and was told its participant ids 'belong to another
    association's participant'. Now they are B's participants, with B's data; A's are untouched."""
    export = _get(service, "coordinator", "/exports?format=csv")
    assert export.status_code == 200, export.text
    files = []
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        for name in archive.namelist():
            if name.endswith(".csv") and name != EXPORT_FILE:  # the stamp names the exporting association
                files.append(("files", (name, archive.read(name), "text/csv")))
    response = service.client.post(f"{API}/imports", params={"apply": "true"}, files=files, headers=service.auth(B))
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["refused"] == [], report["refused"]
    assert {(c["kind"], c["id"]) for c in report["created"]} >= {("participant", f"P{i}") for i in range(1, 7)}
    for text in ("another association", "default", "belong"):
        assert text not in response.text
    with transaction(service.factory) as session:
        for pid in ("P1", "P6"):
            assert session.get(db.Participant, ("other", pid)) is not None
            assert session.get(db.Participant, ("default", pid)) is not None
    # A still reads its own P1, B its copy.
    assert _get(service, B, "/participants/P1").status_code == 200
    assert _get(service, "coordinator", "/participants/P1").status_code == 200


def test_a_hidden_id_answers_as_a_missing_one_on_every_path(service):
    """Before: POST of a hidden id answered 409 'exists already' while GET answered 404. Now a hidden id is simply
    another association's business: B can GET nothing of A's, and POST creates B's own."""
    assert _get(service, B, "/participants/P2").status_code == 404
    created = _post(service, B, "/participants", {**PARTICIPANT, "id": "P2"})
    assert created.status_code == 201, created.text
    assert _get(service, B, "/participants/P2").json()["municipality"] == "Luleå"
    assert _get(service, "coordinator", "/participants/P2").json()["municipality"] == "Sigtuna"


def _login(service: Any, who: str) -> None:
    client = service.client
    client.cookies.clear()
    form = client.get("/logga-in")
    found = re.search(r'name="csrf_token" value="([^"]*)"', form.text)
    assert found, form.text
    response = client.post("/logga-in", data={"token": service.tokens[who], "csrf_token": found.group(1)})
    assert response.status_code in (200, 303), response.text


PAGES = {
    "coordinator": [
        "/oversikt",
        "/oversikt/belaggning.xlsx",
        "/oversikt/utfall.xlsx",
        "/planer",
        "/planer/{plan}",
        "/logg",
        "/deltagare",
        "/deltagare/P1",
        "/platser",
        "/platser/sew",
        "/import",
    ],
    "coach": ["/deltagare", "/deltagare/P1"],
    "enterprise_manager": ["/platser", "/platser/sew"],
}


@pytest.mark.parametrize("who", sorted(PAGES))
def test_the_web_pages_show_nothing_of_an_association_with_the_same_ids(service, who):
    add_twin(service)
    plan = add_plan(service)
    _login(service, who)
    for page in PAGES[who]:
        response = service.client.get(page.format(plan=plan))
        assert response.status_code == 200, (page, response.text[:500])
        assert_nothing_of_the_twin(response)
