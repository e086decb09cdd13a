"""Import a whole data set (dry run by default) and export it again, in the exchange format of docs/data-format.md."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.audit.log import record
from service.db import models as db
from service.deps import CurrentUser, SessionDep, roles
from service.errors import InvalidInput
from service.fields import MAX_QUERY_ITEMS, attachment
from service.idempotency.http import Claim, claim_key_later
from service.imports import pool, service
from service.imports.diffing import Overwrite
from service.imports.exporting import XLSX_MEDIA_TYPE, ZIP_MEDIA_TYPE
from service.imports.reading import MAX_UPLOAD_FILES, ContentTooLarge, UploadedFile
from service.imports.schemas import ImportReport

router = APIRouter(tags=["imports"])
Role = db.Role


def _with_body(route: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """`roles(...)` plus the multipart request body in OpenAPI (the upload is parsed by `uploaded_files`)."""
    return {**route, "openapi_extra": {**route["openapi_extra"], "requestBody": body}}


UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "files": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "minItems": 1,
                        "description": "any of enterprises.csv, sites.csv, slots.csv, participants.csv, "
                        "travel_times.csv (and export.csv of an export), or one .xlsx workbook with one sheet per file",
                    }
                },
                "required": ["files"],
            }
        }
    },
}


async def uploaded_files(request: Request) -> list[UploadedFile]:
    """The files of a multipart body, read with a hard size limit (413) before anything is parsed.

    The app's `BodyLimit` counts the body as it arrives, too; this is the same limit, said in the import's words.
    """
    limit = request.app.state.settings.max_upload_bytes
    too_large = f"the upload is larger than {limit / (1024 * 1024):g} MB"
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise ContentTooLarge(too_large, limit_bytes=limit)
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise InvalidInput("send the data set as multipart/form-data, one part per file (field name 'files')")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ContentTooLarge(too_large, limit_bytes=limit)
    request._body = bytes(body)  # what Request.body() keeps: form() below parses it instead of the consumed stream
    try:
        form = await request.form(max_files=MAX_UPLOAD_FILES, max_fields=MAX_UPLOAD_FILES)
    except StarletteHTTPException as exc:
        raise InvalidInput(f"the multipart body cannot be read: {exc.detail}") from None
    try:
        return [
            UploadedFile(value.filename or "", await value.read())
            for _, value in form.multi_items()
            if isinstance(value, UploadFile)
        ]
    finally:
        await form.close()


@router.post(
    "/imports",
    response_model=ImportReport,
    summary="Import a data set (dry run unless apply=true)",
    responses={
        413: {"description": "the upload is larger than `PLACEMENT_MAX_UPLOAD_BYTES` (20 MB by default)"},
        422: {
            "description": "a file that does not belong to a data set, or an invalid data set (`problems`), a file "
            "over a limit included (rows, columns, cell length, a workbook's unzipped size; docs/service.md)"
        },
        409: {"description": "the data changed while the import was written; nothing was written"},
        503: {"description": "the import's worker process stopped (killed, or out of memory) before it answered"},
    },
    **_with_body(roles(Role.coordinator), UPLOAD_BODY),
)
def import_dataset(
    claim: Annotated[Claim | None, Depends(claim_key_later)],
    files: Annotated[list[UploadedFile], Depends(uploaded_files)],
    user: CurrentUser,
    request: Request,
    apply: Annotated[
        bool, Query(description="false (default): only report; true: write it all in one transaction")
    ] = False,
    overwrite: Annotated[
        list[str] | None,
        Query(
            max_length=MAX_QUERY_ITEMS,
            description="apply values that would undo a change made in the service: `all`, `slots`, `sites`, "
            "`slots:<field>` (e.g. `slots:seats`) or `sites:<field>` (e.g. `sites:supervisor_hours`), "
            "comma-separated or repeated",
        ),
    ] = None,
    force: Annotated[
        bool,
        Query(
            description="apply slot changes that make active placements break rules of a feasible pair (hours, "
            "days, supports, programmes, age, women only, availability) and keep each broken rule as a warning on "
            "the placement; without it such a slot row is refused, naming the placements and rules"
        ),
    ] = False,
) -> Response:
    """Upsert the uploaded data set by id into the coordinator's association.

    The upload is either the CSV files of docs/data-format.md or one `.xlsx` workbook (one sheet per file), at most
    20 MB. It is read exactly as the command line reads it: an invalid set answers 422 with `problems`, each
    `{file, row, column, message}`, and nothing is written.

    The upload may hold only some tables (e.g. only `slots.csv`): the others are the association's, left as they
    are, and the upload's references are checked against them (`partial: true`, and `tables` says so per table).

    A valid set is compared with the association's data and the answer lists what is **created**, **changed**
    (field by field, old → new) and **refused**, with warnings. Ids are the association's own: other associations
    may hold the same ids, which an import never looks at nor mentions. Refused: records that need a refused one,
    slots whose seats would drop below the seats taken, sites
    whose supervisor_hours would drop below what their active placements need (the reason names the placements),
    slots whose new values would make active placements break rules of a feasible pair (`?force=true` applies them
    and keeps the conflicts as warnings on those placements), and slots and sites whose file values would undo a
    change made in the service since (`conflicts`; `?overwrite=` applies them).
    The service's placements are the truth: a `current_slot_id` that differs from the participant's active
    placement is a warning and the placement is kept (an import never ends or moves a placement). A
    `current_slot_id` with no active placement creates one from `waiting_since` (or today), if the slot has a free
    seat and the service did not end this person's placement there. Records the upload does not mention are kept
    (`not_in_upload` counts them).

    With `apply=true` everything not refused is written in one transaction, slot and site changes are kept in the
    capacity history (as PATCH keeps them), and participant changes are audited; the answer is the same report with
    `applied: true`.
    """
    report = pool.run_import_json(  # in the import's worker process (service/imports/pool.py), serialised there
        request.app.state,
        user,
        files,
        apply=apply,
        endpoint=request.url.path,
        overwrite=Overwrite.parse(overwrite or []),
        force=force,
        limits=request.app.state.settings.read_limits(),
        claim=claim,
    )
    if claim is not None:
        claim.claimed(request)  # written with the import: its answer is kept with the key
    return Response(content=report, media_type="application/json")  # an ImportReport's JSON, as documented


@router.get(
    "/exports",
    response_class=Response,
    summary="Export the association's data set",
    responses={
        200: {
            "description": "csv: a zip of the CSV files; xlsx: one workbook with one sheet per file",
            "content": {ZIP_MEDIA_TYPE: {}, XLSX_MEDIA_TYPE: {}},
        }
    },
    **roles(Role.coordinator),
)
def export_dataset(
    session: SessionDep,
    user: CurrentUser,
    request: Request,
    fmt: Annotated[Literal["csv", "xlsx"], Query(alias="format", description="csv (a zip) or xlsx")] = "csv",
    dialect: Annotated[
        Literal["semicolon", "comma"],
        Query(
            description="CSV files: semicolon (default; `;`, decimal commas, UTF-8 with BOM, as Swedish Excel "
            "opens them) or comma (`,`, decimal points, as `placement` writes them)"
        ),
    ] = "semicolon",
) -> Response:
    """The association's data set in the import format, so that importing an export changes nothing.

    `current_slot_id` is each participant's active placement. Every participant exported is audited as read.
    """
    export = service.export_dataset(session, user.association_id, fmt, dialect=dialect)
    record(session, user, "read", export.participant_ids, request)
    return Response(
        content=export.content,
        media_type=export.media_type,
        headers=attachment(export.filename),
    )
