"""The Alembic migrations build exactly the schema the models describe, on SQLite and on PostgreSQL.

PostgreSQL runs in a database of its own (`placement_migration_test`, created and dropped here), so the `test`
database the other service tests share is never touched.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from service.db.engine import make_engine
from service.db.migrate import alembic_config, upgrade
from service.db.models import Base

PG_URL = os.environ.get("PLACEMENT_TEST_DATABASE_URL")
MIGRATION_DB = "placement_migration_test"


def _sqlite(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'migrated.db'}"


def _postgres() -> Iterator[str]:
    assert PG_URL
    server = make_url(PG_URL)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{MIGRATION_DB}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{MIGRATION_DB}"'))
    except Exception as exc:  # e.g. no CREATEDB right: say so rather than touch the shared database
        admin.dispose()
        pytest.skip(f"cannot create database {MIGRATION_DB}: {exc}")
    try:
        yield server.set(database=MIGRATION_DB).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{MIGRATION_DB}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite"] + (["postgres"] if PG_URL else []))
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from (_postgres() if request.param == "postgres" else _sqlite(tmp_path))


@pytest.fixture
def fresh_engine(fresh_url: str) -> Iterator[Engine]:
    engine = make_engine(fresh_url)
    yield engine
    engine.dispose()


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, Base.metadata)


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_migrations_build_the_schema_of_the_models(fresh_url, fresh_engine):
    upgrade(fresh_url)
    assert _tables(fresh_engine) == set(Base.metadata.tables)
    assert _differences(fresh_engine) == []


def test_upgrade_is_idempotent_and_at_the_single_head(fresh_url, fresh_engine):
    upgrade(fresh_url)
    upgrade(fresh_url)  # a second start migrates nothing
    heads = ScriptDirectory.from_config(alembic_config(fresh_url)).get_heads()
    assert len(heads) == 1, f"the migrations have several heads: {heads}"
    with fresh_engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == tuple(heads)


def test_downgrade_to_base_and_up_again(fresh_url, fresh_engine):
    upgrade(fresh_url)
    command.downgrade(alembic_config(fresh_url), "base")
    assert _tables(fresh_engine) == set()
    upgrade(fresh_url)
    assert _differences(fresh_engine) == []


def test_the_active_placement_index_is_partial_and_unique(fresh_url, fresh_engine):
    """At most one active placement per person is kept by the database itself, so it must survive migration."""
    upgrade(fresh_url)
    indexes = {ix["name"]: ix for ix in inspect(fresh_engine).get_indexes("placements")}
    active = indexes["uq_placements_active_participant"]
    assert active["unique"] and active["column_names"] == ["association_id", "participant_id"]
    with fresh_engine.begin() as conn:
        conn.execute(text("INSERT INTO associations (id, name) VALUES ('a', 'A')"))
        conn.execute(
            text(
                "INSERT INTO participants (id, association_id, programme, municipality, lat, lon, hours_per_week, "
                "days_available, max_travel_minutes, travel_mode, needs, preferences, avoid_enterprises, pinned) "
                "VALUES ('P1', 'a', 'SAMRE', 'Sigtuna', 59.6, 17.9, 10, '[]', 60, 'transit', '[]', '[]', '[]', false)"
            )
        )
        conn.execute(
            text("INSERT INTO enterprises (id, association_id, name, municipality) VALUES ('e', 'a', 'E', 'S')")
        )
        conn.execute(
            text(
                "INSERT INTO sites (association_id, id, enterprise_id, name, municipality, lat, lon, accessibility) "
                "VALUES ('a', 's', 'e', 'S', 'S', 59.6, 17.9, '[]')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO slots (association_id, id, site_id, activity, seats, min_hours, max_hours, days, "
                "supports, programmes, women_only, supervision_ratio, version) "
                "VALUES ('a', 'x', 's', 'a', 2, 5, 20, '[]', '[]', '[]', false, 0.25, 1)"
            )
        )
        insert = text(
            "INSERT INTO placements (association_id, participant_id, slot_id, start_date, end_date, created_at) "
            "VALUES ('a', 'P1', 'x', :s, :e, :c)"
        )
        now = "2026-11-23 12:00:00+00:00"
        conn.execute(insert, {"s": "2026-01-01", "e": "2026-02-01", "c": now})
        conn.execute(insert, {"s": "2026-02-02", "e": "2026-03-01", "c": now})  # ended ones may repeat
        conn.execute(insert, {"s": "2026-03-02", "e": None, "c": now})
    with pytest.raises(Exception, match="(?i)unique"), fresh_engine.begin() as conn:
        conn.execute(insert, {"s": "2026-04-01", "e": None, "c": now})


def test_0004_dated_adds_and_drops_only_its_table_and_keeps_the_slots(fresh_url, fresh_engine):
    command.upgrade(alembic_config(fresh_url), "0004_dated")
    with fresh_engine.begin() as conn:
        conn.execute(text("INSERT INTO associations (id, name) VALUES ('a', 'A')"))
        conn.execute(
            text("INSERT INTO enterprises (id, association_id, name, municipality) VALUES ('e', 'a', 'E', 'Sigtuna')")
        )
        conn.execute(
            text(
                "INSERT INTO sites (id, enterprise_id, name, municipality, lat, lon, accessibility, version) "
                "VALUES ('s', 'e', 'S', 'Sigtuna', 59.6, 17.8, '[]', 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO scheduled_capacity_changes (site_id, effective_from, fields, created_at, base_version, "
                "status) VALUES ('s', '2030-03-01', '{\"supervisor_hours\": 4}', '2026-12-01 10:00:00', 1, 'scheduled')"
            )
        )
    command.downgrade(alembic_config(fresh_url), "0003_capacity")
    assert "scheduled_capacity_changes" not in _tables(fresh_engine)
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sites")).scalar_one() == 1
    upgrade(fresh_url)
    assert _differences(fresh_engine) == []
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM scheduled_capacity_changes")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM sites")).scalar_one() == 1


# --- 0006_tenancy: ids unique within an association -------------------------------------------------------------

PARTICIPANT_COLUMNS = (
    "id, association_id, programme, municipality, lat, lon, hours_per_week, days_available, max_travel_minutes, "
    "travel_mode, needs, preferences, avoid_enterprises, pinned"
)


def _populate_at_0004(engine: Engine) -> None:
    """Two associations with a bit of everything, in the 0004 schema (ids unique across associations)."""
    now = "2026-01-01 00:00:00"
    with engine.begin() as conn:
        run = conn.exec_driver_sql
        run("INSERT INTO associations (id, name) VALUES ('a', 'A'), ('b', 'B')")
        run(
            "INSERT INTO enterprises (id, association_id, name, municipality) "
            "VALUES ('e', 'a', 'E', 'S'), ('f', 'b', 'F', 'S')"
        )
        run(
            "INSERT INTO users (name, role, association_id, enterprise_id, token_hash, created_at) "
            f"VALUES ('m', 'enterprise_manager', 'a', 'e', 'h1', '{now}'), "
            f"('c', 'coordinator', 'b', NULL, 'h2', '{now}')"
        )
        person = "'SAMRE', 'Sigtuna', 59.6, 17.9, 10, '[]', 60, 'transit', '[]', '[]', '[]', false"
        run(f"INSERT INTO participants ({PARTICIPANT_COLUMNS}) VALUES ('P1', 'a', {person}), ('P2', 'b', {person})")
        run(
            "INSERT INTO sites (id, enterprise_id, name, municipality, lat, lon, accessibility) "
            "VALUES ('s', 'e', 'S', 'S', 59.6, 17.9, '[]'), ('t', 'f', 'T', 'S', 59.6, 17.9, '[]')"
        )
        slot = "'a', 2, 5, 20, '[]', '[]', '[]', false, 0.25, 1"
        run(
            "INSERT INTO slots (id, site_id, activity, seats, min_hours, max_hours, days, supports, programmes, "
            f"women_only, supervision_ratio, version) VALUES ('x', 's', {slot}), ('y', 't', {slot})"
        )
        run("INSERT INTO travel_times (participant_id, site_id, minutes) VALUES ('P1', 's', 10), ('P2', 't', 20)")
        run(
            "INSERT INTO placements (participant_id, slot_id, start_date, created_at) "
            f"VALUES ('P1', 'x', '2026-01-01', '{now}'), ('P2', 'y', '2026-01-01', '{now}')"
        )
        run(
            "INSERT INTO capacity_history (slot_id, site_id, changed_at, field, old_value, new_value) "
            f"VALUES ('x', NULL, '{now}', 'seats', '1', '2'), (NULL, 't', '{now}', 'supervisor_hours', '1', '2')"
        )
        run(
            "INSERT INTO scheduled_capacity_changes "
            "(site_id, effective_from, fields, created_at, base_version, status) "
            f"VALUES ('s', '2030-03-01', '{{}}', '{now}', 1, 'scheduled')"
        )


def _owners(engine: Engine, table: str, key: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"SELECT {key}, association_id FROM {table} ORDER BY {key}").all()  # noqa: S608
    return [(str(k), str(a)) for k, a in rows]


def test_0006_tenancy_upgrades_a_populated_database_and_gives_every_row_its_association(fresh_url, fresh_engine):
    command.upgrade(alembic_config(fresh_url), "0004_dated")
    _populate_at_0004(fresh_engine)
    upgrade(fresh_url)
    assert _differences(fresh_engine) == []
    assert _owners(fresh_engine, "sites", "id") == [("s", "a"), ("t", "b")]
    assert _owners(fresh_engine, "slots", "id") == [("x", "a"), ("y", "b")]
    assert _owners(fresh_engine, "travel_times", "participant_id") == [("P1", "a"), ("P2", "b")]
    assert _owners(fresh_engine, "placements", "participant_id") == [("P1", "a"), ("P2", "b")]
    assert _owners(fresh_engine, "capacity_history", "field") == [("seats", "a"), ("supervisor_hours", "b")]
    assert _owners(fresh_engine, "scheduled_capacity_changes", "status") == [("scheduled", "a")]
    with fresh_engine.connect() as conn:  # nothing was lost on the way (SQLite rebuilt every table)
        counts = {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one() for t in ("users", "participants")}  # noqa: S608
    assert counts == {"users": 2, "participants": 2}
    # Now two associations may hold the same ids; a reference across associations is refused by the database.
    person = "'SAMRE', 'Sigtuna', 59.6, 17.9, 10, '[]', 60, 'transit', '[]', '[]', '[]', false"
    with fresh_engine.begin() as conn:
        conn.exec_driver_sql(f"INSERT INTO participants ({PARTICIPANT_COLUMNS}) VALUES ('P1', 'b', {person})")
        conn.exec_driver_sql(
            "INSERT INTO enterprises (id, association_id, name, municipality) VALUES ('e', 'b', 'E', 'S')"
        )
    with pytest.raises(Exception, match="(?i)foreign key"), fresh_engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO placements (association_id, participant_id, slot_id, start_date, created_at) "
            "VALUES ('b', 'P1', 'x', '2026-02-01', '2026-02-01 00:00:00')"
        )


def test_0006_tenancy_downgrades_while_ids_are_still_unique_across_associations(fresh_url, fresh_engine):
    command.upgrade(alembic_config(fresh_url), "0004_dated")
    _populate_at_0004(fresh_engine)
    upgrade(fresh_url)
    command.downgrade(alembic_config(fresh_url), "0004_dated")
    assert "association_id" not in {c["name"] for c in inspect(fresh_engine).get_columns("slots")}
    with fresh_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM placements").scalar_one() == 2
    upgrade(fresh_url)
    assert _differences(fresh_engine) == []
