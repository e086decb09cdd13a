"""Response bodies of imports: what an upload would create, change and refuse, and the problems that stop it."""

from __future__ import annotations

from datetime import datetime
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


class ConflictRecord(BaseModel):
    """A value of the file that the service has since replaced: importing it would undo that change."""

    kind: Kind
    id: str
    field: str
    file: str
    row: int
    file_value: Any = Field(description="the file's value: one the field had before a change made in the service")
    service_value: Any = Field(description="the value the service has now")
    changed_at: datetime = Field(description="when the service last changed the field")
    changed_by: str | None = Field(description="the user who made that change; null if unknown")
    overwritten: bool = Field(description="true when `?overwrite=` covers it: the file's value is applied")
    overwrite: str = Field(description="the `?overwrite=` item that applies the file's value, e.g. `slots:seats`")


class TableReport(BaseModel):
    """What the import does to one table."""

    table: Literal["enterprises", "sites", "slots", "participants", "travel_times"]
    in_upload: bool
    created: int
    changed: int
    unchanged: int
    refused: int
    left_as_they_are: int = Field(description="records of the association this table of the upload does not hold")
    note: str = Field(examples=["not in the upload, left as they are", "3 created, 1 changed, 20 unchanged"])


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
    conflicts: list[ConflictRecord] = Field(
        description="values that would undo a change made in the service (refused unless `?overwrite=` covers them)"
    )
    exported_at: datetime | None = Field(
        description="when the upload was exported (its export.csv or `export` sheet); null without one"
    )
    partial: bool = Field(description="true when the upload lacks some tables: those are left as they are")
    tables: list[TableReport] = Field(description="per table: created, changed, unchanged, refused, left as they are")
    not_in_upload: dict[str, int] = Field(
        description="records of the association the upload does not mention, per kind; an import never deletes them"
    )
