"""GET /audit: the audit log, for coordinators: who read or changed which participants' data, when, and how."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from service.db import models as db
from service.deps import CurrentUser, SessionDep, roles
from service.errors import InvalidInput
from service.pagination import Page, PageDep, fetch_page

router = APIRouter(tags=["audit"])
Action = Literal["read", "create", "update", "delete", "import"]


class AuditEntryPublic(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    user_name: str | None = Field(description="the staff login name when the request was made")
    role: str | None = Field(description="the user's role when the request was made")
    action: str = Field(description="read, create, update, delete or import")
    method: str | None = Field(description="the HTTP method (unknown for entries written before revision 0002)")
    path: str
    participant_ids: list[str] = Field(description="every participant whose data the request read or changed")


def _public(entry: db.AuditEntry) -> AuditEntryPublic:
    return AuditEntryPublic(
        id=entry.id,
        at=entry.at,
        user_id=entry.user_id,
        user_name=entry.user_name,
        role=entry.user_role,
        action=entry.action,
        method=entry.method,
        path=entry.path,
        participant_ids=[p.participant_id for p in entry.participants],
    )


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@router.get("/audit", response_model=Page[AuditEntryPublic], **roles(db.Role.coordinator))
def audit_log(
    session: SessionDep,
    user: CurrentUser,
    page: PageDep,
    participant_id: Annotated[
        str | None, Query(max_length=64, description="entries that touched this participant")
    ] = None,
    user_id: Annotated[int | None, Query(ge=1, le=db.MAX_INT, description="entries of this user")] = None,
    action: Annotated[Action | None, Query()] = None,
    date_from: Annotated[date | None, Query(alias="from", description="from this day (UTC), inclusive")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="up to this day (UTC), inclusive")] = None,
) -> Page[AuditEntryPublic]:
    """Newest first. E.g. who read P0042's data this year: `?participant_id=P0042&action=read&from=2026-01-01`."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise InvalidInput(f"from ({date_from.isoformat()}) is after to ({date_to.isoformat()})", field="from")
    # Entries of this association's users only: a coordinator sees their own association's trail.
    query = (
        select(db.AuditEntry)
        .join(db.User, db.User.id == db.AuditEntry.user_id)
        .where(db.User.association_id == user.association_id)
        .order_by(db.AuditEntry.id.desc())
    )
    if participant_id:
        touched = select(db.AuditParticipant.audit_id).where(db.AuditParticipant.participant_id == participant_id)
        query = query.where(db.AuditEntry.id.in_(touched))
    if user_id is not None:
        query = query.where(db.AuditEntry.user_id == user_id)
    if action is not None:
        query = query.where(db.AuditEntry.action == action)
    if date_from is not None:
        query = query.where(db.AuditEntry.at >= _start_of(date_from))
    if date_to is not None:
        query = query.where(db.AuditEntry.at < _start_of(date_to + timedelta(days=1)))
    items, total = fetch_page(session, query, page)
    return Page(items=[_public(e) for e in items], total=total, limit=page.limit, offset=page.offset)
