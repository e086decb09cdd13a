"""Service test fixtures: a migrated database per backend (SQLite always, PostgreSQL when
PLACEMENT_TEST_DATABASE_URL is set), emptied before each test, a tiny data set, and one user per role."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

import matcher
from service.app import create_app
from service.auth.users import add_user
from service.db import models as db
from service.db.engine import make_engine, make_session_factory, transaction
from service.db.migrate import upgrade
from service.imports.loader import insert_dataset
from service.imports.pool import ImportPool
from service.settings import ServiceSettings

PG_URL = os.environ.get("PLACEMENT_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])
TODAY = date(2026, 11, 23)


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "postgres":
        assert PG_URL
        _reset_postgres(PG_URL)
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'service.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _empty(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(db.Base.metadata.sorted_tables):
            conn.execute(table.delete())


def tiny_instance() -> matcher.Instance:
    """Two enterprises, three sites, four slots, six participants; enough for every rule and limit."""
    return matcher.Instance(
        enterprises=(
            matcher.Enterprise("vioni", "VioNi", "Sigtuna"),
            matcher.Enterprise("vk", "Värmekällan", "Upplands Väsby"),
        ),
        sites=(
            matcher.Site(
                "hantverk",
                "vioni",
                "Sigtuna Hantverkshus",
                "Sigtuna",
                59.6174,
                17.8537,
                frozenset({"wheelchair"}),
                20.0,
            ),
            matcher.Site("vk1", "vk", "Värmekällan", "Upplands Väsby", 59.5184, 17.9113, frozenset(), None),
            matcher.Site("vk2", "vk", "Värmekällan Second hand", "Upplands Väsby", 59.52, 17.92, frozenset(), 2.5),
        ),
        slots=(
            matcher.Slot("furn", "hantverk", "furniture_renovation", 2, 5, 20, frozenset({"mon", "tue", "wed"})),
            matcher.Slot("sew", "vk1", "sewing", 1, 5, 30, frozenset({"mon", "thu"})),
            matcher.Slot("shop", "vk2", "second_hand_shop", 3, 5, 30, frozenset({"mon", "tue", "wed", "thu", "fri"})),
            matcher.Slot(
                "garden",
                "vk1",
                "allotment_garden",
                4,
                5,
                30,
                frozenset({"mon", "tue"}),
                programmes=frozenset({"SAMRE"}),
            ),
        ),
        participants=tuple(
            matcher.Participant(
                f"P{i}",
                "SAMRE" if i % 2 else "MIA",
                "Sigtuna",
                59.6 - 0.01 * i,
                17.86,
                10,
                frozenset({"mon", "tue", "thu"}),
                60,
                age=30 + i,
                gender="f" if i % 2 else "m",
                preferences=("sewing", "furniture_renovation"),
                waiting_since=date(2026, 1, 1),
            )  # fmt: skip
            for i in range(1, 7)
        ),
    )


@dataclass
class Service:
    client: TestClient
    factory: sessionmaker[Session]
    tokens: dict[str, str]  # role (or name) -> token
    user_ids: dict[str, int]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def make_settings(database_url: str, tmp_path: Path, **overrides: object) -> ServiceSettings:
    return ServiceSettings(
        database_url=database_url,
        sample_data=tmp_path / "no-sample",
        demo_tokens_file=tmp_path / "tokens.txt",
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
def import_pool() -> Iterator[ImportPool]:
    """One import pool for the session (its worker starts once, at the first import), shared by the tests' apps."""
    pool = ImportPool()
    yield pool
    pool.shutdown()


@pytest.fixture
def service(engine: Engine, database_url: str, tmp_path: Path, import_pool: ImportPool) -> Iterator[Service]:
    _empty(engine)
    factory = make_session_factory(engine)
    tokens: dict[str, str] = {}
    user_ids: dict[str, int] = {}
    with transaction(factory) as session:
        session.add(db.Association(id="default", name="Demo"))
        session.add(db.Association(id="other", name="Another association"))
        session.flush()
        insert_dataset(session, tiny_instance(), "default")
        session.add(db.Enterprise(id="far", association_id="other", name="Elsewhere", municipality="Luleå"))
        session.flush()
        for name, role, enterprise, association in (
            ("coordinator", db.Role.coordinator, None, "default"),
            ("coach", db.Role.coach, None, "default"),
            ("other_coach", db.Role.coach, None, "default"),
            ("enterprise_manager", db.Role.enterprise_manager, "vk", "default"),
            ("foreign_coordinator", db.Role.coordinator, None, "other"),
        ):
            user, token = add_user(session, name, role, association, enterprise)
            tokens[name], user_ids[name] = token, user.id
        # The coach holds P1–P3, the other coach P4; P5 and P6 have no coach.
        for pid in ("P1", "P2", "P3"):
            session.get(db.Participant, ("default", pid)).coach_id = user_ids["coach"]  # type: ignore[union-attr]
        session.get(db.Participant, ("default", "P4")).coach_id = user_ids["other_coach"]  # type: ignore[union-attr]
    app = create_app(make_settings(database_url, tmp_path), import_pool=import_pool)
    with TestClient(app) as client:
        yield Service(client, factory, tokens, user_ids)
