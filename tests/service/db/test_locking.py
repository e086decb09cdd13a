"""Reads take no write lock (issue 14, item 4): a GET, a token lookup and /health answer while another transaction
holds the database's write lock (on SQLite `BEGIN IMMEDIATE` with a write made, on PostgreSQL a row lock), and the
last seat still has exactly one winner among 20 concurrent takes.

No timing is asserted: before the fix these reads waited for the lock (SQLite's 30 s busy timeout) and then failed
with `database is locked`; here they must simply answer while the lock is held in this thread.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from service.db import models as db
from service.db.engine import transaction
from tests.service.placements.test_concurrency import active, post_placement, race

API = "/api/v1"


def hold_write_lock(service):
    """A write transaction that has written (so it holds the write lock, or the row's lock) and is not ended."""
    context = transaction(service.factory)
    session = context.__enter__()
    session.execute(update(db.Slot).where(db.Slot.id == "sew").values(activity="sewing"))
    session.flush()
    return context


def test_a_get_health_and_a_token_lookup_answer_during_a_held_write(service):
    held = hold_write_lock(service)
    try:
        assert service.client.get(f"{API}/health").status_code == 200
        slots = service.client.get(f"{API}/slots", headers=service.auth("coordinator"))
        assert slots.status_code == 200, slots.text
        sew = service.client.get(f"{API}/slots/sew", headers=service.auth("enterprise_manager"))
        assert sew.status_code == 200, sew.text
        assert service.client.get(f"{API}/slots", headers={"Authorization": "Bearer nope"}).status_code == 401
    finally:
        held.__exit__(None, None, None)


def test_a_read_session_may_not_write(service):
    with pytest.raises(RuntimeError, match="read"), transaction(service.factory, write=False) as session:
        slot = session.scalar(select(db.Slot).where(db.Slot.id == "sew"))
        assert slot is not None
        association = slot.association_id
        slot.seats = 7
    with transaction(service.factory, write=False) as session:
        assert session.get(db.Slot, (association, "sew")).seats == 1  # type: ignore[union-attr]


def test_an_audited_read_writes_its_entry_afterwards(service):
    with transaction(service.factory) as session:
        session.execute(delete(db.AuditEntry))
    response = service.client.get(f"{API}/participants/P1", headers=service.auth("coach"))
    assert response.status_code == 200, response.text
    with transaction(service.factory, write=False) as session:
        entries = list(session.scalars(select(db.AuditEntry)))
    assert [(e.action, [p.participant_id for p in e.participants]) for e in entries] == [("read", ["P1"])]


def test_twenty_concurrent_takes_of_the_last_seat_have_one_winner(service):
    """sew has one seat; P1–P6 ask for it through the coordinator, 20 requests at once (some for the same person)."""
    calls = [post_placement(service, "coordinator", f"P{1 + i % 6}", "sew") for i in range(20)]
    responses = race(*calls)
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1, [(r.status_code, r.text) for r in responses]
    assert set(statuses) == {201, 409}, [(r.status_code, r.text) for r in responses]
    assert len(active(service, slot_id="sew")) == 1
