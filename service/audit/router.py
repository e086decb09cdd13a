"""GET /audit: the audit log, for coordinators: who read or changed which participants' data, when, and how."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from service.audit import service
from service.db import models as db
from service.deps import CurrentUser, SessionDep, roles
from service.pagination import Page, PageDep
from service.params import Day

router = APIRouter(tags=["audit"])
Action = Literal["read", "create", "update", "delete", "import", "erase", "denied"]


class AuditEntryPublic(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    user_name: str | None = Field(description="the staff login name when the request was made")
    role: str | None = Field(description="the user's role when the request was made")
    action: str = Field(
        description="read, create, update, delete, import, erase (an erasure, under the pseudonym) or denied (a "
        "refused attempt to read participant data: 403 or 404 on a participant route)"
    )
    method: str | None = Field(description="the HTTP method (unknown for entries written before revision 0002)")
    path: str
    participant_ids: list[str] = Field(description="every participant whose data the request read or changed")
    status: int | None = Field(None, description="the answer's status of a denied attempt")


def public_entry(entry: db.AuditEntry) -> AuditEntryPublic:
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
        status=entry.status,
    )


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
    date_from: Annotated[Day | None, Query(alias="from", description="from this day (UTC), inclusive")] = None,
    date_to: Annotated[Day | None, Query(alias="to", description="up to this day (UTC), inclusive")] = None,
) -> Page[AuditEntryPublic]:
    """Newest first. E.g. who read P0042's data this year: `?participant_id=P0042&action=read&from=2026-01-01`."""
    items, total = service.entries(session, user, page, participant_id, user_id, action, date_from, date_to)
    return Page(items=[public_entry(e) for e in items], total=total, limit=page.limit, offset=page.offset)
