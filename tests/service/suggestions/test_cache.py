"""The compiled instance kept per data version: each kind of write moves the version, and the next suggestion shows
the write; a read moves nothing; two apps on one database (as two server processes) each see the other's writes."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from service.app import create_app
from service.core_bridge import active_slots
from service.db import models as db
from service.db.engine import transaction
from service.suggestions import cache
from tests.service.conftest import make_settings
from tests.service.imports.test_imports import csv_text, upload
from tests.service.test_api_errors import coach, coord  # noqa: F401  (fixtures)

API = "/api/v1"
DAY = "2026-11-23"


def version(service: Any, association: str = "default") -> tuple[int, int]:
    with transaction(service.factory) as session:
        row = session.execute(
            select(db.DataVersion.catalogue, db.DataVersion.occupancy).where(
                db.DataVersion.association_id == association
            )
        ).one()
        return int(row[0]), int(row[1])


def first(api: Any, participant: str = "P1") -> dict[str, Any]:
    response = api.get(f"/participants/{participant}/suggestions?date={DAY}&k=10")
    assert response.status_code == 200, response.text
    return dict(response.json())


def by_slot(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["slot_id"]: s for s in body["suggestions"]}


def patch_versioned(api: Any, path: str, body: dict[str, Any]) -> None:
    etag = api.get(path).headers["ETag"]
    response = api.patch(path, body, **{"If-Match": etag})
    assert response.status_code == 200, response.text


def test_a_repeated_read_is_served_from_the_cache_and_moves_nothing(service, coach):  # noqa: F811
    first(coach)
    before, hits = version(service), cache.stats["hits"]
    again = first(coach)
    assert version(service) == before  # the read (and its audit entry) moved no version
    assert cache.stats["hits"] == hits + 1
    assert by_slot(again)["sew"]["free_seats"] == 1


def test_an_enterprise_write_moves_the_catalogue(service, coord):  # noqa: F811
    assert by_slot(first(coord))["sew"]["enterprise_name"] == "Värmekällan"
    before = version(service)
    assert coord.patch("/enterprises/vk", {"name": "Värmekällan AB"}).status_code == 200
    assert version(service)[0] == before[0] + 1
    assert by_slot(first(coord))["sew"]["enterprise_name"] == "Värmekällan AB"


def test_a_site_write_moves_the_catalogue(service, coord):  # noqa: F811
    assert by_slot(first(coord))["sew"]["site_name"] == "Värmekällan"
    before = version(service)
    patch_versioned(coord, "/sites/vk1", {"name": "Värmekällan syateljé"})
    assert version(service)[0] == before[0] + 1
    assert by_slot(first(coord))["sew"]["site_name"] == "Värmekällan syateljé"


def test_a_slot_write_moves_the_catalogue(service, coord):  # noqa: F811
    assert by_slot(first(coord))["sew"]["free_seats"] == 1
    before = version(service)
    patch_versioned(coord, "/slots/sew", {"seats": 3})
    assert version(service)[0] == before[0] + 1
    assert by_slot(first(coord))["sew"]["free_seats"] == 3


def test_a_participant_write_moves_the_catalogue(service, coord):  # noqa: F811
    assert by_slot(first(coord))["sew"]["preference_rank"] == 1
    before = version(service)
    response = coord.patch("/participants/P1", {"preferences": ["furniture_renovation", "sewing"]})
    assert response.status_code == 200, response.text
    assert version(service)[0] == before[0] + 1
    assert by_slot(first(coord))["sew"]["preference_rank"] == 2


def test_a_new_participant_and_a_deleted_one_move_the_catalogue(service, coord):  # noqa: F811
    from tests.service.test_api_errors import PARTICIPANT

    before = version(service)
    assert coord.post("/participants", PARTICIPANT).status_code == 201
    assert version(service)[0] == before[0] + 1
    assert coord.get(f"/participants/P9/suggestions?date={DAY}").status_code == 200
    assert coord.delete("/participants/P9").status_code == 204
    assert version(service)[0] > before[0] + 1
    assert coord.get(f"/participants/P9/suggestions?date={DAY}").status_code == 404


def test_a_placement_moves_the_occupancy_and_its_end_moves_it_back(service, coord):  # noqa: F811
    assert "sew" in by_slot(first(coord))
    before, rebuilds = version(service), cache.stats["occupancy_rebuilds"]
    body = {"participant_id": "P3", "slot_id": "sew", "start_date": "2026-11-02"}
    response = coord.post("/placements", body)
    assert response.status_code == 201, response.text
    assert version(service) == (before[0], before[1] + 1)  # seats only: the catalogue stays
    after = first(coord)
    assert "sew" not in by_slot(after)  # its one seat is taken now
    assert cache.stats["occupancy_rebuilds"] == rebuilds + 1  # the catalogue was not read again
    held = coord.get("/participants/P3/suggestions?date=2026-11-23&k=10").json()
    assert by_slot(held)["sew"]["score_parts"].get("continuity", 0) > 0  # the holder's own seat, with continuity
    ended = coord.patch(f"/placements/{response.json()['id']}", {"end_reason": "work", "end_date": "2026-11-20"})
    assert ended.status_code == 200, ended.text
    assert version(service)[1] == before[1] + 2
    assert by_slot(first(coord))["sew"]["free_seats"] == 1


def test_a_scheduled_change_moves_the_catalogue(service, coord):  # noqa: F811
    before = version(service)
    etag = coord.get("/slots/sew").headers["ETag"]
    later = (date.today() + timedelta(days=7)).isoformat()
    response = coord.post("/slots/sew/scheduled-changes", {"effective_from": later, "seats": 2}, **{"If-Match": etag})
    assert response.status_code == 201, response.text
    assert version(service)[0] == before[0] + 1


def test_an_import_of_travel_times_moves_the_catalogue(service, coord):  # noqa: F811
    assert by_slot(first(coord))["sew"]["travel_minutes"] != 55
    before = version(service)
    table = (["participant_id", "site_id", "minutes"], [{"participant_id": "P1", "site_id": "vk1", "minutes": "55"}])
    files = [("files", ("travel_times.csv", csv_text(*table), "text/csv"))]
    response = upload(service, files, apply=True)
    assert response.status_code == 200, response.text
    assert version(service)[0] == before[0] + 1
    assert by_slot(first(coord))["sew"]["travel_minutes"] == 55


def test_a_write_in_another_association_leaves_this_one_cached(service, coord):  # noqa: F811
    first(coord)
    before = version(service)
    with transaction(service.factory) as session:
        session.add(db.Enterprise(id="far2", association_id="other", name="Elsewhere 2", municipality="Luleå"))
    assert version(service) == before
    assert version(service, "other")[0] >= 1


def test_two_apps_on_one_database_see_each_others_writes(service, database_url: str, tmp_path: Path):
    """Two apps (two engines, two caches: as two server processes) on one database, both warmed up."""
    other_app = create_app(make_settings(database_url, tmp_path / "second"))
    headers = service.auth("coordinator")
    with TestClient(other_app) as other:

        def ask(client: TestClient) -> dict[str, Any]:
            response = client.get(f"{API}/participants/P1/suggestions?date={DAY}&k=10", headers=headers)
            assert response.status_code == 200, response.text
            return dict(response.json())

        assert by_slot(ask(service.client))["sew"]["free_seats"] == 1
        assert by_slot(ask(other))["sew"]["free_seats"] == 1
        # A catalogue write through the first app: the second sees it.
        etag = service.client.get(f"{API}/slots/sew", headers=headers).headers["ETag"]
        response = service.client.patch(f"{API}/slots/sew", json={"seats": 2}, headers={**headers, "If-Match": etag})
        assert response.status_code == 200, response.text
        assert by_slot(ask(other))["sew"]["free_seats"] == 2
        # A placement through the second app: the first sees it.
        body = {"participant_id": "P3", "slot_id": "sew", "start_date": "2026-11-02"}
        assert other.post(f"{API}/placements", json=body, headers=headers).status_code == 201
        assert by_slot(ask(service.client))["sew"]["free_seats"] == 1
        assert by_slot(ask(other))["sew"]["free_seats"] == 1


def test_a_write_in_association_b_through_the_api_moves_only_b(service, coord):  # noqa: F811
    """B creates A's ids for itself (an enterprise, site and slot `sew`, a participant P1) and places its P1 on its
    `sew`: each write moves B's version; A's stays and its kept instance is still served, its `sew` as it was."""
    from tests.service.test_tenancy import _create_all_in_b, _get, _post

    mine = first(coord)
    assert by_slot(mine)["sew"]["free_seats"] == 1
    before, hits = version(service), cache.stats["hits"]
    b_before = version(service, "other")
    with transaction(service.factory) as session:
        held = active_slots(session, "default")
    _create_all_in_b(service)
    b_created = version(service, "other")
    assert b_created[0] >= b_before[0] + 4  # enterprise, site, slot, participant: one flush each
    placed = _post(service, "foreign_coordinator", "/placements", {"participant_id": "P1", "slot_id": "sew",
                                                                    "start_date": "2026-11-02"})  # fmt: skip
    assert placed.status_code == 201, placed.text
    assert version(service, "other") == (b_created[0], b_created[1] + 1)
    assert version(service) == before
    with transaction(service.factory) as session:
        assert active_slots(session, "default") == held  # read again: still A's seats only
        assert active_slots(session, "other") == {"P1": "sew"}
    assert first(coord) == mine  # A's P1 and A's `sew` untouched by B's P1 on B's `sew`
    assert cache.stats["hits"] == hits + 1
    theirs = _get(service, "foreign_coordinator", f"/participants/P1/suggestions?date={DAY}&k=10")
    assert theirs.status_code == 200, theirs.text
    sew = by_slot(theirs.json())["sew"]
    assert sew["enterprise_name"] == "B:s Värmekällan"  # B's catalogue, not A's kept one
    assert sew["score_parts"].get("continuity", 0) > 0  # B's P1 holds B's `sew` (B's placements, not A's)
    assert by_slot(mine)["sew"]["score_parts"].get("continuity", 0) == 0


def test_two_associations_sharing_a_slot_id_move_their_own_versions(service):
    """Rows written straight through the ORM (as an import does): a change to B's slot `sew` moves B's catalogue,
    one to A's moves A's, and deleting B's moves B's only, though both slots are `sew` on a site `vk1`."""
    with transaction(service.factory) as session:
        session.add(db.Enterprise(association_id="other", id="vk", name="B", municipality="Luleå"))
        session.add(
            db.Site(association_id="other", id="vk1", enterprise_id="vk", name="B", municipality="Luleå", lat=65.5,
                    lon=22.1)
        )  # fmt: skip
        session.add(
            db.Slot(association_id="other", id="sew", site_id="vk1", activity="cafe", seats=4, min_hours=5,
                    max_hours=20)
        )  # fmt: skip
    a, b = version(service), version(service, "other")
    with transaction(service.factory) as session:
        slot = session.get(db.Slot, ("other", "sew"))
        assert slot is not None
        slot.seats = 5
    assert version(service) == a
    assert version(service, "other") == (b[0] + 1, b[1])
    with transaction(service.factory) as session:
        slot = session.get(db.Slot, ("default", "sew"))
        assert slot is not None
        slot.seats = 2
    assert version(service) == (a[0] + 1, a[1])
    assert version(service, "other") == (b[0] + 1, b[1])
    with transaction(service.factory) as session:
        session.delete(session.get(db.Slot, ("other", "sew")))
    assert version(service) == (a[0] + 1, a[1])
    assert version(service, "other") == (b[0] + 2, b[1])


def test_a_bulk_delete_scoped_to_an_association_moves_only_that_one(service):
    """`delete(TravelTime).where(association_id == …)` (as deleting a participant does) moves that association's
    catalogue; a bulk delete not limited to one association moves every association's."""
    from sqlalchemy import delete

    a, b = version(service), version(service, "other")
    with transaction(service.factory) as session:
        session.execute(
            delete(db.TravelTime)
            .where(db.TravelTime.association_id == "default", db.TravelTime.participant_id == "P1")
            .execution_options(synchronize_session=False)
        )
    assert version(service) == (a[0] + 1, a[1])
    assert version(service, "other") == b
    with transaction(service.factory) as session:
        session.execute(
            delete(db.TravelTime)
            .where(db.TravelTime.participant_id == "P2")
            .execution_options(synchronize_session=False)
        )
    assert version(service) == (a[0] + 2, a[1])
    assert version(service, "other") == (b[0] + 1, b[1])
