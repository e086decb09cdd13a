"""Who may call what: one table of every operation under /api/v1 and the roles allowed to use it.

The table is checked against the `x-roles` the OpenAPI publishes (a new endpoint without a rule fails here), and
then every operation is called as every role: a role outside the table gets 403 from the role gate, a role inside it
gets through. Objects outside a user's view answer 404, never 403; a missing or revoked token answers 401.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from service.auth.users import revoke_user
from service.db import models as db
from service.db.engine import transaction

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
                db.Placement.participant_id == participant_id, db.Placement.end_date.is_(None)
            )
        )
        if active is not None:
            return active
        placement = db.Placement(participant_id=participant_id, slot_id=slot_id, start_date=start)
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
        if session.get(db.Enterprise, enterprise_id) is None:
            session.add(
                db.Enterprise(id=enterprise_id, association_id=association, name="Empty", municipality="Sigtuna")
            )
    return enterprise_id


def add_empty_site(service: Any, site_id: str = "vk3", enterprise_id: str = "vk") -> str:
    with transaction(service.factory) as session:
        if session.get(db.Site, site_id) is not None:
            return site_id
        session.add(
            db.Site(
                id=site_id, enterprise_id=enterprise_id, name="Annex", municipality="Upplands Väsby", lat=59.5, lon=17.9
            )
        )
    return site_id


def add_scheduled_change(service: Any, slot_id: str | None = None, site_id: str | None = None) -> int:
    with transaction(service.factory) as session:
        change = db.ScheduledCapacityChange(
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
        session.add(db.Site(id="far_site", enterprise_id="far", name="Far", municipality="Luleå", lat=65.58, lon=22.15))
        session.flush()
        session.add(
            db.Slot(
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
