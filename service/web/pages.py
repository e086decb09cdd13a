"""The web interface mounted on the app: page routers, static files, and the redirect to the login page."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from service.web import coordinator_pages, import_pages, manager_pages, participant_pages, session_pages
from service.web.rendering import HERE
from service.web.security import LoginRequired


def install_web(app: FastAPI) -> None:
    for module in (session_pages, participant_pages, manager_pages, coordinator_pages, import_pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/logga-in", status_code=303)
