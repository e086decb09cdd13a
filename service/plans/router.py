"""Plan endpoints: start a solve (202), follow it, and apply chosen proposals (placements, moves, leaves)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request, Response

from service.audit.log import record
from service.db import models as db
from service.deps import CurrentUser, SessionDep, roles
from service.idempotency.http import idempotent
from service.pagination import Page, PageDep
from service.plans import service
from service.plans.schemas import PlanApplied, PlanApply, PlanCreate, PlanCreated, PlanPublic

router = APIRouter(tags=["plans"])
COORDINATOR = roles(db.Role.coordinator)
PlanId = Annotated[int, Path(ge=1, le=db.MAX_INT)]


@router.post("/plans", status_code=202, response_model=PlanCreated, **idempotent(COORDINATOR))
def create_plan(
    body: PlanCreate,
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    response: Response,
    tasks: BackgroundTasks,
) -> PlanCreated:
    plan = service.create_plan(session, user, body, request.app.state.settings.max_plan_seconds)
    # Submitted after the response's commit, so the worker always finds the row.
    tasks.add_task(request.app.state.plan_runner.submit, plan.id)
    location = f"{request.url.path}/{plan.id}"
    response.headers["Location"] = location
    return PlanCreated(id=plan.id, status=plan.status, location=location)


@router.get("/plans", response_model=Page[PlanPublic], **COORDINATOR)
def list_plans(session: SessionDep, user: CurrentUser, page: PageDep) -> Page[PlanPublic]:
    items, total = service.list_plans(session, user, page)
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
    plan, result, participant_ids = service.get_plan(session, user, plan_id, changes_only)
    public = PlanPublic.model_validate(plan).model_copy(update={"result": result})
    if result is not None:
        record(session, user, "read", participant_ids, request)
    return public


@router.post(
    "/plans/{plan_id}/apply",
    response_model=PlanApplied,
    responses={409: {"description": "the plan is not done, or a chosen proposal needs another that is not chosen"}},
    **idempotent(COORDINATOR),
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
    applied = service.apply_plan(session, user, plan_id, body)
    changed = [o.participant_id for o in applied.outcomes if o.status == "applied"]
    # One entry for every participant the answer names: an update when any changed, else a read (the refused
    # proposals' participants and reasons are participant data too; the fuzzing found them unaudited).
    named = [o.participant_id for o in applied.outcomes]
    record(session, user, "update" if changed else "read", named, request)
    return applied
