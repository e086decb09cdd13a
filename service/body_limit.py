"""The request body limit: an ASGI middleware that counts the body as it arrives and answers 413 past the limit.

`Content-Length` alone is the client's word, and a chunked body has none: the bytes are counted as the server
receives them, so no request makes the server hold more than the limit, however it is sent. A declared length over
the limit is refused before a byte is read. Imports have their own, larger limit (`max_upload_bytes`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import PROBLEM_JSON


class BodyTooLarge(HTTPException):
    """Raised from `receive` once the body passes the limit; FastAPI lets an HTTPException through unchanged, and the
    app's handler renders it as problem+json."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {_size(limit)} (the limit is {limit} bytes)")
        self.limit = limit


def _size(n: int) -> str:
    mb = 1024 * 1024
    return f"{n / mb:g} MB" if n >= mb else f"{n:,} bytes"


class BodyLimit:
    """`limit` bytes for every request body, or `by_path[path]` for the paths named there (the uploads)."""

    def __init__(self, app: ASGIApp, limit: int, by_path: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.by_path = dict(by_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.by_path.get(scope.get("path", ""), self.limit)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, scope, limit)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            # Raised where no handler turned it into an answer (a middleware reading the body, say).
            if started:
                raise
            await _refuse(send, scope, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


async def _refuse(send: Send, scope: Scope, limit: int) -> None:
    error = BodyTooLarge(limit)
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Content too large",
            "status": 413,
            "detail": error.detail,
            "instance": scope.get("path", ""),
            "limit_bytes": limit,
        }
    ).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the rest of the body is not read: the connection cannot be reused
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
