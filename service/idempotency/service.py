"""The rules of idempotency keys, apart from HTTP: a key is the caller's, names one request, and holds its first answer
until it expires.

`begin` runs in the transaction that writes what the request creates (the request's own, before the handler; an
import's short write, after its lock-free comparison): a new key is added there, so it is written with what the
request creates or not at all. `finish` writes the answer once it is known, before it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy.orm import Session, sessionmaker

from service.db import models as db
from service.db.engine import transaction
from service.errors import Conflict, InvalidInput
from service.idempotency import repository

MAX_KEY_LENGTH = 255
REPLAYED_HEADERS = ("content-type", "etag", "location")
"""The headers of the first answer that a replay repeats (with its status and body)."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: str


class Replay(Exception):
    """The key holds an answer already: send it again."""

    def __init__(self, answer: Answer) -> None:
        super().__init__("replay")
        self.answer = answer

    def __reduce__(self) -> tuple[type[Replay], tuple[Answer]]:
        return (Replay, (self.answer,))  # picklable: an import's claim is made in its worker process


def check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(" " <= c <= "~" for c in key):
        raise InvalidInput(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters (a UUID, say)",
            field="Idempotency-Key",
        )


def begin(session: Session, user_id: int, key: str, fingerprint: str, now: datetime, lifetime: timedelta) -> None:
    """Claim `key` for this request, or raise: `Replay` with the first answer, 422 when the key named another
    request, 409 while the first request is still being answered. An expired key is forgotten and claimed anew."""
    check_key(key)
    repository.forget_expired(session, user_id, now)  # the caller's keys past their time, this one included
    for _ in range(2):
        row = repository.find(session, user_id, key)
        if row is None:
            if repository.claim(session, user_id, key, fingerprint, now, now + lifetime):
                return
            continue  # another request claimed it meanwhile: read what it left
        _held(row, fingerprint)
    raise Conflict("a request with this Idempotency-Key is still being answered; retry in a moment")


def check(session: Session, user_id: int, key: str, fingerprint: str, now: datetime) -> None:
    """What `begin` would raise for a key already held, found in a read (no claim, no lock): a route that claims
    the key later, in a write transaction of its own, answers a replay or a misuse at once with it."""
    check_key(key)
    row = repository.find_live(session, user_id, key, now)
    if row is not None:
        _held(row, fingerprint)


def _held(row: db.IdempotencyKey, fingerprint: str) -> NoReturn:
    if row.fingerprint != fingerprint:
        raise InvalidInput(
            "this Idempotency-Key was used for another request (another method, path or body); "
            "use a new key for a new request",
            field="Idempotency-Key",
        )
    if row.status is None:
        raise Conflict("a request with this Idempotency-Key is still being answered; retry in a moment")
    raise Replay(Answer(row.status, dict(row.headers or {}), row.body or ""))


def finish(factory: sessionmaker[Session], user_id: int, key: str, answer: Answer) -> None:
    """Keep the first answer of a claimed key (a no-op when the request's transaction was rolled back: the key was
    never written, and a retry runs anew)."""
    headers = {name: value for name, value in answer.headers.items() if name in REPLAYED_HEADERS}
    with transaction(factory) as session:
        repository.answer(session, user_id, key, answer.status, headers, answer.body)
