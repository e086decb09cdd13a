"""Who may call what: one table of every operation under /api/v1 and the roles allowed to use it.

The table is checked against the `x-roles` the OpenAPI publishes (a new endpoint without a rule fails here), and
then every operation is called as every role: a role outside the table gets 403 from the role gate, a role inside it
gets through. Objects outside a user's view answer 404, never 403; a missing or revoked token answers 401.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

import matcher
from service.auth.users import revoke_user
from service.db import models as db
from service.db.engine import transaction
from service.imports.loader import insert_dataset
from tests.service.conftest import tiny_instance

# A stored plan result's summary as the solve writes it (service.plans.schemas.PlanSummary), with nothing placed.
SUMMARY = {
    "status": "optimal", "placed": 0, "total": 0, "total_score": 0, "placed_bound": 0, "score_bound": 0,
    "placed_gap": 0.0, "solve_seconds": 0.0, "changes": {},
}  # fmt: skip

API = "/api/v1"
C, K, M = "coordinator", "coach", "enterprise_manager"
ALL = frozenset({C, K, M})
ROLES = (C, K, M)
PLAN_DATE = "2026-11-23"
SCHEDULED_FROM = (date.today() + timedelta(days=10)).isoformat()  # a dated change holds from tomorrow at the earliest

RULES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/enterprises"): ALL,
    ("POST", "/api/v1/enterprises"): frozenset({C}),
    ("GET", "/api/v1/enterprises/{enterprise_id}"): ALL,
    ("PATCH", "/api/v1/enterprises/{enterprise_id}"): frozenset({C, M}),
    ("DELETE", "/api/v1/enterprises/{enterprise_id}"): frozenset({C}),
    ("GET", "/api/v1/sites"): ALL,
    ("POST", "/api/v1/sites"): frozenset({C, M}),
    ("GET", "/api/v1/sites/{site_id}"): ALL,
    ("PATCH", "/api/v1/sites/{site_id}"): frozenset({C, M}),
    ("DELETE", "/api/v1/sites/{site_id}"): frozenset({C, M}),
    ("GET", "/api/v1/sites/{site_id}/history"): frozenset({C, M}),
    ("GET", "/api/v1/slots"): ALL,
    ("POST", "/api/v1/slots"): frozenset({C, M}),
    ("GET", "/api/v1/slots/{slot_id}"): ALL,
    ("PATCH", "/api/v1/slots/{slot_id}"): frozenset({C, M}),
    ("DELETE", "/api/v1/slots/{slot_id}"): frozenset({C, M}),
    ("GET", "/api/v1/slots/{slot_id}/history"): frozenset({C, M}),
    ("POST", "/api/v1/slots/{slot_id}/scheduled-changes"): frozenset({C, M}),
    ("GET", "/api/v1/slots/{slot_id}/scheduled-changes"): frozenset({C, M}),
    ("DELETE", "/api/v1/slots/{slot_id}/scheduled-changes/{change_id}"): frozenset({C, M}),
    ("POST", "/api/v1/sites/{site_id}/scheduled-changes"): frozenset({C, M}),
    ("GET", "/api/v1/sites/{site_id}/scheduled-changes"): frozenset({C, M}),
    ("DELETE", "/api/v1/sites/{site_id}/scheduled-changes/{change_id}"): frozenset({C, M}),
    ("GET", "/api/v1/participants"): frozenset({C, K}),
    ("POST", "/api/v1/participants"): frozenset({C, K}),
    ("GET", "/api/v1/participants/{participant_id}"): frozenset({C, K}),
    ("PATCH", "/api/v1/participants/{participant_id}"): frozenset({C, K}),
    ("DELETE", "/api/v1/participants/{participant_id}"): frozenset({C}),
    ("GET", "/api/v1/participants/{participant_id}/suggestions"): frozenset({C, K}),
    ("GET", "/api/v1/participants/{participant_id}/whatif"): frozenset({C, K}),
    ("GET", "/api/v1/participants/{participant_id}/record"): frozenset({C}),
    ("POST", "/api/v1/participants/{participant_id}/erasure"): frozenset({C}),
    ("POST", "/api/v1/placements"): frozenset({C, K}),
    ("GET", "/api/v1/placements"): frozenset({C, K}),
    ("GET", "/api/v1/placements/{placement_id}"): frozenset({C, K}),
    ("PATCH", "/api/v1/placements/{placement_id}"): frozenset({C, K}),
    ("POST", "/api/v1/plans"): frozenset({C}),
    ("GET", "/api/v1/plans"): frozenset({C}),
    ("GET", "/api/v1/plans/{plan_id}"): frozenset({C}),
    ("POST", "/api/v1/plans/{plan_id}/apply"): frozenset({C}),
    ("GET", "/api/v1/audit"): frozenset({C}),
    ("POST", "/api/v1/imports"): frozenset({C}),
    ("GET", "/api/v1/exports"): frozenset({C}),
    ("GET", "/api/v1/reports/utilisation"): frozenset({C}),
    ("GET", "/api/v1/reports/outcomes"): frozenset({C}),
    ("GET", "/api/v1/reports/capacity-value"): frozenset({C}),
    ("GET", "/api/v1/reports/fairness"): frozenset({C}),
}
"""(method, path template) -> the roles allowed. Every operation of the OpenAPI under /api/v1 but /health."""

OPERATIONS = sorted(RULES)
HTTP_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "trace"}


# --- helpers -----------------------------------------------------------------------------------------------------


class RecordingRunner:
    """Stands in for the solve pool: a plan stays queued, and no worker process is started."""

    def __init__(self) -> None:
        self.submitted: list[int] = []

    def submit(self, plan_id: int) -> None:
        self.submitted.append(plan_id)

    def recover(self) -> None:
        pass

    def shutdown(self) -> None:
        pass


@pytest.fixture
def svc(service: Any) -> Iterator[Any]:
    """The service with solves recorded instead of run; the real runner is put back before the app stops."""
    real = service.client.app.state.plan_runner
    service.client.app.state.plan_runner = RecordingRunner()
    yield service
    service.client.app.state.plan_runner = real


def add_placement(service: Any, participant_id: str, slot_id: str, start: date = date(2026, 1, 1)) -> int:
    """The participant's active placement (created in `slot_id` when they hold none)."""
    with transaction(service.factory) as session:
        active = session.scalar(
            select(db.Placement.id).where(
                db.Placement.association_id == "default",
                db.Placement.participant_id == participant_id,
                db.Placement.end_date.is_(None),
            )
        )
        if active is not None:
            return active
        placement = db.Placement(
            association_id="default", participant_id=participant_id, slot_id=slot_id, start_date=start
        )
        session.add(placement)
        session.flush()
        return placement.id


def add_plan(service: Any, association: str = "default", status: db.PlanStatus = db.PlanStatus.done) -> int:
    done = status is db.PlanStatus.done
    result = {"format": 2, "summary": SUMMARY, "warnings": [], "proposals": []} if done else None
    with transaction(service.factory) as session:
        plan = db.Plan(
            association_id=association, status=status, plan_date=date(2026, 11, 23), time_limit_s=5.0, result=result
        )
        session.add(plan)
        session.flush()
        return plan.id


def add_empty_enterprise(service: Any, enterprise_id: str = "empty", association: str = "default") -> str:
    with transaction(service.factory) as session:
        if session.get(db.Enterprise, (association, enterprise_id)) is None:
            session.add(
                db.Enterprise(id=enterprise_id, association_id=association, name="Empty", municipality="Sigtuna")
            )
    return enterprise_id


def add_empty_site(service: Any, site_id: str = "vk3", enterprise_id: str = "vk") -> str:
    with transaction(service.factory) as session:
        if session.get(db.Site, ("default", site_id)) is not None:
            return site_id
        session.add(
            db.Site(
                association_id="default",
                id=site_id,
                enterprise_id=enterprise_id,
                name="Annex",
                municipality="Upplands Väsby",
                lat=59.5,
                lon=17.9,
            )
        )
    return site_id


def add_scheduled_change(service: Any, slot_id: str | None = None, site_id: str | None = None) -> int:
    with transaction(service.factory) as session:
        change = db.ScheduledCapacityChange(
            association_id="default",
            slot_id=slot_id,
            site_id=site_id,
            effective_from=date.today() + timedelta(days=10),
            fields={"seats": 3} if slot_id else {"supervisor_hours": 4},
            base_version=1,
            status="scheduled",
        )
        session.add(change)
        session.flush()
        return change.id


def add_foreign_slot(service: Any) -> None:
    """A site and slot of the other association's enterprise 'far'."""
    with transaction(service.factory) as session:
        session.add(
            db.Site(
                association_id="other",
                id="far_site",
                enterprise_id="far",
                name="Far",
                municipality="Luleå",
                lat=65.58,
                lon=22.15,
            )
        )
        session.flush()
        session.add(
            db.Slot(
                association_id="other",
                id="far_slot",
                site_id="far_site",
                activity="sewing",
                seats=3,
                min_hours=5,
                max_hours=30,
                days=["mon", "tue"],
            )
        )


def fingerprint(service: Any) -> dict[str, list[str]]:
    """Every row of every table but users: a rejected request must leave all of them as they were, but for the
    `denied` audit entry a refused read of participant data writes (issue 14; tests/service/subject)."""
    with transaction(service.factory) as session:
        denied = set(session.scalars(select(db.AuditEntry.id).where(db.AuditEntry.action == "denied")))
        found = {}
        for table in db.Base.metadata.sorted_tables:
            if table.name == "users":
                continue
            rows = [row._mapping for row in session.execute(select(table))]
            if table.name == "audit_log":
                rows = [r for r in rows if r["id"] not in denied]
            elif table.name == "audit_participants":
                rows = [r for r in rows if r["audit_id"] not in denied]
            found[table.name] = sorted(repr(tuple(r.values())) for r in rows)
        return found


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    for key in ("type", "title", "status", "detail"):
        assert key in body, body
    assert body["status"] == status
    return body


# --- a plausible request for every operation ---------------------------------------------------------------------


@dataclass
class Call:
    path: str
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    files: Any = None
    through_gate_only: bool = False  # success depends on the upload: only check the request gets past the gate


def _slot_body(site_id: str = "vk1", slot_id: str = "new_slot") -> dict[str, Any]:
    return {
        "id": slot_id,
        "site_id": site_id,
        "activity": "cafe",
        "seats": 2,
        "min_hours": 5,
        "max_hours": 20,
        "days": ["mon"],
    }


def _site_body(enterprise_id: str = "vk", site_id: str = "vk3") -> dict[str, Any]:
    return {
        "id": site_id,
        "enterprise_id": enterprise_id,
        "name": "Annex",
        "municipality": "Upplands Väsby",
        "lat": 59.5,
        "lon": 17.9,
    }


PARTICIPANT_BODY = {
    "id": "P9",
    "programme": "SAMRE",
    "municipality": "Sigtuna",
    "lat": 59.6,
    "lon": 17.86,
    "hours_per_week": 10,
    "days_available": ["mon", "tue"],
    "max_travel_minutes": 60,
}


def _own_enterprise(role: str) -> str:
    return "vk" if role == M else "vioni"


def _own_site(role: str) -> str:
    return "vk1" if role == M else "hantverk"


PLAUSIBLE: dict[tuple[str, str], Callable[[Any, str], Call]] = {
    ("GET", "/api/v1/enterprises"): lambda s, r: Call("/api/v1/enterprises"),
    ("POST", "/api/v1/enterprises"): lambda s, r: Call(
        "/api/v1/enterprises", {"id": "new_ent", "name": "New", "municipality": "Sigtuna"}
    ),
    ("GET", "/api/v1/enterprises/{enterprise_id}"): lambda s, r: Call(f"/api/v1/enterprises/{_own_enterprise(r)}"),
    ("PATCH", "/api/v1/enterprises/{enterprise_id}"): lambda s, r: Call(
        f"/api/v1/enterprises/{_own_enterprise(r)}", {"name": "Renamed"}
    ),
    ("DELETE", "/api/v1/enterprises/{enterprise_id}"): lambda s, r: Call(
        f"/api/v1/enterprises/{add_empty_enterprise(s)}"
    ),
    ("GET", "/api/v1/sites"): lambda s, r: Call("/api/v1/sites"),
    ("POST", "/api/v1/sites"): lambda s, r: Call("/api/v1/sites", _site_body()),
    ("GET", "/api/v1/sites/{site_id}"): lambda s, r: Call(f"/api/v1/sites/{_own_site(r)}"),
    ("PATCH", "/api/v1/sites/{site_id}"): lambda s, r: Call(
        "/api/v1/sites/vk1", {"name": "Renamed"}, {"If-Match": '"vk1.v1"'}
    ),
    ("DELETE", "/api/v1/sites/{site_id}"): lambda s, r: Call(f"/api/v1/sites/{add_empty_site(s)}"),
    ("GET", "/api/v1/sites/{site_id}/history"): lambda s, r: Call("/api/v1/sites/vk1/history"),
    ("GET", "/api/v1/slots"): lambda s, r: Call("/api/v1/slots"),
    ("POST", "/api/v1/slots"): lambda s, r: Call("/api/v1/slots", _slot_body()),
    ("GET", "/api/v1/slots/{slot_id}"): lambda s, r: Call("/api/v1/slots/sew"),
    ("PATCH", "/api/v1/slots/{slot_id}"): lambda s, r: Call(
        "/api/v1/slots/sew", {"seats": 2}, {"If-Match": '"sew.v1"'}
    ),
    ("DELETE", "/api/v1/slots/{slot_id}"): lambda s, r: Call("/api/v1/slots/sew"),
    ("GET", "/api/v1/slots/{slot_id}/history"): lambda s, r: Call("/api/v1/slots/sew/history"),
    ("POST", "/api/v1/slots/{slot_id}/scheduled-changes"): lambda s, r: Call(
        "/api/v1/slots/sew/scheduled-changes", {"effective_from": SCHEDULED_FROM, "seats": 3}, {"If-Match": '"sew.v1"'}
    ),
    ("GET", "/api/v1/slots/{slot_id}/scheduled-changes"): lambda s, r: Call("/api/v1/slots/sew/scheduled-changes"),
    ("DELETE", "/api/v1/slots/{slot_id}/scheduled-changes/{change_id}"): lambda s, r: Call(
        f"/api/v1/slots/sew/scheduled-changes/{add_scheduled_change(s, slot_id='sew')}"
    ),
    ("POST", "/api/v1/sites/{site_id}/scheduled-changes"): lambda s, r: Call(
        "/api/v1/sites/vk1/scheduled-changes",
        {"effective_from": SCHEDULED_FROM, "supervisor_hours": 4},
        {"If-Match": '"vk1.v1"'},
    ),
    ("GET", "/api/v1/sites/{site_id}/scheduled-changes"): lambda s, r: Call("/api/v1/sites/vk1/scheduled-changes"),
    ("DELETE", "/api/v1/sites/{site_id}/scheduled-changes/{change_id}"): lambda s, r: Call(
        f"/api/v1/sites/vk1/scheduled-changes/{add_scheduled_change(s, site_id='vk1')}"
    ),
    ("GET", "/api/v1/participants"): lambda s, r: Call("/api/v1/participants"),
    ("POST", "/api/v1/participants"): lambda s, r: Call("/api/v1/participants", PARTICIPANT_BODY),
    ("GET", "/api/v1/participants/{participant_id}"): lambda s, r: Call("/api/v1/participants/P1"),
    ("PATCH", "/api/v1/participants/{participant_id}"): lambda s, r: Call(
        "/api/v1/participants/P1", {"hours_per_week": 12}
    ),
    ("DELETE", "/api/v1/participants/{participant_id}"): lambda s, r: Call("/api/v1/participants/P1"),
    ("GET", "/api/v1/participants/{participant_id}/suggestions"): lambda s, r: Call(
        f"/api/v1/participants/P1/suggestions?date={PLAN_DATE}"
    ),
    ("GET", "/api/v1/participants/{participant_id}/whatif"): lambda s, r: Call(
        f"/api/v1/participants/P1/whatif?slot_id=sew&date={PLAN_DATE}"
    ),
    ("GET", "/api/v1/participants/{participant_id}/record"): lambda s, r: Call("/api/v1/participants/P1/record"),
    ("POST", "/api/v1/participants/{participant_id}/erasure"): lambda s, r: Call("/api/v1/participants/P6/erasure"),
    ("POST", "/api/v1/placements"): lambda s, r: Call(
        "/api/v1/placements", {"participant_id": "P1", "slot_id": "furn", "start_date": PLAN_DATE}
    ),
    ("GET", "/api/v1/placements"): lambda s, r: Call("/api/v1/placements"),
    ("GET", "/api/v1/placements/{placement_id}"): lambda s, r: Call(
        f"/api/v1/placements/{add_placement(s, 'P1', 'furn')}"
    ),
    ("PATCH", "/api/v1/placements/{placement_id}"): lambda s, r: Call(
        f"/api/v1/placements/{add_placement(s, 'P1', 'furn')}", {"end_reason": "work", "end_date": PLAN_DATE}
    ),
    ("POST", "/api/v1/plans"): lambda s, r: Call("/api/v1/plans", {"date": PLAN_DATE, "time_limit_s": 1}),
    ("GET", "/api/v1/plans"): lambda s, r: Call("/api/v1/plans"),
    ("GET", "/api/v1/plans/{plan_id}"): lambda s, r: Call(f"/api/v1/plans/{add_plan(s)}"),
    ("POST", "/api/v1/plans/{plan_id}/apply"): lambda s, r: Call(f"/api/v1/plans/{add_plan(s)}/apply", {}),
    ("GET", "/api/v1/audit"): lambda s, r: Call("/api/v1/audit"),
    ("POST", "/api/v1/imports"): lambda s, r: Call(
        "/api/v1/imports",
        files=[("files", ("enterprises.csv", b"enterprise_id,name,municipality\n", "text/csv"))],
        through_gate_only=True,
    ),
    ("GET", "/api/v1/exports"): lambda s, r: Call("/api/v1/exports?format=csv"),
    ("GET", "/api/v1/reports/utilisation"): lambda s, r: Call(f"/api/v1/reports/utilisation?on={PLAN_DATE}"),
    ("GET", "/api/v1/reports/outcomes"): lambda s, r: Call("/api/v1/reports/outcomes"),
    ("GET", "/api/v1/reports/capacity-value"): lambda s, r: Call(
        f"/api/v1/reports/capacity-value?on={PLAN_DATE}&time_limit_s=10"
    ),
    ("GET", "/api/v1/reports/fairness"): lambda s, r: Call(f"/api/v1/reports/fairness?on={PLAN_DATE}&time_limit_s=10"),
}


def success_status(method: str, template: str) -> int:
    if template == "/api/v1/plans":
        return 202 if method == "POST" else 200
    if template.endswith(("/apply", "/erasure")):
        return 200
    return {"POST": 201, "DELETE": 204}.get(method, 200)


def send(service: Any, method: str, call: Call, headers: dict[str, str]) -> Any:
    return service.client.request(
        method, call.path, json=call.json, files=call.files, headers={**headers, **call.headers}
    )


# --- the table is the OpenAPI ------------------------------------------------------------------------------------


def _published(service: Any) -> dict[tuple[str, str], frozenset[str] | None]:
    published = {}
    for path, operations in service.client.app.openapi()["paths"].items():
        if not path.startswith(API) or path == f"{API}/health":
            continue
        for method, operation in operations.items():
            if method in HTTP_METHODS:
                roles = operation.get("x-roles")
                published[(method.upper(), path)] = None if roles is None else frozenset(roles)
    return published


def test_every_operation_has_a_rule_and_publishes_it(service):
    published = _published(service)
    without_rule = sorted(set(published) - set(RULES))
    assert not without_rule, f"operations with no rule in RULES (add one): {without_rule}"
    stale = sorted(set(RULES) - set(published))
    assert not stale, f"rules for operations the API no longer has: {stale}"
    differ = {op: (sorted(published[op] or ()), sorted(RULES[op])) for op in RULES if published[op] != RULES[op]}
    assert not differ, f"x-roles (published, table) differ: {differ}"


def test_health_is_the_only_operation_without_a_role_gate(service):
    paths = service.client.app.openapi()["paths"]
    assert "x-roles" not in paths[f"{API}/health"]["get"]
    assert service.client.get(f"{API}/health").status_code == 200


def test_every_rule_has_a_plausible_request():
    assert set(PLAUSIBLE) == set(RULES)


# --- every operation as every role -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", OPERATIONS, ids=[f"{m} {p.removeprefix(API)}" for m, p in OPERATIONS])
def test_role_gate(svc, operation, role):
    method, template = operation
    call = PLAUSIBLE[operation](svc, role)
    if role in RULES[operation]:
        response = send(svc, method, call, svc.auth(role))
        if call.through_gate_only:
            assert response.status_code not in (401, 403) and response.status_code < 500, (
                role,
                call.path,
                response.text,
            )
        else:
            assert response.status_code == success_status(method, template), (role, method, call.path, response.text)
    else:
        before = fingerprint(svc)
        response = send(svc, method, call, svc.auth(role))
        body = assert_problem(response, 403)
        assert role in body["detail"]
        assert fingerprint(svc) == before, "a refused request changed the database"


# --- objects outside a user's view answer 404, not 403 -----------------------------------------------------------

OUT_OF_VIEW: list[tuple[str, str, str, Any]] = [
    # A coach sees only the participants assigned to them (P1–P3), not P4 (another coach's) or P5 (nobody's).
    (K, "GET", "/api/v1/participants/P4", None),
    (K, "GET", "/api/v1/participants/P5", None),
    (K, "PATCH", "/api/v1/participants/P4", {"hours_per_week": 12}),
    (K, "PATCH", "/api/v1/participants/P5", {"hours_per_week": 12}),
    (K, "GET", "/api/v1/participants/P4/suggestions", None),
    (K, "GET", "/api/v1/participants/P5/suggestions", None),
    (K, "GET", "/api/v1/participants/P4/whatif?slot_id=sew", None),
    (K, "GET", "/api/v1/participants/P5/whatif?slot_id=sew", None),
    (K, "POST", "/api/v1/placements", {"participant_id": "P4", "slot_id": "furn", "start_date": PLAN_DATE}),
    (K, "POST", "/api/v1/placements", {"participant_id": "P5", "slot_id": "furn", "start_date": PLAN_DATE}),
    (K, "GET", "/api/v1/placements/{P4_placement}", None),
    (K, "PATCH", "/api/v1/placements/{P4_placement}", {"end_reason": "work", "end_date": PLAN_DATE}),
    # A manager sees only their own enterprise (vk): not furn, hantverk or vioni.
    (M, "GET", "/api/v1/slots/furn", None),
    (M, "PATCH", "/api/v1/slots/furn", {"seats": 5}),
    (M, "DELETE", "/api/v1/slots/furn", None),
    (M, "GET", "/api/v1/slots/furn/history", None),
    (M, "GET", "/api/v1/slots/furn/scheduled-changes", None),
    (M, "POST", "/api/v1/slots/furn/scheduled-changes", {"effective_from": SCHEDULED_FROM, "seats": 5}),
    (M, "GET", "/api/v1/sites/hantverk/scheduled-changes", None),
    (M, "POST", "/api/v1/sites/hantverk/scheduled-changes", {"effective_from": SCHEDULED_FROM, "supervisor_hours": 5}),
    (M, "GET", "/api/v1/sites/hantverk", None),
    (M, "PATCH", "/api/v1/sites/hantverk", {"name": "Mine now"}),
    (M, "DELETE", "/api/v1/sites/hantverk", None),
    (M, "GET", "/api/v1/sites/hantverk/history", None),
    (M, "GET", "/api/v1/enterprises/vioni", None),
    (M, "PATCH", "/api/v1/enterprises/vioni", {"name": "Mine now"}),
    (M, "POST", "/api/v1/sites", _site_body("vioni", "intruder")),
    (M, "POST", "/api/v1/slots", _slot_body("hantverk", "intruder")),
    # A coordinator of another association sees nothing of association 'default'.
    ("foreign_coordinator", "GET", "/api/v1/enterprises/vk", None),
    ("foreign_coordinator", "PATCH", "/api/v1/enterprises/vk", {"name": "Ours"}),
    ("foreign_coordinator", "DELETE", "/api/v1/enterprises/empty", None),
    ("foreign_coordinator", "DELETE", "/api/v1/enterprises/vk", None),
    ("foreign_coordinator", "GET", "/api/v1/sites/vk1", None),
    ("foreign_coordinator", "PATCH", "/api/v1/sites/vk1", {"name": "Ours"}),
    ("foreign_coordinator", "DELETE", "/api/v1/sites/vk3", None),
    ("foreign_coordinator", "GET", "/api/v1/sites/vk1/history", None),
    ("foreign_coordinator", "POST", "/api/v1/sites", _site_body("vk", "intruder")),
    ("foreign_coordinator", "GET", "/api/v1/slots/sew", None),
    ("foreign_coordinator", "PATCH", "/api/v1/slots/sew", {"seats": 5}),
    ("foreign_coordinator", "DELETE", "/api/v1/slots/sew", None),
    ("foreign_coordinator", "GET", "/api/v1/slots/sew/history", None),
    ("foreign_coordinator", "GET", "/api/v1/slots/sew/scheduled-changes", None),
    (
        "foreign_coordinator",
        "POST",
        "/api/v1/slots/sew/scheduled-changes",
        {"effective_from": SCHEDULED_FROM, "seats": 5},
    ),
    ("foreign_coordinator", "GET", "/api/v1/sites/vk1/scheduled-changes", None),
    ("foreign_coordinator", "POST", "/api/v1/slots", _slot_body("vk1", "intruder")),
    ("foreign_coordinator", "GET", "/api/v1/participants/P1", None),
    ("foreign_coordinator", "PATCH", "/api/v1/participants/P1", {"hours_per_week": 12}),
    ("foreign_coordinator", "DELETE", "/api/v1/participants/P6", None),
    ("foreign_coordinator", "GET", "/api/v1/participants/P1/suggestions", None),
    ("foreign_coordinator", "GET", "/api/v1/participants/P1/whatif?slot_id=sew", None),
    (
        "foreign_coordinator",
        "POST",
        "/api/v1/placements",
        {"participant_id": "P1", "slot_id": "furn", "start_date": PLAN_DATE},
    ),
    ("foreign_coordinator", "GET", "/api/v1/placements/{P4_placement}", None),
    (
        "foreign_coordinator",
        "PATCH",
        "/api/v1/placements/{P4_placement}",
        {"end_reason": "work", "end_date": PLAN_DATE},
    ),
    ("foreign_coordinator", "GET", "/api/v1/plans/{plan}", None),
    ("foreign_coordinator", "POST", "/api/v1/plans/{plan}/apply", {}),
    # And a coordinator of 'default' nothing of the other association.
    (C, "GET", "/api/v1/enterprises/far", None),
    (C, "GET", "/api/v1/slots/far_slot", None),
    (C, "PATCH", "/api/v1/slots/far_slot", {"seats": 5}),
    (C, "POST", "/api/v1/placements", {"participant_id": "P1", "slot_id": "far_slot", "start_date": PLAN_DATE}),
]


@pytest.mark.parametrize(
    ("who", "method", "path", "body"), OUT_OF_VIEW, ids=[f"{w}-{m} {p.removeprefix(API)}" for w, m, p, _ in OUT_OF_VIEW]
)
def test_objects_outside_the_view_answer_404(svc, who, method, path, body):
    add_empty_enterprise(svc)
    add_empty_site(svc)
    add_foreign_slot(svc)
    path = path.format(P4_placement=add_placement(svc, "P4", "sew"), plan=add_plan(svc))
    before = fingerprint(svc)
    headers = {**svc.auth(who), "If-Match": "*"}
    response = svc.client.request(method, path, json=body, headers=headers)
    assert_problem(response, 404)
    assert fingerprint(svc) == before, "a request for an invisible object changed the database"


def test_lists_show_only_what_the_user_may_see(svc):
    add_foreign_slot(svc)
    p4 = add_placement(svc, "P4", "sew")
    p1 = add_placement(svc, "P1", "furn")
    add_plan(svc)

    def ids(who: str, path: str) -> list[Any]:
        response = svc.client.get(path, headers=svc.auth(who))
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["total"] == len(page["items"])
        return sorted(item["id"] for item in page["items"])

    assert ids(M, "/api/v1/enterprises") == ["vk"]
    assert ids(M, "/api/v1/sites") == ["vk1", "vk2"]
    assert ids(M, "/api/v1/slots") == ["garden", "sew", "shop"]
    assert ids(M, "/api/v1/sites?enterprise_id=vioni") == []
    assert ids(M, "/api/v1/slots?site_id=hantverk") == []
    assert ids(K, "/api/v1/participants") == ["P1", "P2", "P3"]
    assert ids(K, "/api/v1/placements") == [p1]
    assert ids(K, "/api/v1/placements?participant_id=P4") == []
    assert ids("other_coach", "/api/v1/placements") == [p4]
    assert ids(C, "/api/v1/placements") == sorted([p1, p4])
    assert ids(C, "/api/v1/enterprises") == ["vioni", "vk"]
    assert "far_slot" not in ids(C, "/api/v1/slots")
    foreign = "foreign_coordinator"
    assert ids(foreign, "/api/v1/enterprises") == ["far"]
    assert ids(foreign, "/api/v1/sites") == ["far_site"]
    assert ids(foreign, "/api/v1/slots") == ["far_slot"]
    assert ids(foreign, "/api/v1/participants") == []
    assert ids(foreign, "/api/v1/placements") == []
    assert ids(foreign, "/api/v1/plans") == []
    assert svc.client.get("/api/v1/audit", headers=svc.auth(C)).json()["total"] > 0  # the reads above were logged
    assert ids(foreign, "/api/v1/audit") == []


def test_a_manager_sees_how_many_seats_are_taken_never_who(svc):
    add_placement(svc, "P4", "sew")
    for path in ("/api/v1/slots/sew", "/api/v1/slots?site_id=vk1", "/api/v1/slots/sew/history"):
        response = svc.client.get(path, headers=svc.auth(M))
        assert response.status_code == 200, response.text
        assert "P4" not in response.text
    assert svc.client.get("/api/v1/slots/sew", headers=svc.auth(M)).json()["taken"] == 1


# --- no token, a bad token, a revoked token ----------------------------------------------------------------------


def _refused_401(response: Any) -> str | None:
    """Why a response is not a proper 401 (None when it is)."""
    if response.status_code != 401:
        return f"status {response.status_code}: {response.text[:200]}"
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return f"content-type {response.headers.get('content-type')}"
    if not response.headers.get("www-authenticate", "").startswith("Bearer"):
        return f"WWW-Authenticate {response.headers.get('www-authenticate')!r}"
    if not {"type", "title", "status", "detail"} <= set(response.json()):
        return f"not a problem: {response.text[:200]}"
    return None


def test_no_token_answers_401_on_every_operation(svc):
    before = fingerprint(svc)
    wrong = {}
    for operation in OPERATIONS:
        method, _ = operation
        call = PLAUSIBLE[operation](svc, sorted(RULES[operation])[0])
        for name, headers in (
            ("none", {}),
            ("unknown", {"Authorization": "Bearer plc_not-a-token"}),
            ("empty", {"Authorization": "Bearer "}),
            ("basic", {"Authorization": "Basic dXNlcjpwYXNz"}),
        ):
            problem = _refused_401(send(svc, method, call, headers))
            if problem:
                wrong[f"{method} {call.path} ({name} token)"] = problem
    assert not wrong, wrong
    # The plausible requests created fixtures (an empty enterprise, plans, placements) but the refused calls nothing.
    after = fingerprint(svc)
    assert after["audit_log"] == before["audit_log"]


def test_a_revoked_token_answers_401_on_every_operation(svc):
    with transaction(svc.factory) as session:
        for role in ROLES:
            revoke_user(session, svc.user_ids[role])
    wrong = {}
    for operation in OPERATIONS:
        method, _ = operation
        for role in sorted(RULES[operation]):
            call = PLAUSIBLE[operation](svc, role)
            before = fingerprint(svc)
            problem = _refused_401(send(svc, method, call, svc.auth(role)))
            if problem:
                wrong[f"{role}: {method} {call.path}"] = problem
            elif fingerprint(svc) != before:
                wrong[f"{role}: {method} {call.path}"] = "changed the database"
    assert not wrong, wrong
    # Users whose tokens were not revoked are unaffected.
    assert svc.client.get("/api/v1/participants", headers=svc.auth("other_coach")).status_code == 200


# --- ids are unique within an association: the other one holds the same ids, and nothing of it shows -------------

TWIN = "other"
TWIN_MARKERS = ("Kiruna", "Hemlig", "foreign_coordinator", "Q1", "hidden_slot", "far_")
"""Strings only the other association's data holds: its municipality and names, its coordinator's login name (in
its audit rows), ids only it has. None may appear in any answer to a user of 'default'."""


def add_twin(service: Any) -> None:
    """The other association gets every id of 'default' (and the ids the plausible requests create: new_ent, empty,
    vk3, new_slot, P9), with names and places of its own, placements (P1 in furn, P4 in sew), travel times, a dated
    change, capacity history, a plan, and audit rows of its coordinator's reads."""
    base = tiny_instance()
    instance = replace(
        base,
        enterprises=(
            *(replace(e, name=f"Hemlig {e.name}", municipality="Kiruna") for e in base.enterprises),
            replace(base.enterprises[0], enterprise_id="new_ent", name="Hemlig ny", municipality="Kiruna"),
            replace(base.enterprises[0], enterprise_id="empty", name="Hemlig tom", municipality="Kiruna"),
        ),
        sites=(
            *(replace(t, name=f"Hemlig {t.name}", municipality="Kiruna", lat=67.85, lon=20.2) for t in base.sites),
            replace(base.sites[1], site_id="vk3", name="Hemlig annex", municipality="Kiruna", lat=67.85, lon=20.2),
        ),
        slots=(
            *(replace(s, seats=4) for s in base.slots),
            replace(base.slots[1], slot_id="new_slot", site_id="vk3"),
            replace(base.slots[1], slot_id="hidden_slot", site_id="vk3"),
        ),
        participants=tuple(
            replace(p, municipality="Kiruna", lat=67.85, lon=20.2, current_slot_id=current)
            for p, current in (
                *((p, {"P1": "furn", "P4": "sew"}.get(p.participant_id)) for p in base.participants),
                (replace(base.participants[0], participant_id="P9"), None),
                (replace(base.participants[0], participant_id="Q1"), "hidden_slot"),
            )
        ),
        travel_times=(matcher.TravelTime("P1", "hantverk", 7),),
    )
    with transaction(service.factory) as session:
        insert_dataset(session, instance, TWIN, start=date(2026, 2, 1))
        for slot_id, site_id in (("sew", None), (None, "vk1")):
            session.add(
                db.ScheduledCapacityChange(
                    association_id=TWIN,
                    slot_id=slot_id,
                    site_id=site_id,
                    effective_from=date.today() + timedelta(days=10),
                    fields={"seats": 1} if slot_id else {"supervisor_hours": 1},
                    base_version=1,
                    status="scheduled",
                )
            )
            session.add(
                db.CapacityChange(
                    association_id=TWIN,
                    slot_id=slot_id,
                    site_id=site_id,
                    field="name",
                    old_value="Hemlig",
                    new_value="Hemlig",
                )
            )
    add_plan(service, TWIN)
    for path in ("/api/v1/participants/P1", "/api/v1/participants/P4", "/api/v1/participants/Q1"):
        assert service.client.get(path, headers=service.auth("foreign_coordinator")).status_code == 200


def twin_rows(service: Any) -> dict[str, list[str]]:
    """The other association's rows (every row naming it), to see that nothing of it changed."""
    return {name: [r for r in rows if f"'{TWIN}'" in r] for name, rows in fingerprint(service).items()}


def answer_text(response: Any) -> str:
    """What a response says, a zip's (or workbook's) members included."""
    if response.content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            return "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    return response.text


def assert_nothing_of_the_twin(response: Any) -> None:
    text = answer_text(response)
    leaked = [marker for marker in TWIN_MARKERS if marker in text]
    assert not leaked, (response.request.method, response.request.url, leaked, text[:2000])


SWEEP = [(operation, role) for operation in OPERATIONS for role in ROLES if role in RULES[operation]]


@pytest.mark.parametrize(("operation", "role"), SWEEP, ids=[f"{r}-{m} {p.removeprefix(API)}" for (m, p), r in SWEEP])
def test_every_operation_works_on_its_own_association_beside_another_with_the_same_ids(svc, operation, role):
    """Every route, as every role allowed: the other association holds the same ids (with placements where
    'default' has none), and the request answers as it would alone, shows nothing of the other, changes nothing of
    it, and no message says an id is taken elsewhere."""
    add_twin(svc)
    method, template = operation
    call = PLAUSIBLE[operation](svc, role)
    before = twin_rows(svc)
    response = send(svc, method, call, svc.auth(role))
    if call.through_gate_only:
        assert response.status_code not in (401, 403) and response.status_code < 500, response.text
    else:
        assert response.status_code == success_status(method, template), (role, method, call.path, response.text)
    assert_nothing_of_the_twin(response)
    assert "another association" not in response.text and "exists already" not in response.text
    assert twin_rows(svc) == before, "a request of 'default' changed the other association's rows"


def test_the_other_association_still_sees_its_own_records_under_the_shared_ids(svc):
    add_twin(svc)
    foreign = svc.auth("foreign_coordinator")
    for path in ("/api/v1/participants/P1", "/api/v1/enterprises/vk", "/api/v1/sites/vk1"):
        ours, theirs = svc.client.get(path, headers=svc.auth(C)), svc.client.get(path, headers=foreign)
        assert ours.status_code == theirs.status_code == 200, (path, ours.text, theirs.text)
        assert theirs.json()["municipality"] == "Kiruna" and ours.json()["municipality"] != "Kiruna"
    assert svc.client.get("/api/v1/slots/sew", headers=foreign).json()["seats"] == 4
    assert svc.client.get("/api/v1/slots/sew", headers=svc.auth(C)).json()["seats"] == 1
    assert svc.client.get("/api/v1/participants/P1", headers=foreign).json()["current_slot_id"] == "furn"
    assert svc.client.get("/api/v1/participants/P1", headers=svc.auth(C)).json()["current_slot_id"] is None
    assert svc.client.get("/api/v1/slots/sew", headers=foreign).json()["taken"] == 1
    assert svc.client.get("/api/v1/slots/sew", headers=svc.auth(C)).json()["taken"] == 0
    # A coordinator's audit trail filtered by a shared participant id holds only their own association's reads.
    trail = svc.client.get("/api/v1/audit?participant_id=P1", headers=svc.auth(C))
    assert trail.status_code == 200, trail.text
    assert {e["user_name"] for e in trail.json()["items"]} == {"coordinator"}  # its own reads above, not the twin's
    theirs = svc.client.get("/api/v1/audit?participant_id=P1", headers=foreign).json()["items"]
    assert {e["user_name"] for e in theirs} == {"foreign_coordinator"}
