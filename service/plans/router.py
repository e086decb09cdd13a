"""Plan endpoints: start a solve (202), follow it, and apply chosen proposals (placements, moves, leaves)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request, Response
from sqlalchemy import select

from service.audit.log import record
from service.db import models as db
from service.deps import CurrentUser, SessionDep, roles
from service.errors import Conflict, InvalidInput, NotFound
from service.pagination import Page, PageDep, fetch_page
from service.plans.apply import apply_proposals
from service.plans.schemas import PlanApplied, PlanApply, PlanCreate, PlanCreated, PlanPublic

router = APIRouter(tags=["plans"])
COORDINATOR = roles(db.Role.coordinator)
PlanId = Annotated[int, Path(ge=1, le=db.MAX_INT)]


def _visible_plan(session: SessionDep, user: db.User, plan_id: int) -> db.Plan:
    plan = session.get(db.Plan, plan_id)
    if plan is None or plan.association_id != user.association_id:
        raise NotFound(f"no plan {plan_id}")
    return plan


@router.post("/plans", status_code=202, response_model=PlanCreated, **COORDINATOR)
def create_plan(
    body: PlanCreate,
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    response: Response,
    tasks: BackgroundTasks,
) -> PlanCreated:
    settings = request.app.state.settings
    if body.time_limit_s > settings.max_plan_seconds:
        raise InvalidInput(f"time_limit_s may be at most {settings.max_plan_seconds:g} s on this service")
    # One solve at a time per association: lock the association row, then look for one under way.
    session.scalar(select(db.Association).where(db.Association.id == user.association_id).with_for_update())
    running = session.scalar(
        select(db.Plan.id).where(
            db.Plan.association_id == user.association_id,
            db.Plan.status.in_((db.PlanStatus.queued, db.PlanStatus.running)),
        )
    )
    if running is not None:
        raise Conflict(f"plan {running} is still being solved for this association; wait for it", plan_id=running)
    plan = db.Plan(
        association_id=user.association_id,
        status=db.PlanStatus.queued,
        plan_date=body.date,
        time_limit_s=body.time_limit_s,
        allow_moves=body.allow_moves,
        weights=body.weights.model_dump() if body.weights else None,
        created_by=user.id,
    )
    session.add(plan)
    session.flush()
    # Submitted after the response's commit, so the worker always finds the row.
    tasks.add_task(request.app.state.plan_runner.submit, plan.id)
    location = f"{request.url.path}/{plan.id}"
    response.headers["Location"] = location
    return PlanCreated(id=plan.id, status=plan.status, location=location)


@router.get("/plans", response_model=Page[PlanPublic], **COORDINATOR)
def list_plans(session: SessionDep, user: CurrentUser, page: PageDep) -> Page[PlanPublic]:
    query = select(db.Plan).where(db.Plan.association_id == user.association_id).order_by(db.Plan.id.desc())
    items, total = fetch_page(session, query, page)
    # Lists stay light: results (every proposal) only on GET /plans/{id}.
    return Page(
        items=[PlanPublic.model_validate(p).model_copy(update={"result": None}) for p in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/plans/{plan_id}", response_model=PlanPublic, **COORDINATOR)
def get_plan(
    plan_id: PlanId,
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    changes_only: Annotated[bool, Query(description="only proposals that change something")] = False,
) -> PlanPublic:
    plan = _visible_plan(session, user, plan_id)
    public = PlanPublic.model_validate(plan)
    if plan.result is not None:
        proposals = plan.result.get("proposals", [])
        if changes_only:
            proposals = [p for p in proposals if p["change"] in ("new", "moves", "leaves")]
        public = public.model_copy(update={"result": {**plan.result, "proposals": proposals}})
        record(session, user, "read", [p["participant_id"] for p in proposals], request)
    return public


@router.post(
    "/plans/{plan_id}/apply",
    response_model=PlanApplied,
    responses={409: {"description": "the plan is not done, or a chosen proposal needs another that is not chosen"}},
    **COORDINATOR,
)
def apply_plan(
    plan_id: PlanId, body: PlanApply, session: SessionDep, user: CurrentUser, request: Request
) -> PlanApplied:
    """Apply the chosen proposals (default: every change) as the plan computed them, in one transaction.

    Moves and leaves end the placement held (reason `transferred`) before new seats are taken, so a seat or
    supervisor hours freed by one proposal can be taken by another. A chosen proposal that needs a move or leave
    not chosen is answered with 409 naming it, unless `include_dependencies` is true. A proposal whose premise
    changed since the solve is refused with the reason, with every chosen proposal that needs it; the rest applies.
    """
    plan = _visible_plan(session, user, plan_id)
    if plan.status is not db.PlanStatus.done or plan.result is None:
        raise Conflict(f"plan {plan_id} is {plan.status.value}; only a finished plan can be applied")
    applied = apply_proposals(session, user, plan, body)
    changed = [o.participant_id for o in applied.outcomes if o.status == "applied"]
    record(session, user, "update", changed, request)
    return applied
