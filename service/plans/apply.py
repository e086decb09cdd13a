"""Applying a plan: the chosen proposals and what they need, in one transaction, freeing seats before taking them.

A proposal whose premise changed since the solve (the person's placement, the slot, the site's supervisor hours, a
seat taken meanwhile) is refused with the reason, and so is every chosen proposal that needs it; the rest is applied
together. Nothing is half-applied: each attempt runs in a savepoint, and a refusal rolls the attempt back whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy.orm import Session

from matcher import ChangeKind, dependencies, dependents
from service.catalogue import repository as catalogue
from service.db import models as db
from service.errors import Conflict, InvalidInput, ServiceError
from service.placements.service import take_seat
from service.plans import repository as repo
from service.plans.results import stored_result
from service.plans.schemas import CHANGES, ApplyOutcome, PlanApplied, PlanApply, Proposal

FREES = (ChangeKind.MOVES, ChangeKind.LEAVES)
TAKES = (ChangeKind.NEW, ChangeKind.MOVES)


class _Refused(Exception):
    def __init__(self, participant_id: str, reason: str) -> None:
        super().__init__(reason)
        self.participant_id = participant_id
        self.reason = reason


def plan_proposals(plan: db.Plan) -> dict[str, Proposal]:
    result = stored_result(plan)
    if result is None:
        raise Conflict(
            f"plan {plan.id} was computed before plans recorded what their proposals depend on; start a new plan"
        )
    return {p.participant_id: p for p in result.proposals}


def chosen_proposals(plan: db.Plan, proposals: dict[str, Proposal], body: PlanApply) -> tuple[list[str], set[str]]:
    """The chosen participant ids (in order) and the ones added because they are needed; 409 names missing needs."""
    if body.participant_ids is None:
        return [pid for pid, p in proposals.items() if p.change in CHANGES], set()
    chosen = list(dict.fromkeys(body.participant_ids))
    unknown = [pid for pid in chosen if pid not in proposals]
    if unknown:
        raise InvalidInput(f"not in plan {plan.id}: {', '.join(unknown[:10])}")
    idle = [f"{pid} ({proposals[pid].change.value})" for pid in chosen if proposals[pid].change not in CHANGES]
    if idle:
        raise InvalidInput(f"nothing to apply for {', '.join(idle[:10])}: choose new placements, moves or leaves")
    needs = {pid: {n.freed_by for n in p.needs} for pid, p in proposals.items()}
    missing = dependencies(needs, chosen)
    if missing and not body.include_dependencies:
        wanted = [
            (pid, need)
            for pid in [*chosen, *sorted(missing)]
            for need in proposals[pid].needs
            if need.freed_by in missing
        ]
        raise Conflict(
            "; ".join(f"{pid} needs {need.text}: choose it too" for pid, need in wanted)
            + " (or apply with include_dependencies=true)",
            missing=sorted(missing),
            needs=[{"participant_id": pid, "freed_by": need.freed_by, "text": need.text} for pid, need in wanted],
        )
    return chosen, missing


def apply_proposals(session: Session, user: db.User, plan: db.Plan, body: PlanApply) -> PlanApplied:
    proposals = plan_proposals(plan)
    chosen, added = chosen_proposals(plan, proposals, body)
    start = body.start_date or plan.plan_date
    selected = [*chosen, *sorted(added)]
    needs = {pid: {n.freed_by for n in proposals[pid].needs} for pid in selected}
    _lock_sites(session, plan.association_id, [proposals[pid] for pid in selected])
    refused: dict[str, str] = {}

    def refuse(pid: str, reason: str, pool: set[str]) -> None:
        refused[pid] = reason
        for other in dependents(needs, [pid], pool):
            refused.setdefault(
                other, f"needs {_need_text(proposals[other], pid)}, and {pid}'s proposal is refused: {reason}"
            )

    pool = set(selected)
    for pid, reason in _stale(session, plan.association_id, [proposals[p] for p in selected]).items():
        refuse(pid, reason, pool)
    applied: dict[str, ApplyOutcome] = {}
    while True:
        pool = set(selected) - set(refused)
        try:
            with session.begin_nested():
                applied = _apply_all(session, user, plan, [proposals[p] for p in selected if p in pool], start)
            break
        except _Refused as refusal:  # the attempt is rolled back whole; try again without it and what needs it
            refuse(refusal.participant_id, refusal.reason, pool)
    outcomes = []
    for pid in selected:
        p = proposals[pid]
        if pid in applied:
            outcomes.append(applied[pid].model_copy(update={"added_as_dependency": pid in added}))
        else:
            outcomes.append(
                ApplyOutcome(
                    participant_id=pid,
                    change=p.change,
                    from_slot_id=p.current_slot_id,
                    slot_id=p.slot_id,
                    status="refused",
                    reason=refused[pid],
                    added_as_dependency=pid in added,
                )
            )
    return PlanApplied(plan_id=plan.id, applied=len(applied), refused=len(outcomes) - len(applied), outcomes=outcomes)


def _need_text(proposal: Proposal, refused_pid: str) -> str:
    direct = [n.text for n in proposal.needs if n.freed_by == refused_pid]
    return direct[0] if direct else f"what {refused_pid}'s change frees (through other proposals)"


def _lock_sites(session: Session, association_id: str, proposals: Iterable[Proposal]) -> None:
    """Lock every site the proposals take from or give to, in id order, so overlapping applies never deadlock and
    seats and supervision hours are decided under the same locks `POST /placements` takes."""
    slot_ids = {s for p in proposals for s in (p.slot_id, p.current_slot_id) if s}
    for site_id in sorted(repo.sites_of_slots(session, association_id, slot_ids)):
        catalogue.lock_site(session, association_id, site_id)


def _stale(session: Session, association_id: str, proposals: list[Proposal]) -> dict[str, str]:
    """participant_id -> why the proposal's premise no longer holds."""
    active = repo.lock_active_placements(session, association_id, [p.participant_id for p in proposals])
    stale: dict[str, str] = {}
    for p in proposals:
        pid, premise = p.participant_id, p.premise
        if premise is None:
            stale[pid] = "the plan recorded no premise for this proposal; start a new plan"
            continue
        person = repo.participant(session, association_id, pid)
        if person is None:
            stale[pid] = f"participant '{pid}' no longer exists"
            continue
        holding = active.get(pid)
        if (holding.id if holding else None) != premise.placement_id:
            now = f"now holds placement {holding.id} in '{holding.slot_id}'" if holding else "now holds no placement"
            stale[pid] = f"{pid}'s placement changed since the plan was computed ({now})"
            continue
        if p.change in FREES and person.pinned:
            stale[pid] = (
                f"{pid} was pinned to '{p.current_slot_id}' since the plan was computed; pinned people never move"
            )
            continue
        if p.change in TAKES:
            assert p.slot_id is not None
            slot = repo.slot(session, association_id, p.slot_id, fresh=True)
            if slot is None:
                stale[pid] = f"slot '{p.slot_id}' was removed since the plan was computed"
            elif slot.version != premise.slot_version:
                versions = f"version {premise.slot_version} → {slot.version}"
                stale[pid] = f"slot '{slot.id}' changed since the plan was computed ({versions})"
            elif slot.site.supervisor_hours != premise.site_supervisor_hours:
                stale[pid] = (
                    f"site '{slot.site_id}' supervisor hours changed since the plan was computed "
                    f"({_hours(premise.site_supervisor_hours)} → {_hours(slot.site.supervisor_hours)})"
                )
    return stale


def _hours(value: float | None) -> str:
    return "no limit" if value is None else f"{value:g}"


def _apply_all(
    session: Session, user: db.User, plan: db.Plan, proposals: list[Proposal], start: date
) -> dict[str, ApplyOutcome]:
    """End the placements of moves and leaves, then take every new seat; raise `_Refused` for the first that fails."""
    active = repo.lock_active_placements(
        session, plan.association_id, [p.participant_id for p in proposals if p.change in FREES]
    )
    ended: dict[str, int] = {}
    for p in proposals:
        if p.change not in FREES:
            continue
        holding = active[p.participant_id]
        if start < holding.start_date:
            raise _Refused(
                p.participant_id,
                f"placement {holding.id} starts on {holding.start_date.isoformat()}, after {start.isoformat()}",
            )
        holding.end_date = start
        holding.end_reason = db.EndReason.transferred
        ended[p.participant_id] = holding.id
    repo.flush(session)
    outcomes: dict[str, ApplyOutcome] = {}
    for p in proposals:
        placement_id = None
        if p.change in TAKES:
            assert p.slot_id is not None
            person = repo.participant(session, plan.association_id, p.participant_id)
            slot = repo.slot(session, plan.association_id, p.slot_id)
            assert person is not None and slot is not None  # checked with the premise, under the site locks
            try:
                placement_id = take_seat(session, person, slot, start, user, plan_id=plan.id).id
            except ServiceError as conflict:
                raise _Refused(p.participant_id, conflict.detail) from None
        outcomes[p.participant_id] = ApplyOutcome(
            participant_id=p.participant_id,
            change=p.change,
            from_slot_id=p.current_slot_id,
            slot_id=p.slot_id,
            status="applied",
            reason=p.reason,
            placement_id=placement_id,
            ended_placement_id=ended.get(p.participant_id),
        )
    return outcomes
