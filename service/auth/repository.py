"""All SQL about users and their tokens."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.models import Enterprise, User


def enterprise(session: Session, association_id: str, enterprise_id: str) -> Enterprise | None:
    return session.get(Enterprise, (association_id, enterprise_id))


def user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def user_by_token_hash(session: Session, token_hash: str) -> User | None:
    return session.scalar(select(User).where(User.token_hash == token_hash))


USERS = User.metadata.tables["users"]


def caller_by_token_hash(session: Session, token_hash: str) -> User | None:
    """The token's user as a detached copy (Core, no identity map: a third of the ORM load's time), for a read
    that only looks at its fields."""
    row = session.execute(select(USERS).where(USERS.c.token_hash == token_hash)).mappings().first()
    return None if row is None else User(**row)


def add(session: Session, row: User) -> None:
    session.add(row)
    session.flush()
