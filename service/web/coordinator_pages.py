"""Pages of a coordinator: utilisation (table and chart), plans (start, follow live, review, apply)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.audit import service as audit
from service.audit.log import record
from service.auth.users import list_users
from service.catalogue import service as catalogue
from service.db import models as db
from service.deps import SessionDep
from service.errors import NotFound, ServiceError
from service.fields import attachment
from service.imports.exporting import XLSX_MEDIA_TYPE
from service.pagination import PageParams
from service.participants import service as participants
from service.placements import service as placements
from service.plans import service as plans
from service.plans.schemas import PlanApply, PlanCreate
from service.reports import service as reports
from service.reports.tables import to_xlsx
from service.suggestions import service as suggestions
from service.web import plan_reasons, texts
from service.web.plan_reasons import ReviewFacts
from service.web.rendering import error_page, render
from service.web.security import check_csrf, session_user

router = APIRouter(include_in_schema=False)
EVERYTHING = PageParams(limit=100_000, offset=0)
GROUPINGS = {"enterprise": "Verksamhet", "site": "Arbetsplats", "programme": "Insats", "municipality": "Kommun"}
WEB_PLAN_SECONDS = 10.0


def _coordinator(request: Request, session: SessionDep) -> db.User | Response:
    user = session_user(request, session)
    return user if user.role is db.Role.coordinator else error_page(request, user, 404)


def _choices(session: SessionDep, user: db.User, by: str) -> list[str]:
    """The municipalities or programmes of the association's slots and people (for the filters)."""
    rows = reports.utilisation(session, user.association_id, by, date.today())["rows"]  # type: ignore[arg-type]
    return sorted(str(r["key"]) for r in rows if r["key"])


@router.get("/oversikt", response_class=HTMLResponse)
def overview(
    request: Request, session: SessionDep, by: str = "enterprise", kommun: str = "", insats: str = ""
) -> Response:
    user = _coordinator(request, session)
    if isinstance(user, Response):
        return user
    return _overview(request, session, user, by, kommun, insats)


def _utilisation(session: SessionDep, user: db.User, by: str, kommun: str, insats: str) -> tuple[str, dict[str, Any]]:
    """The utilisation report as the overview shows it (and its workbook holds): an unknown grouping is by enterprise,
    and under a filter the groups with nothing in it are left out."""
    by = by if by in GROUPINGS else "enterprise"
    report = reports.utilisation(
        session,
        user.association_id,
        by,  # type: ignore[arg-type]  # checked against GROUPINGS above
        date.today(),
        municipality=kommun or None,
        programme=insats or None,
    )
    if kommun or insats:
        report["rows"] = [r for r in report["rows"] if r["seats"] or r["waiting"]]
    return by, report


def _overview(
    request: Request,
    session: SessionDep,
    user: db.User,
    by: str,
    kommun: str,
    insats: str,
    outcome_errors: dict[str, str] | None = None,
    outcome_values: dict[str, str] | None = None,
) -> Response:
    by, report = _utilisation(session, user, by, kommun, insats)
    top = max([r["seats"] for r in report["rows"]] + [1])
    warned = placements.warned_placements(session, user)
    record(session, user, "read", [p.participant_id for p in warned], request)
    warning_rows = [
        {
            "placement_id": p.id,
            "participant_id": p.participant_id,
            "slot_id": p.slot_id,
            "rule": texts.RULE_SV.get(w.rule, w.rule),
            "reason": texts.reason(w.rule, w.message),
            "from": w.effective_from,
            "source": texts.WARNING_SOURCE_SV.get(w.source, w.source),
        }
        for p in warned
        for w in p.warnings
    ]
    return render(
        request,
        "overview.html",
        user,
        status_code=422 if outcome_errors else 200,
        report=report,
        warnings=warning_rows,
        by=by,
        groupings=GROUPINGS,
        top=top,
        kommun=kommun,
        insats=insats,
        municipalities=_choices(session, user, "municipality"),
        programmes=_choices(session, user, "programme"),
        errors=outcome_errors or {},
        outcome=outcome_values or {"fran": "", "till": "", "insats": ""},
    )


def _review_facts(session: SessionDep, user: db.User, plan: db.Plan, proposals: list[dict[str, Any]]) -> ReviewFacts:
    """The names, wishes and, for the people left unplaced, the core's suggestions the reasons are worded from."""
    slots = [s for s, _ in catalogue.list_slots(session, user, EVERYTHING, None)[0]]
    people, _ = participants.list_participants(session, user, EVERYTHING)
    waiting = [p["participant_id"] for p in proposals if p["change"] == "still_waiting"]
    return ReviewFacts(
        slot_names={s.id: f"{texts.activity(s.activity)} – {s.site.name}, {s.site.enterprise.name}" for s in slots},
        slot_activities={s.id: s.activity for s in slots},
        site_names={s.site_id: s.site.name for s in slots},
        preferences={person.id: list(person.preferences) for person, _ in people},
        unplaced=suggestions.for_many(session, user, waiting, plan.plan_date),
    )


@router.get("/planer", response_class=HTMLResponse)
def plan_list(request: Request, session: SessionDep) -> Response:
    user = _coordinator(request, session)
    if isinstance(user, Response):
        return user
    items, _ = plans.list_plans(session, user, PageParams(limit=20, offset=0))
    return render(request, "plans.html", user, plans=items, today=date.today().isoformat(), error="")


@router.post("/planer", response_model=None)
async def start_plan(request: Request, session: SessionDep, tasks: BackgroundTasks) -> Response:
    user = _coordinator(request, session)
    if isinstance(user, Response):
        return user
    form = await request.form()
    if not check_csrf(request, str(form.get("csrf_token", ""))):
        return error_page(request, user, 403, "Formuläret är för gammalt. Ladda om sidan och försök igen.")
    seconds = min(WEB_PLAN_SECONDS, request.app.state.settings.max_plan_seconds)
    try:
        day = date.fromisoformat(str(form.get("date", "")))
    except ValueError:
        items, _ = plans.list_plans(session, user, PageParams(limit=20, offset=0))
        return render(
            request,
            "plans.html",
            user,
            status_code=422,
            plans=items,
            today=date.today().isoformat(),
            error="Ange datum som ÅÅÅÅ-MM-DD.",
        )
    try:
        plan = plans.create_plan(
            session,
            user,
            PlanCreate(date=day, time_limit_s=seconds, allow_moves=form.get("allow_moves") == "1"),
            request.app.state.settings.max_plan_seconds,
        )
    except ServiceError as exc:
        items, _ = plans.list_plans(session, user, PageParams(limit=20, offset=0))
        text = "En plan räknas redan; vänta tills den är klar." if exc.status == 409 else texts.ERROR_SV[exc.status]
        return render(
            request, "plans.html", user, status_code=exc.status, plans=items, today=date.today().isoformat(), error=text
        )
    tasks.add_task(request.app.state.plan_runner.submit, plan.id)
    return RedirectResponse(f"/planer/{plan.id}", status_code=303)


def _plan_view(session: SessionDep, user: db.User, request: Request, plan_id: int) -> dict[str, Any]:
    plan, result, participant_ids = plans.get_plan(session, user, plan_id, False)
    if result is not None:
        record(session, user, "read", participant_ids, request)
    return {"plan": plan, "result": result}


@router.get("/planer/{plan_id}", response_class=HTMLResponse)
def plan_page(plan_id: int, request: Request, session: SessionDep, klart: str = "") -> Response:
    user = _coordinator(request, session)
    if isinstance(user, Response):
        return user
    try:
        view = _plan_view(session, user, request, plan_id)
    except NotFound:
        return error_page(request, user, 404, "Planen finns inte.")
    names: dict[str, str] = {}
    why: dict[str, str] = {}
    if view["result"]:  # what changes first, then who stays unplaced, then who keeps their seat
        order = {"new": 0, "moves": 1, "leaves": 2, "still_waiting": 3, "unchanged": 4}
        proposals = sorted(view["result"]["proposals"], key=lambda p: (order.get(p["change"], 9), p["participant_id"]))
        view["result"] = {**view["result"], "proposals": proposals}  # a copy: the stored result is left as it is
        facts = _review_facts(session, user, view["plan"], proposals)
        names, why = facts.slot_names, plan_reasons.reasons(proposals, facts)
    return render(request, "plan.html", user, names=names, why=why, message=klart, **view)


@router.get("/planer/{plan_id}/status", response_class=HTMLResponse)
def plan_status(plan_id: int, request: Request, session: SessionDep) -> Response:
    """The live part of a plan's page, fetched every second by static/plan.js while the plan is being solved."""
    user = _coordinator(request, session)
    if isinstance(user, Response):
        return user
    try:
        plan = plans.visible_plan(session, user, plan_id)
    except NotFound:
        return error_page(request, user, 404, "Planen finns inte.")
    return render(request, "plan_status.html", user, plan=plan)


@router.post("/planer/{plan_id}/tillampa", response_model=None)
async def apply_plan(plan_id: int, request: Request, session: SessionDep) -> Response:
    user = _coordinator(request, session)
    if isinstance(user, Response):
        return user
    form = await request.form()
    if not check_csrf(request, str(form.get("csrf_token", ""))):
        return error_page(request, user, 403, "Formuläret är för gammalt. Ladda om sidan och försök igen.")
    chosen = [str(v) for v in form.getlist("participant_id")] if form.get("which") == "chosen" else None
    try:
        applied = plans.apply_plan(session, user, plan_id, PlanApply(participant_ids=chosen, include_dependencies=True))
    except NotFound:
        return error_page(request, user, 404, "Planen finns inte.")
    except ServiceError as exc:
        return error_page(request, user, exc.status, "Planen kunde inte genomföras: " + texts.ERROR_SV[exc.status])
    record(session, user, "update", [o.participant_id for o in applied.outcomes if o.status == "applied"], request)
    return RedirectResponse(f"/planer/{plan_id}?klart={applied.applied}", status_code=303)


@router.get("/oversikt/belaggning.xlsx", response_model=None)
def utilisation_workbook(
    request: Request, session: SessionDep, by: str = "enterprise", kommun: str = "", insats: str = ""
) -> Response:
    """The utilisation report as the API's workbook (Swedish headings, totals row), for the shown grouping."""
    user = _coordinator(request, session)
    if isinstance(user, Response):
        return user
    by, report = _utilisation(session, user, by, kommun, insats)
    content = to_xlsx(reports.utilisation_table(report))
    name = f"belaggning-per-{texts.GROUPING_FILE[by]}-{report['on'].isoformat()}.xlsx"
    disposition = attachment(name)
    return Response(content, media_type=XLSX_MEDIA_TYPE, headers=disposition)


@router.get("/logg", response_class=HTMLResponse)
def audit_log(
    request: Request,
    session: SessionDep,
    deltagare: str = "",
    anvandare: str = "",
    fran: str = "",
    till: str = "",
    sida: int = 0,
) -> Response:
    """The audit log, newest first, filtered by participant, user and days (UTC, inclusive), 50 entries a page."""
    user = _coordinator(request, session)
    if isinstance(user, Response):
        return user
    users = [u for u in list_users(session) if u.association_id == user.association_id]
    errors: dict[str, str] = {}
    start, end = _day(fran, errors, "fran"), _day(till, errors, "till")
    if start is not None and end is not None and start > end:
        errors["till"] = "Slutdatumet ligger före startdatumet."
    chosen = int(anvandare) if anvandare.isdigit() else None
    if anvandare and chosen is None:
        errors["anvandare"] = "Välj en användare i listan."
    page = PageParams(limit=50, offset=max(sida, 0) * 50)
    items: list[db.AuditEntry] = []
    total = 0
    if not errors:
        items, total = audit.entries(
            session, user, page, participant_id=deltagare.strip() or None, user_id=chosen, date_from=start, date_to=end
        )
    filters = {"deltagare": deltagare, "anvandare": anvandare, "fran": fran, "till": till}
    return render(
        request,
        "audit.html",
        user,
        status_code=422 if errors else 200,
        entries=items,
        total=total,
        sida=max(sida, 0),
        filters=filters,
        query=urlencode(filters),
        users=users,
        errors=errors,
        pages=(total + 49) // 50,
    )


def _day(text: str, errors: dict[str, str], name: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        errors[name] = "Ange datum som ÅÅÅÅ-MM-DD."
        return None


@router.get("/oversikt/utfall.xlsx", response_model=None)
def outcomes_workbook(
    request: Request, session: SessionDep, fran: str = "", till: str = "", insats: str = ""
) -> Response:
    """The outcomes report (how placements ended, by reason and programme) as the API's workbook, for the days and
    programme chosen on the overview; a bad date sends the overview back with the error next to its field."""
    user = _coordinator(request, session)
    if isinstance(user, Response):
        return user
    errors: dict[str, str] = {}
    start, end = _day(fran, errors, "fran"), _day(till, errors, "till")
    if start is not None and end is not None and start > end:
        errors["till"] = "Slutdatumet ligger före startdatumet."
    if errors:
        values = {"fran": fran, "till": till, "insats": insats}
        return _overview(request, session, user, "enterprise", "", "", outcome_errors=errors, outcome_values=values)
    report = reports.outcomes(session, user.association_id, insats or None, start, end)
    content = to_xlsx(reports.outcomes_table(report, date.today()))
    period = "-".join(d.isoformat() for d in (start, end) if d is not None)
    name = "utfall" + (f"-{insats}" if insats else "") + (f"-{period}" if period else "") + ".xlsx"
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    disposition = attachment(name)
    return Response(content, media_type=XLSX_MEDIA_TYPE, headers=disposition)


# --- decision support: where one more seat helps most, and who is left behind ------------------------------------

WEB_DECISION_SECONDS = 20.0  # the page waits for the report; a row past it is marked as an estimate


def _report_day(datum: str, errors: dict[str, str]) -> date:
    day = _day(datum, errors, "datum")
    return day or date.today()


def _place_names(session: SessionDep, user: db.User) -> tuple[dict[str, str], dict[str, str]]:
    slots = [s for s, _ in catalogue.list_slots(session, user, EVERYTHING, None)[0]]
    slot_names = {s.id: f"{texts.activity(s.activity)} – {s.site.name}, {s.site.enterprise.name}" for s in slots}
    site_names = {s.site_id: f"{s.site.name}, {s.site.enterprise.name}" for s in slots}
    return slot_names, site_names


def _decision_error(request: Request, user: db.User, exc: ServiceError) -> Response:
    _, text = texts.problem(exc.status, exc.detail, exc.extra)
    return error_page(request, user, exc.status, "Rapporten kunde inte räknas fram: " + text)


@router.get("/oversikt/kapacitet", response_class=HTMLResponse)
def capacity_value_page(request: Request, session: SessionDep, datum: str = "") -> Response:
    """ "Var gör en plats till mest nytta?": the capacity-value report, ranked, and the seats no plan fills."""
    user = _coordinator(request, session)
    if isinstance(user, Response):
        return user
    errors: dict[str, str] = {}
    day = _report_day(datum, errors)
    if errors:
        return render(request, "capacity_value.html", user, status_code=422, report=None, datum=datum, errors=errors)
    try:
        report = reports.capacity_value(session, user.association_id, day, WEB_DECISION_SECONDS, False)
    except ServiceError as exc:
        return _decision_error(request, user, exc)
    slot_names, site_names = _place_names(session, user)
    return render(
        request,
        "capacity_value.html",
        user,
        report=report,
        datum=day.isoformat(),
        errors={},
        slot_names=slot_names,
        site_names=site_names,
        method_sv=texts.METHOD_SV,
        counted=texts.counted,
        idle_reasons=texts.idle_reasons,
    )


@router.get("/oversikt/kapacitet.xlsx", response_model=None)
def capacity_value_workbook(request: Request, session: SessionDep, datum: str = "") -> Response:
    user = _coordinator(request, session)
    if isinstance(user, Response):
        return user
    errors: dict[str, str] = {}
    day = _report_day(datum, errors)
    if errors:
        return render(request, "capacity_value.html", user, status_code=422, report=None, datum=datum, errors=errors)
    report = reports.capacity_value(session, user.association_id, day, WEB_DECISION_SECONDS, False)
    name = f"kapacitetsvarde-{day.isoformat()}.xlsx"
    return Response(
        to_xlsx(reports.capacity_value_table(report)),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _floor(golv: str, errors: dict[str, str]) -> float | None:
    """The floor as a share from the form's percent (1–100); empty = none."""
    if not golv.strip():
        return None
    try:
        percent = float(golv.strip().replace(",", "."))
    except ValueError:
        errors["golv"] = "Ange golvet i procent, 1–100."
        return None
    if not 0 < percent <= 100:
        errors["golv"] = "Ange golvet i procent, 1–100."
        return None
    return percent / 100


@router.get("/oversikt/rattvisa", response_class=HTMLResponse)
def fairness_page(request: Request, session: SessionDep, datum: str = "", golv: str = "") -> Response:
    """ "Vem blir kvar?": per group the placed share beside what capacity makes possible, and a floor's cost."""
    user = _coordinator(request, session)
    if isinstance(user, Response):
        return user
    errors: dict[str, str] = {}
    day = _report_day(datum, errors)
    floor = _floor(golv, errors)
    if errors:
        return render(
            request, "fairness.html", user, status_code=422, report=None, datum=datum, golv=golv, errors=errors
        )
    try:
        report = reports.fairness(session, user.association_id, day, floor, WEB_DECISION_SECONDS, False)
    except ServiceError as exc:
        return _decision_error(request, user, exc)
    return render(
        request,
        "fairness.html",
        user,
        report=report,
        datum=day.isoformat(),
        golv=golv,
        errors={},
        dimension_sv=texts.DIMENSION_SV,
        group_sv=texts.group,
    )


@router.get("/oversikt/rattvisa.xlsx", response_model=None)
def fairness_workbook(request: Request, session: SessionDep, datum: str = "", golv: str = "") -> Response:
    user = _coordinator(request, session)
    if isinstance(user, Response):
        return user
    errors: dict[str, str] = {}
    day = _report_day(datum, errors)
    floor = _floor(golv, errors)
    if errors:
        return render(
            request, "fairness.html", user, status_code=422, report=None, datum=datum, golv=golv, errors=errors
        )
    report = reports.fairness(session, user.association_id, day, floor, WEB_DECISION_SECONDS, False)
    name = f"rattvisa-{day.isoformat()}.xlsx"
    return Response(
        to_xlsx(reports.fairness_table(report)),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
