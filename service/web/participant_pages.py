"""Pages of a coach (and a coordinator): the participants in view, one participant's suggestions, place, end."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.audit.denied import record_denied
from service.audit.log import record
from service.catalogue import service as catalogue
from service.db import models as db
from service.deps import SessionDep
from service.errors import NotFound, ParticipantNotFound, ServiceError
from service.pagination import PageParams
from service.participants import service as participants
from service.placements import service as placements
from service.suggestions import service as suggestions
from service.web import texts
from service.web.rendering import error_page, render
from service.web.security import check_csrf, session_user

router = APIRouter(include_in_schema=False)
EVERYTHING = PageParams(limit=100_000, offset=0)
PEOPLE_ROLES = (db.Role.coach, db.Role.coordinator)
STALE_FORM = "Formuläret är för gammalt eller kommer inte från den här sidan. Ladda om sidan och försök igen."
DONE = {"placerad": "Deltagaren är placerad.", "avslutad": "Placeringen är avslutad."}
COLUMNS = [
    ("id", "Kod"),
    ("status", "Status"),
    ("programme", "Insats"),
    ("hours", "Timmar/vecka"),
    ("waiting_days", "Väntetid"),
]


def _denied(request: Request, session: SessionDep, user: db.User, status: int, message: str | None = None) -> Response:
    """The error page of a denied attempt at participant data (a role without participants, someone outside the
    caller's view, a stale form), audited as the API's are (`service.audit.denied`)."""
    page = error_page(request, user, status, message)
    record_denied(session, user, request, status)
    return page


def _slot_name(session: SessionDep, user: db.User, slot_id: str) -> str:
    slot, _ = catalogue.get_slot(session, user, slot_id)
    return f"{texts.activity(slot.activity)} – {slot.site.name}, {slot.site.enterprise.name}"


@router.get("/deltagare", response_class=HTMLResponse)
def participant_list(
    request: Request, session: SessionDep, sort: str = "waiting_days", programme: str = "", status: str = ""
) -> Response:
    user = session_user(request, session)
    if user.role not in PEOPLE_ROLES:
        return _denied(request, session, user, 404)
    items, _ = participants.list_participants(session, user, EVERYTHING)
    record(session, user, "read", [p.id for p, _ in items], request)
    today = date.today()
    rows: list[dict[str, Any]] = [
        {
            "id": p.id,
            "status": "Placerad" if slot_id else "Väntar",
            "programme": p.programme,
            "hours": p.hours_per_week,
            "waiting_days": (today - p.waiting_since).days if p.waiting_since and not slot_id else None,
        }
        for p, slot_id in items
    ]
    programmes = sorted({r["programme"] for r in rows})
    if programme:
        rows = [r for r in rows if r["programme"] == programme]
    if status:
        rows = [r for r in rows if (r["status"] == "Placerad") == (status == "placerad")]
    sort = sort if sort in dict(COLUMNS) else "waiting_days"
    if sort == "waiting_days":
        rows.sort(key=lambda r: (-(r["waiting_days"] if r["waiting_days"] is not None else -1), r["id"]))
    else:
        rows.sort(key=lambda r: (r[sort], r["id"]))
    return render(
        request,
        "participants.html",
        user,
        rows=rows,
        columns=COLUMNS,
        sort=sort,
        sort_label=dict(COLUMNS)[sort].lower(),
        programme=programme,
        status=status,
        programmes=programmes,
    )


def _participant_page(
    request: Request,
    session: SessionDep,
    user: db.User,
    participant_id: str,
    message: str = "",
    error: str = "",
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    whatif_slot: str = "",
) -> Response:
    """`errors`: a Swedish message by the field it concerns: `end_date`, `end_reason`, or `slot:<id>` (that slot's
    place form); one whose field is not on the page is shown above the forms. `whatif_slot`: the slot chosen under
    "Vad skulle göra att det passar?" (the core's smallest change per blocking rule)."""
    try:
        person, current_slot = participants.get_participant(session, user, participant_id)
    except NotFound:
        return _denied(request, session, user, 404, "Deltagaren finns inte, eller så är hen inte din deltagare.")
    today = date.today()
    result = suggestions.suggestions(session, user, person.id, today, 5, 2)
    active, _ = placements.list_placements(session, user, PageParams(limit=1, offset=0), person.id, None, True)
    record(session, user, "read", [person.id], request)
    needs = sorted(set(person.needs))
    shown = []
    for s in result.suggestions:
        parts = []
        if s.preference_rank is not None:
            parts.append(f"{texts.activity(s.activity)} är {texts.preference(s.preference_rank)}")
        parts.append(f"{s.travel_minutes} min resväg")
        parts += [texts.support(n) for n in needs]
        shown.append({**asdict(s), "reasons": "Passar: " + " · ".join(parts)})
    excluded = [
        {**asdict(e), "reasons": " · ".join(texts.reason(r.rule, r.message) for r in e.reasons)}
        for e in result.excluded
    ]
    whatif = _whatif(session, user, person.id, whatif_slot, today, [e["slot_id"] for e in excluded])
    return render(
        request,
        "participant.html",
        user,
        status_code=status_code,
        whatif=whatif,
        person=person,
        current=_slot_name(session, user, current_slot) if current_slot else "",
        wishes=", ".join(texts.activity(a) for a in person.preferences),
        needs=", ".join(texts.support(n) for n in person.needs),
        active=active[0] if active else None,
        suggestions=shown,
        excluded=excluded,
        today=today.isoformat(),
        end_reasons=[(r.value, texts.END_REASON_SV[r.value]) for r in db.EndReason if r.value != "transferred"],
        message=message,
        error=error,
        errors=errors or {},
    )


def _whatif(
    session: SessionDep, user: db.User, participant_id: str, slot_id: str, day: date, wished_out: list[str]
) -> dict[str, Any]:
    """The slots to choose from (the wished ones that are out first, then every other slot by name) and, for the
    chosen one, the core's answer in Swedish: per blocking rule why, the smallest change, and whether it is enough
    alone. An unknown slot id is said so next to the choice."""
    slots = [s for s, _ in catalogue.list_slots(session, user, EVERYTHING, None)[0]]
    names = {s.id: f"{texts.activity(s.activity)} – {s.site.name}, {s.site.enterprise.name}" for s in slots}
    order = {slot: i for i, slot in enumerate(wished_out)}
    choices = sorted(names.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[1]))
    view: dict[str, Any] = {"choices": choices, "chosen": slot_id, "answer": None, "error": ""}
    if not slot_id:
        return view
    if slot_id not in names:
        view["error"] = "Välj en plats i listan."
        return view
    answer = suggestions.what_if(session, user, participant_id, slot_id, day)
    view["answer"] = {
        "slot": names[slot_id],
        "fits_now": answer.fits_now,
        "changes": [
            {
                "rule": texts.RULE_SV.get(c.rule, c.rule),
                "now": texts.reason(c.rule, c.reason),
                "change": texts.whatif_change(c.rule, c.amount, c.reason, c.change),
                "alone": c.alone_suffices,
            }
            for c in answer.changes
        ],
    }
    return view


@router.get("/deltagare/{participant_id}", response_class=HTMLResponse)
def participant_page(
    participant_id: str, request: Request, session: SessionDep, klart: str = "", vad_om: str = ""
) -> Response:
    user = session_user(request, session)
    if user.role not in PEOPLE_ROLES:
        return _denied(request, session, user, 404)
    return _participant_page(request, session, user, participant_id, message=DONE.get(klart, ""), whatif_slot=vad_om)


@router.post("/deltagare/{participant_id}/placera", response_model=None)
def place(
    participant_id: str,
    request: Request,
    session: SessionDep,
    slot_id: Annotated[str, Form()],
    start_date: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    user = session_user(request, session)
    if not check_csrf(request, csrf_token) or user.role not in PEOPLE_ROLES:
        return _denied(request, session, user, 403, STALE_FORM)
    try:
        start = date.fromisoformat(start_date)
    except ValueError:
        return _participant_page(
            request, session, user, participant_id, error="Ange startdatum som ÅÅÅÅ-MM-DD.", status_code=422
        )
    try:
        placement = placements.create_placement(session, user, participant_id, slot_id, start)
    except ParticipantNotFound:
        session.rollback()
        return _denied(request, session, user, 404, "Deltagaren finns inte, eller så är hen inte din deltagare.")
    except NotFound:
        return error_page(request, user, 404, "Platsen finns inte.")
    except ServiceError as exc:
        session.rollback()
        _, text = texts.problem(exc.status, exc.detail, exc.extra)
        return _participant_page(
            request,
            session,
            user,
            participant_id,
            status_code=exc.status,
            error="Placeringen gick inte.",
            errors={f"slot:{slot_id}": text},
        )
    record(session, user, "create", [placement.participant_id], request)
    return RedirectResponse(f"/deltagare/{participant_id}?klart=placerad", status_code=303)


@router.post("/deltagare/{participant_id}/avsluta", response_model=None)
def end(
    participant_id: str,
    request: Request,
    session: SessionDep,
    placement_id: Annotated[int, Form()],
    end_reason: Annotated[str, Form()],
    end_date: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    user = session_user(request, session)
    if not check_csrf(request, csrf_token) or user.role not in PEOPLE_ROLES:
        return _denied(request, session, user, 403, STALE_FORM)
    if end_reason not in texts.END_REASON_SV:
        return _participant_page(request, session, user, participant_id, error="Välj en anledning.", status_code=422)
    try:
        day = date.fromisoformat(end_date) if end_date else None
    except ValueError:
        return _participant_page(
            request, session, user, participant_id, error="Ange slutdatum som ÅÅÅÅ-MM-DD.", status_code=422
        )
    try:
        placement = placements.end_placement(session, user, placement_id, end_reason, day)
    except ParticipantNotFound:
        session.rollback()
        return _denied(request, session, user, 404)
    except NotFound:
        return error_page(request, user, 404)
    except ServiceError as exc:
        session.rollback()
        field, text = texts.problem(exc.status, exc.detail, exc.extra)
        return _participant_page(
            request,
            session,
            user,
            participant_id,
            status_code=exc.status,
            error="Placeringen kunde inte avslutas.",
            errors={field if field in ("end_date", "end_reason") else "end_date": text},
        )
    record(session, user, "update", [placement.participant_id], request)
    return RedirectResponse(f"/deltagare/{participant_id}?klart=avslutad", status_code=303)
