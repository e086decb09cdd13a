"""The field types of request bodies, paths and queries, and their size limits, in one place.

Ids, codes and names are checked by the core's own functions (`matcher.check_id`, `matcher.clean_text`), the ones
the import reader uses, so the API stores nothing an import would refuse and an export imports back unchanged
(docs/data-format.md, "Ids, codes and text"). Every string has a `maxLength` and every list a `maxItems`, shown in
the OpenAPI; a request beyond them answers 422 naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

import matcher

# --- limits (one module, so they are seen and changed together) ----------------------------------------------------
MAX_ID_LENGTH = matcher.MAX_ID_LENGTH  # ids and codes: 64
MAX_NAME_LENGTH = matcher.MAX_TEXT_LENGTH  # names of enterprises and sites: 200
MAX_CODES = 50  # items of a list of codes: needs, preferences, supports, programmes, accessibility
MAX_AVOIDED = 200  # avoid_enterprises
MAX_DAYS = 7  # days, days_available (a weekday once each)
MAX_IDS_PER_REQUEST = 10_000  # participant_ids of a plan's apply
MAX_HEADER_LENGTH = 200  # If-Match and other short header values
MAX_QUERY_ITEMS = 20  # a repeated query parameter (`?overwrite=`)
MAX_TEXT_LENGTH = 1_000  # any other string of a request: the catch-all of `Strict`

ID_PATTERN = matcher.ID_PATTERN
ID_DESCRIPTION = (
    f"1-{MAX_ID_LENGTH} characters of A-Z a-z 0-9 _ . - (starting with a letter or digit); nothing shaped like a "
    "personal identity number (pseudonymous codes only)"
)
PARTICIPANT_ID_DESCRIPTION = ID_DESCRIPTION + ", nor like a person's name"


def _reason(exc: ValueError) -> PydanticCustomError:
    # The core's message as the reader words it, without pydantic's "Value error, " prefix; passed as context so
    # braces in the text are not a template.
    return PydanticCustomError("invalid_text", "{reason}", {"reason": str(exc)})


def _id(value: Any) -> Any:
    # Not stripped: the OpenAPI's pattern is exactly what is taken (the reader strips a cell, and then checks the same).
    if not isinstance(value, str):
        return value  # the str schema refuses it with its own message
    try:
        return matcher.check_id(value)
    except ValueError as exc:
        raise _reason(exc) from None


def _participant_id(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return matcher.check_id(value, personal=True)
    except ValueError as exc:
        raise _reason(exc) from None


def _name(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return matcher.clean_text(value, max_length=MAX_NAME_LENGTH)
    except ValueError as exc:
        raise _reason(exc) from None


# What the pattern lets through but the rules refuse, as `not` patterns, so the OpenAPI says all of it.
NOT_PERSONAL_NUMBER: dict[str, Any] = {"not": {"pattern": matcher.PERSONAL_NUMBER_PATTERN}}
NOT_PERSONAL: dict[str, Any] = {
    "not": {"anyOf": [{"pattern": matcher.PERSONAL_NUMBER_PATTERN}, {"pattern": matcher.PERSONAL_NAME_ID_PATTERN}]}
}


def _id_field(description: str, refused: dict[str, Any]) -> Any:
    return Field(
        min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN, description=description, json_schema_extra=refused
    )


Id = Annotated[str, _id_field(ID_DESCRIPTION, NOT_PERSONAL_NUMBER), BeforeValidator(_id)]
"""An id or code of an enterprise, site, slot, activity, programme, need, support or accessibility."""
ParticipantId = Annotated[str, _id_field(PARTICIPANT_ID_DESCRIPTION, NOT_PERSONAL), BeforeValidator(_participant_id)]
"""A participant's id or one of a participant's codes (programme, needs, preferences): not like a name either."""
# The Field before the validator: pydantic leaves a `pattern` out of the JSON schema when a BeforeValidator comes
# first; the validator runs before the constraints either way.
Name = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        description="stored as NFC without surrounding whitespace; no control, zero-width or bidi characters, "
        "nothing shaped like a personal identity number",
        json_schema_extra=NOT_PERSONAL_NUMBER,
    ),
    BeforeValidator(_name),
]

# Paths and queries: the pattern alone (an id that cannot exist answers 422 before anything is looked up).
IdPath = Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN, description=ID_DESCRIPTION)]
IdQuery = Annotated[
    str | None, Query(min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN, description=ID_DESCRIPTION)
]


def header_text(value: str) -> str:
    """`value` as a header may carry it: characters outside the id alphabet percent-encoded (UTF-8), so a header
    never fails to encode, whatever a stored value holds; a value of the id alphabet is unchanged."""
    from urllib.parse import quote

    return quote(value, safe=matcher.ID_SAFE_CHARACTERS)


def attachment(filename: str) -> dict[str, str]:
    """A Content-Disposition header for a download named `filename` (RFC 6266): an ASCII fallback and the name in
    UTF-8 (`filename*`), so any name is sent safely."""
    from urllib.parse import quote

    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\%' else "_" for c in filename)
    if fallback == filename:
        return {"Content-Disposition": f'attachment; filename="{filename}"'}
    return {"Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"}
