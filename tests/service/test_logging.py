"""No participant id in the server's logs (issue 14, item 10: an erasure has nothing to reach there): the request
log, error lines and uvicorn's access log redact them; database errors keep statement parameters out."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from service.db.engine import make_engine
from service.logging import ACCESS_LOGGER, JsonFormatter, configure_logging, redact, redact_error

API = "/api/v1"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/api/v1/participants/P0001/suggestions", "/api/v1/participants/{participant}/suggestions"),
        ("/api/v1/participants/P%C3%A51", "/api/v1/participants/{participant}"),
        ("/api/v1/participants", "/api/v1/participants"),
        ("/deltagare/P0001/placera", "/deltagare/{participant}/placera"),
        (
            "/api/v1/placements?participant_id=P0001&active=true",
            "/api/v1/placements?participant_id={participant}&active=true",
        ),
        ("/logg?participant_id=P7", "/logg?participant_id={participant}"),
        ("/api/v1/slots/furn", "/api/v1/slots/furn"),
    ],
)
def test_redact_replaces_every_participant_id_of_a_path_or_query(target: str, expected: str) -> None:
    assert redact(target) == expected


class Keep(logging.Handler):
    """The lines a logger writes, formatted as the server writes them."""

    def __init__(self, formatter: logging.Formatter | None = None) -> None:
        super().__init__()
        self.lines: list[str] = []
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_the_request_log_names_no_participant(service: Any) -> None:
    from tests.service.web.test_pages import _login

    keep = Keep(JsonFormatter())
    logging.getLogger("service").addHandler(keep)
    try:
        assert (
            service.client.get(f"{API}/participants/P1/suggestions", headers=service.auth("coach")).status_code == 200
        )
        assert service.client.get(f"{API}/participants/P4", headers=service.auth("coach")).status_code == 404
        _login(service, "coach")
        assert service.client.get("/deltagare/P2").status_code == 200
    finally:
        logging.getLogger("service").removeHandler(keep)
    paths = [line["path"] for line in map(json.loads, keep.lines) if line["message"] == "request"]
    assert f"{API}/participants/{{participant}}/suggestions" in paths and "/deltagare/{participant}" in paths
    assert f"{API}/participants/{{participant}}" in paths  # the denied one too
    logged = "\n".join(keep.lines)
    assert not [pid for pid in ("P1", "P2", "P4") if f"/{pid}" in logged or f"={pid}" in logged], logged


def test_uvicorns_access_log_names_no_participant() -> None:
    configure_logging()
    access = logging.getLogger(ACCESS_LOGGER)
    keep = Keep()
    access.addHandler(keep)
    level = access.level
    access.setLevel(logging.INFO)
    try:  # as uvicorn logs it: (client, method, path with query, http version, status)
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/api/v1/participants/P1?x=1", "1.1", 200)
    finally:
        access.removeHandler(keep)
        access.setLevel(level)
    assert keep.lines == ['127.0.0.1:5000 - "GET /api/v1/participants/{participant}?x=1 HTTP/1.1" 200']


def test_database_errors_keep_values_out_of_a_logged_traceback(tmp_path: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'log.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE people (id TEXT PRIMARY KEY)"))
        connection.execute(text("INSERT INTO people VALUES ('P0042')"))
    with pytest.raises(IntegrityError) as caught, engine.begin() as connection:
        connection.execute(text("INSERT INTO people VALUES (:id)"), {"id": "P0042"})
    engine.dispose()
    record = logging.LogRecord(
        "service", logging.ERROR, __file__, 1, "failed", None, (IntegrityError, caught.value, None)
    )
    assert "P0042" not in JsonFormatter().format(record)
    postgres = 'duplicate key value violates unique constraint "participants_pkey"\nDETAIL:  Key (id)=(P0042) exists.'
    assert "P0042" not in redact_error(postgres) and "duplicate key" in redact_error(postgres)


def test_the_request_log_names_the_client_as_the_access_line_did(service: Any) -> None:
    keep = Keep(JsonFormatter())
    logging.getLogger("service").addHandler(keep)
    try:
        assert service.client.get(f"{API}/health").status_code == 200
    finally:
        logging.getLogger("service").removeHandler(keep)
    (line,) = [line for line in map(json.loads, keep.lines) if line["message"] == "request"]
    assert line["client"].startswith("testclient:") and line["method"] == "GET" and line["status"] == 200
