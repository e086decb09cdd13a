"""Pages of an enterprise manager: the enterprise's slots with seats taken and free (never who), and changing one.

A slot's form carries the version it was read at (its ETag): a change made meanwhile answers 412 from the
catalogue's service, and the page shows what changed and the manager's own values to send again.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from service.catalogue import scheduled
from service.catalogue import service as catalogue
from service.catalogue.capacity import etag
from service.catalogue.schemas import ScheduledChangePreview, ScheduledSlotChangeCreate, SlotUpdate
from service.db import models as db
from service.deps import SessionDep
from service.errors import NotFound, PreconditionFailed, ServiceError
from service.pagination import PageParams
from service.web import texts
from service.web.rendering import error_page, render
from service.web.security import check_csrf, session_user

router = APIRouter(include_in_schema=False)
EVERYTHING = PageParams(limit=100_000, offset=0)
EDITORS = (db.Role.enterprise_manager, db.Role.coordinator)
WEEKDAYS = list(texts.WEEKDAY_SV)
FIELDS_SV = {
    "seats": "Platser",
    "min_hours": "Minst timmar/vecka",
    "max_hours": "Högst timmar/vecka",
    "days": "Dagar",
    "supports": "Stöd",
    "available_from": "Tillgänglig från",
    "available_to": "Tillgänglig till",
}


def _values(slot: db.Slot) -> dict[str, Any]:
    return {
        "seats": slot.seats,
        "min_hours": slot.min_hours,
        "max_hours": slot.max_hours,
        "days": list(slot.days),
        "supports": sorted(slot.supports),
        "available_from": slot.available_from.isoformat() if slot.available_from else "",
        "available_to": slot.available_to.isoformat() if slot.available_to else "",
    }


@router.get("/platser", response_class=HTMLResponse)
def slot_list(request: Request, session: SessionDep) -> Response:
    user = session_user(request, session)
    if user.role not in EDITORS:
        return error_page(request, user, 404)
    items, _ = catalogue.list_slots(session, user, EVERYTHING, None)
    rows: list[dict[str, Any]] = [
        {
            "slot": s,
            "taken": taken,
            "free": max(s.seats - taken, 0),
            "site": s.site.name,
            "enterprise": s.site.enterprise.name,
        }
        for s, taken in items
    ]
    rows.sort(key=lambda r: (r["enterprise"], r["site"], texts.activity(r["slot"].activity)))
    return render(request, "slots.html", user, rows=rows)


def _form(
    request: Request,
    user: db.User,
    slot: db.Slot,
    taken: int,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    stale: list[dict[str, Any]] | None = None,
    message: str = "",
    status_code: int = 200,
    dated: dict[str, Any] | None = None,
    session: SessionDep | None = None,
) -> Response:
    return render(
        request,
        "slot.html",
        user,
        status_code=status_code,
        slot=slot,
        taken=taken,
        values=values,
        version=etag(slot),
        errors=errors or {},
        stale=stale or [],
        weekdays=WEEKDAYS,
        supports=sorted(texts.SUPPORT_SV),
        message=message,
        dated=dated or _dated_view(session, user, slot),
    )


@router.get("/platser/{slot_id}", response_class=HTMLResponse)
def slot_page(slot_id: str, request: Request, session: SessionDep, klart: str = "") -> Response:
    user = session_user(request, session)
    if user.role not in EDITORS:
        return error_page(request, user, 404)
    try:
        slot, taken = catalogue.get_slot(session, user, slot_id)
    except NotFound:
        return error_page(request, user, 404, "Platsen finns inte, eller så hör den inte till din verksamhet.")
    message = {"datum": "Ändringen från datumet är sparad."}.get(klart, "Ändringen är sparad." if klart else "")
    return _form(request, user, slot, taken, _values(slot), message=message, session=session)


def _parse(form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's values as a SlotUpdate's fields, and a Swedish error per field that is not valid."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in ("seats", "min_hours", "max_hours"):
        raw = str(form.get(name, "")).strip()
        try:
            values[name] = int(raw)
        except ValueError:
            errors[name] = "Ange ett heltal."
            values[name] = raw
    values["days"] = [d for d in form.get("days", []) if d in WEEKDAYS]
    if not values["days"]:
        errors["days"] = "Välj minst en dag."
    values["supports"] = sorted(s for s in form.get("supports", []) if s in texts.SUPPORT_SV)
    for name in ("available_from", "available_to"):
        raw = str(form.get(name, "")).strip()
        values[name] = raw
        if raw:
            try:
                date.fromisoformat(raw)
            except ValueError:
                errors[name] = "Ange datum som ÅÅÅÅ-MM-DD."
    if not errors:
        if not 0 <= values["seats"] <= 10_000:
            errors["seats"] = "Ange 0–10 000 platser."
        for name in ("min_hours", "max_hours"):
            if not 0 <= values[name] <= 40:
                errors[name] = "Ange 0–40 timmar."
        if not errors and values["min_hours"] > values["max_hours"]:
            errors["max_hours"] = "Högst timmar får inte vara mindre än minst timmar."
        if values["available_from"] and values["available_to"] and values["available_from"] > values["available_to"]:
            errors["available_to"] = "Slutdatumet ligger före startdatumet."
    return values, errors


@router.post("/platser/{slot_id}", response_model=None)
async def change_slot(slot_id: str, request: Request, session: SessionDep) -> Response:
    form = await request.form()
    data: dict[str, Any] = {k: form.get(k) for k in form}
    data["days"], data["supports"] = form.getlist("days"), form.getlist("supports")
    return _change(slot_id, request, session, data)


def _change(slot_id: str, request: Request, session: SessionDep, data: dict[str, Any]) -> Response:
    user = session_user(request, session)
    if not check_csrf(request, str(data.get("csrf_token", ""))) or user.role not in EDITORS:
        return error_page(request, user, 403, "Formuläret är för gammalt. Ladda om sidan och försök igen.")
    try:
        slot, taken = catalogue.get_slot(session, user, slot_id)
    except NotFound:
        return error_page(request, user, 404, "Platsen finns inte, eller så hör den inte till din verksamhet.")
    values, errors = _parse(data)
    if errors:
        return _form(request, user, slot, taken, values, errors=errors, status_code=422, session=session)
    before = _values(slot)
    changes = {k: v for k, v in values.items() if v != before[k]}
    for name in ("available_from", "available_to"):
        if name in changes:
            changes[name] = date.fromisoformat(changes[name]) if changes[name] else None
    try:
        body = SlotUpdate.model_validate(changes)
        catalogue.update_slot(session, user, slot_id, body, str(data.get("version", "")))
    except PreconditionFailed:
        slot, taken = catalogue.get_slot(session, user, slot_id)
        now = _values(slot)
        stale = [{"field": FIELDS_SV[k], "now": now[k], "yours": values[k]} for k in FIELDS_SV if now[k] != values[k]]
        return _form(request, user, slot, taken, values, stale=stale, status_code=412, session=session)
    except ValidationError:
        return _form(
            request, user, slot, taken, values, errors={"seats": "Uppgifterna är inte giltiga."}, status_code=422
        )
    except ServiceError as exc:
        field, text = texts.problem(exc.status, exc.detail, exc.extra)
        field = field if field in FIELDS_SV else "seats"  # a refusal about a field this form lacks: by the seats
        return _form(request, user, slot, taken, values, errors={field: text}, status_code=exc.status, session=session)
    return RedirectResponse(f"/platser/{slot_id}?klart=1", status_code=303)


# --- seats from a date: preview, then save (service.catalogue.scheduled) ------------------------------------------


def _dated_view(session: SessionDep | None, user: db.User, slot: db.Slot) -> dict[str, Any]:
    """The dated-change form's empty state and the slot's scheduled changes (none listed without a session)."""
    changes = scheduled.list_changes(session, user, "slot", slot.id) if session is not None else []
    return {
        "values": {"effective_from": "", "mode": "absolute", "amount": ""},
        "errors": {},
        "preview": None,
        "changes": [{"on": c.effective_from.isoformat(), "what": _change_sv(c.fields)} for c in changes],
    }


def _change_sv(fields: dict[str, Any]) -> str:
    parts = []
    for name, value in fields.items():
        if name == "seats_delta":
            parts.append(f"{value:+d} platser" if isinstance(value, int) else f"{value} platser")
        elif name == "seats":
            parts.append(f"{value} platser")
        else:
            parts.append(f"{FIELDS_SV.get(name, name).lower()}: {value}")
    return ", ".join(parts)


def _preview_sv(preview: ScheduledChangePreview) -> dict[str, Any]:
    """What the preview says, as the page words it."""
    before, after = preview.in_force_before.get("seats"), preview.in_force_after.get("seats")
    return {
        "on": preview.effective_from.isoformat(),
        "seats": f"{before} → {after} platser",
        "placed": f"{preview.placed_before} placerade utan ändringen, {preview.placed_after} med den",
        "gain": preview.would_gain_a_place,
        "certain": preview.certainly_lose_a_place,
        "over_by": preview.over_by,
        "elsewhere": preview.placed_only_without_change,
        "estimate": preview.solve_status != "optimal/optimal",
    }


def _dated_body(form: dict[str, Any], errors: dict[str, str]) -> ScheduledSlotChangeCreate | None:
    raw_day = str(form.get("effective_from", "")).strip()
    try:
        day = date.fromisoformat(raw_day)
    except ValueError:
        errors["effective_from"] = "Ange datum som ÅÅÅÅ-MM-DD."
        day = None
    if day is not None and day <= date.today():
        errors["effective_from"] = "Datumet måste vara i morgon eller senare; ändra dagens platser i formuläret ovan."
    mode = str(form.get("mode", "absolute"))
    try:
        amount = int(str(form.get("amount", "")).strip())
    except ValueError:
        errors["amount"] = "Ange ett heltal."
        amount = 0
    if "amount" not in errors and mode == "absolute" and not 0 <= amount <= 10_000:
        errors["amount"] = "Ange 0–10 000 platser."
    if "amount" not in errors and mode == "relative" and not (amount and -10_000 <= amount <= 10_000):
        errors["amount"] = "Ange hur många fler (till exempel 2) eller färre (till exempel -1)."
    if errors or day is None:
        return None
    if mode == "relative":
        return ScheduledSlotChangeCreate(effective_from=day, seats_delta=amount)
    return ScheduledSlotChangeCreate(effective_from=day, seats=amount)


def _dated_refusal(exc: ServiceError) -> tuple[str, str]:
    """The field and Swedish text of a refused dated change."""
    if exc.status == 412:
        return "amount", "Någon annan har ändrat platsen under tiden. Ladda om sidan och försök igen."
    if exc.status == 409 and "existing_change_id" in exc.extra:
        return (
            "effective_from",
            f"Det finns redan en ändring av platserna från det datumet (ändring {exc.extra['existing_change_id']}). "
            "Ta bort den först eller välj ett annat datum.",
        )
    if exc.status == 422 and exc.extra.get("field") == "seats_delta":
        return "amount", "Ändringen skulle ge färre än 0 platser den dagen."
    return "amount", texts.ERROR_SV.get(exc.status, "Något gick fel.")


@router.post("/platser/{slot_id}/fran-datum", response_model=None)
async def dated_change(slot_id: str, request: Request, session: SessionDep) -> Response:
    """Seats from a date: "Förhandsgranska" shows what the change would do on its date (the plan that day without
    and with it); "Spara ändringen" saves it as a dated version. Nothing is saved by a preview."""
    form = await request.form()
    data: dict[str, Any] = {k: form.get(k) for k in form}
    user = session_user(request, session)
    if not check_csrf(request, str(data.get("csrf_token", ""))) or user.role not in EDITORS:
        return error_page(request, user, 403, "Formuläret är för gammalt. Ladda om sidan och försök igen.")
    try:
        slot, taken = catalogue.get_slot(session, user, slot_id)
    except NotFound:
        return error_page(request, user, 404, "Platsen finns inte, eller så hör den inte till din verksamhet.")
    dated = _dated_view(session, user, slot)
    dated["values"] = {
        "effective_from": str(data.get("effective_from", "")),
        "mode": "relative" if data.get("mode") == "relative" else "absolute",
        "amount": str(data.get("amount", "")),
    }
    errors: dict[str, str] = {}
    body = _dated_body(data, errors)
    preview = data.get("action") != "spara"
    if body is None:
        dated["errors"] = errors
        return _form(request, user, slot, taken, _values(slot), dated=dated, status_code=422, session=session)
    try:
        result = scheduled.create(session, user, "slot", slot_id, body, str(data.get("version", "")), preview)
    except ServiceError as exc:
        session.rollback()
        field, text = _dated_refusal(exc)
        dated["errors"] = {field: text}
        return _form(request, user, slot, taken, _values(slot), dated=dated, status_code=exc.status, session=session)
    if isinstance(result, ScheduledChangePreview):
        dated["preview"] = _preview_sv(result)
        return _form(request, user, slot, taken, _values(slot), dated=dated, session=session)
    return RedirectResponse(f"/platser/{slot_id}?klart=datum", status_code=303)
