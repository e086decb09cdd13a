"""Sites get an ETag version and a change history; the audit log becomes one row per request.

- sites.version (the ETag, as slots have);
- capacity_history.site_id: the history holds site changes too (exactly one of slot_id and site_id is set);
- audit_log: one row per request with the user's name and role and the request's method and path; the participants
  a request touched are rows of audit_participants (indexed, so "who read P0042" is one indexed query).
  Old rows (one per participant) are kept as they were: each becomes a row listing its one participant.

SQLite runs with foreign keys on, and batch mode rebuilds a table by copying it and dropping the old one; dropping a
table other tables refer to would delete (ON DELETE CASCADE) or refuse (slots) their rows. So this migration never
rebuilds such a table: sites gets its column by a plain ALTER TABLE, and audit_log is rebuilt only while no table
refers to it (its participant links wait in a helper table meanwhile).

End reasons `health` and `completed` need no DDL: end_reason is a VARCHAR(32) without a CHECK (native_enum=False).

Revision ID: 0003_capacity
Revises: 0002_plans
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_capacity"
down_revision = "0002_plans"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # --- sites: an ETag version (a plain ADD COLUMN: see above) ---------------------------------------------------
    op.add_column("sites", sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")))

    # --- capacity_history: slot or site (no table refers to it, so a rebuild is safe) ------------------------------
    with op.batch_alter_table("capacity_history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("site_id", sa.String(length=64), nullable=True))
        batch_op.alter_column("slot_id", existing_type=sa.String(length=64), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_capacity_history_site_id_sites"), "sites", ["site_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_index(batch_op.f("ix_capacity_history_site_id"), ["site_id"], unique=False)
        batch_op.create_check_constraint(
            batch_op.f("ck_capacity_history_one_target"), "(slot_id IS NULL) <> (site_id IS NULL)"
        )

    # --- audit: one row per request, participants in a child table ------------------------------------------------
    _links_table("audit_links_0002")
    op.execute(
        "INSERT INTO audit_links_0002 (audit_id, participant_id) "
        "SELECT id, entity_id FROM audit_log WHERE entity_type = 'participant'"
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_name", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("user_role", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("method", sa.String(length=8), nullable=True))
        batch_op.alter_column(
            "endpoint", new_column_name="path", existing_type=sa.String(length=200), existing_nullable=False
        )
        batch_op.drop_index(batch_op.f("ix_audit_log_entity_id"))
        batch_op.drop_column("entity_id")
        batch_op.drop_column("entity_type")
    op.execute(
        "UPDATE audit_log SET user_name = (SELECT users.name FROM users WHERE users.id = audit_log.user_id), "
        "user_role = (SELECT users.role FROM users WHERE users.id = audit_log.user_id)"
    )
    op.create_table(
        "audit_participants",
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"], ["audit_log.id"], name=op.f("fk_audit_participants_audit_id_audit_log"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("audit_id", "participant_id", name=op.f("pk_audit_participants")),
    )
    with op.batch_alter_table("audit_participants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_participants_participant_id"), ["participant_id"], unique=False)
    op.execute(
        "INSERT INTO audit_participants (audit_id, participant_id) "
        "SELECT audit_id, participant_id FROM audit_links_0002"
    )
    op.drop_table("audit_links_0002")


def _links_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.String(length=64), nullable=False),
    )


def downgrade() -> None:
    # --- audit: back to one row per participant (the links wait aside while audit_log is rebuilt) ------------------
    _links_table("audit_links_0002")
    op.execute(
        "INSERT INTO audit_links_0002 (audit_id, participant_id) "
        "SELECT audit_id, participant_id FROM audit_participants"
    )
    with op.batch_alter_table("audit_participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_participants_participant_id"))
    op.drop_table("audit_participants")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entity_type", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("entity_id", sa.String(length=64), nullable=True))
        batch_op.alter_column(
            "path", new_column_name="endpoint", existing_type=sa.String(length=200), existing_nullable=False
        )
    first = "(SELECT MIN(q.participant_id) FROM audit_links_0002 q WHERE q.audit_id = {0})"
    # Every participant but the first gets a row of its own; the first stays on the request's row.
    op.execute(
        "INSERT INTO audit_log (at, user_id, action, endpoint, entity_type, entity_id) "
        "SELECT a.at, a.user_id, a.action, a.endpoint, 'participant', p.participant_id "
        "FROM audit_log a JOIN audit_links_0002 p ON p.audit_id = a.id "
        f"WHERE a.entity_type IS NULL AND p.participant_id <> {first.format('a.id')}"
    )
    op.execute(
        f"UPDATE audit_log SET entity_type = 'participant', entity_id = {first.format('audit_log.id')} "
        "WHERE entity_type IS NULL AND EXISTS (SELECT 1 FROM audit_links_0002 p WHERE p.audit_id = audit_log.id)"
    )
    op.execute("UPDATE audit_log SET entity_type = 'request', entity_id = '' WHERE entity_type IS NULL")
    op.drop_table("audit_links_0002")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("entity_type", existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column("entity_id", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index(batch_op.f("ix_audit_log_entity_id"), ["entity_id"], unique=False)
        batch_op.drop_column("method")
        batch_op.drop_column("user_role")
        batch_op.drop_column("user_name")

    # --- capacity_history: slots only (site rows are dropped) ------------------------------------------------------
    op.execute("DELETE FROM capacity_history WHERE slot_id IS NULL")
    with op.batch_alter_table("capacity_history", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_capacity_history_one_target"), type_="check")
        batch_op.drop_index(batch_op.f("ix_capacity_history_site_id"))
        batch_op.drop_constraint(batch_op.f("fk_capacity_history_site_id_sites"), type_="foreignkey")
        batch_op.drop_column("site_id")
        batch_op.alter_column("slot_id", existing_type=sa.String(length=64), nullable=False)

    # --- sites: a plain DROP COLUMN (SQLite 3.35+), never a rebuild of a table slots and travel times refer to ------
    with op.batch_alter_table("sites", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("version")
