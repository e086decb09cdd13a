"""GET /audit: the audit log, for coordinators."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from service.db import models as db
from service.deps import CurrentUser, SessionDep, roles
from service.pagination import Page, PageDep, fetch_page

router = APIRouter(tags=["audit"])


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    user_id: int | None
    action: str
    entity_type: str
    entity_id: str
    endpoint: str


@router.get("/audit", response_model=Page[AuditEntryPublic], **roles(db.Role.coordinator))
def audit_log(
    session: SessionDep,
    user: CurrentUser,
    page: PageDep,
    entity_type: Annotated[str | None, Query(description="participant or slot")] = None,
    entity_id: Annotated[str | None, Query()] = None,
    user_id: Annotated[int | None, Query(ge=1, le=db.MAX_INT)] = None,
) -> Page[AuditEntryPublic]:
    # Entries of this association's users only: a coordinator sees their own association's trail.
    query = (
        select(db.AuditEntry)
        .join(db.User, db.User.id == db.AuditEntry.user_id)
        .where(db.User.association_id == user.association_id)
        .order_by(db.AuditEntry.id.desc())
    )
    if entity_type:
        query = query.where(db.AuditEntry.entity_type == entity_type)
    if entity_id:
        query = query.where(db.AuditEntry.entity_id == entity_id)
    if user_id is not None:
        query = query.where(db.AuditEntry.user_id == user_id)
    items, total = fetch_page(session, query, page)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
