"""Tenancy: participant, enterprise, site and slot ids are unique within an association, not across associations.

- sites, slots, travel_times, placements, capacity_history and scheduled_capacity_changes get association_id,
  filled from the row they belong to (a site's enterprise, a slot's site, a participant...);
- participants, enterprises, sites and slots get the primary key (association_id, id), travel_times
  (association_id, participant_id, site_id);
- every foreign key to them becomes composite, (association_id, x_id) -> x(association_id, id), users' enterprise
  included; the one-active-placement index becomes (association_id, participant_id).

SQLite: batch mode rebuilds each table (copy, drop the old one, rename), and dropping a table others refer to would
delete (ON DELETE CASCADE) or refuse their rows while foreign keys are on (see 0003). Every table of the group is
rebuilt here, so foreign keys are switched off for the rebuilds (outside the transaction: SQLite ignores the pragma
inside one), checked with `PRAGMA foreign_key_check` at the end, and switched on again: SQLite's own procedure for
schema changes. PostgreSQL alters in place, in order: drop the old foreign keys, swap the primary keys, add the
composite foreign keys.

Revision ID: 0006_tenancy
Revises: 0004_dated
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0006_tenancy"
down_revision = "0004_dated"
branch_labels = None
depends_on = None

# (table, name, columns, referred table, ondelete) of the foreign keys that become composite.
FOREIGN_KEYS: list[tuple[str, str, str, str, str | None]] = [
    ("users", "fk_users_enterprise_id_enterprises", "enterprise_id", "enterprises", None),
    ("sites", "fk_sites_enterprise_id_enterprises", "enterprise_id", "enterprises", None),
    ("slots", "fk_slots_site_id_sites", "site_id", "sites", None),
    ("travel_times", "fk_travel_times_participant_id_participants", "participant_id", "participants", "CASCADE"),
    ("travel_times", "fk_travel_times_site_id_sites", "site_id", "sites", "CASCADE"),
    ("placements", "fk_placements_participant_id_participants", "participant_id", "participants", None),
    ("placements", "fk_placements_slot_id_slots", "slot_id", "slots", None),
    ("capacity_history", "fk_capacity_history_slot_id_slots", "slot_id", "slots", "CASCADE"),
    ("capacity_history", "fk_capacity_history_site_id_sites", "site_id", "sites", "CASCADE"),
    ("scheduled_capacity_changes", "fk_scheduled_capacity_changes_slot_id_slots", "slot_id", "slots", "CASCADE"),
    ("scheduled_capacity_changes", "fk_scheduled_capacity_changes_site_id_sites", "site_id", "sites", "CASCADE"),
]
# table -> (old primary key, new primary key)
PRIMARY_KEYS: dict[str, tuple[list[str], list[str]]] = {
    "enterprises": (["id"], ["association_id", "id"]),
    "participants": (["id"], ["association_id", "id"]),
    "sites": (["id"], ["association_id", "id"]),
    "slots": (["id"], ["association_id", "id"]),
    "travel_times": (["participant_id", "site_id"], ["association_id", "participant_id", "site_id"]),
}
NEW_COLUMN = ["sites", "slots", "travel_times", "placements", "capacity_history", "scheduled_capacity_changes"]
TABLES = ["users", "enterprises", "participants", *NEW_COLUMN]
FILL = {
    "sites": "(SELECT e.association_id FROM enterprises e WHERE e.id = sites.enterprise_id)",
    "slots": "(SELECT s.association_id FROM sites s WHERE s.id = slots.site_id)",
    "travel_times": "(SELECT p.association_id FROM participants p WHERE p.id = travel_times.participant_id)",
    "placements": "(SELECT p.association_id FROM participants p WHERE p.id = placements.participant_id)",
    "capacity_history": "COALESCE((SELECT s.association_id FROM slots s WHERE s.id = capacity_history.slot_id), "
    "(SELECT t.association_id FROM sites t WHERE t.id = capacity_history.site_id))",
    "scheduled_capacity_changes": "COALESCE("
    "(SELECT s.association_id FROM slots s WHERE s.id = scheduled_capacity_changes.slot_id), "
    "(SELECT t.association_id FROM sites t WHERE t.id = scheduled_capacity_changes.site_id))",
}
ACTIVE_INDEX = "uq_placements_active_participant"
Step = Callable[[str, object, bool], None]


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _sqlite_between_transactions(statement: str) -> None:
    """Commit, run `statement` outside a transaction, begin again: SQLite ignores `PRAGMA foreign_keys` inside one.
    Done on the driver's connection, as Alembic's autocommit block would still begin a transaction (the engine's
    begin hook issues BEGIN, or BEGIN IMMEDIATE for a write, on every begin)."""
    driver = op.get_bind().connection.dbapi_connection
    assert driver is not None
    if driver.in_transaction:
        driver.execute("COMMIT")
    driver.execute(statement)
    driver.execute("BEGIN IMMEDIATE")


@contextmanager
def _foreign_keys_off() -> Iterator[None]:
    """On SQLite, foreign keys off while the tables are rebuilt, checked before they are switched on again."""
    if not _sqlite():
        yield
        return
    _sqlite_between_transactions("PRAGMA foreign_keys=OFF")
    try:
        yield
        broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"0006_tenancy: rows whose reference is broken after the rebuild: {broken[:10]}")
    finally:
        _sqlite_between_transactions("PRAGMA foreign_keys=ON")


def _drop_foreign_keys(table: str, batch_op: object, _up: bool) -> None:
    for owner, name, _column, _referred, _ondelete in FOREIGN_KEYS:
        if owner == table:
            batch_op.drop_constraint(name, type_="foreignkey")  # type: ignore[attr-defined]


def _swap_primary_key(table: str, batch_op: object, up: bool) -> None:
    if up and table in NEW_COLUMN:  # (down, the column is dropped afterwards)
        batch_op.alter_column(  # type: ignore[attr-defined]
            "association_id", existing_type=sa.String(length=64), nullable=False
        )
    if table in PRIMARY_KEYS:
        old, new = PRIMARY_KEYS[table]
        batch_op.drop_constraint(f"pk_{table}", type_="primary")  # type: ignore[attr-defined]
        batch_op.create_primary_key(f"pk_{table}", new if up else old)  # type: ignore[attr-defined]


def _create_foreign_keys(table: str, batch_op: object, up: bool) -> None:
    for owner, name, column, referred, ondelete in FOREIGN_KEYS:
        if owner == table:
            local, remote = (["association_id", column], ["association_id", "id"]) if up else ([column], ["id"])
            batch_op.create_foreign_key(  # type: ignore[attr-defined]
                name, referred, local, remote, ondelete=ondelete
            )


def _rebuild(up: bool) -> None:
    steps: list[Step] = [_drop_foreign_keys, _swap_primary_key, _create_foreign_keys]
    if _sqlite():  # foreign keys are off: one rebuild per table, in any order
        for table in TABLES:
            with op.batch_alter_table(table, recreate="always") as batch_op:
                for step in steps:
                    step(table, batch_op, up)
        return
    for step in steps:  # PostgreSQL: no key is dropped while a foreign key still needs it
        for table in TABLES:
            with op.batch_alter_table(table) as batch_op:
                step(table, batch_op, up)


def _active_index(columns: list[str]) -> None:
    op.create_index(
        ACTIVE_INDEX,
        "placements",
        columns,
        unique=True,
        sqlite_where=sa.text("end_date IS NULL"),
        postgresql_where=sa.text("end_date IS NULL"),
    )


def upgrade() -> None:
    with _foreign_keys_off():
        for table in NEW_COLUMN:
            op.add_column(table, sa.Column("association_id", sa.String(length=64), nullable=True))
        for table in NEW_COLUMN:  # in order: a slot's site has its association before the slot reads it
            op.execute(f"UPDATE {table} SET association_id = {FILL[table]}")  # noqa: S608 (constants only)
        op.drop_index(ACTIVE_INDEX, table_name="placements")
        _rebuild(up=True)
        _active_index(["association_id", "participant_id"])


def downgrade() -> None:
    """Back to ids unique across associations: fails (on the old primary keys) if two associations share an id."""
    with _foreign_keys_off():
        op.drop_index(ACTIVE_INDEX, table_name="placements")
        _rebuild(up=False)
        for table in NEW_COLUMN:
            with op.batch_alter_table(table) as batch_op:
                batch_op.drop_column("association_id")
        _active_index(["participant_id"])
