"""Plans: one solve at a time per association, the plans a coordinator sees, and applying a finished one."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.db import models as db
from service.errors import Conflict, InvalidInput, NotFound
from service.pagination import PageParams, fetch_page
from service.plans import repository as repo
from service.plans.apply import apply_proposals
from service.plans.results import shown_result
from service.plans.schemas import PlanApplied, PlanApply, PlanCreate


def visible_plan(session: Session, user: db.User, plan_id: int) -> db.Plan:
    plan = repo.plan(session, plan_id)
    if plan is None or plan.association_id != user.association_id:
        raise NotFound(f"no plan {plan_id}")
    return plan


def create_plan(session: Session, user: db.User, body: PlanCreate, max_seconds: float) -> db.Plan:
    """A queued plan (the caller submits it to the runner after the commit); 409 while another is under way."""
    if body.time_limit_s > max_seconds:
        raise InvalidInput(f"time_limit_s may be at most {max_seconds:g} s on this service")
    # One solve at a time per association: lock the association row, then look for one under way.
    repo.lock_association(session, user.association_id)
    running = repo.plan_under_way(session, user.association_id)
    if running is not None:
        raise Conflict(f"plan {running} is still being solved for this association; wait for it", plan_id=running)
    plan = db.Plan(
        association_id=user.association_id,
        status=db.PlanStatus.queued,
        plan_date=body.date,
        time_limit_s=body.time_limit_s,
        work_limit=body.work_limit,
        allow_moves=body.allow_moves,
        weights=body.weights.model_dump() if body.weights else None,
        fairness_floor=body.fairness_floor,
        created_by=user.id,
    )
    repo.add(session, plan)
    return plan


def list_plans(session: Session, user: db.User, page: PageParams) -> tuple[list[db.Plan], int]:
    return fetch_page(session, repo.plans_query(user.association_id), page)


def get_plan(
    session: Session, user: db.User, plan_id: int, changes_only: bool
) -> tuple[db.Plan, dict[str, Any] | None, list[str]]:
    """The plan, its result as shown (None until done) and the participants the result names."""
    plan = visible_plan(session, user, plan_id)
    result, participant_ids = shown_result(plan, changes_only)
    return plan, result, participant_ids


def apply_plan(session: Session, user: db.User, plan_id: int, body: PlanApply) -> PlanApplied:
    plan = visible_plan(session, user, plan_id)
    if plan.status is not db.PlanStatus.done or plan.result is None:
        raise Conflict(f"plan {plan_id} is {plan.status.value}; only a finished plan can be applied")
    return apply_proposals(session, user, plan, body)
