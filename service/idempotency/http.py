"""`Idempotency-Key` over HTTP: a route dependency that claims the key (or replays its answer), and a middleware that
keeps the answer before it is sent.

A route that creates something takes it with `**idempotent(roles(...))`; one that writes in a transaction of its own
takes a `claim_key_later` parameter and makes the claim in that transaction. The key is the caller's: the same key from
two users names two requests. A replay answers the first answer's status, body and `Content-Type`, `ETag` and
`Location`, with `Idempotent-Replayed: true`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.db.engine import transaction
from service.db.models import User, utcnow
from service.deps import CurrentUser, SessionDep
from service.idempotency import service
from service.idempotency.service import Answer, Replay

log = logging.getLogger("service")
STATE = "idempotency"
"""Where the dependency leaves (user id, key) in the request's state for the middleware."""
HEADER = b"idempotency-key"


async def request_fingerprint(request: Request) -> str:
    """sha256 of the method, path, query and body (the body is read already, or now within the body limit); ''
    without a key (the body is then left to the route)."""
    if "idempotency-key" not in request.headers:
        return ""
    digest = hashlib.sha256()
    for part in (request.method, request.url.path, request.url.query):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    body = await request.body()
    boundary = _boundary(request.headers.get("content-type", ""))
    if boundary:  # a client retrying an upload draws a new multipart boundary: the same files are the same request
        body = body.replace(b"--" + boundary, b"--boundary")
    digest.update(body)
    return digest.hexdigest()


def _boundary(content_type: str) -> bytes:
    if not content_type.lower().startswith("multipart/"):
        return b""
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary" and value.strip('"'):
            return value.strip('"').encode("latin-1", "replace")
    return b""


KeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=service.MAX_KEY_LENGTH,
        description="A key of your own (a UUID) that makes a retry safe: the same key with the same request "
        "answers the first answer and creates nothing; with another request, 422. Kept for "
        "`PLACEMENT_IDEMPOTENCY_KEY_HOURS` (24 h by default).",
    ),
]


def claim_key(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    fingerprint: Annotated[str, Depends(request_fingerprint)],
    idempotency_key: KeyHeader = None,
) -> None:
    if idempotency_key is None:
        return
    hours = request.app.state.settings.idempotency_key_hours
    service.begin(session, _user_id(user), idempotency_key, fingerprint, utcnow(), timedelta(hours=hours))
    request.state.idempotency = (_user_id(user), idempotency_key)


@dataclass(frozen=True)
class Claim:
    """An `Idempotency-Key` to claim in a write session, or raise as `service.begin` does. Plain data, so it can be
    made in another process (an import's worker); `claimed` then tells the request, for the answer to be kept."""

    user_id: int
    key: str
    fingerprint: str
    now: datetime
    lifetime: timedelta

    def __call__(self, session: Session) -> None:
        service.begin(session, self.user_id, self.key, self.fingerprint, self.now, self.lifetime)

    def claimed(self, request: Request) -> None:
        """The claim was written with the request's data: its answer is kept with the key before it is sent."""
        request.state.idempotency = (self.user_id, self.key)


def claim_key_later(
    request: Request,
    user: CurrentUser,
    fingerprint: Annotated[str, Depends(request_fingerprint)],
    idempotency_key: KeyHeader = None,
) -> Claim | None:
    """For a route that writes in a transaction of its own (an import compares without a lock, then writes in a
    short write): a replay, a misuse or a key still being answered is found now, in a read; the claim itself is
    returned, for the route to make first thing in its write transaction (so it is written with what the request
    creates, and under the write lock), and to mark `claimed` once that transaction committed. None without a key."""
    if idempotency_key is None:
        return None
    key, user_id, now = idempotency_key, _user_id(user), utcnow()
    lifetime = timedelta(hours=request.app.state.settings.idempotency_key_hours)
    with transaction(request.app.state.session_factory, write=False) as reader:
        service.check(reader, user_id, key, fingerprint, now)
    return Claim(user_id, key, fingerprint, now, lifetime)


def _user_id(user: User) -> int:
    return int(user.id)


def idempotent(route: dict[str, Any]) -> dict[str, Any]:
    """Route keyword arguments (`roles(...)`'s) plus the `Idempotency-Key` dependency."""
    return {**route, "dependencies": [*route.get("dependencies", []), Depends(claim_key)]}


class KeepAnswers:
    """For a request whose key was claimed: hold the response, keep it with the key, then send it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not any(n == HEADER for n, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        held: list[Message] = []
        keep: tuple[int, str] | None = None

        async def holding_send(message: Message) -> None:
            nonlocal keep
            if message["type"] == "http.response.start":
                claimed = scope.get("state", {}).get(STATE)
                # Only a success is kept: a failed request rolled its transaction back, the key with it, and a
                # retry with the key runs anew (a failure's answer might otherwise land on that retry's claim).
                keep = claimed if claimed is not None and 200 <= message["status"] < 300 else None
            if keep is None:
                await send(message)
                return
            held.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                await _keep(scope, keep, held)
                for m in held:
                    await send(m)
                held.clear()

        await self.app(scope, receive, holding_send)


async def _keep(scope: Scope, claimed: tuple[int, str], held: list[Message]) -> None:
    from anyio import to_thread

    start = held[0]
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start.get("headers", [])}
    body = b"".join(m.get("body", b"") for m in held[1:]).decode("utf-8", "replace")
    answer = Answer(int(start["status"]), headers, body)
    factory = scope["app"].state.session_factory
    try:
        await to_thread.run_sync(service.finish, factory, claimed[0], claimed[1], answer)
    except Exception:  # the request succeeded and is answered; its retries get 409 until the key expires
        log.exception("the answer of Idempotency-Key %r could not be kept", claimed[1])


def install_idempotency(app: FastAPI) -> None:
    app.add_middleware(KeepAnswers)

    @app.exception_handler(Replay)
    async def _replay(request: Request, exc: Replay) -> Response:
        answer = exc.answer
        headers = {k: v for k, v in answer.headers.items() if k != "content-type"}
        headers["Idempotent-Replayed"] = "true"
        return Response(
            content=answer.body.encode("utf-8"),
            status_code=answer.status,
            headers=headers,
            media_type=answer.headers.get("content-type"),
        )
