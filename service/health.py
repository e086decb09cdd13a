"""GET /health: is the service up and can it reach its database (no token needed).

It answers from the event loop on a connection of its own (a one-connection pool beside the requests' pool), in a
read that takes no lock: neither a long write, nor a full request pool, nor a busy thread pool makes it wait.
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from service.db.engine import make_engine

router = APIRouter(tags=["health"])
POOL_TIMEOUT_S = 2.0


def health_engine(url: str) -> Engine:
    """The health check's own engine: one connection, never waiting long for it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        return make_engine(url)
    options: dict[str, Any] = {"pool_size": 1, "max_overflow": 0, "pool_timeout": POOL_TIMEOUT_S}
    if parsed.get_backend_name() == "postgresql":
        options["connect_args"] = {"connect_timeout": 2, "options": "-c statement_timeout=2000"}
    return make_engine(url, **options)


def _check(engine: Engine) -> str:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # any failure to reach the database is what this endpoint reports
        return f"unreachable: {type(exc).__name__}"


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    engine: Engine = request.app.state.health_engine
    if engine.dialect.name == "sqlite":
        database = _check(engine)  # a local file: SELECT 1 in a lock-free read takes microseconds
    else:
        database = await anyio.to_thread.run_sync(_check, engine)  # a network round trip: not on the loop
    healthy = database == "ok"
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "database": database, "backend": engine.dialect.name},
        status_code=200 if healthy else 503,
    )
