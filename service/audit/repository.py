"""All SQL about the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select

from service.db import models as db


def entries_query(
    association_id: str,
    participant_id: str | None = None,
    user_id: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
) -> Select[db.AuditEntry]:
    """Entries of this association's users only, newest first: a coordinator sees their own association's trail."""
    query = (
        select(db.AuditEntry)
        .join(db.User, db.User.id == db.AuditEntry.user_id)
        .where(db.User.association_id == association_id)
        .order_by(db.AuditEntry.id.desc())
    )
    if participant_id:
        touched = select(db.AuditParticipant.audit_id).where(db.AuditParticipant.participant_id == participant_id)
        query = query.where(db.AuditEntry.id.in_(touched))
    if user_id is not None:
        query = query.where(db.AuditEntry.user_id == user_id)
    if action is not None:
        query = query.where(db.AuditEntry.action == action)
    if since is not None:
        query = query.where(db.AuditEntry.at >= since)
    if before is not None:
        query = query.where(db.AuditEntry.at < before)
    return query
