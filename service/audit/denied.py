"""Denied attempts to read participant data: a 403 on a participant route, or a 404 for a participant or placement
outside the caller's view (`ParticipantNotFound`) on one, is audited too, with the caller, the requested
participant id (from the path) and the status. A 404 for something else (an unknown slot) is not a denied read.

The request's own transaction is rolled back with the error, so the entry is written in a transaction of its own
after it. Nothing is written for a caller without a valid token (401: there is no caller to name).

The web pages of participants (`/deltagare…`) answer their denials with an error page, not a problem: they add the
same entry to the request's own session (`record_denied`), which commits it with the page."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from service.db.engine import transaction
from service.db.models import AuditEntry, AuditParticipant, User
from service.logging import redact

PARTICIPANT_ROUTE = re.compile(r"^/api/v1/(participants|placements)(/|$)")
DENIED = (403, 404)
log = logging.getLogger("service")


@dataclass(frozen=True)
class Caller:
    """Who made the request, copied when the token was checked (the request's session is gone by the error)."""

    user_id: int
    name: str
    role: str


def remember_caller(request: Request, user_id: int, name: str, role: str) -> None:
    request.state.caller = Caller(user_id, name, role)


def on_error(request: Request, status: int) -> None:
    """Audit a denied read of participant data; called by the error handler for every problem answer."""
    caller: Caller | None = getattr(request.state, "caller", None)
    path = request.url.path
    if status not in DENIED or caller is None or not PARTICIPANT_ROUTE.match(path):
        return
    entry = _entry(caller, request, status)
    try:
        with transaction(request.app.state.session_factory) as session:
            session.add(entry)
    except SQLAlchemyError:  # the answer stays the 403/404 it is; the failure is logged, never a 500
        log.exception("could not audit a denied %s %s", request.method, redact(path))


def _entry(caller: Caller, request: Request, status: int) -> AuditEntry:
    requested = request.path_params.get("participant_id")
    return AuditEntry(
        user_id=caller.user_id,
        user_name=caller.name,
        user_role=caller.role,
        action="denied",
        method=request.method,
        path=request.url.path[:200],
        status=status,
        participants=[AuditParticipant(participant_id=str(requested)[:64])] if requested else [],
    )


def record_denied(session: Session, user: User, request: Request, status: int) -> None:
    """A web page's denial (403/404) of participant data, audited in the request's session: add it last, as the
    page is answered (a read session writes what it added when it ends)."""
    assert status in DENIED, status
    session.add(_entry(Caller(user.id, user.name, user.role.value), request, status))
