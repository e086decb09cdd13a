"""Reading the audit log: the filters a coordinator may combine, checked, then one page of entries."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from service.audit import repository as repo
from service.db import models as db
from service.errors import InvalidInput
from service.pagination import PageParams, fetch_page


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def entries(
    session: Session,
    user: db.User,
    page: PageParams,
    participant_id: str | None = None,
    user_id: int | None = None,
    action: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> tuple[list[db.AuditEntry], int]:
    """One page of the association's entries, newest first, and their total; days are UTC and inclusive."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise InvalidInput(f"from ({date_from.isoformat()}) is after to ({date_to.isoformat()})", field="from")
    query = repo.entries_query(
        user.association_id,
        participant_id=participant_id,
        user_id=user_id,
        action=action,
        since=_start_of(date_from) if date_from is not None else None,
        before=_start_of(date_to + timedelta(days=1)) if date_to is not None else None,
    )
    return fetch_page(session, query, page)
