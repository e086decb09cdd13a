"""Schemathesis against the app's own OpenAPI, as the coordinator: no response is a 5xx (a 5xx is a bug), and every
error is a problem detail. Bounded to a few examples per operation; SQLite only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, settings  # noqa: E402

from service.app import create_app  # noqa: E402
from service.auth.users import add_user  # noqa: E402
from service.db import models as db  # noqa: E402
from service.db.engine import make_engine, make_session_factory, transaction  # noqa: E402
from service.db.migrate import upgrade  # noqa: E402
from service.imports.loader import insert_dataset  # noqa: E402
from tests.service.conftest import make_settings, tiny_instance  # noqa: E402

EXAMPLES = 8


class RecordingRunner:
    """Plans stay queued: the fuzzer must not start solver processes."""

    def submit(self, plan_id: int) -> None:
        pass

    def recover(self) -> None:
        pass

    def shutdown(self) -> None:
        pass


@pytest.fixture(scope="module")
def coordinator_token(fuzz_app: Any) -> str:
    return fuzz_app.state.fuzz_token


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{tmp / 'fuzz.db'}"
    upgrade(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        session.add(db.Association(id="default", name="Demo"))
        session.flush()
        insert_dataset(session, tiny_instance(), "default")
        _, token = add_user(session, "coordinator", db.Role.coordinator, "default")
        coach, _ = add_user(session, "coach", db.Role.coach, "default")
        add_user(session, "manager", db.Role.enterprise_manager, "default", "vk")
        session.flush()
        for pid in ("P1", "P2"):
            session.get(db.Participant, ("default", pid)).coach_id = coach.id  # type: ignore[union-attr]
        session.add(
            db.Placement(
                association_id="default",
                participant_id="P3",
                slot_id="furn",
                start_date=tiny_instance().participants[0].waiting_since,
            )
        )
    engine.dispose()
    app = create_app(make_settings(url, tmp))
    app.state.fuzz_token = token
    yield app


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app: Any) -> Any:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)  # starts the app's lifespan
    real = fuzz_app.state.plan_runner
    fuzz_app.state.plan_runner = RecordingRunner()
    real.shutdown()
    return schema


schema = schemathesis.pytest.from_fixture("fuzz_schema")


def _content_type(response: Any) -> str:
    value = response.headers.get("content-type") or response.headers.get("Content-Type") or ""
    return value[0] if isinstance(value, list) else value


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure reports its example as found
)
def test_no_5xx_and_every_error_is_a_problem(case, coordinator_token):
    response = case.call(headers={"Authorization": f"Bearer {coordinator_token}"})
    where = f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}"
    assert response.status_code < 500, f"{where} -> {response.status_code} {response.text[:500]}"
    if response.status_code >= 400:
        assert _content_type(response).startswith("application/problem+json"), (where, response.headers)
        problem = response.json()
        assert {"type", "title", "status", "detail"} <= set(problem), (where, problem)
        assert problem["status"] == response.status_code, (where, problem)
