"""`placement user add/list/revoke`: a token printed once authenticates against the API; revoking it locks it out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from placement_cli import app as cli
from service.app import create_app
from service.settings import get_settings
from tests.service.conftest import make_settings

TOKEN = re.compile(r"\bplc_[A-Za-z0-9_-]{20,}")
API = "/api/v1"


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("PLACEMENT_DATABASE_URL", raising=False)
    monkeypatch.delenv("PLACEMENT_ASSOCIATION_ID", raising=False)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@pytest.fixture
def run(db_url: str) -> Any:
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(cli, list(args))

    return invoke


@pytest.fixture
def api(db_url: str, tmp_path: Path, run: Any) -> Iterator[TestClient]:
    assert run("db", "upgrade").exit_code == 0
    with TestClient(create_app(make_settings(db_url, tmp_path / "app"))) as client:
        yield client


def add(run: Any, *args: str) -> tuple[int, str]:
    result = run("user", "add", *args)
    assert result.exit_code == 0, result.output
    tokens = TOKEN.findall(result.stdout)
    assert len(tokens) == 1, result.output
    user_id = int(re.search(r"user (\d+)", result.stdout).group(1))  # type: ignore[union-attr]
    return user_id, tokens[0]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_added_user_authenticates_and_revoked_user_does_not(run, api):
    user_id, token = add(run, "--role", "coordinator", "--name", "alice")
    response = api.get(f"{API}/enterprises", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert api.get(f"{API}/audit", headers=bearer(token)).status_code == 200  # a coordinator indeed

    listed = run("user", "list")
    assert listed.exit_code == 0, listed.output
    assert "alice" in listed.stdout and "coordinator" in listed.stdout
    assert token not in listed.output and not TOKEN.search(listed.output)  # tokens are never listed

    revoked = run("user", "revoke", str(user_id))
    assert revoked.exit_code == 0, revoked.output
    refused = api.get(f"{API}/enterprises", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert run("user", "revoke", str(user_id)).exit_code == 0  # revoking twice is harmless
    assert run("user", "list").exit_code == 0


def test_each_token_is_its_own(run, api):
    coach_id, coach = add(run, "--role", "coach", "--name", "carl")
    _, coordinator = add(run, "--role", "coordinator", "--name", "cora")
    assert coach != coordinator
    assert api.get(f"{API}/participants", headers=bearer(coach)).status_code == 200
    assert api.get(f"{API}/audit", headers=bearer(coach)).status_code == 403  # the role travels with the token
    assert run("user", "revoke", str(coach_id)).exit_code == 0
    assert api.get(f"{API}/participants", headers=bearer(coach)).status_code == 401
    assert api.get(f"{API}/participants", headers=bearer(coordinator)).status_code == 200


def test_an_enterprise_manager_needs_an_existing_enterprise(run, api):
    _, coordinator = add(run, "--role", "coordinator")
    created = api.post(
        f"{API}/enterprises",
        json={"id": "vk", "name": "Värmekällan", "municipality": "Upplands Väsby"},
        headers=bearer(coordinator),
    )
    assert created.status_code == 201, created.text

    missing = run("user", "add", "--role", "enterprise_manager", "--name", "mia")
    assert missing.exit_code == 2
    assert "--enterprise" in missing.output
    unknown = run("user", "add", "--role", "enterprise_manager", "--name", "mia", "--enterprise", "nope")
    assert unknown.exit_code == 2 and "nope" in unknown.output

    _, manager = add(run, "--role", "enterprise_manager", "--name", "mia", "--enterprise", "vk")
    mine = api.get(f"{API}/enterprises", headers=bearer(manager)).json()
    assert [e["id"] for e in mine["items"]] == ["vk"]
    listed = run("user", "list").stdout
    assert "mia" in listed and "vk" in listed


@pytest.mark.parametrize(
    "args",
    [
        ("--role", "admin"),
        ("--role", "Coordinator "),
        ("--role", "coach", "--enterprise", "vk"),
        ("--role", "enterprise_manager"),
        ("--name", "nobody"),
    ],
)
def test_bad_user_add_exits_2_and_creates_nobody(run, api, args):
    result = run("user", "add", *args)
    assert result.exit_code == 2, result.output
    assert not TOKEN.search(result.output)
    listed = run("user", "list")
    assert listed.exit_code == 0
    assert "nobody" not in listed.stdout and "coach" not in listed.stdout and "admin" not in listed.stdout


def test_revoking_an_unknown_user_exits_2(run, api):
    result = run("user", "revoke", "4242")
    assert result.exit_code == 2
    assert "4242" in result.output
    assert run("user", "revoke", "not-a-number").exit_code == 2


def test_the_cli_migrates_a_fresh_database_itself(run, db_url, tmp_path):
    """`user add` on an empty file migrates it first, so the API can start on the same database."""
    _, token = add(run, "--role", "coordinator")
    with TestClient(create_app(make_settings(db_url, tmp_path / "app"))) as client:
        assert client.get(f"{API}/enterprises", headers=bearer(token)).status_code == 200
