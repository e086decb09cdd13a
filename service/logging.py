"""Structured logs: one JSON object per line on stderr, and no participant id in any of them.

A participant id is personal data (a pseudonymous code that the association can tie to a person), and a log line
is out of reach of an erasure (`POST /participants/{id}/erasure`) and of the retention job. So nothing the service
logs names a participant: a path's participant segment (`/api/v1/participants/P0001/suggestions`,
`/deltagare/P0001`) and a `participant_id` query value are replaced by `{participant}` (`redact`), in the service's
request log, its error lines and uvicorn's access log alike; the database engine keeps statement parameters out of
its errors (`hide_parameters`, service.db.engine) and a PostgreSQL error's `DETAIL` line, which quotes the values of
a refused key, is dropped from a logged traceback. docs/service.md ("What the server logs") says what is logged.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PLACEHOLDER = "{participant}"
_PARTICIPANT_SEGMENT = re.compile(r"(/(?:api/v\d+/participants|deltagare)/)([^/?#]+)")
_PARTICIPANT_QUERY_KEYS = frozenset({"participant_id", "participant"})
_DETAIL = re.compile(r"^(\s*DETAIL:).*$", re.MULTILINE)
ACCESS_LOGGER = "uvicorn.access"
log = logging.getLogger("service")


def redact(target: str) -> str:
    """`target` (a path, with or without its query) with every participant id replaced by `{participant}`."""
    path, mark, query = target.partition("?")
    path = _PARTICIPANT_SEGMENT.sub(lambda m: m.group(1) + PLACEHOLDER, path)
    if not mark:
        return path
    pairs = [
        (key, PLACEHOLDER if key.lower() in _PARTICIPANT_QUERY_KEYS else value)
        for key, value in parse_qsl(query, keep_blank_values=True)
    ]
    return f"{path}?{urlencode(pairs, safe='{}')}"


def redact_error(text: str) -> str:
    """A formatted exception without the `DETAIL:` lines of a PostgreSQL error (they quote the refused values)."""
    return _DETAIL.sub(r"\1 (hidden: it may quote personal data)", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("plan_id", "association_id", "user_id", "client", "method", "path", "status", "ms"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if isinstance(entry.get("path"), str):
            entry["path"] = redact(entry["path"])
        if record.exc_info:
            entry["error"] = redact_error(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class RedactAccessLog(logging.Filter):
    """uvicorn's access log line (`client - "GET /path?query HTTP/1.1" 200`) with the participant ids redacted: its
    arguments are (client, method, path with query, http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact(args[2]), *args[3:])
        return True


def configure_logging(level: str = "INFO") -> None:
    logger = logging.getLogger("service")
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level.upper())
    access = logging.getLogger(ACCESS_LOGGER)  # a logger's filters outlive uvicorn's dictConfig of its handlers
    if not any(isinstance(f, RedactAccessLog) for f in access.filters):
        access.addFilter(RedactAccessLog())


class LogRequests:
    """One log line per HTTP request once its answer is sent: client address, method, path, status and
    milliseconds (`placement serve` turns uvicorn's access line off: this one says the same).

    Plain ASGI (not `BaseHTTPMiddleware`, which runs every request in a task group of its own, with memory
    streams between it and the app: a millisecond of each request's time)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def watching_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, receive, watching_send)
        if log.isEnabledFor(logging.INFO):
            extra = {"method": scope["method"], "path": redact(scope["path"]), "status": status}  # no participant id
            if client := scope.get("client"):
                extra["client"] = f"{client[0]}:{client[1]}"
            log.info("request", extra={**extra, "ms": round((time.perf_counter() - started) * 1000, 1)})
