"""Writing the audit log: one entry per request that read or changed participant data.

The entry is part of the request's transaction, so a change and its entry commit together; a request that touched
no participant (a plan still running, an empty page) writes none.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Request
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from service.db.models import AuditEntry, AuditParticipant, User, utcnow

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


ENTRIES = AuditEntry.metadata.tables["audit_log"]
PARTICIPANTS = AuditParticipant.metadata.tables["audit_participants"]


def write_entry(
    connection: Connection, user: User, action: str, participant_ids: Iterable[str], method: str, path: str
) -> int | None:
    """`record`'s entry written at once on `connection` (a write transaction), with two Core inserts and no ORM
    unit of work: for the hot reads (suggestions), which commit it before they answer. Its id; None when it
    touched no participant (nothing written)."""
    assert action in ACTIONS, action
    ids = sorted({str(i) for i in participant_ids})
    if not ids:
        return None
    values = {
        "at": utcnow(),
        "user_id": user.id,
        "user_name": user.name,
        "user_role": user.role.value,
        "action": action,
        "method": method,
        "path": path[:200],
    }
    key = connection.execute(ENTRIES.insert().values(values)).inserted_primary_key
    assert key is not None
    audit_id = int(key[0])
    connection.execute(PARTICIPANTS.insert(), [{"audit_id": audit_id, "participant_id": pid} for pid in ids])
    return audit_id
