"""Plan endpoints: start a solve (202), follow it, and apply chosen proposals as placements."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request, Response
from sqlalchemy import select

from service.audit.log import record
from service.db import models as db
from service.deps import CurrentUser, SessionDep, roles
from service.errors import Conflict, InvalidInput, NotFound, ServiceError
from service.pagination import Page, PageDep, fetch_page
from service.placements.service import take_seat
from service.plans.schemas import ApplyOutcome, PlanApplied, PlanApply, PlanCreate, PlanCreated, PlanPublic

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
    body: PlanCreate, session: SessionDep, user: CurrentUser, request: Request, response: Response, tasks: BackgroundTasks
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


@router.post("/plans/{plan_id}/apply", response_model=PlanApplied, **COORDINATOR)
def apply_plan(plan_id: PlanId, body: PlanApply, session: SessionDep, user: CurrentUser, request: Request) -> PlanApplied:
    plan = _visible_plan(session, user, plan_id)
    if plan.status is not db.PlanStatus.done or plan.result is None:
        raise Conflict(f"plan {plan_id} is {plan.status.value}; only a finished plan can be applied")
    proposals = {p["participant_id"]: p for p in plan.result["proposals"]}
    if body.participant_ids is None:
        chosen = [p for p in proposals.values() if p["change"] in ("new", "moves")]
    else:
        unknown = [pid for pid in body.participant_ids if pid not in proposals]
        if unknown:
            raise InvalidInput(f"not in plan {plan_id}: {', '.join(unknown[:10])}")
        chosen = [proposals[pid] for pid in body.participant_ids]
    start = body.start_date or plan.plan_date
    outcomes: list[ApplyOutcome] = []
    for proposal in chosen:
        outcomes.append(_apply_one(session, user, plan, proposal, start))
    record(session, user, "update", [o.participant_id for o in outcomes if o.status == "applied"], request)
    applied = sum(1 for o in outcomes if o.status == "applied")
    return PlanApplied(plan_id=plan_id, applied=applied, refused=len(outcomes) - applied, outcomes=outcomes)


def _apply_one(session: SessionDep, user: db.User, plan: db.Plan, proposal: dict, start) -> ApplyOutcome:  # type: ignore[no-untyped-def, type-arg]
    """One proposal in its own savepoint: a refused one leaves no trace, the others still apply."""
    pid, slot_id = proposal["participant_id"], proposal["slot_id"]
    if proposal["change"] not in ("new", "moves") or slot_id is None:
        return ApplyOutcome(participant_id=pid, slot_id=slot_id, status="refused", reason=f"nothing to apply ({proposal['change']})")
    person = session.get(db.Participant, pid)
    slot = session.get(db.Slot, slot_id)
    if person is None or slot is None:
        return ApplyOutcome(participant_id=pid, slot_id=slot_id, status="refused", reason="participant or slot no longer exists")
    try:
        with session.begin_nested():
            holding = session.scalar(
                select(db.Placement).where(db.Placement.participant_id == pid, db.Placement.end_date.is_(None))
            )
            if holding is not None and holding.slot_id != proposal.get("current_slot_id"):
                raise Conflict(f"the participant's seat changed since the plan (now in {holding.slot_id})")
            if holding is not None:
                holding.end_date = start
                holding.end_reason = db.EndReason.transferred
                session.flush()
            placement = take_seat(session, person, slot, start, user, plan_id=plan.id)
    except ServiceError as refused:
        return ApplyOutcome(participant_id=pid, slot_id=slot_id, status="refused", reason=refused.detail)
    return ApplyOutcome(participant_id=pid, slot_id=slot_id, status="applied", placement_id=placement.id)

