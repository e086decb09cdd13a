"""Writing audit entries; part of the request's transaction, so a change and its entry commit together."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from service.db.models import AuditEntry, User


def record(session: Session, user: User | None, action: str, entity_type: str, ids: Iterable[str], endpoint: str) -> None:
    user_id = user.id if user is not None else None
    session.add_all(
        AuditEntry(user_id=user_id, action=action, entity_type=entity_type, entity_id=str(i), endpoint=endpoint)
        for i in ids
    )
