"""The core's commands: check, solve, candidates, suggest and generate, over the public surface of `matcher`."""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from matcher import (
    FLOOR_STRATEGIES,
    CompiledInstance,
    InvalidDataset,
    Plan,
    Problem,
    SolveProgress,
    SolverSettings,
    UnknownParticipant,
    UnknownSlot,
    keep_current,
    parse_date,
    prepare,
    read_dataset,
    sample_region,
    what_if,
    write_candidates,
    write_dataset,
    write_plan,
)
from matcher import candidates as find_candidates
from matcher import capacity_value as capacity_value_report
from matcher import fairness as fairness_report
from matcher import solve as solve_plan
from matcher import suggest as suggest_slots

app = typer.Typer(no_args_is_help=True)
# In a pipe or a log, rich would cut tables at 80 columns; give them room instead.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

DataArg = Annotated[Path, typer.Argument(help="A folder of CSV files or one .xlsx workbook (docs/data-format.md).")]
DateOpt = Annotated[str | None, typer.Option("--date", help="Plan date YYYY-MM-DD (default: today).")]
EXIT_INVALID = 2


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_INVALID)


def _plan_date(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        return parse_date(text)  # the same strict YYYY-MM-DD as the data files
    except ValueError:
        _fail(f"--date: '{text}' is not a date in the form YYYY-MM-DD")


def _print_problems(problems: list[Problem], label: str) -> None:
    for problem in problems:
        (err if label == "error" else out).print(f"{problem}", highlight=False, markup=False, soft_wrap=True)


def _load(path: Path, quiet_warnings: bool = False, pin_holders: bool = False) -> CompiledInstance:
    """Read, validate and compile, or exit 2 naming every problem (`pin_holders`: every current_slot_id pinned)."""
    try:
        instance, warnings = read_dataset(path)
        compiled = prepare(keep_current(instance) if pin_holders else instance)
    except InvalidDataset as invalid:
        for problem in invalid.problems:
            err.print(str(problem), highlight=False, markup=False, soft_wrap=True)
        err.print(
            f"[red]{len(invalid.problems)} problem(s)[/red] in {escape(str(path))}; nothing was planned.",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_INVALID) from None
    if warnings and not quiet_warnings:
        for warning in warnings:
            err.print(f"warning: {warning}", highlight=False, markup=False, soft_wrap=True)
    return compiled


@app.command()
def check(data: DataArg) -> None:
    """Validate a data set: every error as file:row:column: message (exit 2), then the warnings apart (exit 0 when
    there are only warnings: they never refuse a data set)."""
    try:
        instance, warnings = read_dataset(data)
        prepare(instance)  # the limits that pinned participants alone break
    except InvalidDataset as invalid:
        for problem in invalid.problems:
            err.print(str(problem), highlight=False, markup=False, soft_wrap=True)
        err.print(
            f"[red]{len(invalid.problems)} problem(s)[/red] in {escape(str(data))}; nothing was planned.",
            highlight=False,
            soft_wrap=True,
        )
        _print_warnings(invalid.warnings, refused=True)
        raise typer.Exit(EXIT_INVALID) from None
    out.print(
        f"{data}: valid — {len(instance.enterprises)} enterprises, {len(instance.sites)} sites, "
        f"{len(instance.slots)} slots ({sum(s.seats for s in instance.slots)} seats), "
        f"{len(instance.participants)} participants, {len(instance.travel_times)} travel times",
        highlight=False,
        soft_wrap=True,
    )
    _print_warnings(warnings)


def _print_warnings(warnings: list[Problem], refused: bool = False) -> None:
    """Warnings in a section of their own, after the verdict, so they are not read as errors."""
    if not warnings:
        return
    said = (
        "besides the problems above; look at these rows too" if refused else "the data set is read; look at these rows"
    )
    err.print(
        f"[yellow]{len(warnings)} warning(s)[/yellow] ({said}):",
        highlight=False,
        soft_wrap=True,
    )
    for warning in sorted(warnings):
        err.print(f"warning: {warning}", highlight=False, markup=False, soft_wrap=True)


@app.command()
def solve(
    data: DataArg,
    date_: DateOpt = None,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, help="Seconds to search.")] = 60.0,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Solver threads.")] = 2,
    out_path: Annotated[Path, typer.Option("--out", help="Where to write plan.csv.")] = Path("plan.csv"),
    show_table: Annotated[bool, typer.Option("--table/--no-table", help="Print every placement.")] = True,
    strategy: Annotated[
        str,
        typer.Option(
            help="How to solve: auto (the default, best measured), cpsat, mip or greedy (docs/solver.md).",
            callback=lambda v: (
                v
                if v in ("auto", "cpsat", "mip", "greedy")
                else _fail(f"--strategy: '{v}' is not one of auto, cpsat, mip, greedy")
            ),
        ),
    ] = "auto",
    keep: Annotated[
        bool,
        typer.Option(
            "--keep-current",
            help="Keep every participant with a current_slot_id where they are, as if pinned (a pair that breaks a "
            "rule is kept with a warning).",
        ),
    ] = False,
    fairness_floor: Annotated[
        float,
        typer.Option(
            "--fairness-floor",
            min=0.0,
            max=1.0,
            help="Give every group (programme, municipality, need, gender, age band) at least this share of what "
            "capacity makes possible for it (docs/decision-support.md); not with --strategy greedy.",
        ),
    ] = 0.0,
    work_limit: Annotated[
        float | None,
        typer.Option(
            "--work-limit",
            min=0.001,
            help="Stop on work done, not on the clock (units of about a second on the reference machine): the same "
            "data and options then give the same plan on any machine; --time-limit stays as a safety net "
            "(docs/solver.md, 'Reproducible plans').",
        ),
    ] = None,
) -> None:
    """Compute the best plan: most placements first, then the highest fit score, then the fewest holders of a
    current slot moved or taken out; writes plan.csv."""
    on = _plan_date(date_)
    if fairness_floor and strategy not in FLOOR_STRATEGIES:
        _fail(
            f"--fairness-floor: --strategy {strategy} cannot honour a fairness floor; use {', '.join(FLOOR_STRATEGIES)}"
        )
    ci = _load(data, pin_holders=keep)
    if work_limit is not None and strategy == "greedy":
        _fail("--work-limit: --strategy greedy does not search (its plan is always the same)")
    if work_limit is not None and fairness_floor:
        _fail("--work-limit: a fairness floor's solves stop on the clock; leave one of them out")
    settings = SolverSettings(
        time_limit_s=time_limit, workers=workers, strategy=strategy, fairness_floor=fairness_floor,
        work_limit=work_limit,
    )  # fmt: skip
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task(f"solving (limit {time_limit:g} s)…")

        def report(progress: SolveProgress) -> None:
            bar.update(task, description=f"best plan: {progress.placed} placed (bound {progress.placed_bound})")

        try:
            plan = solve_plan(ci, on, settings=settings, on_progress=report)
        except ValueError as refused:  # only a fairness floor that no plan keeps
            _fail(f"--fairness-floor: {refused}")
    write_plan(plan, out_path)
    if show_table:
        _print_plan_table(plan)
    _print_summary(ci, plan, out_path)


def _print_plan_table(plan: Plan) -> None:
    table = Table(title="Plan", show_lines=False)
    for column in ("participant", "slot", "site", "enterprise", "h/week", "travel min", "score", "note"):
        table.add_column(column, justify="right" if column in ("h/week", "travel min", "score") else "left")
    for row in plan.rows:
        if row.placed:
            note = "pinned" + (f" ({', '.join(row.kept_despite)})" if row.kept_despite else "") if row.pinned else ""
            table.add_row(
                row.participant_id, row.slot_id, row.site_id, row.enterprise_id,
                str(row.hours_per_week), str(row.travel_minutes), str(row.score), note,
            )  # fmt: skip
    out.print(table)


def _print_summary(ci: CompiledInstance, plan: Plan, out_path: Path) -> None:
    inst = ci.instance
    seats: Counter[str] = Counter()
    used: Counter[str] = Counter()
    site_enterprise = {t.site_id: t.enterprise_id for t in inst.sites}
    for slot in inst.slots:
        seats[site_enterprise[slot.site_id]] += slot.seats
    for row in plan.rows:
        if row.enterprise_id:
            used[row.enterprise_id] += 1
    table = Table(title="Seats per enterprise")
    table.add_column("enterprise")
    table.add_column("used / seats", justify="right")
    for enterprise in inst.enterprises:
        table.add_row(enterprise.name, f"{used[enterprise.enterprise_id]} / {seats[enterprise.enterprise_id]}")
    out.print(table)
    status = "optimal (proven)" if plan.proven_optimal else "not proven optimal"
    gap = f"placements gap {plan.placed_gap:.2%} (bound {plan.placed_bound})"
    if plan.placed == plan.placed_bound:
        gap += f", fit score gap {plan.score_gap:.2%} (bound {plan.score_bound})"
    moves = ""
    if plan.holders:
        moves = f"; moved or taken out {plan.moved} of {plan.holders} holders of a current slot (not pinned)"
        if plan.moved_bound < plan.moved:
            moves += f" (bound {plan.moved_bound})"
    if plan.fairness_floor is not None:
        moves += f"; fairness floor {plan.fairness_floor:.0%} costs {plan.floor_cost} placement(s)"
    repeatable = (
        "deterministic (the same data and options give this plan again)"
        if plan.deterministic
        else "not deterministic (the time limit decided where the search stopped; --work-limit makes it repeatable)"
    )
    out.print(
        f"placed {plan.placed} / {plan.total}; fit score {plan.total_score}{moves}; {status}; {gap}\n"
        f"{repeatable}\n"
        f"build {plan.build_seconds:.2f} s, solve {plan.solve_seconds:.2f} s; plan written to {out_path}",
        highlight=False,
        soft_wrap=True,
    )
    for warning in plan.warnings:
        err.print(f"warning: {warning}", highlight=False, markup=False, soft_wrap=True)


@app.command()
def candidates(
    data: DataArg,
    date_: DateOpt = None,
    out_path: Annotated[Path, typer.Option("--out", help="Where to write candidates.csv.")] = Path("candidates.csv"),
) -> None:
    """Write every feasible participant–slot pair with travel minutes and fit score."""
    on = _plan_date(date_)
    ci = _load(data)
    rows = find_candidates(ci, on)
    write_candidates(rows, out_path)
    people = len({r.participant_id for r in rows})
    out.print(
        f"{len(rows)} feasible pairs for {people} of {len(ci.instance.participants)} participants; "
        f"written to {out_path}",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def suggest(
    data: DataArg,
    participant_id: Annotated[str, typer.Argument(help="The participant's pseudonymous code.")],
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many suggestions.")] = 5,
    per_site: Annotated[int, typer.Option("--per-site", min=1, max=100, help="At most this many from one site.")] = 2,
    date_: DateOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The best k slots with room for one person (at most --per-site from one site), each score explained; why
    preferred slots are out; and, when fewer than k fit, the nearest slots that do not, each with every reason."""
    on = _plan_date(date_)
    ci = _load(data, quiet_warnings=as_json)
    try:
        result = suggest_slots(ci, participant_id, on, k=k, per_site=per_site)
    except UnknownParticipant:
        _fail(f"no participant '{participant_id}' in {data}")
    if as_json:
        sys.stdout.write(json.dumps(asdict(result), ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=f"Suggestions for {participant_id}")
    for column in (
        "#",
        "slot",
        "activity",
        "enterprise",
        "travel min",
        "free",
        "score",
        "preference",
        "waiting",
        "travel",
        "continuity",
    ):
        table.add_column(column)
    for n, s in enumerate(result.suggestions, 1):
        parts = s.score_parts
        table.add_row(
            str(n), s.slot_id, s.activity_name, f"{s.enterprise_name} ({s.site_name})", str(s.travel_minutes),
            str(s.free_seats), str(s.score),
            str(parts["preference"]), str(parts["waiting"]), str(parts["travel"]), str(parts["continuity"]),
        )  # fmt: skip
    out.print(table, markup=False)
    if not result.suggestions:
        out.print("no feasible slot with a free seat", highlight=False, soft_wrap=True)
    for title, nearest in (("Preferred slots that are out:", False), ("Nearest slots that do not fit:", True)):
        listed = [ex for ex in result.excluded if ex.nearest is nearest]
        if listed:
            out.print(title, soft_wrap=True)
        for ex in listed:
            reasons = "; ".join(r.message for r in ex.reasons)
            rank = f", preference {ex.preference_rank}" if ex.preference_rank is not None else ""
            where = f"{ex.enterprise_name} ({ex.site_name}), {ex.travel_minutes} min"
            line = f"  {ex.slot_id} ({ex.activity_name}{rank}; {where}): {reasons}"
            out.print(line, highlight=False, markup=False, soft_wrap=True)
    for note in result.notes:
        out.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)


@app.command()
def whatif(
    data: DataArg,
    participant_id: Annotated[str, typer.Argument(help="The participant's pseudonymous code.")],
    slot_id: Annotated[str, typer.Argument(help="The slot the person is wanted in.")],
    date_: DateOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """What would make this place fit: the smallest change on each rule that keeps the person out of the slot (seats
    and supervisor hours counted from the current_slot_ids), and whether that change alone would suffice."""
    on = _plan_date(date_)
    ci = _load(data, quiet_warnings=as_json)
    try:
        result = what_if(ci, participant_id, slot_id, on)
    except UnknownParticipant:
        _fail(f"no participant '{participant_id}' in {data}")
    except UnknownSlot:
        _fail(f"no slot '{slot_id}' in {data}")
    if as_json:
        sys.stdout.write(json.dumps(asdict(result), ensure_ascii=False, indent=2, default=_json_default) + "\n")
        return
    table = Table(title=f"What would let {participant_id} into {slot_id} ({result.site_id}) on {on.isoformat()}")
    for column in ("rule", "blocks now", "smallest change", "amount", "alone enough"):
        table.add_column(column)
    for change in result.changes:
        amount = "" if change.amount is None else f"{change.amount:g} {change.unit}"
        table.add_row(change.rule, change.reason, change.change, amount, "yes" if change.alone_suffices else "no")
    if result.changes:
        out.print(table, markup=False)
    out.print(result.explanation, highlight=False, markup=False, soft_wrap=True)


@app.command()
def fairness(
    data: DataArg,
    date_: DateOpt = None,
    floor: Annotated[
        float | None,
        typer.Option(
            "--floor",
            min=0.01,
            max=1.0,
            help="Also plan with at least this share of what is possible for every group, and say what it costs.",
        ),
    ] = None,
    time_limit: Annotated[
        float,
        typer.Option("--time-limit", min=1, help="Seconds for the plan's solve, and again for the groups' solves."),
    ] = 60.0,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Who is left behind: for the optimal plan, placed share and median waiting days by programme, municipality,
    need, gender and age band, beside the most of each group any plan placing as many people could place."""
    on = _plan_date(date_)
    ci = _load(data, quiet_warnings=as_json)
    settings = SolverSettings(time_limit_s=time_limit)
    result = fairness_report(ci, on, settings=settings, floor=floor, time_limit_s=time_limit)
    if as_json:
        sys.stdout.write(json.dumps(asdict(result), ensure_ascii=False, indent=2, default=_json_default) + "\n")
        return
    title = f"Fairness of the plan on {on.isoformat()}: {result.placed} of {result.people} placed"
    title += f" ({result.plan_status})"
    table = Table(title=title)
    columns = ["dimension", "group", "people", "placed", "share", "possible", "possible share", "shortfall",
               "median wait (unplaced)"]  # fmt: skip
    if floor is not None:
        columns.append(f"placed with floor {floor:g}")
    for column in columns:
        table.add_column(column)
    for g in result.groups:
        wait = "" if g.median_waiting_days is None else f"{g.median_waiting_days:g} d"
        possible = str(g.possible) if g.exact else f"≤ {g.possible}"
        cells = [g.dimension, g.group, str(g.people), str(g.placed), f"{g.placed_share:.0%}", possible,
                 f"{g.possible_share:.0%}", str(g.shortfall), wait]  # fmt: skip
        if floor is not None:
            cells.append("" if g.floor_placed is None else str(g.floor_placed))
        table.add_row(*cells)
    out.print(table, markup=False)
    if floor is not None and result.floor_total_placed is not None:
        out.print(
            f"With a floor of {floor:.0%} of what is possible for every group: {result.floor_total_placed} placed, "
            f"{result.floor_cost} fewer than the optimal plan.", highlight=False, markup=False, soft_wrap=True,
        )  # fmt: skip
    for note in result.notes:
        out.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)


@app.command("capacity-value")
def capacity_value(
    data: DataArg,
    date_: DateOpt = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=1, help="Seconds for all re-solves; rows beyond it are LP bounds.")
    ] = 60.0,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Where more capacity places most people: one more seat per slot, one and five more supervisor hours per site,
    each measured by re-solving (or bounded by the LP past the time limit), ranked; and seats no plan would fill."""
    on = _plan_date(date_)
    ci = _load(data, quiet_warnings=as_json)
    result = capacity_value_report(ci, on, time_limit_s=time_limit)
    if as_json:
        sys.stdout.write(json.dumps(asdict(result), ensure_ascii=False, indent=2, default=_json_default) + "\n")
        return
    table = Table(title=f"Capacity value on {on.isoformat()}: {result.placed} placed without added capacity")
    for column in ("added", "slot", "site", "more placed", "method", "programmes", "municipalities"):
        table.add_column(column)
    for row in result.rows:
        added = "1 seat" if row.kind == "seat" else f"{row.added:g} supervisor h"
        more = str(row.more_placed) if not row.estimate else f"≤ {row.more_placed}"
        table.add_row(
            added, row.slot_id or "", row.site_id, more, row.method,
            ", ".join(f"{k} {n}" for k, n in row.programmes.items()),
            ", ".join(f"{k} {n}" for k, n in row.municipalities.items()),
        )  # fmt: skip
    out.print(table, markup=False)
    if result.idle:
        out.print("Seats no plan would fill:", soft_wrap=True)
    for seat in result.idle:
        out.print(f"  {seat.explanation}", highlight=False, markup=False, soft_wrap=True)
    for note in result.notes:
        out.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)


def _json_default(value: object) -> object:
    """Dates as YYYY-MM-DD and sets as sorted lists, so the JSON is the same for the same data."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


@app.command()
def generate(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the data set into.")],
    participants: Annotated[int, typer.Option(min=0, max=1_000_000, help="Number of participants.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data set.")] = 1,
) -> None:
    """Write the sample region (real enterprises from the seeds, fictional participants) as CSV files."""
    instance = sample_region(participants=participants, seed=seed)
    write_dataset(instance, out_dir)
    out.print(
        f"wrote {len(instance.participants)} participants, {len(instance.slots)} slots at {len(instance.sites)} sites "
        f"to {out_dir}",
        highlight=False,
        soft_wrap=True,
    )
