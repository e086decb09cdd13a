"""Servers for the attacks: a live uvicorn on loopback, in its own process, over a database of its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from attacks import ROOT

ROLES = ("coordinator", "coach", "enterprise_manager")
POSTGRES = os.environ.get("PLACEMENT_ATTACK_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/openapi")
"""The attacks' own PostgreSQL database (emptied before each use): never one that holds anything else."""


@dataclass
class Server:
    url: str  # http://127.0.0.1:<port>
    database_url: str
    tokens: dict[str, str] = field(default_factory=dict)  # role -> token
    process: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_postgres(url: str) -> bool:
    """Empty the attack's own PostgreSQL database (never another): False when it is not reachable."""
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        return True
    except Exception:
        return False


def own_postgres(url: str, suffix: str) -> str | None:
    """The database `<url's database>_<suffix>` beside the attacks' own (created when missing, emptied), for runs
    side by side; None when the server is not reachable."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{suffix}"
    try:
        engine = create_engine(base, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            if connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
    except Exception:
        return None
    own = base.set(database=name).render_as_string(hide_password=False)
    return own if fresh_postgres(own) else None


def tiny_database(folder: Path, database_url: str | None = None) -> tuple[str, dict[str, str]]:
    """The tests' tiny region (two enterprises, four slots, six participants) with a user of each role and another
    association beside it; returns the database URL and the token of each role."""
    from service.auth.users import add_user
    from service.db import models as db
    from service.db.engine import make_engine, make_session_factory, transaction
    from service.db.migrate import upgrade
    from service.imports.loader import insert_dataset
    from tests.service.conftest import tiny_instance

    url = database_url or f"sqlite:///{folder / 'attack.db'}"
    upgrade(url)
    engine = make_engine(url)
    tokens: dict[str, str] = {}
    with transaction(make_session_factory(engine)) as session:
        session.add(db.Association(id="default", name="Demo"))
        session.add(db.Association(id="other", name="Another association"))
        session.flush()
        insert_dataset(session, tiny_instance(), "default")
        session.add(db.Enterprise(id="far", association_id="other", name="Elsewhere", municipality="Luleå"))
        _, tokens["coordinator"] = add_user(session, "fuzz-coordinator", db.Role.coordinator, "default")
        coach, tokens["coach"] = add_user(session, "fuzz-coach", db.Role.coach, "default")
        _, tokens["enterprise_manager"] = add_user(session, "fuzz-manager", db.Role.enterprise_manager, "default", "vk")
        session.flush()
        for pid in ("P1", "P2"):
            person = session.get(db.Participant, ("default", pid))
            assert person is not None
            person.coach_id = coach.id
    engine.dispose()
    return url, tokens


@contextmanager
def serve(
    database_url: str, folder: Path, *, sample: bool = False, workers: int = 1, start_s: float = 120
) -> Iterator[Server]:
    """uvicorn on a free loopback port; `sample=True` starts it as `make run` does (`placement serve`: migrate,
    load the sample region when the database is empty, demo users), else over `database_url` as it is."""
    port = free_port()
    env = {
        **os.environ,
        "PLACEMENT_DATABASE_URL": database_url,
        "PLACEMENT_DEMO_TOKENS_FILE": str(folder / "demo-tokens.txt"),
        "PLACEMENT_SAMPLE_DATA": str(ROOT / "data" / "sample"),
        "PLACEMENT_LOG_LEVEL": "WARNING",
        "PLACEMENT_PORT": str(port),
        "PYTHONPATH": str(ROOT),
    }
    if sample:
        command = [str(Path(sys.executable).parent / "placement"), "serve", "--port", str(port)]
    else:
        code = (
            "import uvicorn; from service.app import create_app; "
            f"uvicorn.run(create_app(), host='127.0.0.1', port={port}, log_level='warning')"
        )
        command = [sys.executable, "-c", code]
    log = (folder / f"server-{port}.log").open("wb")
    process = subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", database_url, process=process)
    try:
        _wait_up(server, process, start_s)
        if sample:
            for line in (folder / "demo-tokens.txt").read_text(encoding="utf-8").splitlines():
                _name, role, token = line.split("\t")
                server.tokens[role.split()[0]] = token
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_up(server: Server, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{server.api}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server did not answer /health within {seconds} s")
