"""The queries of idempotency keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db import models as db


def find(session: Session, user_id: int, key: str) -> db.IdempotencyKey | None:
    return session.get(db.IdempotencyKey, (user_id, key), populate_existing=True)


def find_live(session: Session, user_id: int, key: str, now: datetime) -> db.IdempotencyKey | None:
    """The key, unless it has expired (an expired key is forgotten at the next claim)."""
    return session.scalar(
        select(db.IdempotencyKey).where(
            db.IdempotencyKey.user_id == user_id, db.IdempotencyKey.key == key, db.IdempotencyKey.expires_at > now
        )
    )


def claim(session: Session, user_id: int, key: str, fingerprint: str, now: datetime, expires_at: datetime) -> bool:
    """Add the key in the session's transaction; False when another request holds it (its transaction committed
    first, or waited for: the primary key is the lock)."""
    try:
        with session.begin_nested():
            session.add(
                db.IdempotencyKey(
                    user_id=user_id, key=key, fingerprint=fingerprint, created_at=now, expires_at=expires_at
                )
            )
    except IntegrityError:
        return False
    return True


def forget_expired(session: Session, user_id: int, now: datetime) -> None:
    session.execute(
        delete(db.IdempotencyKey).where(db.IdempotencyKey.user_id == user_id, db.IdempotencyKey.expires_at <= now)
    )


def answer(session: Session, user_id: int, key: str, status: int, headers: dict[str, str], body: str) -> None:
    """Write the first answer to a key still waiting for it."""
    session.execute(
        update(db.IdempotencyKey)
        .where(
            db.IdempotencyKey.user_id == user_id,
            db.IdempotencyKey.key == key,
            db.IdempotencyKey.status.is_(None),
        )
        .values(status=status, headers=headers, body=body)
    )
