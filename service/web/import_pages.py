"""A coordinator's import page: a dry run shows what would be created, changed and refused, then apply it.

The dry run's files are carried in the page (base64 in a hidden field), so "Genomför" writes exactly what was shown
without asking for the files again; the import's rules, audit and report are those of `service.imports.service`.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from service.db import models as db
from service.deps import SessionDep
from service.errors import ServiceError
from service.imports import pool as import_pool
from service.imports.reading import MAX_UPLOAD_FILES, UploadedFile
from service.web import texts
from service.web.rendering import error_page, render
from service.web.security import check_csrf, session_user

router = APIRouter(include_in_schema=False)
TABLE_SV = {
    "enterprises": "Verksamheter",
    "sites": "Arbetsplatser",
    "slots": "Platser",
    "participants": "Deltagare",
    "travel_times": "Restider",
}


def _pack(files: list[UploadedFile]) -> str:
    return base64.b64encode(
        json.dumps([{"name": f.name, "content": base64.b64encode(f.content).decode()} for f in files]).encode()
    ).decode()


def _unpack(packed: str) -> list[UploadedFile]:
    items = json.loads(base64.b64decode(packed))
    return [UploadedFile(str(i["name"]), base64.b64decode(i["content"])) for i in items]


def _page(request: Request, user: db.User, status_code: int = 200, **context: Any) -> Response:
    context.setdefault("error", "")
    context.setdefault("problems", [])
    context.setdefault("report", None)
    context.setdefault("packed", "")
    return render(request, "import.html", user, status_code=status_code, tables_sv=TABLE_SV, **context)


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request, session: SessionDep) -> Response:
    user = session_user(request, session)
    if user.role is not db.Role.coordinator:
        return error_page(request, user, 404)
    return _page(request, user)


@router.post("/import", response_model=None)
async def run_import(request: Request, session: SessionDep) -> Response:
    user = session_user(request, session)
    if user.role is not db.Role.coordinator:
        return error_page(request, user, 404)
    settings = request.app.state.settings
    limit = settings.max_upload_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > 2 * limit:
        return _page(request, user, 413, error=f"Filerna är för stora (högst {limit / 2**20:g} MB).")
    form = await request.form(max_files=MAX_UPLOAD_FILES, max_fields=10, max_part_size=2 * limit)
    if not check_csrf(request, str(form.get("csrf_token", ""))):
        return error_page(request, user, 403, "Formuläret är för gammalt. Ladda om sidan och försök igen.")
    apply = form.get("apply") == "1"
    try:
        if apply:
            files = _unpack(str(form.get("upload", "")))
        else:
            files = [
                UploadedFile(v.filename or "", await v.read())
                for v in form.getlist("files")
                if isinstance(v, UploadFile) and v.filename
            ]
    except (ValueError, KeyError, TypeError):
        return _page(request, user, 422, error="Uppladdningen gick inte att läsa. Välj filerna igen.")
    if not files:
        return _page(request, user, 422, error="Välj minst en fil (CSV-filer eller en Excel-arbetsbok).")
    try:
        # In the import's worker process, waited for in a thread: a long import stalls neither the event loop, nor
        # the server's process (its garbage collections), nor a lock (service/imports/pool.py).
        report = await run_in_threadpool(
            import_pool.run_import,
            request.app.state,
            user,
            files,
            apply=apply,
            endpoint=request.url.path,
            limits=settings.read_limits(),
        )
    except ServiceError as exc:
        problems = [
            {**p, "message": texts.import_problem(str(p.get("message", "")))} for p in exc.extra.get("problems", [])
        ]
        text = "Filerna har fel; inget har sparats." if problems else texts.ERROR_SV.get(exc.status, "Något gick fel.")
        return _page(request, user, exc.status, error=text, problems=problems)
    return _page(request, user, report=report, packed="" if apply else _pack(files))
