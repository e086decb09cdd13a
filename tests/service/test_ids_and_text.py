"""The API takes exactly the ids, codes and names an import takes (docs/data-format.md, "Ids, codes and text"), rule by
rule, answers 422 with the reader's reason where it does not, never 500, and encodes every header it sends."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import matcher
from service.catalogue.capacity import etag
from service.db import models as db
from service.db.engine import transaction
from service.fields import MAX_CODES, MAX_DAYS, MAX_ID_LENGTH, MAX_NAME_LENGTH, attachment
from tests.service.imports.test_imports import XLSX, csv_files, row, tiny_tables, upload
from tests.service.test_api_errors import ENTERPRISE, PARTICIPANT, SITE, Api, assert_invalid

SLOT = {
    "id": "kafe", "site_id": "vk1", "activity": "cafe", "seats": 2, "min_hours": 5, "max_hours": 20,
    "days": ["mon", "tue"],
}  # fmt: skip
PNR = "pseudonymous codes only: '{}' looks like a personal identity number"
NAME = "pseudonymous codes only: '{}' looks like a person's name"
BAD = ["kafe_ā", "kafe\u0085x", "kafe\x7fx", "kafe\u200bx", "kafe\u202ex", "   ", "19850101-1234", "850101-1234",
       "198501011234", "850101+1234", "Anna Andersson"]  # fmt: skip
REASON = {
    "kafe_ā": "'kafe_ā' is not a valid id or code",
    "kafe\u0085x": "holds U+0085 (a control character)",
    "kafe\x7fx": "holds U+007F (a control character)",
    "kafe\u200bx": "holds U+200B (an invisible formatting character",
    "kafe\u202ex": "holds U+202E (an invisible formatting character",
    "   ": "must not be empty or only whitespace",
    **{p: PNR.format(p) for p in ("19850101-1234", "850101-1234", "198501011234", "850101+1234")},
    "Anna Andersson": NAME.format("Anna Andersson"),
}


@pytest.fixture
def coord(service):
    return Api(service, "coordinator")


def message(response: Any, field: str) -> str:
    body = assert_invalid(response, field)
    return " ".join(e["message"] for e in body["errors"] if e["field"].endswith(field))


def count(service: Any, model: type[db.Base]) -> int:
    with transaction(service.factory) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# --- ids ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", BAD, ids=repr)
def test_a_participant_id_that_is_not_a_pseudonymous_code_is_422_saying_why(coord, service, value):
    before = count(service, db.Participant)
    response = coord.post("/participants", {**PARTICIPANT, "id": value})
    assert REASON[value] in message(response, "id")
    assert count(service, db.Participant) == before


@pytest.mark.parametrize("value", BAD, ids=repr)
def test_a_slot_id_outside_the_alphabet_is_422_not_500(coord, value):
    response = coord.post("/slots", {**SLOT, "id": value})
    text = message(response, "id")
    if value == "Anna Andersson":  # the name rule is a participant's; a space in an id is refused anyway
        assert "holds a space" in text
    else:
        assert REASON[value] in text


@pytest.mark.parametrize("value", ["19850101-1234", "Anna_Andersson", "kafe_ā"])
def test_ids_in_other_bodies_are_checked_the_same_way(coord, value):
    assert_invalid(coord.post("/placements", {"participant_id": value, "slot_id": "sew", "start_date": "2026-11-23"}),
                   "participant_id")  # fmt: skip
    if value != "Anna_Andersson":  # the name rule is a participant's only (an enterprise id may be `Anna_AB`)
        assert_invalid(coord.post("/sites", {**SITE, "enterprise_id": value}), "enterprise_id")
        # enterprise ids, so not the name rule: a participant must be able to avoid every enterprise there is
        assert_invalid(coord.patch("/participants/P1", {"avoid_enterprises": [value]}), "avoid_enterprises.0")


@pytest.mark.parametrize("value", ["kafe_ā", "kafe\u0085x", "19850101-1234x" * 5, "a b"])
def test_an_id_in_a_path_or_a_query_outside_the_alphabet_is_422(coord, value):
    for path in ("/slots/{}", "/sites/{}", "/enterprises/{}", "/participants/{}", "/participants/{}/suggestions"):
        response = coord.get(path.format(value))
        assert response.status_code == 422, (path, response.text)
    response = coord.service.client.get("/api/v1/slots", params={"site_id": value}, headers=coord.headers)
    assert_invalid(response, "site_id")


def test_a_stored_id_outside_the_alphabet_never_breaks_a_header(coord, service):
    # Stored before the alphabet held (an old import): the list answers, and its ETag is encodable.
    with transaction(service.factory) as session:
        fields = {"activity": "cafe", "seats": 1, "min_hours": 5, "max_hours": 20, "days": ["mon"], "supports": [],
                  "programmes": [], "women_only": False, "supervision_ratio": 0.25}  # fmt: skip
        session.add(db.Slot(association_id="default", id="kafe_ā", site_id="vk1", **fields))
    response = coord.get("/slots")
    assert response.status_code == 200 and "kafe_ā" in response.text
    with transaction(service.factory) as session:
        slot = session.get(db.Slot, ("default", "kafe_ā"))
        assert slot is not None
        tag = etag(slot)
    assert tag == '"kafe_%C4%81.v1"' and tag.encode("latin-1")
    assert coord.get("/slots/kafe_ā").status_code == 422  # not 500


def test_an_etag_of_an_id_of_the_alphabet_is_unchanged(coord):
    response = coord.get("/slots/sew")
    assert response.headers["etag"] == '"sew.v1"'


def test_a_download_name_outside_latin_1_is_sent_safely():
    header = attachment("utdrag-Åre-kafe_ā.zip")["Content-Disposition"]
    header.encode("latin-1")
    assert header == "attachment; filename=\"utdrag-_re-kafe__.zip\"; filename*=UTF-8''utdrag-%C3%85re-kafe_%C4%81.zip"
    assert attachment("dataset-default.zip") == {"Content-Disposition": 'attachment; filename="dataset-default.zip"'}


# --- names and codes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [v for v in BAD if v not in ("kafe_ā", "Anna Andersson")], ids=repr)
def test_a_name_the_import_refuses_is_422(coord, value):
    assert REASON[value] in message(coord.post("/enterprises", {**ENTERPRISE, "name": value}), "name")
    etag_ = coord.get("/sites/vk1").headers["etag"]
    assert REASON[value] in message(coord.patch("/sites/vk1", {"name": value}, **{"If-Match": etag_}), "name")


@pytest.mark.parametrize("value", ["kafe_ā", "Anna Andersson", "Värmekällan syateljé"])
def test_names_of_enterprises_and_sites_may_be_any_printable_text_and_names_of_people(coord, value):
    response = coord.post("/enterprises", {**ENTERPRISE, "name": value})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == value


def test_a_name_is_stored_as_an_import_would_read_it(coord):
    response = coord.post("/enterprises", {**ENTERPRISE, "name": "  Cafe\u0301 Kvarnen "})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Café Kvarnen"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/participants", {**PARTICIPANT, "programme": "Anna Andersson"}, "programme"),
        ("/participants", {**PARTICIPANT, "preferences": ["sewing", "850101-1234"]}, "preferences.1"),
        ("/participants", {**PARTICIPANT, "needs": ["Anna_Andersson"]}, "needs.0"),
        ("/slots", {**SLOT, "activity": "kafé"}, "activity"),
        ("/slots", {**SLOT, "supports": ["swedish support"]}, "supports.0"),
        ("/slots", {**SLOT, "programmes": ["SAMRE|MIA"]}, "programmes.0"),  # would be two codes in a file
        ("/sites", {**SITE, "accessibility": ["wheel\u200bchair"]}, "accessibility.0"),
    ],
)
def test_codes_follow_the_id_rules(coord, path, body, field):
    assert_invalid(coord.post(path, body), field)


# --- sizes (item 3, the schema half) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/enterprises", {**ENTERPRISE, "name": "x" * (MAX_NAME_LENGTH + 1)}, "name"),
        ("/enterprises", {**ENTERPRISE, "id": "x" * (MAX_ID_LENGTH + 1)}, "id"),
        ("/slots", {**SLOT, "supports": [f"s{i}" for i in range(MAX_CODES + 1)]}, "supports"),
        ("/slots", {**SLOT, "days": ["mon"] * (MAX_DAYS + 1)}, "days"),
        ("/participants", {**PARTICIPANT, "preferences": [f"a{i}" for i in range(MAX_CODES + 1)]}, "preferences"),
    ],
)
def test_a_string_or_a_list_over_its_limit_is_422(coord, path, body, field):
    assert_invalid(coord.post(path, body), field)


def test_every_string_and_list_of_a_request_body_has_a_limit_in_the_openapi(service):
    schemas = service.client.get("/openapi.json").json()["components"]["schemas"]
    request_bodies = [n for n in schemas if n.endswith(("Create", "Update", "Apply", "End"))]
    assert len(request_bodies) >= 9, request_bodies
    unlimited: list[str] = []

    def walk(name: str, schema: dict[str, Any]) -> None:
        for option in schema.get("anyOf", [schema]):
            plain_string = option.get("type") == "string" and "enum" not in option and "format" not in option
            if plain_string and "maxLength" not in option:
                unlimited.append(name)
            if option.get("type") == "array":
                if "maxItems" not in option:
                    unlimited.append(name)
                walk(name + "[]", option.get("items", {}))

    for body in request_bodies:
        for field, schema in schemas[body].get("properties", {}).items():
            walk(f"{body}.{field}", schema)
    assert unlimited == []
    # The id rules as the OpenAPI says them: the alphabet, and what it lets through that is refused all the same.
    slot_id, person_id = schemas["SlotCreate"]["properties"]["id"], schemas["ParticipantCreate"]["properties"]["id"]
    assert slot_id["pattern"] == person_id["pattern"] == matcher.ID_PATTERN
    assert slot_id["not"] == {"pattern": matcher.PERSONAL_NUMBER_PATTERN}
    assert person_id["not"]["anyOf"][1] == {"pattern": matcher.PERSONAL_NAME_ID_PATTERN}


# --- imports: the same rules, by file, row and column ------------------------------------------------------------


@pytest.mark.parametrize("value", BAD, ids=repr)
def test_an_import_refuses_what_the_api_refuses_naming_file_row_and_column(service, value):
    tables = tiny_tables()
    row(tables, "participants", "P3")["participant_id"] = value
    response = upload(service, csv_files({"participants": tables["participants"]}))
    assert response.status_code == 422, response.text
    problems = [(p["file"], p["row"], p["column"]) for p in response.json()["problems"]]
    assert ("participants.csv", 4, "participant_id") in problems, response.json()


# --- one validation for both paths: what the API stores exports and imports back unchanged -----------------------

# Text a coordinator's tools produce, and the characters the rules are about.
TEXT = st.text(
    alphabet=st.one_of(
        st.characters(exclude_categories=("Cs",)),  # a lone surrogate cannot be sent as UTF-8 at all
        st.sampled_from("aZ09_.-åäöÅÄÖé \t\n\r\u00a0\u0085\x7f\u200b\u202e\u2028\ufeff;,|\"'=+"),
    ),
    max_size=24,
)
EXPORTS = [("csv", "semicolon"), ("csv", "comma"), ("xlsx", "semicolon")]
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None
)


def export_files(service: Any, fmt: str, dialect: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    response = service.client.get(
        "/api/v1/exports", params={"format": fmt, "dialect": dialect}, headers=service.auth("coordinator")
    )
    assert response.status_code == 200, response.text
    if fmt == "xlsx":
        return [("files", ("export.xlsx", response.content, XLSX))]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    return [("files", (name, archive.read(name), "text/csv")) for name in archive.namelist()]


def assert_round_trip(service: Any) -> None:
    for fmt, dialect in EXPORTS:
        report = upload(service, export_files(service, fmt, dialect))
        assert report.status_code == 200, (fmt, dialect, report.text)
        body = report.json()
        assert (body["created"], body["changed"], body["refused"]) == ([], [], []), (fmt, dialect, body)


@SETTINGS
@given(name=TEXT)
@example(name="=1+1")
@example(name="a\rb\r\nc")
@example(name=" x ")
@example(name="'0042")
@example(name="TRUE")
def test_a_name_the_api_accepts_exports_and_imports_back_unchanged_and_one_it_refuses_the_import_refuses(service, name):
    response = Api(service, "coordinator").patch("/enterprises/vk", {"name": name})
    tables = tiny_tables()
    row(tables, "enterprises", "vk")["name"] = name
    if response.status_code == 200:
        assert response.json()["name"] == matcher.clean_text(name)
        assert_round_trip(service)
    else:
        assert response.status_code == 422, response.text
        imported = upload(service, csv_files({"enterprises": tables["enterprises"]}))
        assert imported.status_code == 422, (name, imported.text)


@SETTINGS
@given(code=TEXT)
@example(code="=A1")
@example(code="1e5")
@example(code="-1")
@example(code="MIA.")
@example(code=" MIA\t")
def test_a_code_the_api_accepts_exports_and_imports_back_unchanged_and_one_it_refuses_the_import_refuses(service, code):
    response = Api(service, "coordinator").patch("/participants/P1", {"programme": code})
    tables = tiny_tables()
    row(tables, "participants", "P1")["programme"] = code
    if response.status_code == 200:
        assert response.json()["programme"] == code
        assert_round_trip(service)
    else:
        assert response.status_code == 422, response.text
        imported = upload(service, csv_files({"participants": tables["participants"]}))
        # The reader strips a cell first (` MIA` is `MIA` there); the API takes an id or code exactly as sent.
        assert imported.status_code == 422 or code != code.strip(), (code, imported.text)


def test_every_string_parameter_has_a_limit_in_the_openapi(service):
    unlimited = []
    for path, operations in service.client.get("/openapi.json").json()["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                for option in parameter["schema"].get("anyOf", [parameter["schema"]]):
                    plain_string = option.get("type") == "string" and "enum" not in option and "format" not in option
                    if (plain_string and "maxLength" not in option) or (
                        option.get("type") == "array" and "maxItems" not in option
                    ):
                        unlimited.append(f"{method} {path} {parameter['name']}")
    assert unlimited == []


@SETTINGS
@given(key=TEXT)
@example(key=" bageri ")
@example(key="kafe_ā")
def test_an_id_the_api_accepts_exports_and_imports_back_unchanged_and_one_it_refuses_the_import_refuses(service, key):
    coord = Api(service, "coordinator")
    response = coord.post("/enterprises", {**ENTERPRISE, "id": key})
    tables = tiny_tables()
    tables["enterprises"][1].append({"enterprise_id": key, "name": "Bageriet", "municipality": "Sigtuna"})
    if response.status_code == 201:
        assert response.json()["id"] == key
        assert_round_trip(service)
        assert coord.delete(f"/enterprises/{key}").status_code == 204
    else:
        assert response.status_code in (409, 422), response.text  # 409: an id there is already
        if response.status_code == 422:
            imported = upload(service, csv_files({"enterprises": tables["enterprises"]}))
            assert imported.status_code == 422 or key != key.strip(), (key, imported.text)
