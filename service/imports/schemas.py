"""Response bodies of imports: what an upload would create, change and refuse, and the problems that stop it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Kind = Literal["enterprise", "site", "slot", "participant", "travel_time", "placement"]


class ProblemPublic(BaseModel):
    """One problem or warning, located as the command line names it: `file:row:column: message`."""

    file: str = Field(description="`slots.csv`, or `book.xlsx[slots]` for a workbook")
    row: int = Field(description="the spreadsheet row (header = 1); 0 when the problem concerns a whole file")
    column: str
    message: str


class FieldChange(BaseModel):
    field: str
    old: Any
    new: Any


class CreatedRecord(BaseModel):
    kind: Kind
    id: str = Field(
        description="the record's id; `participant_id/site_id` for a travel time; the participant for a placement"
    )
    detail: str | None = None


class ChangedRecord(BaseModel):
    kind: Kind
    id: str
    changes: list[FieldChange]


class RefusedRecord(BaseModel):
    kind: Kind
    id: str
    file: str
    row: int
    reason: str


class ImportSummary(BaseModel):
    created: int
    changed: int
    unchanged: int
    refused: int


class ImportReport(BaseModel):
    applied: bool = Field(
        description="false for a dry run (nothing written); true when everything not refused was written"
    )
    format: Literal["csv", "xlsx"]
    files: list[str] = Field(description="the uploaded files, under the names the reader used")
    summary: ImportSummary
    created: list[CreatedRecord]
    changed: list[ChangedRecord]
    refused: list[RefusedRecord]
    warnings: list[ProblemPublic]
    not_in_upload: dict[str, int] = Field(
        description="records of the association the upload does not mention, per kind; an import never deletes them"
    )
