"""Logga in, Logga ut, and the start page that sends each role to its own pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.db import models as db
from service.deps import SessionDep, user_of_token
from service.web.rendering import error_page, render
from service.web.security import (
    LOGIN_CSRF_COOKIE,
    check_csrf,
    check_login_csrf,
    clear_session,
    login_csrf,
    secure,
    session_user,
    set_session,
)

router = APIRouter(include_in_schema=False)
HOME = {db.Role.coach: "/deltagare", db.Role.coordinator: "/oversikt", db.Role.enterprise_manager: "/platser"}


@router.get("/", response_model=None)
def home(request: Request, session: SessionDep) -> Response:
    user = session_user(request, session)
    return RedirectResponse(HOME[user.role], status_code=303)


def render_with_csrf(request: Request, value: str, error: str, status_code: int) -> Response:
    """The login page with its CSRF value, also set as a cookie (the double submit that `check_login_csrf` checks)."""
    response = render(request, "login.html", None, status_code=status_code, error=error, login_csrf=value)
    response.set_cookie(LOGIN_CSRF_COOKIE, value, httponly=True, samesite="strict", secure=secure(request), path="/")
    return response


@router.get("/logga-in", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return render_with_csrf(request, login_csrf(request), "", 200)


@router.post("/logga-in", response_model=None)
def login(
    request: Request,
    session: SessionDep,
    token: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    if not check_login_csrf(request, csrf_token):
        return render_with_csrf(request, login_csrf(request), "Formuläret var för gammalt. Försök igen.", 400)
    user = user_of_token(request, session, token.strip()) if token.strip() else None
    if user is None:
        return render_with_csrf(
            request, login_csrf(request), "Nyckeln är okänd eller återkallad. Kontrollera den och försök igen.", 401
        )
    response = RedirectResponse(HOME[user.role], status_code=303)
    set_session(request, response, token.strip())
    return response


@router.post("/logga-ut", response_model=None)
def logout(request: Request, session: SessionDep, csrf_token: Annotated[str, Form()] = "") -> Response:
    user = session_user(request, session)
    if not check_csrf(request, csrf_token):
        return error_page(request, user, 403, "Formuläret är för gammalt. Ladda om sidan och försök igen.")
    response = RedirectResponse("/logga-in", status_code=303)
    clear_session(response)
    return response
