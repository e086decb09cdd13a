"""Creating, listing and revoking users (the command line and the first start use these), and who a token is."""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.auth import repository as repo
from service.auth.tokens import hash_token, new_token
from service.db.models import Role, User, utcnow
from service.errors import InvalidInput, NotFound


def add_user(
    session: Session, name: str, role: Role, association_id: str, enterprise_id: str | None = None
) -> tuple[User, str]:
    """Create a user and return it with its token (the only time the token is known)."""
    if role is Role.enterprise_manager:
        if not enterprise_id:
            raise InvalidInput("an enterprise_manager needs --enterprise")
        if repo.enterprise(session, association_id, enterprise_id) is None:
            raise NotFound(f"no enterprise '{enterprise_id}'")
    elif enterprise_id:
        raise InvalidInput(f"a {role.value} is not tied to an enterprise")
    token = new_token()
    user = User(
        name=name, role=role, association_id=association_id, enterprise_id=enterprise_id, token_hash=hash_token(token)
    )
    repo.add(session, user)
    return user, token


def list_users(session: Session) -> list[User]:
    return repo.users(session)


def revoke_user(session: Session, user_id: int) -> User:
    user = repo.user(session, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    user.revoked_at = user.revoked_at or utcnow()
    return user


def user_for_token(session: Session, token: str) -> User | None:
    user = repo.user_by_token_hash(session, hash_token(token))
    if user is None or user.revoked_at is not None:
        return None
    return user


def caller_for_token(session: Session, token: str) -> User | None:
    """`user_for_token` as a detached copy, read without the ORM (for a read that only looks at its fields)."""
    user = repo.caller_by_token_hash(session, hash_token(token))
    if user is None or user.revoked_at is not None:
        return None
    return user
