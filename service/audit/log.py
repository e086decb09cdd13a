"""Writing the audit log: one entry per request that read or changed participant data.

The entry is part of the request's transaction, so a change and its entry commit together; a request that touched
no participant (a plan still running, an empty page) writes none.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Request
from sqlalchemy.orm import Session

from service.db.models import AuditEntry, AuditParticipant, User

ACTIONS = ("read", "create", "update", "delete", "import", "erase", "denied")


def record(
    session: Session,
    user: User | None,
    action: str,
    participant_ids: Iterable[str],
    where: Request | str,
    method: str | None = None,
) -> AuditEntry | None:
    """Add the request's entry listing the participants it touched (each once); None when it touched none.

    `where` is the request (its method and path are kept) or, outside a router, the path; then `method` says it.
    """
    assert action in ACTIONS, action
    ids = sorted({str(i) for i in participant_ids})
    if not ids:
        return None
    if isinstance(where, Request):
        method, path = where.method, where.url.path
    else:
        path = where
    entry = AuditEntry(
        user_id=user.id if user is not None else None,
        user_name=user.name if user is not None else None,
        user_role=user.role.value if user is not None else None,
        action=action,
        method=method,
        path=path[:200],
        participants=[AuditParticipant(participant_id=pid) for pid in ids],
    )
    session.add(entry)
    return entry
