"""Errors as named classes with a status; one handler renders them as problem details (RFC 9457)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.logging import redact

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("service")


class ServiceError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def __reduce__(self) -> tuple[Any, ...]:
        # Picklable with its extras (an import's `problems`): it crosses from the import's worker process intact.
        return (_rebuild, (type(self), self.detail, self.extra))


def _rebuild(cls: type[ServiceError], detail: str, extra: dict[str, Any]) -> ServiceError:
    return cls(detail, **extra)


class NotFound(ServiceError):
    status, title = 404, "Not found"


class ParticipantNotFound(NotFound):
    """A participant (or a placement, participant data too) outside the caller's view: audited as denied."""


class Unauthorized(ServiceError):
    status, title = 401, "Authentication required"


class Forbidden(ServiceError):
    status, title = 403, "Not allowed"


class Conflict(ServiceError):
    status, title = 409, "Conflict"


class PreconditionFailed(ServiceError):
    status, title = 412, "Precondition failed"


class PreconditionRequired(ServiceError):
    status, title = 428, "Precondition required"


class InvalidInput(ServiceError):
    status, title = 422, "Invalid input"


class Unavailable(ServiceError):
    status, title = 503, "Service unavailable"


def problem(
    status: int, title: str, detail: str, instance: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "instance": instance, **extra}
    sent = dict(headers or {})
    if status == 401:
        sent.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=sent or None)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        hook = getattr(request.app.state, "on_error", None)  # the audit of denied reads (service.audit.denied)
        if hook is not None and (exc.status == 403 or isinstance(exc, ParticipantNotFound)):
            await run_in_threadpool(hook, request, exc.status)
        return problem(exc.status, exc.title, exc.detail, request.url.path, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "the request is not valid"
        return problem(422, "Invalid input", detail, request.url.path, errors=errors)

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value from the request (a number out of its range, text with a NUL character in a
        # path or query): the request is at fault, not the service.
        # The database's own message may quote the value (a participant id): only its kind is logged.
        code = getattr(exc.orig, "sqlstate", None) or type(exc.orig).__name__
        log.info("value refused by the database on %s %s: %s", request.method, redact(request.url.path), code)
        return problem(
            422, "Invalid input", "a value in the request is out of range or contains characters that cannot be stored",
            request.url.path,
        )  # fmt: skip

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # RFC 9110: `Allow` lists every method of the path, not only the first route's
            allow = allowed_methods(app, request, headers.get("Allow") or headers.get("allow"))
            headers = {k: v for k, v in headers.items() if k.lower() != "allow"}
            if allow:
                headers["Allow"] = allow
        return problem(exc.status_code, _title(exc.status_code), str(exc.detail), request.url.path, headers)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, redact(request.url.path))
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged", request.url.path)


def allowed_methods(app: FastAPI, request: Request, fallback: str | None) -> str | None:
    """Every method the OpenAPI documents for the request's path (with HEAD beside GET, as Starlette answers it);
    `fallback`, Starlette's own list for the one route it found, for a path the OpenAPI does not describe."""
    path = request.scope.get("path", request.url.path)
    methods: set[str] = set()
    for template, item in app.openapi().get("paths", {}).items():
        pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in _PARTS.split(template))
        if re.fullmatch(pattern, path):
            methods |= {m.upper() for m in item if m.upper() in _METHODS}
    if not methods:
        return fallback
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


_PARTS = re.compile(r"(\{[^}]+\})")
_METHODS = {"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"}


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
