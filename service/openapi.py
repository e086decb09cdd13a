"""The published OpenAPI says what the service answers: every operation lists the errors it can give, each as a
problem detail (RFC 9457) under `application/problem+json`, and the create → read → update → delete links.

Done once, on the generated document, so that a route added or changed anywhere is documented the same way: the
errors follow from what the operation has (a token, path parameters, a body, an `If-Match` header, a write
method); a route declares only its own extras (`responses={409: {"description": …}}`), which keep their
description and get the problem body too.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service.errors import PROBLEM_JSON

PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetail"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "ProblemDetail",
    "type": "object",
    "description": "An error (RFC 9457). `detail` names the field, file, row or column at fault; a 422 from "
    "request validation lists each fault in `errors`.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "examples": ["about:blank"]},
        "title": {"type": "string", "examples": ["Invalid input"]},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "the path of the request"},
        "field": {"type": "string", "description": "the field at fault, when there is one"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                "required": ["field", "message"],
            },
        },
    },
    "additionalProperties": True,
}
DESCRIPTIONS = {
    400: "the body cannot be parsed (not JSON, or a broken multipart form)",
    401: "no token, or an unknown or revoked one (`WWW-Authenticate: Bearer`)",
    403: "the caller's role may not do this, or not on this object",
    404: "no such object visible to the caller (another association's objects are not visible)",
    409: "the change conflicts with the stored data (the detail says with what)",
    412: "If-Match does not match the current ETag: someone changed it since your read",
    413: "the request body or an upload is larger than the configured limit",
    415: "the body is not of a media type the operation reads",
    422: "a parameter or the body is not valid (the detail names the field)",
    428: "If-Match is missing: send the ETag from your last read",
    429: "too many requests: try again later",
    503: "the service cannot reach its database",
}
WRITES = {"post", "put", "patch", "delete"}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
IF_MATCH = "if-match"


def install_openapi(app: FastAPI, prefix: str, limits: dict[str, float] | None = None) -> None:
    """Make `app.openapi()` (and /openapi.json) return the documented schema for the operations under `prefix`."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            document(schema, prefix, limits)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(schema: dict[str, Any], prefix: str, limits: dict[str, float] | None = None) -> dict[str, Any]:
    """Add the error responses, the problem body, required `If-Match` and the links to `schema` (in place);
    `limits` are configured maxima, `{"Model.field": value}`, published as the field's `maximum`."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ProblemDetail"] = PROBLEM_SCHEMA
    for name, value in (limits or {}).items():
        model, _, field = name.partition(".")
        prop = components.get(model, {}).get("properties", {}).get(field)
        if prop is not None:
            prop["maximum"] = min(value, prop.get("maximum", value))
    for path, item in schema.get("paths", {}).items():
        if not path.startswith(prefix):
            continue
        for method in METHODS:
            if method in item:
                _document_operation(method, item[method])
    _add_links(schema, prefix)
    return schema


def _errors_of(method: str, operation: dict[str, Any]) -> set[int]:
    parameters = operation.get("parameters", [])
    errors: set[int] = set()
    if operation.get("security") or "x-roles" in operation:
        errors |= {401, 403}
    if parameters or "requestBody" in operation:
        errors.add(422)
    if any(p.get("in") == "path" for p in parameters) or ("requestBody" in operation and "x-roles" in operation):
        errors.add(404)  # the object of the path, or one the body names
    if "requestBody" in operation:
        errors |= {400, 413, 415}
    if method in WRITES and "x-roles" in operation:
        errors.add(409)
    if any(p.get("in") == "header" and p.get("name", "").lower() == IF_MATCH for p in parameters):
        errors |= {412, 428}
    return errors


def _document_operation(method: str, operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "header" and parameter.get("name", "").lower() == IF_MATCH:
            parameter["required"] = True  # refused with 428 when missing
            # required now, so not null; the header's own limits (maxLength) are kept from the string option
            made: dict[str, Any] = parameter.get("schema", {})
            text: dict[str, Any] = next((o for o in made.get("anyOf", [made]) if o.get("type") == "string"), {})
            parameter["schema"] = {**text, "type": "string", "minLength": 1}
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status in _errors_of(method, operation):
        responses.setdefault(str(status), {})
    for code, response in responses.items():
        if not (code.isdigit() and int(code) >= 400):
            continue
        status = int(code)
        if not response.get("description") or response["description"] == "Validation Error":
            response["description"] = DESCRIPTIONS.get(status, "an error")
        response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}


def _success(operation: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    for code, response in sorted(operation.get("responses", {}).items()):
        if code.startswith("2"):
            return code, response
    return None


def _add_links(schema: dict[str, Any], prefix: str) -> None:
    """`POST /things` → GET, PATCH, DELETE `/things/{thing_id}` (the id from the answer's body, `If-Match` from its
    ETag), and `GET /things/{thing_id}` → PATCH, DELETE of the same object, for a stateful test to follow."""
    paths: dict[str, Any] = schema.get("paths", {})
    for path, item in paths.items():
        if not path.startswith(prefix):
            continue
        member = next((p for p in paths if re.fullmatch(re.escape(path) + r"/\{[a-z_]+\}", p)), None)
        if member is None:
            continue
        (name,) = re.findall(r"\{([a-z_]+)\}$", member)
        targets = {m: paths[member][m] for m in ("get", "patch", "delete") if m in paths[member]}
        if "post" in item and (created := _success(item["post"])) is not None:
            _link(created[1], targets, {name: "$response.body#/id"})
        if "get" in paths[member] and (read := _success(paths[member]["get"])) is not None:
            others = {m: op for m, op in targets.items() if m != "get"}
            _link(read[1], others, {name: f"$request.path.{name}"})
        if "patch" in paths[member] and (updated := _success(paths[member]["patch"])) is not None:
            _link(updated[1], {m: op for m, op in targets.items() if m != "patch"}, {name: f"$request.path.{name}"})


def _link(response: dict[str, Any], targets: dict[str, dict[str, Any]], parameters: dict[str, str]) -> None:
    links = response.setdefault("links", {})
    for method, target in targets.items():
        if "operationId" not in target:
            continue
        arguments = dict(parameters)
        if any(p.get("in") == "header" and p.get("name", "").lower() == IF_MATCH for p in target.get("parameters", [])):
            arguments[f"header.{IF_MATCH}"] = "$response.header.ETag"
        links[f"{method.upper()} {target['operationId']}"] = {
            "operationId": target["operationId"],
            "parameters": arguments,
        }
