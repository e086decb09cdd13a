"""The API accepts for `municipality` exactly what an import accepts: an official name of one of SCB's 290
municipalities, canonicalised as the reader reads it, or a 422 naming the field with the reader's own message."""

from __future__ import annotations

from typing import Any

import pytest

from service.db import models as db
from service.db.engine import transaction
from tests.service.test_api_errors import ENTERPRISE, PARTICIPANT, SITE, Api, assert_invalid

SIGTNA = "'Sigtna' is not a Swedish municipality; did you mean Sigtuna?"
MARSTA = "'Märsta' is not a Swedish municipality; did you mean Mariestad, Karlstad or Fagersta?"  # a town, no kommun

# (path to POST to, the body, the path of the created record, an existing record's path to PATCH, its model and id)
KINDS = {
    "enterprise": ("/enterprises", ENTERPRISE, "/enterprises/bageri", "/enterprises/vk", db.Enterprise, "vk"),
    "site": ("/sites", SITE, "/sites/bake1", "/sites/vk1", db.Site, "vk1"),
    "participant": ("/participants", PARTICIPANT, "/participants/P9", "/participants/P1", db.Participant, "P1"),
}


@pytest.fixture
def coord(service):
    return Api(service, "coordinator")


def patch(api: Api, path: str, body: dict[str, Any]) -> Any:
    """PATCH with the current ETag where the record has one (sites), so the answer is about the body."""
    etag = api.get(path).headers.get("etag")
    return api.patch(path, body, **({"If-Match": etag} if etag else {}))


def stored(service: Any, model: type[db.Base], key: str) -> str:
    with transaction(service.factory) as session:
        return session.get(model, ("default", key)).municipality  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("sent", "official"),
    [("upplands vasby", "Upplands Väsby"), ("UPPLANDS-BRO", "Upplands-Bro"), ("Sigtuna", "Sigtuna")],
)
def test_a_name_the_reader_would_correct_is_stored_as_the_official_name(coord, service, kind, sent, official):
    post_path, body, created_path, existing_path, model, key = KINDS[kind]
    created = coord.post(post_path, {**body, "municipality": sent})
    assert created.status_code == 201, created.text
    assert created.json()["municipality"] == official
    assert coord.get(created_path).json()["municipality"] == official

    updated = patch(coord, existing_path, {"municipality": sent.lower()})
    assert updated.status_code == 200, updated.text
    assert updated.json()["municipality"] == official
    assert stored(service, model, key) == official


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("sent", "message"), [("Sigtna", SIGTNA), ("Märsta", MARSTA)])
def test_a_name_that_is_no_municipality_is_422_with_the_readers_message(coord, service, kind, sent, message):
    post_path, body, created_path, existing_path, model, key = KINDS[kind]
    refused = assert_invalid(coord.post(post_path, {**body, "municipality": sent}), "municipality")
    assert {"field": "municipality", "message": message} in refused["errors"]
    assert refused["detail"] == f"municipality: {message}"
    assert coord.get(created_path).status_code == 404

    before = stored(service, model, key)
    refused = assert_invalid(patch(coord, existing_path, {"municipality": sent}), "municipality")
    assert {"field": "municipality", "message": message} in refused["errors"]
    assert stored(service, model, key) == before
