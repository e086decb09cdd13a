"""Templates and the few helpers every page router shares: render a page, the user's CSRF token, error pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from service.db.models import User
from service.web import texts
from service.web.security import SESSION_COOKIE, csrf_for

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(
    activity=texts.activity,
    field_sv=texts.field,
    support=texts.support,
    days=texts.days,
    role_sv=texts.ROLE_SV,
    end_reason_sv=texts.END_REASON_SV,
    change_sv=texts.CHANGE_SV,
    plan_status_sv=texts.PLAN_STATUS_SV,
    action_sv=texts.ACTION_SV,
)


def render(request: Request, name: str, user: User | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    token = request.cookies.get(SESSION_COOKIE, "")
    context.update(user=user, csrf=csrf_for(token) if token else "")
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def error_page(request: Request, user: User | None, status: int, message: str | None = None) -> HTMLResponse:
    return render(
        request,
        "error.html",
        user,
        status_code=status,
        status=status,
        message=message or texts.ERROR_SV.get(status, "Något gick fel."),
    )
