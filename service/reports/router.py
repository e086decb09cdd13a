"""Report endpoints for coordinators: utilisation of the places (json, csv or xlsx) and outcomes of placements."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from service.db import models as db
from service.deps import CurrentUser, SessionDep, roles
from service.imports.service import XLSX_MEDIA_TYPE
from service.reports import service
from service.reports.service import OUTCOMES_DEFINITION, UTILISATION_DEFINITION, Grouping

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
    programme: str | None = Field(description="the programme asked for; null = all")


class OutcomesReport(OutcomeFigures, OutcomesFilter):
    rows: list[OutcomeRow] = Field(description="ended placements per programme and end_reason")
    by_reason: dict[str, int]
    programmes: list[ProgrammeOutcome]
    transferred_excluded: int = Field(description="placements ended as `transferred` (plan moves), not counted")


def _download(content: bytes, media_type: str, filename: str) -> Response:
    return Response(
        content=content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get(
    "/reports/utilisation",
    response_model=UtilisationReport,
    summary="Seats, taken, free and waiting per enterprise, site, slot, programme or municipality",
    description=UTILISATION_DEFINITION
    + "\n`?format=csv` (header row, UTF-8 with BOM) or `?format=xlsx` downloads the rows as a table.",
    responses={200: {"content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}}}},
    **COORDINATOR,
)
def utilisation(
    session: SessionDep,
    user: CurrentUser,
    by: Annotated[Grouping, Query(description="the grouping of the rows")] = "enterprise",
    fmt: Annotated[Literal["json", "csv", "xlsx"], Query(alias="format")] = "json",
    on: Annotated[date | None, Query(description="the day waiting days are counted to; default today")] = None,
) -> UtilisationReport | Response:
    report = service.utilisation(session, user.association_id, by, on or date.today())
    if fmt == "json":
        return UtilisationReport.model_validate(report)
    header, rows = service.utilisation_table(report)
    name = f"utilisation-by-{by}-{report['on'].isoformat()}"
    if fmt == "csv":
        return _download(service.as_csv(header, rows), CSV_MEDIA_TYPE, f"{name}.csv")
    return _download(service.as_xlsx(f"by {by}", header, rows), XLSX_MEDIA_TYPE, f"{name}.xlsx")


@router.get(
    "/reports/outcomes",
    response_model=OutcomesReport,
    summary="How placements ended, by reason and programme",
    description=OUTCOMES_DEFINITION,
    **COORDINATOR,
)
def outcomes(
    session: SessionDep,
    user: CurrentUser,
    programme: Annotated[str | None, Query(description="only participants of this programme")] = None,
) -> OutcomesReport:
    return OutcomesReport.model_validate(service.outcomes(session, user.association_id, programme or None))
