"""GET /health: is the service up and can it reach its database (no token needed).

It answers from the event loop, never from the thread pool (busy with requests that compute, and each hand-off to
a thread and back waits for the GIL behind them), on a connection of its own in a read that takes no lock: neither a
long write, nor a full request pool, nor a busy thread pool makes it wait. On SQLite `SELECT 1` on a local file
takes microseconds in the loop; on PostgreSQL the loop awaits the round trip on an asynchronous psycopg connection
(`PostgresCheck`), kept open between checks and opened again when it was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import anyio
import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from service.db.engine import make_engine

router = APIRouter(tags=["health"])
TIMEOUT_S = 2.0


class SqliteCheck:
    """`SELECT 1` on a one-connection engine of its own, in the loop."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        options: dict[str, Any] = {}
        if parsed.database not in (None, "", ":memory:"):
            options = {"pool_size": 1, "max_overflow": 0, "pool_timeout": TIMEOUT_S}
        self.engine: Engine = make_engine(url, **options)

    async def database(self) -> str:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return "ok"
        except Exception as exc:  # any failure to reach the database is what this endpoint reports
            return f"unreachable: {type(exc).__name__}"

    async def close(self) -> None:
        self.engine.dispose()


class PostgresCheck:
    """`SELECT 1` on an asynchronous psycopg connection of its own, awaited in the loop (no thread), within
    `TIMEOUT_S`. Checks take turns on the one connection; one that was lost (the server restarted) is opened again."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url).set(drivername="postgresql")
        self._conninfo = parsed.render_as_string(hide_password=False)
        self._connection: psycopg.AsyncConnection[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._turn: asyncio.Lock | None = None

    async def database(self) -> str:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a connection belongs to the loop that opened it (a test client has its own)
            self._loop, self._turn, self._connection = loop, asyncio.Lock(), None
        assert self._turn is not None
        try:
            with anyio.fail_after(TIMEOUT_S):
                async with self._turn:
                    if self._connection is not None and not self._connection.closed:
                        with contextlib.suppress(psycopg.OperationalError):  # the server restarted, say: anew
                            await self._connection.execute("SELECT 1")
                            return "ok"
                        await self._drop()
                    self._connection = await psycopg.AsyncConnection.connect(
                        self._conninfo, autocommit=True, connect_timeout=int(TIMEOUT_S)
                    )
                    await self._connection.execute("SELECT 1")
            return "ok"
        except Exception as exc:  # any failure to reach the database (a timeout included) is what this reports
            await self._drop()
            return f"unreachable: {type(exc).__name__}"

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def close(self) -> None:
        if self._loop is asyncio.get_running_loop():
            await self._drop()


def health_check(url: str) -> SqliteCheck | PostgresCheck:
    return PostgresCheck(url) if make_url(url).get_backend_name() == "postgresql" else SqliteCheck(url)


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    check: SqliteCheck | PostgresCheck = request.app.state.health_check
    database = await check.database()
    healthy = database == "ok"
    backend = "postgresql" if isinstance(check, PostgresCheck) else "sqlite"
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "database": database, "backend": backend},
        status_code=200 if healthy else 503,
    )
