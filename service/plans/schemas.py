"""Plan bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

import matcher
from matcher import ChangeKind, NeedKind
from service.catalogue.schemas import Strict
from service.db.models import PlanStatus
from service.fields import MAX_IDS_PER_REQUEST, ParticipantId

RESULT_FORMAT = 2  # plan results whose proposals carry reasons, needs and premises; apply refuses older ones
CHANGES = (ChangeKind.NEW, ChangeKind.MOVES, ChangeKind.LEAVES)  # the proposals that change something


class PlanCreate(Strict):
    date: date
    time_limit_s: float = Field(30.0, gt=0, le=3600)
    work_limit: float | None = Field(
        None,
        gt=0,
        le=100_000,
        description="stop on work done, not on the clock (about seconds of search on the reference machine): the "
        "same data and settings then give the same plan; time_limit_s stays as a safety net (docs/solver.md)",
    )
    weights: matcher.ScoreWeights | None = None
    allow_moves: bool = Field(
        False,
        description="false (default): every active placement is kept and the plan only fills free seats; "
        "true: the plan may move people who hold a seat, or take them out, when that places more people or fits "
        "better (pinned people never move); every move and leave says why",
    )
    fairness_floor: float | None = Field(
        None,
        gt=0,
        le=1,
        description="give every group (programme, municipality, need, gender, age band) at least this share of what "
        "capacity makes possible for it (`GET /reports/fairness`); the result's summary says what it costs in "
        "placements (`floor_cost`). A plan no floor can keep fails, saying so. Null = none",
    )


class Need(BaseModel):
    """Something a proposal needs that another proposal (`freed_by`) frees: apply them together."""

    freed_by: str = Field(description="participant id of the move or leave that frees it")
    kind: NeedKind
    slot_id: str | None = Field(None, description="the slot whose seat is needed (kind seat)")
    site_id: str
    hours: float = Field(description="supervisor hours used of those freed (kind supervision)")
    text: str


class Premise(BaseModel):
    """What the plan saw at solve time; apply refuses a proposal when this is no longer so."""

    placement_id: int | None = Field(description="the person's active placement at solve time (none: waiting)")
    slot_version: int | None = Field(None, description="the target slot's version (ETag) at solve time")
    site_supervisor_hours: float | None = Field(None, description="the target site's supervisor hours at solve time")


class Proposal(BaseModel):
    participant_id: str
    slot_id: str | None
    site_id: str | None
    enterprise_id: str | None
    current_slot_id: str | None
    change: ChangeKind
    travel_minutes: int | None
    score: int | None
    score_parts: dict[str, int]
    pinned: bool
    kept_despite: list[str]
    reason: str = Field("", description="what the proposal does, in words; for a move or leave, what it makes possible")
    needs: list[Need] = Field(default_factory=list, description="what it needs from other proposals (apply them too)")
    freed_for: list[str] = Field(default_factory=list, description="proposals that need what this one frees")
    premise: Premise | None = None


class PlanSummary(BaseModel):
    status: str = Field(description="the solver's status: optimal, feasible, …")
    placed: int
    total: int
    total_score: int
    placed_bound: int
    score_bound: int
    placed_gap: float
    solve_seconds: float
    deterministic: bool = Field(
        False,
        description="the same data and settings give this plan again: no wall-clock limit decided where the search "
        "stopped (set work_limit for that)",
    )
    changes: dict[str, int] = Field(description="proposals per change: new, moves, leaves, unchanged")
    fairness_floor: float | None = Field(None, description="the floor the plan keeps; null = none")
    floor_cost: int | None = Field(
        None,
        description="with a floor: placements given up against the best plan without it (0 = it costs nothing); "
        "null without a floor",
    )


class PlanResult(BaseModel):
    """What a finished solve stores in `plans.result`: written with `model_dump(mode="json")`, validated on read.

    Only results of this format can be applied; older ones (no `format`) are shown as stored."""

    format: Literal[2] = 2  # RESULT_FORMAT
    summary: PlanSummary
    warnings: list[str]
    proposals: list[Proposal]

    def changes_only(self) -> PlanResult:
        """The result with only the proposals that change something (new placements, moves, leaves)."""
        return self.model_copy(update={"proposals": [p for p in self.proposals if p.change in CHANGES]})


class PlanCreated(BaseModel):
    id: int
    status: PlanStatus
    location: str


class PlanPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    status: PlanStatus
    plan_date: date
    time_limit_s: float
    work_limit: float | None = None
    allow_moves: bool
    weights: dict[str, Any] | None
    fairness_floor: float | None = None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: dict[str, Any] | None = Field(None, description="best plan so far: placed, score, placed_bound, seconds")
    result: dict[str, Any] | None = Field(None, description="when done: summary, warnings and proposals")
    error: str | None


class PlanApply(Strict):
    participant_ids: list[ParticipantId] | None = Field(
        None,
        max_length=MAX_IDS_PER_REQUEST,
        description="the proposals to apply (new placements, moves, leaves); default: every proposal that changes "
        "something",
    )
    include_dependencies: bool = Field(
        False,
        description="false: a chosen proposal whose needs (the move or leave that frees its seat or supervisor hours) "
        "are not chosen is refused with 409 naming them; true: they are added and applied with it",
    )
    start_date: date | None = Field(
        None, description="start of new placements and end of the ones left; default: the plan's date"
    )


class ApplyOutcome(BaseModel):
    participant_id: str
    change: ChangeKind
    from_slot_id: str | None
    slot_id: str | None
    status: Literal["applied", "refused"]
    reason: str = Field(description="applied: what was done; refused: why")
    placement_id: int | None = Field(None, description="the new placement (new, moves)")
    ended_placement_id: int | None = Field(None, description="the placement ended (moves, leaves)")
    added_as_dependency: bool = Field(False, description="not chosen, added because a chosen proposal needs it")


class PlanApplied(BaseModel):
    plan_id: int
    applied: int
    refused: int
    outcomes: list[ApplyOutcome]
