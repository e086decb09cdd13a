"""Report endpoints for coordinators: utilisation of the places (json, csv or xlsx) and outcomes of placements."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from matcher import DIALECTS
from service.db import models as db
from service.deps import CurrentUser, SessionDep, roles
from service.errors import InvalidInput
from service.fields import ID_PATTERN, MAX_ID_LENGTH, attachment
from service.imports.exporting import XLSX_MEDIA_TYPE
from service.params import Day
from service.reports import service
from service.reports.service import (
    CAPACITY_VALUE_DEFINITION,
    FAIRNESS_DEFINITION,
    OUTCOMES_DEFINITION,
    UTILISATION_DEFINITION,
    Grouping,
)
from service.reports.tables import ReportTable, to_csv, to_xlsx

router = APIRouter(tags=["reports"])
COORDINATOR = roles(db.Role.coordinator)
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


class Keyed(BaseModel):
    key: str | None = Field(description="the enterprise, site or slot id, the programme or the municipality")
    label: str


class UtilisationFigures(BaseModel):
    seats: int
    taken: int = Field(description="active placements in the group's slots")
    free: int
    utilisation_pct: float = Field(description="taken / seats × 100, one decimal; 0 when there are no seats")
    waiting: int = Field(
        description="participants with no active placement who belong to the group (see the definition)"
    )
    median_waiting_days: float | None = Field(description="null when no waiting person of the group has waiting_since")


class UtilisationRow(UtilisationFigures, Keyed):
    """key and label first, then the figures."""


class UtilisationReport(BaseModel):
    by: Grouping
    on: date
    rows: list[UtilisationRow]
    totals: UtilisationFigures = Field(description="every seat and person counted once (rows may overlap)")
    placements_with_warnings: int = Field(
        0, description="active placements that break a rule since their slot was changed under them (force=true)"
    )
    slots_with_warnings: list[str] = Field(default_factory=list, description="the slots of those placements")


class OutcomeRow(BaseModel):
    programme: str
    end_reason: str
    count: int


class OutcomeFigures(BaseModel):
    ended: int
    towards_work_or_studies: int
    share_pct: float | None = Field(
        description="towards_work_or_studies / ended × 100, one decimal; null when none ended"
    )
    summary: str = Field(examples=["73 of 214 ended towards work or studies (34 %)"])


class ProgrammeName(BaseModel):
    programme: str


class ProgrammeOutcome(OutcomeFigures, ProgrammeName):
    """programme first, then the figures."""


class OutcomesFilter(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    programme: str | None = Field(description="the programme asked for; null = all")
    ended_from: date | None = Field(alias="from", description="`?from=`: placements ended on or after; null = any")
    ended_to: date | None = Field(alias="to", description="`?to=`: placements ended on or before; null = any")


class OutcomesReport(OutcomeFigures, OutcomesFilter):
    rows: list[OutcomeRow] = Field(description="ended placements per programme and end_reason")
    by_reason: dict[str, int]
    programmes: list[ProgrammeOutcome]
    transferred_excluded: int = Field(description="placements ended as `transferred` (plan moves), not counted")


def _download(content: bytes, media_type: str, filename: str) -> Response:
    return Response(content=content, media_type=media_type, headers=attachment(filename))


Format = Annotated[
    Literal["json", "csv", "xlsx"],
    Query(alias="format", description="json (default), csv (a table, see `dialect`) or xlsx (a workbook for people)"),
]
Dialect = Annotated[
    Literal["semicolon", "comma"],
    Query(
        description="CSV only: semicolon (default; `;`, decimal commas, UTF-8 with BOM, as Swedish Excel opens it) "
        "or comma (`,`, decimal points, UTF-8)"
    ),
]
DOWNLOADS = (
    "\n`?format=csv` downloads the rows as a table with the JSON's names (`?dialect=semicolon` by default, or "
    "`comma`); `?format=xlsx` as a workbook with Swedish headings, number formats, a totals row and the report's "
    "date and filters in a title row."
)


def _table(table: ReportTable, fmt: str, dialect: str, name: str) -> Response:
    if fmt == "csv":
        return _download(to_csv(table, DIALECTS[dialect]), CSV_MEDIA_TYPE, f"{name}.csv")
    return _download(to_xlsx(table), XLSX_MEDIA_TYPE, f"{name}.xlsx")


@router.get(
    "/reports/utilisation",
    response_model=UtilisationReport,
    summary="Seats, taken, free and waiting per enterprise, site, slot, programme or municipality",
    description=UTILISATION_DEFINITION + DOWNLOADS,
    responses={200: {"content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}}}},
    **COORDINATOR,
)
def utilisation(
    session: SessionDep,
    user: CurrentUser,
    by: Annotated[Grouping, Query(description="the grouping of the rows")] = "enterprise",
    fmt: Format = "json",
    on: Annotated[Day | None, Query(description="the day waiting days are counted to; default today")] = None,
    dialect: Dialect = "semicolon",
) -> UtilisationReport | Response:
    report = service.utilisation(session, user.association_id, by, on or date.today())
    if fmt == "json":
        return UtilisationReport.model_validate(report)
    return _table(service.utilisation_table(report), fmt, dialect, f"utilisation-by-{by}-{report['on'].isoformat()}")


@router.get(
    "/reports/outcomes",
    response_model=OutcomesReport,
    summary="How placements ended, by reason and programme",
    description=OUTCOMES_DEFINITION + DOWNLOADS,
    responses={200: {"content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}}}},
    **COORDINATOR,
)
def outcomes(
    session: SessionDep,
    user: CurrentUser,
    programme: Annotated[
        str | None,
        Query(max_length=MAX_ID_LENGTH, pattern=ID_PATTERN, description="only participants of this programme"),
    ] = None,
    ended_from: Annotated[Day | None, Query(alias="from", description="placements ended on or after this day")] = None,
    ended_to: Annotated[Day | None, Query(alias="to", description="placements ended on or before this day")] = None,
    fmt: Format = "json",
    dialect: Dialect = "semicolon",
) -> OutcomesReport | Response:
    if ended_from is not None and ended_to is not None and ended_from > ended_to:
        raise InvalidInput(f"from ({ended_from}) is after to ({ended_to})", field="from")
    report = service.outcomes(session, user.association_id, programme or None, ended_from, ended_to)
    if fmt == "json":
        return OutcomesReport.model_validate(report)
    period = "-".join(d.isoformat() for d in (ended_from, ended_to) if d is not None)
    name = "outcomes" + (f"-{programme}" if programme else "") + (f"-{period}" if period else "")
    return _table(service.outcomes_table(report, date.today()), fmt, dialect, re.sub(r"[^A-Za-z0-9_.-]", "_", name))


# --- decision support --------------------------------------------------------------------------------------------


class CapacityValueRowOut(BaseModel):
    kind: Literal["seat", "supervision"]
    slot_id: str | None = Field(description="the slot given one more seat; null for supervisor hours")
    site_id: str
    added: float = Field(description="1 (seat) or the supervisor hours added (1 or 5)")
    more_placed: int = Field(description="how many more people the best plan places (at most, for an LP bound)")
    method: Literal["re-solve", "LP bound"]
    estimate: bool
    programmes: dict[str, int] = Field(description="programme → people it would place (re-solve only)")
    municipalities: dict[str, int]
    explanation: str


class IdleSeatOut(BaseModel):
    slot_id: str
    site_id: str
    seats: int
    idle: int = Field(description="seats no valid plan fills")
    usable_by: int = Field(description="people (not pinned) who keep every rule 1–9 with the slot")
    reasons: dict[str, int] = Field(description="rule label → people it keeps out of the slot")
    explanation: str


class CapacityValueOut(BaseModel):
    on: date
    placed: int = Field(description="the most placements without added capacity")
    rows: list[CapacityValueRowOut]
    idle: list[IdleSeatOut]
    estimate: bool
    notes: list[str]


class FairnessGroupOut(BaseModel):
    dimension: Literal["programme", "municipality", "need", "gender", "age_band"]
    group: str
    people: int
    placed: int
    placed_share: float = Field(description="placed / people, 0–1")
    possible: int = Field(description="the most of the group any plan with as many placements could place")
    possible_share: float
    shortfall: int
    median_waiting_days: float | None = Field(description="of the group's people the plan leaves unplaced")
    exact: bool
    floor_placed: int | None


class FairnessOut(BaseModel):
    on: date
    people: int
    placed: int
    plan_status: str
    groups: list[FairnessGroupOut]
    floor: float | None
    floor_feasible: bool | None
    floor_total_placed: int | None
    floor_cost: int | None
    estimate: bool
    notes: list[str]


TimeLimit = Annotated[float, Query(gt=0, le=600, description="seconds for the solves (an answer past it is marked)")]
PlanDay = Annotated[
    Day | None,
    Query(description="the plan date (the capacity in force then: scheduled changes effective by it); default today"),
]
DECISION_DOWNLOADS = (
    "\n`?format=csv` downloads the rows as a table with the JSON's names (`?dialect=semicolon` by default, or "
    "`comma`; mappings such as `programmes` as `SAMRE 2|UNGA 1`, shares as percentages 0–100 in `*_pct`); "
    "`?format=xlsx` as a workbook with Swedish headings, number formats and the report's date, figures and "
    "estimate marking in a title row."
)
AllowMoves = Annotated[bool, Query(description="let people with an active placement move (as a plan may)")]


@router.get(
    "/reports/capacity-value",
    response_model=CapacityValueOut,
    summary="Where one more seat or supervisor hour places most people, and seats no plan fills",
    description=CAPACITY_VALUE_DEFINITION + DECISION_DOWNLOADS,
    responses={200: {"content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}}}},
    **COORDINATOR,
)
def capacity_value(
    session: SessionDep,
    user: CurrentUser,
    on: PlanDay = None,
    time_limit_s: TimeLimit = 60.0,
    allow_moves: AllowMoves = False,
    fmt: Format = "json",
    dialect: Dialect = "semicolon",
) -> CapacityValueOut | Response:
    report = service.capacity_value(session, user.association_id, on or date.today(), time_limit_s, allow_moves)
    if fmt == "json":
        return CapacityValueOut.model_validate(asdict(report))
    return _table(service.capacity_value_table(report), fmt, dialect, f"capacity-value-{report.on.isoformat()}")


@router.get(
    "/reports/fairness",
    response_model=FairnessOut,
    summary="Placed share by programme, municipality, need, gender and age band, beside what capacity allows",
    description=FAIRNESS_DEFINITION + DECISION_DOWNLOADS,
    responses={200: {"content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}}}},
    **COORDINATOR,
)
def fairness(
    session: SessionDep,
    user: CurrentUser,
    on: PlanDay = None,
    floor: Annotated[float | None, Query(gt=0, le=1, description="also plan with this fairness floor")] = None,
    time_limit_s: TimeLimit = 60.0,
    allow_moves: AllowMoves = False,
    fmt: Format = "json",
    dialect: Dialect = "semicolon",
) -> FairnessOut | Response:
    report = service.fairness(session, user.association_id, on or date.today(), floor, time_limit_s, allow_moves)
    if fmt == "json":
        return FairnessOut.model_validate(asdict(report))
    name = f"fairness-{report.on.isoformat()}" + (f"-floor-{floor:g}" if floor is not None else "")
    return _table(service.fairness_table(report), fmt, dialect, name)
