"""Dependencies every router uses, defined once: the request's session (one commit) and the current user."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from service.audit.denied import remember_caller
from service.auth.users import user_for_token
from service.db.engine import transaction
from service.db.models import Role, User
from service.errors import Forbidden, Unauthorized

bearer = HTTPBearer(auto_error=False, description="A token from `placement user add`.")


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def database_slot(request: Request) -> AsyncIterator[None]:
    """One of the `db_concurrency` requests that may hold a session at a time; the others wait here, in the event
    loop, holding no thread.

    Without it, under load every worker thread can end up blocked on the database (waiting for SQLite's write lock
    or a pooled connection) while the request that holds the lock waits for a free thread to run its next step or
    its commit: nothing moves until the 30 s timeouts fire (the connection resets of issue 13). With fewer
    sessions than threads, the holder always finds a thread."""
    gate = getattr(request.app.state, "database_gate", None)
    if gate is None:
        gate = request.app.state.database_gate = anyio.Semaphore(request.app.state.settings.db_concurrency)
    async with gate:
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
    """The token's user, looked up in a read of its own (no lock, even for a POST), and put in `session`.

    So a write request takes its write lock at its first query, not while the caller is being identified.
    """
    with transaction(request.app.state.session_factory, write=False) as reader:
        user = user_for_token(reader, token)
    return None if user is None else session.merge(user, load=False)


def current_user(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("send 'Authorization: Bearer <token>'; tokens come from `placement user add`")
    user = user_of_token(request, session, credentials.credentials)
    if user is None:
        raise Unauthorized("the token is unknown or revoked")
    remember_caller(request, user.id, user.name, user.role.value)  # for the audit of a denied attempt
    return user


CurrentUser = Annotated[User, Depends(current_user)]


class RoleGate:
    def __init__(self, allowed: tuple[Role, ...]) -> None:
        self.allowed = allowed

    def __call__(self, user: CurrentUser) -> User:
        if user.role not in self.allowed:
            raise Forbidden(f"a {user.role.value} may not use this endpoint")
        return user


def roles(*allowed: Role) -> dict[str, Any]:
    """Route keyword arguments: who may call it, enforced and published in OpenAPI as `x-roles`.

    Every route under /api/v1 but /health uses this; a test fails for any route that does not.
    """
    return {
        "dependencies": [Depends(RoleGate(allowed))],
        "openapi_extra": {"x-roles": sorted(r.value for r in allowed)},
    }


ALL_ROLES = (Role.coach, Role.coordinator, Role.enterprise_manager)
