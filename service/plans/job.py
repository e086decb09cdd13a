"""The solve job: runs in a worker process (local pool or an RQ worker), reads the database, writes the result.

Only a plan id and the database URL cross the process boundary, so any worker on any machine that reaches the
database can run it.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import time
import traceback
import uuid
from datetime import date, timedelta
from typing import Any

import matcher
from matcher import Change, plan_changes
from service.core_bridge import describe_problems, load_instance
from service.db import models as db
from service.db.engine import is_relative_sqlite, make_engine, make_session_factory, transaction
from service.plans import repository as repo
from service.plans.fanout import open_fan_out
from service.plans.premise import SolvePremise, read_premise
from service.plans.results import store_result
from service.plans.schemas import Need, PlanResult, PlanSummary, Premise, Proposal
from service.settings import get_settings

log = logging.getLogger("service.plans")
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
GRACE_S = 5.0
"""A solve still running this long after its time limit is stuck: the service stops it and fails its plan."""
PROGRESS_EVERY_S = 1.0  # write progress at most this often: a solver finds many plans in its first second


def run_plan(plan_id: int, database_url: str) -> None:
    """Solve the plan (in a pool worker or an RQ work horse), which dies with the process that started it."""
    die_with_parent()
    if is_relative_sqlite(database_url):
        # A worker in another folder would open (and create) another, empty database: never guess.
        raise ValueError(f"the job's database URL {database_url!r} is relative; the service sends absolute URLs")
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    try:
        _run(plan_id, factory, uuid.uuid4().hex, owner_name())
    finally:
        engine.dispose()


def owner_name() -> str:
    """This process, as a plan's owner: host, pid and the RQ worker's name when there is one."""
    worker = os.environ.get("RQ_WORKER_ID")
    return f"{socket.gethostname()}:{os.getpid()}" + (f" rq:{worker}" if worker else "")


def owner_pid(owner: str | None) -> int | None:
    """The pid of an owner written by `owner_name` on this host; None for another host or none."""
    if not owner:
        return None
    host, _, rest = owner.partition(":")
    pid = rest.split(" ", 1)[0]
    return int(pid) if host == socket.gethostname() and pid.isdigit() else None


def die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (the service for a pool worker, the RQ worker for its
    work horse), so that killing either never leaves a solve running as an orphan. Elsewhere, nothing."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)


def _run(plan_id: int, factory: Any, lease: str, owner: str) -> None:
    with transaction(factory) as session:
        if not repo.take_plan(session, plan_id, lease, owner):
            return  # cancelled, failed by a restart, or taken by another worker, before this one took it
    # The reads for the solve take no lock (a plan never blocks the service's writes while it loads or solves).
    with transaction(factory, write=False) as session:
        plan = repo.plan(session, plan_id)
        if plan is None:
            return
        association_id, plan_date, time_limit = plan.association_id, plan.plan_date, plan.time_limit_s
        work_limit = plan.work_limit
        allow_moves = plan.allow_moves
        floor = plan.fairness_floor or 0.0
        weights = matcher.ScoreWeights(**(plan.weights or {}))
        # Without allow_moves everyone holding a seat keeps it: the plan only fills free seats.
        # The capacity in force on the plan's date: scheduled changes effective by then are applied.
        instance = load_instance(session, association_id, keep_active=not allow_moves, on=plan_date)
        premise = read_premise(session, association_id)
        # Whether the plan, not the records, keeps someone in place: only then can allow_moves help a plan that fails.
        pinned_on_record = repo.pinned_on_record(session, association_id)
        kept_by_plan = not allow_moves and any(
            p.pinned for p in instance.participants if p.participant_id not in pinned_on_record
        )

    def on_solved() -> None:
        with transaction(factory) as session:
            repo.write_if_mine(session, plan_id, lease, deadline=None)

    last_write = 0.0

    def on_progress(progress: matcher.SolveProgress) -> None:
        nonlocal last_write
        now = time.monotonic()
        if now - last_write < PROGRESS_EVERY_S:
            return
        last_write = now
        with transaction(factory) as session:
            repo.write_if_mine(
                session,
                plan_id,
                lease,
                progress={
                    "seconds": round(progress.seconds, 2),
                    "placed": progress.placed,
                    "score": progress.score,
                    "placed_bound": progress.placed_bound,
                },
            )

    areas = open_fan_out(get_settings())  # the queue's area workers, when there are any
    try:
        # Checked and compiled first: the core's time limit starts after that (seconds at 50,000 people), so the
        # deadline does too.
        compiled = matcher.prepare(instance)
        with transaction(factory) as session:  # the core must return by the deadline, or the service stops it
            deadline = db.utcnow() + timedelta(seconds=time_limit + GRACE_S)
            if not repo.write_if_mine(session, plan_id, lease, deadline=deadline):
                return
        settings = matcher.SolverSettings(time_limit_s=time_limit, fairness_floor=floor, work_limit=work_limit)
        fan_out = matcher.AreaFanOut(areas, get_settings().area_width) if areas is not None else None
        result = solve_to_result(
            instance, plan_date, weights, settings, on_progress, premise, on_solved, fan_out, compiled
        )
    except matcher.InvalidDataset as invalid:
        with transaction(factory, write=False) as session:
            reasons = describe_problems(session, association_id, invalid.problems[:20])
        message = "the data cannot be planned: " + "; ".join(reasons)
        if kept_by_plan and any("pinned participants" in p.message for p in invalid.problems):
            message += (
                " (without allow_moves every active placement is kept; plan with allow_moves=true to let the plan "
                "move people or take them out)"
            )
        _fail(factory, plan_id, lease, message)
        return
    except ValueError as refused:
        if floor:  # matcher.solve's only ValueError with a floor: no plan keeps it (or none found in the time limit)
            _fail(factory, plan_id, lease, f"fairness_floor {floor:g}: {refused}")
        else:
            log.exception("plan %s failed", plan_id)
            _fail(factory, plan_id, lease, f"the solve failed unexpectedly: ValueError: {refused}")
        return
    except Exception:  # a worker must record why it failed, never leave a plan "running"
        log.exception("plan %s failed", plan_id)
        _fail(
            factory,
            plan_id,
            lease,
            "the solve failed unexpectedly: " + traceback.format_exc(limit=1).strip().splitlines()[-1],
        )
        return
    finally:
        if areas is not None:
            areas.shutdown()
            log.info("plan %s: areas fanned out: %s", plan_id, areas.stats)
    finished = db.Plan()  # the columns the result sets, written in one conditional UPDATE
    store_result(finished, result)
    with transaction(factory) as session:
        written = repo.write_if_mine(
            session,
            plan_id,
            lease,
            status=db.PlanStatus.done,
            finished_at=db.utcnow(),
            result=finished.result,
            progress={
                "seconds": result.summary.solve_seconds,
                "placed": result.summary.placed,
                "score": result.summary.total_score,
                "placed_bound": result.summary.placed_bound,
            },
        )
    if not written:
        log.warning("plan %s: ended by the service meanwhile (or not this worker's); the result is dropped", plan_id)


def _fail(factory: Any, plan_id: int, lease: str, message: str) -> None:
    with transaction(factory) as session:
        repo.write_if_mine(session, plan_id, lease, status=db.PlanStatus.failed, error=message, finished_at=db.utcnow())


def solve_to_result(
    instance: matcher.Instance,
    plan_date: date,
    weights: matcher.ScoreWeights,
    settings: matcher.SolverSettings,
    on_progress: Any = None,
    premise: SolvePremise | None = None,
    on_solved: Any = None,
    fan_out: matcher.AreaFanOut | None = None,
    compiled: matcher.CompiledInstance | None = None,
) -> PlanResult:
    """The plan's result: proposals with explanations, what changes against today, what each needs, and why.
    `compiled`: `instance` already checked and compiled (`matcher.prepare`)."""
    plan = matcher.solve(
        compiled or instance, plan_date, weights=weights, settings=settings, on_progress=on_progress, fan_out=fan_out
    )
    if on_solved is not None:
        on_solved()
    changes = plan_changes(instance, plan.rows, plan_date)
    proposals = [_proposal(row, changes[row.participant_id], premise) for row in plan.rows]
    return PlanResult(
        summary=PlanSummary(
            status=plan.status.value,
            placed=plan.placed,
            total=plan.total,
            total_score=plan.total_score,
            placed_bound=plan.placed_bound,
            score_bound=plan.score_bound,
            placed_gap=plan.placed_gap,
            solve_seconds=round(plan.solve_seconds, 3),
            deterministic=plan.deterministic,
            changes={k: sum(1 for p in proposals if p.change == k) for k in ("new", "moves", "leaves", "unchanged")},
            fairness_floor=plan.fairness_floor,
            floor_cost=plan.floor_cost,
        ),
        warnings=list(plan.warnings),
        proposals=proposals,
    )


def _proposal(row: matcher.PlanRow, change: Change, premise: SolvePremise | None) -> Proposal:
    recorded = None
    if premise is not None:
        recorded = Premise(
            placement_id=premise.placement_ids.get(row.participant_id),
            slot_version=premise.slot_versions.get(row.slot_id) if row.slot_id else None,
            site_supervisor_hours=premise.site_supervisor_hours.get(row.site_id) if row.site_id else None,
        )
    return Proposal(
        participant_id=row.participant_id,
        slot_id=row.slot_id,
        site_id=row.site_id,
        enterprise_id=row.enterprise_id,
        current_slot_id=change.from_slot_id,
        change=change.kind,
        travel_minutes=row.travel_minutes,
        score=row.score,
        score_parts=row.score_parts,
        pinned=row.pinned,
        kept_despite=list(row.kept_despite),
        reason=change.reason,
        needs=[
            Need(freed_by=n.freed_by, kind=n.kind, slot_id=n.slot_id, site_id=n.site_id, hours=n.hours, text=n.text)
            for n in change.needs
        ],
        freed_for=list(change.freed_for),
        premise=recorded,
    )
