"""/health answers from the event loop on a connection of its own (issue 14, item 4): it takes no thread of the
pool (busy with requests that compute), says so when the database cannot be reached, and finds PostgreSQL again
after its connection was lost."""

from __future__ import annotations

import asyncio

import anyio.to_thread
import pytest
from sqlalchemy import create_engine, text

from service.health import PostgresCheck, SqliteCheck
from tests.service.conftest import PG_URL

API = "/api/v1"


def test_health_takes_no_thread_of_the_pool(service, monkeypatch):
    def no_thread(*args: object, **kwargs: object) -> None:
        raise AssertionError("/health handed work to the thread pool")

    monkeypatch.setattr(anyio.to_thread, "run_sync", no_thread)
    response = service.client.get(f"{API}/health")
    assert response.status_code == 200, response.text
    assert response.json()["database"] == "ok"


def test_an_unreachable_postgresql_is_reported_not_raised():
    check = PostgresCheck("postgresql+psycopg://postgres@127.0.0.1:1/nothing")  # nothing listens on port 1
    assert asyncio.run(check.database()).startswith("unreachable: ")


def test_an_unopenable_sqlite_file_is_reported_not_raised(tmp_path):
    check = SqliteCheck(f"sqlite:///{tmp_path}")  # a folder, not a database file
    assert asyncio.run(check.database()).startswith("unreachable: ")


@pytest.mark.skipif(not PG_URL, reason="needs PLACEMENT_TEST_DATABASE_URL")
def test_a_lost_postgresql_connection_is_opened_again():
    assert PG_URL
    check = PostgresCheck(PG_URL)

    async def lose_and_check() -> tuple[str, str]:
        first = await check.database()
        assert check._connection is not None
        pid = check._connection.info.backend_pid
        admin = create_engine(PG_URL)
        with admin.connect() as connection:  # as a server restart would: the backend of the check's connection ends
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.dispose()
        second = await check.database()
        await check.close()
        return first, second

    assert asyncio.run(lose_and_check()) == ("ok", "ok")
