"""Schemathesis against the app's own OpenAPI with every check (status codes and content types documented, bodies as
their schema, valid requests accepted, invalid ones refused, `Allow` on 405, …), once per role (coordinator, coach,
enterprise manager), per operation and stateful along the create → read → update → delete links. Every error is
also a problem detail. Bounded to a few examples per operation; SQLite only. The settings and their reasons are in
attacks/schemathesis.toml, the rules across fields the generator keeps in attacks/_st_hooks.py; the longer run
with its figures is `python -m attacks fuzz` (docs/reliability.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, settings  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402

import attacks._st_hooks  # noqa: E402, F401  (registers the hooks)
from attacks import ROOT  # noqa: E402
from attacks._server import ROLES, tiny_database  # noqa: E402
from service.app import create_app  # noqa: E402
from tests.service.conftest import make_settings  # noqa: E402

EXAMPLES = 2
STATEFUL_EXAMPLES = 5
CONFIG = ROOT / "attacks" / "schemathesis.toml"


class RecordingRunner:
    """Plans stay queued: the fuzzer must not start solver processes."""

    def submit(self, plan_id: int) -> None:
        pass

    def recover(self) -> None:
        pass

    def shutdown(self) -> None:
        pass


@pytest.fixture(scope="module", params=ROLES)
def fuzz_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp: Path = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    url, tokens = tiny_database(tmp)
    app = create_app(make_settings(url, tmp))
    app.state.fuzz_token = tokens[request.param]
    yield app


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app: Any) -> Any:
    # The token as a configured header (as the CLI's -H), so the generator knows every request carries it.
    # A generous timeout: on a loaded CI machine the app's start (its solve pool) can take more than the default 10 s.
    header = f'request-timeout = 120\nheaders = {{ Authorization = "Bearer {fuzz_app.state.fuzz_token}" }}\n'
    config = SchemathesisConfig.from_str(header + CONFIG.read_text(encoding="utf-8"))
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app, config=config)  # starts the app's lifespan
    token = fuzz_app.state.fuzz_token

    # Also as an auth provider: the stateful runner then knows the token is real (explicit), so its auth check
    # probes without it and with a wrong one rather than taking a 2xx for "generated auth accepted".
    @schema.auth()
    class Token:
        def get(self, case: Any, context: Any) -> str:
            return str(token)

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    real = fuzz_app.state.plan_runner
    fuzz_app.state.plan_runner = RecordingRunner()
    real.shutdown()
    return schema


schema = schemathesis.pytest.from_fixture("fuzz_schema")


def _content_type(response: Any) -> str:
    value = response.headers.get("content-type") or response.headers.get("Content-Type") or ""
    return value[0] if isinstance(value, list) else value


def assert_problem(case: Any, response: Any) -> None:
    where = f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}"
    assert response.status_code < 500, f"{where} -> {response.status_code} {response.text[:500]}"
    if response.status_code >= 400:
        assert _content_type(response).startswith("application/problem+json"), (where, response.headers)
        problem = response.json()
        assert {"type", "title", "status", "detail"} <= set(problem), (where, problem)
        assert problem["status"] == response.status_code, (where, problem)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure reports its example as found
)
def test_every_check_and_every_error_is_a_problem(case: Any) -> None:
    response = case.call_and_validate()
    assert_problem(case, response)


def test_stateful_create_read_update_delete(fuzz_schema: Any) -> None:
    machine = fuzz_schema.as_state_machine()
    links = sum(
        len(r.get("links", {}))
        for item in fuzz_schema.raw_schema["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        for r in op.get("responses", {}).values()
    )
    assert links >= 20, "the OpenAPI links create → read → update → delete"

    class Machine(machine):  # type: ignore[misc, valid-type]
        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            super().validate_response(response, case, **kwargs)
            assert_problem(case, response)

    Machine.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],
        )
    )
