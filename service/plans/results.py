"""A plan's stored result, read and written in one place through the typed `PlanResult`."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from service.db import models as db
from service.plans.schemas import RESULT_FORMAT, PlanResult


def store_result(plan: db.Plan, result: PlanResult) -> None:
    plan.result = result.model_dump(mode="json")


def stored_result(plan: db.Plan) -> PlanResult | None:
    """The plan's result, validated; None when there is none or it was stored before format 2 (it cannot be applied).

    A result that claims format 2 and is not one is a bug, not an old plan: it raises."""
    if plan.result is None or plan.result.get("format") != RESULT_FORMAT:
        return None
    return PlanResult.model_validate(plan.result)


def shown_result(plan: db.Plan, changes_only: bool) -> tuple[dict[str, Any] | None, list[str]]:
    """The result as GET /plans/{id} shows it, and the participants it names (for the audit log).

    A result of format 2 is shown through `PlanResult`; an older one as stored (its proposals' `change` filters it)."""
    if plan.result is None:
        return None, []
    try:
        typed = stored_result(plan)
    except ValidationError:
        typed = None
    if typed is not None:
        if changes_only:
            typed = typed.changes_only()
        return typed.model_dump(mode="json"), [p.participant_id for p in typed.proposals]
    proposals = plan.result.get("proposals", [])
    if changes_only:
        proposals = [p for p in proposals if p["change"] in ("new", "moves", "leaves")]
    return {**plan.result, "proposals": proposals}, [p["participant_id"] for p in proposals]
