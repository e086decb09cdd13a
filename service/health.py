"""GET /health: is the service up and can it reach its database (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/health")
def health(request: Request) -> JSONResponse:
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # any failure to reach the database is what this endpoint reports
        database = f"unreachable: {type(exc).__name__}"
    healthy = database == "ok"
    return JSONResponse(
        {
            "status": "ok" if healthy else "degraded",
            "database": database,
            "backend": request.app.state.engine.dialect.name,
        },
        status_code=200 if healthy else 503,
    )
