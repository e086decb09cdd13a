"""The service's commands: `serve`, `worker`, `user` and `db`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from service.settings import get_settings

out = Console()
err = Console(stderr=True)
app = typer.Typer(no_args_is_help=True)
user_app = typer.Typer(help="Service users and their bearer tokens.", no_args_is_help=True)
db_app = typer.Typer(help="The service database.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(db_app, name="db")


def _factory() -> sessionmaker[Session]:
    from service.bootstrap import ensure_association, prepare_database
    from service.db.engine import make_engine, make_session_factory, transaction

    settings = get_settings()
    prepare_database(settings)
    factory = make_session_factory(make_engine(settings.database_url))
    with transaction(factory) as session:
        ensure_association(session, settings)
    return factory


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database (DATABASE_URL) to the newest schema."""
    from service.db.migrate import upgrade

    upgrade(get_settings().database_url)
    out.print("database is at the newest schema")


@user_app.command("add")
def user_add(
    role: Annotated[str, typer.Option(help="coach, coordinator or enterprise_manager")],
    name: Annotated[str, typer.Option(help="A staff login name (never a participant's).")] = "user",
    enterprise: Annotated[str | None, typer.Option(help="The enterprise an enterprise_manager manages.")] = None,
) -> None:
    """Create a user and print its token (shown only this once)."""
    from service.auth.users import add_user
    from service.db.engine import transaction
    from service.db.models import Role
    from service.errors import ServiceError

    try:
        parsed = Role(role)
    except ValueError:
        err.print(f"error: --role must be one of {', '.join(r.value for r in Role)}", highlight=False)
        raise typer.Exit(2) from None
    try:
        with transaction(_factory()) as session:
            user, token = add_user(session, name, parsed, get_settings().association_id, enterprise)
            user_id = user.id
    except ServiceError as exc:
        err.print(f"error: {exc.detail}", highlight=False)
        raise typer.Exit(2) from None
    out.print(f"user {user_id} ({parsed.value}) created; token (shown once):", highlight=False)
    print(token)


@user_app.command("list")
def user_list() -> None:
    """List users (never their tokens)."""
    from service.auth.users import list_users
    from service.db.engine import transaction

    table = Table()
    for column in ("id", "name", "role", "enterprise", "created", "revoked"):
        table.add_column(column)
    with transaction(_factory()) as session:
        for u in list_users(session):
            table.add_row(
                str(u.id), u.name, u.role.value, u.enterprise_id or "", u.created_at.strftime("%Y-%m-%d %H:%M"),
                u.revoked_at.strftime("%Y-%m-%d %H:%M") if u.revoked_at else "",
            )  # fmt: skip
    out.print(table)


@user_app.command("revoke")
def user_revoke(user_id: Annotated[int, typer.Argument(help="The user's id from `placement user list`.")]) -> None:
    """Revoke a user's token at once."""
    from service.auth.users import revoke_user
    from service.db.engine import transaction
    from service.errors import ServiceError

    try:
        with transaction(_factory()) as session:
            revoke_user(session, user_id)
    except ServiceError as exc:
        err.print(f"error: {exc.detail}", highlight=False)
        raise typer.Exit(2) from None
    out.print(f"user {user_id} revoked")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Migrate, load the sample region on first start, print demo tokens, and serve the API."""
    import uvicorn

    from service.app import create_app, freeze_heap
    from service.bootstrap import create_demo_users, load_sample_if_empty, read_demo_tokens

    settings = get_settings()
    factory = _factory()
    if load_sample_if_empty(factory, settings):
        out.print(f"loaded the sample region from {settings.sample_data}", highlight=False)
    create_demo_users(factory, settings)
    tokens = read_demo_tokens(settings.demo_tokens_file)
    bind_host, bind_port = host or settings.host, port or settings.port
    if tokens:
        # Whole tokens, one a line (a table would cut them to the terminal's width): copy one into "Logga in".
        out.print(f"Demo users (tokens kept in {settings.demo_tokens_file}):", highlight=False)
        for name, role, token in tokens:
            print(f"  {name:<18} {role:<32} {token}")
    out.print(
        f"Web pages on http://{bind_host}:{bind_port}/ (sign in with a token above); "
        f"API on http://{bind_host}:{bind_port}/api/v1 — docs at http://{bind_host}:{bind_port}/docs "
        f"(send 'Authorization: Bearer <token>')",
        highlight=False,
        soft_wrap=True,
    )
    api = create_app(settings)
    api.state.import_pool.start()  # its worker loads the engine's modules now, not at the first import
    freeze_heap()  # the startup heap out of the garbage collector's walks (service/app.py)
    # No uvicorn access line: the service's own request line (service.logging.LogRequests) names the same client,
    # method, path and status, and formatting both cost 0.6 ms of a suggestion's 10 ms of CPU (measured A/B).
    uvicorn.run(api, host=bind_host, port=bind_port, log_level=settings.log_level.lower(), access_log=False)


@app.command()
def worker(
    burst: Annotated[bool, typer.Option(help="Take the jobs waiting now, then stop.")] = False,
    areas: Annotated[
        bool,
        typer.Option(
            "--areas",
            help="Solve plans' areas (PLACEMENT_AREA_QUEUE_NAME) instead of whole plans: a solve's areas fan out "
            "to every such worker; needs only Redis, not the database.",
        ),
    ] = False,
) -> None:
    """Take plans from the Redis queue and solve them, with the server's settings (PLACEMENT_QUEUE_URL with its
    Redis database, PLACEMENT_QUEUE_NAME, DATABASE_URL); run as many as you like, where they reach both."""
    from redis import Redis
    from rq import Queue, SimpleWorker, Worker

    from service.db.engine import absolute_url, is_relative_sqlite
    from service.logging import configure_logging

    settings = get_settings()
    if not settings.queue_url:
        err.print("error: PLACEMENT_QUEUE_URL is not set: the server solves in its own pool, no worker is needed")
        raise typer.Exit(2)
    if is_relative_sqlite(settings.database_url):
        # The server sends each job its absolute URL; said here so a worker's own checks open the same file.
        out.print(f"note: the relative database URL is taken as {absolute_url(settings.database_url)}", highlight=False)
    configure_logging(settings.log_level)
    connection = Redis.from_url(settings.queue_url)
    if areas:
        # One process for every area (no work horse per job): the solve's shared data it fetched stays for the next.
        area_queue = Queue(settings.area_queue_name, connection=connection)
        out.print(f"area worker on queue '{settings.area_queue_name}' at {_redacted(settings.queue_url)}")
        SimpleWorker([area_queue], connection=connection).work(burst=burst, logging_level=settings.log_level.upper())
        return
    queue = Queue(settings.queue_name, connection=connection)
    out.print(f"worker on queue '{settings.queue_name}' at {_redacted(settings.queue_url)}", highlight=False)
    Worker([queue], connection=connection).work(burst=burst, logging_level=settings.log_level.upper())


def _redacted(url: str) -> str:
    """The queue URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy parses: show only its scheme
        return url.split("://", 1)[0] + "://…"


@app.command("gallra")
def gallra(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than", help="The retention period: months (24m) or days (730d) since the last placement ended."
        ),
    ] = "24m",
    apply: Annotated[bool, typer.Option("--apply", help="Erase them (without it: only say who would be).")] = False,
    today: Annotated[
        str | None, typer.Option(help="The day the period is counted back from (YYYY-MM-DD); default today.")
    ] = None,
) -> None:
    """Retention ("gallring"): erase the participants whose last placement ended before the cut-off.

    A dry run by default: it prints who would be erased. With --apply each is erased as POST
    /participants/{id}/erasure does (their id replaced by a pseudonym everywhere). Participants never placed are
    listed when they have waited since before the cut-off, never erased: they still wait for a place. Audited (an
    `erase` entry listing the pseudonyms; a dry run, a `read` entry listing the participants it names).
    """
    from datetime import date

    from service.audit.log import record
    from service.db.engine import transaction
    from service.subject.service import cutoff_of, retention

    try:
        day = date.fromisoformat(today) if today else date.today()
        cutoff = cutoff_of(older_than, day)
    except ValueError as exc:
        err.print(f"error: {exc}", highlight=False)
        raise typer.Exit(2) from None
    association = get_settings().association_id
    command = f"placement gallra --older-than {older_than}" + (" --apply" if apply else "")
    with transaction(_factory()) as session:
        report = retention(session, association, cutoff, apply)
        if apply:
            record(session, None, "erase", [p for _, p in report.erased], command, "CLI")
        else:
            named = [pid for pid, _ in report.due] + [pid for pid, _ in report.never_placed]
            record(session, None, "read", named, command, "CLI")
    verb = "erased" if apply else "would erase"
    out.print(
        f"association {association}: last placement ended before {cutoff.isoformat()}: {len(report.due)} "
        f"participant(s); {verb} {len(report.erased) if apply else len(report.due)}",
        highlight=False,
    )
    pseudonyms = dict(report.erased)
    for participant_id, ended in report.due:
        after = f" -> {pseudonyms[participant_id]}" if participant_id in pseudonyms else ""
        out.print(f"  {verb} {participant_id} (last placement ended {ended.isoformat()}){after}", highlight=False)
    if report.never_placed:
        out.print(
            f"never placed, waiting since before {cutoff.isoformat()}: {len(report.never_placed)} (not erased; "
            "they still wait for a place: DELETE /participants/{id} removes one who has left)",
            highlight=False,
        )
        for participant_id, since in report.never_placed:
            out.print(f"  {participant_id} (waiting since {since.isoformat()})", highlight=False)
    if not apply and report.due:
        out.print("dry run: nothing was changed; run again with --apply to erase them", highlight=False)
