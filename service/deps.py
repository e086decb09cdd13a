"""Dependencies every router uses, defined once: the request's session (one commit) and the current user."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from service.audit.denied import remember_caller
from service.auth.users import caller_for_token, user_for_token
from service.db.engine import READ_ONLY, transaction
from service.db.models import Role, User
from service.errors import Forbidden, Unauthorized

bearer = HTTPBearer(auto_error=False, description="A token from `placement user add`.")


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _app_gate(request: Request, name: str, size: int) -> anyio.Semaphore:
    """The app's semaphore `name` of `size` holders, made at its first use (in the event loop that serves)."""
    gate = getattr(request.app.state, name, None)
    if gate is None:
        gate = anyio.Semaphore(size)
        setattr(request.app.state, name, gate)
    return gate


def database_gate(request: Request) -> anyio.Semaphore:
    """The app's gate of `db_concurrency` sessions (see `database_slot`)."""
    return _app_gate(request, "database_gate", request.app.state.settings.db_concurrency)


def suggestion_gate(request: Request) -> anyio.Semaphore:
    """The app's gate of `suggestion_concurrency` suggestion requests computed at once.

    A suggestion is CPU work under the GIL: more threads computing them at once add no throughput, they share the
    core in 5 ms turns with one another and with the event loop that sends the other answers, so each waits the
    longer. With two at once the rest queue in the event loop in order: at 50 coaches on county data the p95 was
    58-65 ms against 84 ms with eight at once (`python -m benchmarks.service --phases users`, docs/service.md)."""
    return _app_gate(request, "suggestion_gate", request.app.state.settings.suggestion_concurrency)


async def database_slot(request: Request) -> AsyncIterator[None]:
    """One of the `db_concurrency` requests that may hold a session at a time; the others wait here, in the event
    loop, holding no thread.

    Without it, under load every worker thread can end up blocked on the database (waiting for SQLite's write lock
    or a pooled connection) while the request that holds the lock waits for a free thread to run its next step or
    its commit: nothing moves until the 30 s timeouts fire (the connection resets of issue 13). With fewer
    sessions than threads, the holder always finds a thread. A route that works in one thread takes the gate
    itself (`async with database_gate(request)`) around that thread."""
    async with database_gate(request):
        yield


def get_session(
    request: Request, _slot: Annotated[None, Depends(database_slot, scope="function")]
) -> Iterator[Session]:
    """The unit of work of one request: committed once when the handler returns, rolled back on any error.

    A GET or HEAD reads (the token lookup included) in a read transaction, which on SQLite takes no lock, so it
    never waits behind a long write; the audit entry of what it read is written in a short write afterwards.
    """
    write = request.method not in READ_METHODS
    with transaction(request.app.state.session_factory, write=write) as session:
        yield session


# scope="function": commit before the response is sent, so a failed commit is never reported as success.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def user_of_token(request: Request, session: Session, token: str) -> User | None:
    """The token's user, put in `session`: looked up in `session` itself when it is a read (a GET's: one
    transaction for the caller and the data), else in a read of its own (no lock, even for a POST), so a write
    request takes its write lock at its first query, not while the caller is being identified.

    Read on every request, never cached: a revoked token is refused from the next request on, in every process.
    """
    if session.info.get(READ_ONLY):
        return user_for_token(session, token)
    with transaction(request.app.state.session_factory, write=False) as reader:
        user = user_for_token(reader, token)
    return None if user is None else session.merge(user, load=False)


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def authenticated(
    request: Request,
    session: Session,
    credentials: HTTPAuthorizationCredentials | None,
    lookup: Callable[[Request, Session, str], User | None] = user_of_token,
) -> User:
    """The caller, or 401; remembered in the request for the audit of a denied attempt."""
    if credentials is None or not credentials.credentials:
        raise Unauthorized("send 'Authorization: Bearer <token>'; tokens come from `placement user add`")
    user = lookup(request, session, credentials.credentials)
    if user is None:
        raise Unauthorized("the token is unknown or revoked")
    remember_caller(request, user.id, user.name, user.role.value)  # for the audit of a denied attempt
    return user


def allowed(user: User, roles: tuple[Role, ...]) -> User:
    """`user`, or 403 when its role may not use the endpoint."""
    if user.role not in roles:
        raise Forbidden(f"a {user.role.value} may not use this endpoint")
    return user


def current_user(request: Request, session: SessionDep, credentials: Credentials) -> User:
    return authenticated(request, session, credentials)


CurrentUser = Annotated[User, Depends(current_user)]


class RoleGate:
    def __init__(self, allowed: tuple[Role, ...]) -> None:
        self.allowed = allowed

    def __call__(self, user: CurrentUser) -> User:
        return allowed(user, self.allowed)


def roles(*allowed: Role) -> dict[str, Any]:
    """Route keyword arguments: who may call it, enforced and published in OpenAPI as `x-roles`.

    Every route under /api/v1 but /health uses this (or `roles_checked_by(gate)`); a test fails for any route that
    does not.
    """
    return {
        "dependencies": [Depends(RoleGate(allowed))],
        "openapi_extra": {"x-roles": sorted(r.value for r in allowed)},
    }


class Gate:
    """Who may call a route that does all its work in one thread (`in_one_thread`): the route takes `Credentials`
    and calls `gate.caller(...)` in that thread, inside its read transaction, before it reads anything else."""

    def __init__(self, *allowed: Role) -> None:
        self.allowed = allowed

    def caller(self, request: Request, session: Session, credentials: HTTPAuthorizationCredentials | None) -> User:
        """The caller if its role may use the route: 401 without a valid token, 403 for another role. A detached
        copy of the user (read without the ORM): `session` must be a read."""
        assert session.info.get(READ_ONLY), "Gate.caller reads the caller in a read transaction"
        return allowed(authenticated(request, session, credentials, _detached_caller), self.allowed)


def _detached_caller(_request: Request, session: Session, token: str) -> User | None:
    return caller_for_token(session, token)


def roles_checked_by(gate: Gate) -> dict[str, Any]:
    """`roles(...)` for a route whose `gate` is checked in its own thread: published the same way (`x-roles`, the
    bearer scheme through the route's `Credentials`), enforced by `gate.caller`, without the dependencies' three
    thread hops (session, caller, role) a request."""
    return {"openapi_extra": {"x-roles": sorted(r.value for r in gate.allowed)}}


ALL_ROLES = (Role.coach, Role.coordinator, Role.enterprise_manager)
