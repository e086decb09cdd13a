"""Reports for coordinators: how full the places are and who waits for them, and how placements ended.

All SQL of the reports is here; the router only picks the format.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from sqlalchemy.orm import Session

import matcher
from service.catalogue import in_force
from service.core_bridge import describe_problems, load_instance
from service.db import models as db
from service.errors import Conflict
from service.reports import repository as repo
from service.reports.tables import Kind, ReportTable, columns

Grouping = Literal["enterprise", "site", "slot", "programme", "municipality"]
KEY_COLUMN: dict[str, str] = {
    "enterprise": "enterprise_id",
    "site": "site_id",
    "slot": "slot_id",
    "programme": "programme",
    "municipality": "municipality",
}
TABLE_COLUMNS = ("label", "seats", "taken", "free", "utilisation_pct", "waiting", "median_waiting_days")
OPEN_TO_ALL = "open to any programme"
TOWARDS_WORK_OR_STUDIES = frozenset({db.EndReason.work, db.EndReason.studies})
NOT_RECORDED = "not_recorded"

UTILISATION_DEFINITION = """\
One row per group of the association, and totals that count every seat and person once.

- **seats**: the seats of the group's slots in force on `on` (scheduled changes effective by then); **taken**: the
  active placements (no end date) in those slots; **free**: seats − taken (never below 0); **utilisation_pct**:
  taken / seats × 100, one decimal (0 when no seats).
- **waiting**: participants with no active placement, on the report's day: who is in the queue now. An erased
  participant is not (the erasure took them out of it, and nothing of them but programme and hours is kept), so an
  erasure lowers `waiting` by one where they counted, while seats, taken, free, utilisation and the outcomes report
  stay as they were. By `programme` or `municipality` they are grouped by their own
  programme or municipality. By `enterprise`, `site` or `slot`, a waiting person counts in every group that offers
  an activity (a slot's `activity`) listed in the person's `preferences`, so one person may count in several rows.
- **median_waiting_days**: the median of the days from `waiting_since` to `on` (today by default; never below 0)
  over the group's waiting people who have a `waiting_since`; null when there are none.
- By `programme`, a slot's seats belong to each programme in its `programmes` (procured seats); slots open to any
  programme form one row with no key (`open to any programme`). By `municipality`, seats are those of slots at
  sites in the municipality, and the waiting are the people who live there.
- **placements_with_warnings**: active placements in the report's slots that break a rule since their slot was
  changed under them with `force=true` (each placement's `warnings` in GET /placements say which);
  **slots_with_warnings**: those slots.
"""


def _seats_in_force(session: Session, association_id: str, slots: list[repo.SlotRow], on: date) -> list[repo.SlotRow]:
    """The slots with the seats in force on `on` (scheduled changes effective by then, absolute or relative)."""
    changes = in_force.scheduled_changes(session, association_id, slot_ids=[s.slot_id for s in slots], on=on)
    return [
        replace(s, seats=in_force.apply({"seats": s.seats}, changes[s.slot_id])["seats"]) if s.slot_id in changes else s
        for s in slots
    ]


# --- utilisation -------------------------------------------------------------------------------------------------


@dataclass
class _Group:
    key: str | None
    label: str
    slots: set[str] = field(default_factory=set)
    waiting_days: list[int | None] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # the codes and names of what the group belongs to


def _median(days: Iterable[int | None]) -> float | None:
    known = [d for d in days if d is not None]
    return float(statistics.median(known)) if known else None


def _pct(part: int, whole: int) -> float:
    return round(part * 100 / whole, 1) if whole else 0.0


def _figures(
    slot_ids: Iterable[str], seats: dict[str, int], taken: dict[str, int], waiting: list[int | None]
) -> dict[str, Any]:
    ids = set(slot_ids)
    total_seats = sum(seats[s] for s in ids)
    total_taken = sum(taken.get(s, 0) for s in ids)
    return {
        "seats": total_seats,
        "taken": total_taken,
        "free": max(total_seats - total_taken, 0),
        "utilisation_pct": _pct(total_taken, total_seats),
        "waiting": len(waiting),
        "median_waiting_days": _median(waiting),
    }


def utilisation(
    session: Session,
    association_id: str,
    by: Grouping,
    on: date,
    municipality: str | None = None,
    programme: str | None = None,
) -> dict[str, Any]:
    """`{by, on, rows, totals}`; see UTILISATION_DEFINITION. `municipality` keeps the slots of sites there and the
    people living there; `programme` the slots open to it (reserved for it or open to all) and its people."""
    slots = _seats_in_force(session, association_id, repo.slots(session, association_id), on)
    taken = repo.taken(session, association_id)
    waiting = repo.waiting(session, association_id, on)
    if municipality:
        slots = [s for s in slots if s.site_municipality == municipality]
        waiting = [w for w in waiting if w.municipality == municipality]
    if programme:
        slots = [s for s in slots if not s.programmes or programme in s.programmes]
        waiting = [w for w in waiting if w.programme == programme]
    seats = {s.slot_id: s.seats for s in slots}
    groups: dict[str | None, _Group] = {}

    def group(key: str | None, label: str) -> _Group:
        if key not in groups:
            groups[key] = _Group(key, label)
        return groups[key]

    if by in ("enterprise", "site", "slot"):
        if by == "enterprise":
            for key, name in repo.named(session, db.Enterprise, association_id):
                group(key, name)
        elif by == "site":
            for key, name, enterprise_id, enterprise_name in repo.sites(session, association_id):
                group(key, name).names = {"enterprise_id": enterprise_id, "enterprise_name": enterprise_name}
        offers: dict[str, set[str]] = defaultdict(set)  # group -> activities offered there
        for s in slots:
            key = {"enterprise": s.enterprise_id, "site": s.site_id, "slot": s.slot_id}[by]
            label = {"enterprise": s.enterprise_name, "site": s.site_name, "slot": f"{s.activity} at {s.site_name}"}[by]
            group(key, label).slots.add(s.slot_id)
            offers[key].add(s.activity)
            if by == "slot":
                groups[key].names = {
                    "activity": s.activity,
                    "site_id": s.site_id,
                    "site_name": s.site_name,
                    "enterprise_id": s.enterprise_id,
                    "enterprise_name": s.enterprise_name,
                }
        for person in waiting:
            wanted = set(person.preferences)
            for key, activities in offers.items():
                if wanted & activities:
                    groups[key].waiting_days.append(person.days)
    elif by == "programme":
        for s in slots:
            programmes: list[str | None] = list(s.programmes) or [None]
            for programme in programmes:
                group(programme, programme or OPEN_TO_ALL).slots.add(s.slot_id)
        for person in waiting:
            group(person.programme, person.programme).waiting_days.append(person.days)
    else:
        for s in slots:
            group(s.site_municipality, s.site_municipality).slots.add(s.slot_id)
        for person in waiting:
            group(person.municipality, person.municipality).waiting_days.append(person.days)

    ordered = sorted(groups.values(), key=lambda g: (g.key is None, g.key or ""))
    rows = [
        {"key": g.key, "label": g.label, **_figures(g.slots, seats, taken, g.waiting_days), "names": g.names}
        for g in ordered
    ]
    totals = _figures(seats, seats, taken, [w.days for w in waiting])
    warned = {s: n for s, n in repo.warned(session, association_id).items() if s in seats}
    return {
        "by": by,
        "on": on,
        "rows": rows,
        "totals": totals,
        "placements_with_warnings": sum(warned.values()),
        "slots_with_warnings": sorted(warned),
    }


HEADINGS: dict[str, tuple[str, Kind]] = {
    "enterprise_id": ("Verksamhetskod", "text"),
    "enterprise_name": ("Verksamhet", "text"),
    "site_id": ("Platskod", "text"),
    "site_name": ("Plats", "text"),
    "slot_id": ("Aktivitetskod", "text"),
    "activity": ("Aktivitet", "text"),
    "programme": ("Insats", "text"),
    "municipality": ("Kommun", "text"),
    "label": ("Benämning", "text"),
    "seats": ("Platser totalt", "int"),
    "taken": ("Tagna", "int"),
    "free": ("Lediga", "int"),
    "utilisation_pct": ("Beläggning", "percent"),
    "waiting": ("Väntande", "int"),
    "median_waiting_days": ("Väntetid, median (dagar)", "decimal"),
}
LABEL_HEADING = {"enterprise": "Verksamhet", "site": "Plats", "slot": "Benämning", "programme": "Benämning"}
NAMES_BESIDE = {
    "site": ("enterprise_id", "enterprise_name"),
    "slot": ("activity", "site_id", "site_name", "enterprise_id", "enterprise_name"),
}
GROUPING_SV = {
    "enterprise": "verksamhet",
    "site": "plats",
    "slot": "aktivitet",
    "programme": "insats",
    "municipality": "kommun",
}


def utilisation_table(report: dict[str, Any]) -> ReportTable:
    """The rows as a table: the key column named after the grouping, its label (not by municipality, where it is the
    key), the codes and names the group belongs to, then TABLE_COLUMNS; totals as in the JSON."""
    by = report["by"]
    beside = NAMES_BESIDE.get(by, ())
    label = ["label"] if by != "municipality" else []
    names = [KEY_COLUMN[by], *label, *beside, *TABLE_COLUMNS[1:]]
    heading = {**HEADINGS, "label": (LABEL_HEADING.get(by, "Benämning"), "text")}
    rows = [
        [row["key"], *([row["label"]] if label else []), *(row["names"].get(n) for n in beside)]
        + [row[c] for c in TABLE_COLUMNS[1:]]
        for row in report["rows"]
    ]
    totals = [None] * (1 + len(label) + len(beside)) + [report["totals"][c] for c in TABLE_COLUMNS[1:]]
    return ReportTable(
        title=f"Beläggning per {GROUPING_SV[by]}",
        sheet=f"Beläggning per {GROUPING_SV[by]}",
        columns=columns(names, heading),
        rows=rows,
        filters=[("Datum", report["on"].isoformat())],
        totals=totals,
    )


# --- outcomes ----------------------------------------------------------------------------------------------------

OUTCOMES_DEFINITION = """\
Ended placements (with an end date) of the association's participants, counted by `end_reason` and by the
participant's programme, with the share that ended towards work or studies (`end_reason` `work` or `studies`).

Placements ended as `transferred` are left out: an applied plan ends them when it moves a person to another slot,
so they are moves within the plan, not outcomes (`transferred_excluded` counts them). `?programme=` keeps only
participants of that programme (their programme now); `?from=` and `?to=` keep placements that ended in that
period (both days included). A new end reason counts like the others: an outcome, not towards work or studies.
"""


def _share_text(towards: int, ended: int) -> str:
    if not ended:
        return "no placement has ended yet"
    pct = Decimal(towards * 100) / Decimal(ended)
    return f"{towards} of {ended} ended towards work or studies ({pct.quantize(Decimal(1), rounding=ROUND_HALF_UP)} %)"


def _outcome_figures(counts: dict[str, int]) -> dict[str, Any]:
    ended = sum(counts.values())
    towards = sum(n for reason, n in counts.items() if reason in {r.value for r in TOWARDS_WORK_OR_STUDIES})
    return {
        "ended": ended,
        "towards_work_or_studies": towards,
        "share_pct": _pct(towards, ended) if ended else None,
        "summary": _share_text(towards, ended),
    }


def outcomes(
    session: Session,
    association_id: str,
    programme: str | None,
    ended_from: date | None = None,
    ended_to: date | None = None,
) -> dict[str, Any]:
    """`{programme, from, to, rows, by_reason, programmes, ended, towards_work_or_studies, share_pct, summary, …}`."""
    rows: list[dict[str, Any]] = []
    transferred = 0
    by_reason: dict[str, int] = defaultdict(int)
    by_programme: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for prog, reason, n in repo.ended_counts(session, association_id, programme, ended_from, ended_to):
        name = _reason_name(reason)
        if name == db.EndReason.transferred.value:
            transferred += int(n)
            continue
        rows.append({"programme": prog, "end_reason": name, "count": int(n)})
        by_reason[name] += int(n)
        by_programme[prog][name] += int(n)
    return {
        "programme": programme,
        "from": ended_from,
        "to": ended_to,
        "rows": rows,
        "by_reason": dict(sorted(by_reason.items())),
        "programmes": [
            {"programme": prog, **_outcome_figures(counts), "by_reason": dict(counts)}
            for prog, counts in sorted(by_programme.items())
        ],
        **_outcome_figures(by_reason),
        "transferred_excluded": transferred,
    }


def _reason_name(reason: Any) -> str:
    """The stored end reason's name, whatever the enum holds (values added later count like the others)."""
    if reason is None:
        return NOT_RECORDED
    return str(getattr(reason, "value", reason))


REASON_HEADINGS = {
    "work": "Arbete",
    "studies": "Studier",
    "other_programme": "Annan insats",
    "moved": "Flyttat",
    "dropped_out": "Avbrutit",
    "health": "Hälsoskäl",
    "completed": "Fullföljt",
    NOT_RECORDED: "Ej angivet",
}
"""Swedish headings of the end reasons; a reason without one is headed by its name."""
OUTCOME_HEADINGS: dict[str, tuple[str, Kind]] = {
    "programme": ("Insats", "text"),
    "ended": ("Avslutade", "int"),
    "towards_work_or_studies": ("Till arbete eller studier", "int"),
    "share_pct": ("Andel till arbete eller studier", "percent"),
}


def outcome_reasons(report: dict[str, Any]) -> list[str]:
    """Every end reason that is an outcome, in the enum's order (new ones included), then any other reason found."""
    known = [r.value for r in db.EndReason if r is not db.EndReason.transferred]
    found = [r for r in report["by_reason"] if r not in known]
    return known + sorted(found)


def outcomes_table(report: dict[str, Any], made_on: date) -> ReportTable:
    """One row per programme: the ended placements per end reason, then ended, towards work or studies and share."""
    reasons = outcome_reasons(report)
    names = ["programme", *reasons, "ended", "towards_work_or_studies", "share_pct"]
    headings = {**OUTCOME_HEADINGS, **{r: (REASON_HEADINGS.get(r, r), "int") for r in reasons}}
    figures = ("ended", "towards_work_or_studies", "share_pct")
    rows = [
        [p["programme"], *(p["by_reason"].get(r, 0) for r in reasons), *(p[f] for f in figures)]
        for p in report["programmes"]
    ]
    totals = [None, *(report["by_reason"].get(r, 0) for r in reasons), *(report[f] for f in figures)]
    filters = [("Datum", made_on.isoformat()), ("Avslutade", _period(report["from"], report["to"]))]
    if report["programme"]:
        filters.append(("Insats", report["programme"]))
    filters.append(("Sammanfattning", report["summary"]))
    return ReportTable(
        title="Utfall per insats",
        sheet="Utfall per insats",
        columns=columns(names, headings),
        rows=rows,
        filters=filters,
        totals=totals,
    )


def _period(start: date | None, end: date | None) -> str:
    if start is None and end is None:
        return "alla"
    return f"{start.isoformat() if start else '…'}–{end.isoformat() if end else '…'}"


# --- decision support: capacity value and fairness (the core's reports over the database's state) ------------------

CAPACITY_VALUE_DEFINITION = """\
Where one more seat, or one (and five) more supervisor hours, would place most people: for every slot and every site
with `supervisor_hours`, the most placements any plan reaches with the added capacity minus the most without it,
measured by re-solving the whole model exactly from the plan without it (`method: re-solve`), or — past the time
budget — bounded by the LP relaxation (`method: LP bound`, `estimate: true`: at most that many). Rows are ranked by
`more_placed`; `programmes` and `municipalities` count the people the re-solve would place. `idle` lists seats no
valid plan fills, with the rules that keep the others out (`reasons`: rule label → people). People holding an active
placement keep it unless `allow_moves`.
"""

FAIRNESS_DEFINITION = """\
Who the optimal plan leaves behind, per programme, municipality, need (one group per need; `none`), gender and age
band: `people`, `placed` and `placed_share` in the plan, `possible` — the most of the group any plan with the same
number of placements could place (one exact solve per group; `exact: false` when it stopped at its time limit and
`possible` is an upper bound) — `shortfall` = possible − placed, and `median_waiting_days` of the group's people
the plan leaves unplaced. With `floor` (0–1], also the best plan that gives every group at least `floor × possible`
(rounded up): `floor_total_placed`, `floor_cost` (placements given up) and per group `floor_placed`. People holding an
active placement keep it unless `allow_moves`.
"""


def _compiled(session: Session, association_id: str, allow_moves: bool, day: date) -> matcher.CompiledInstance:
    """The association's data as a plan on `day` sees it: the capacity in force then."""
    instance = load_instance(session, association_id, keep_active=not allow_moves, on=day)
    try:
        return matcher.prepare(instance)
    except matcher.InvalidDataset as invalid:
        problems = describe_problems(session, association_id, list(invalid.problems))
        raise Conflict("the association's data cannot be planned: " + "; ".join(problems), problems=problems) from None


def capacity_value(
    session: Session, association_id: str, day: date, time_limit_s: float, allow_moves: bool
) -> matcher.CapacityValueReport:
    return matcher.capacity_value(_compiled(session, association_id, allow_moves, day), day, time_limit_s=time_limit_s)


def fairness(
    session: Session, association_id: str, day: date, floor: float | None, time_limit_s: float, allow_moves: bool
) -> matcher.FairnessReport:
    compiled = _compiled(session, association_id, allow_moves, day)
    settings = matcher.SolverSettings(time_limit_s=time_limit_s)
    return matcher.fairness(compiled, day, settings=settings, floor=floor, time_limit_s=time_limit_s)


CAPACITY_VALUE_HEADINGS: dict[str, tuple[str, Kind]] = {
    "kind": ("Tillskott", "text"),
    "slot_id": ("Aktivitetskod", "text"),
    "site_id": ("Platskod", "text"),
    "added": ("Tillfört", "decimal"),
    "more_placed": ("Fler placerade", "int"),
    "method": ("Metod", "text"),
    "estimate": ("Uppskattning", "text"),
    "programmes": ("Insatser", "text"),
    "municipalities": ("Kommuner", "text"),
    "explanation": ("Förklaring", "text"),
}
CAPACITY_VALUE_COLUMNS = tuple(CAPACITY_VALUE_HEADINGS)


def _counted(counts: dict[str, int]) -> str:
    """`SAMRE 2|UNGA 1`: a group → count mapping as one cell (most first, as the report orders it)."""
    return "|".join(f"{key} {n}" for key, n in counts.items())


def capacity_value_table(report: matcher.CapacityValueReport) -> ReportTable:
    """One row per added unit of capacity, ranked as in the JSON; the idle seats are in the JSON only (and on the
    web page), their reasons being a mapping per row."""
    rows = [
        [
            r.kind,
            r.slot_id,
            r.site_id,
            r.added,
            r.more_placed,
            r.method,
            r.estimate,
            _counted(r.programmes),
            _counted(r.municipalities),
            r.explanation,
        ]
        for r in report.rows
    ]
    filters = [
        ("Datum", report.on.isoformat()),
        ("Placerade utan tillskott", str(report.placed)),
        ("Uppskattning", "ja" if report.estimate else "nej"),
    ]
    return ReportTable(
        title="Var gör en plats mest nytta",
        sheet="Kapacitetsvärde",
        columns=columns(CAPACITY_VALUE_COLUMNS, CAPACITY_VALUE_HEADINGS),
        rows=rows,
        filters=filters,
    )


FAIRNESS_HEADINGS: dict[str, tuple[str, Kind]] = {
    "dimension": ("Dimension", "text"),
    "group": ("Grupp", "text"),
    "people": ("Personer", "int"),
    "placed": ("Placerade", "int"),
    "placed_pct": ("Andel placerade", "percent"),
    "possible": ("Möjligt", "int"),
    "possible_pct": ("Andel möjlig", "percent"),
    "shortfall": ("Under möjligt", "int"),
    "median_waiting_days": ("Väntetid oplacerade, median (dagar)", "decimal"),
    "exact": ("Exakt", "text"),
    "floor_placed": ("Placerade med golv", "int"),
}


def fairness_table(report: matcher.FairnessReport) -> ReportTable:
    """One row per group; shares as percentages 0–100 (as the utilisation report's), the JSON's 0–1 × 100."""
    names = [n for n in FAIRNESS_HEADINGS if n != "floor_placed" or report.floor is not None]
    rows = []
    for g in report.groups:
        row = [
            g.dimension,
            g.group,
            g.people,
            g.placed,
            round(g.placed_share * 100, 1),
            g.possible,
            round(g.possible_share * 100, 1),
            g.shortfall,
            g.median_waiting_days,
            g.exact,
        ]
        rows.append(row + ([g.floor_placed] if report.floor is not None else []))
    filters = [
        ("Datum", report.on.isoformat()),
        ("Placerade", f"{report.placed} av {report.people}"),
        ("Planens status", report.plan_status),
        ("Uppskattning", "ja" if report.estimate else "nej"),
    ]
    if report.floor is not None:
        cost = "ingen plan håller golvet" if not report.floor_feasible else f"{report.floor_cost} färre placerade"
        filters.append(("Golv", f"{report.floor:.0%}: {cost}"))
    return ReportTable(
        title="Vem blir kvar",
        sheet="Rättvisa",
        columns=columns(names, FAIRNESS_HEADINGS),
        rows=rows,
        filters=filters,
    )
