"""The web interface mounted on the app: page routers, static files, the redirect to the login page, and errors
on a page (never JSON, never a stack trace) for every path outside the API."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.errors import ServiceError
from service.logging import redact
from service.web import coordinator_pages, import_pages, manager_pages, participant_pages, session_pages
from service.web.rendering import HERE, error_page
from service.web.security import LoginRequired

log = logging.getLogger("service")
NOT_PAGES = ("/api/", "/docs", "/redoc", "/openapi.json", "/static-offline-docs")
Handler = Callable[[Request, Any], Awaitable[Response]]


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith(NOT_PAGES)


def install_web(app: FastAPI) -> None:
    for module in (session_pages, participant_pages, manager_pages, coordinator_pages, import_pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/logga-in", status_code=303)

    def on_pages(kind: type[Exception], status_of: Callable[[Any], int]) -> None:
        api_handler: Handler | None = app.exception_handlers.get(kind)  # type: ignore[assignment]

        async def handler(request: Request, exc: Any) -> Response:
            if _is_page(request) or api_handler is None:
                status = status_of(exc)
                if status >= 500:
                    log.exception("unhandled error on %s %s", request.method, redact(request.url.path), exc_info=exc)
                return error_page(request, None, status)
            return await api_handler(request, exc)

        app.add_exception_handler(kind, handler)

    on_pages(StarletteHTTPException, lambda exc: exc.status_code)
    on_pages(ServiceError, lambda exc: exc.status)
    on_pages(RequestValidationError, lambda exc: 422)
    on_pages(Exception, lambda exc: 500)
