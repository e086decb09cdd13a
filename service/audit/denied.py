"""Denied attempts to read participant data: a 403 on a participant route, or a 404 for a participant or placement
outside the caller's view (`ParticipantNotFound`) on one, is audited too, with the caller, the requested
participant id (from the path) and the status. A 404 for something else (an unknown slot) is not a denied read.

The request's own transaction is rolled back with the error, so the entry is written in a transaction of its own
after it. Nothing is written for a caller without a valid token (401: there is no caller to name)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.exc import SQLAlchemyError

from service.db.engine import transaction
from service.db.models import AuditEntry, AuditParticipant

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
    requested = request.path_params.get("participant_id")
    entry = AuditEntry(
        user_id=caller.user_id,
        user_name=caller.name,
        user_role=caller.role,
        action="denied",
        method=request.method,
        path=path[:200],
        status=status,
        participants=[AuditParticipant(participant_id=str(requested)[:64])] if requested else [],
    )
    try:
        with transaction(request.app.state.session_factory) as session:
            session.add(entry)
    except SQLAlchemyError:  # the answer stays the 403/404 it is; the failure is logged, never a 500
        log.exception("could not audit a denied %s %s", request.method, path)
