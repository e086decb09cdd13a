"""Sites get an ETag version and a change history; the audit log becomes one row per request.

- sites.version (the ETag, as slots have);
- capacity_history.site_id: the history holds site changes too (exactly one of slot_id and site_id is set);
- audit_log: one row per request with the user's name and role and the request's method and path; the participants
  a request touched are rows of audit_participants (indexed, so "who read P0042" is one indexed query).
  Old rows (one per participant) are kept as they were: each becomes a row listing its one participant.

End reasons `health` and `completed` need no DDL: end_reason is a VARCHAR(32) without a CHECK (native_enum=False).

Revision ID: 0002_capacity
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_capacity"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # --- sites: an ETag version ---------------------------------------------------------------------------------
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.alter_column("version", existing_type=sa.Integer(), server_default=None)

    # --- capacity_history: slot or site ---------------------------------------------------------------------------
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
        "SELECT id, entity_id FROM audit_log WHERE entity_type = 'participant'"
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_name", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("user_role", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("method", sa.String(length=8), nullable=True))
        batch_op.alter_column("endpoint", new_column_name="path", existing_type=sa.String(length=200), existing_nullable=False)
    op.execute(
        "UPDATE audit_log SET user_name = (SELECT users.name FROM users WHERE users.id = audit_log.user_id), "
        "user_role = (SELECT users.role FROM users WHERE users.id = audit_log.user_id)"
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_entity_id"))
        batch_op.drop_column("entity_id")
        batch_op.drop_column("entity_type")


def downgrade() -> None:
    # --- audit: back to one row per participant ------------------------------------------------------------------
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entity_type", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("entity_id", sa.String(length=64), nullable=True))
        batch_op.alter_column("path", new_column_name="endpoint", existing_type=sa.String(length=200), existing_nullable=False)
    first = "(SELECT MIN(p.participant_id) FROM audit_participants p WHERE p.audit_id = audit_log.id)"
    # Every participant but the first gets a row of its own; the first stays on the request's row.
    op.execute(
        "INSERT INTO audit_log (at, user_id, action, endpoint, entity_type, entity_id) "
        "SELECT a.at, a.user_id, a.action, a.endpoint, 'participant', p.participant_id "
        "FROM audit_log a JOIN audit_participants p ON p.audit_id = a.id "
        "WHERE p.participant_id <> (SELECT MIN(q.participant_id) FROM audit_participants q WHERE q.audit_id = a.id)"
    )
    op.execute(
        f"UPDATE audit_log SET entity_type = 'participant', entity_id = {first} "
        "WHERE entity_type IS NULL AND EXISTS (SELECT 1 FROM audit_participants p WHERE p.audit_id = audit_log.id)"
    )
    op.execute("UPDATE audit_log SET entity_type = 'request', entity_id = '' WHERE entity_type IS NULL")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("entity_type", existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column("entity_id", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index(batch_op.f("ix_audit_log_entity_id"), ["entity_id"], unique=False)
        batch_op.drop_column("method")
        batch_op.drop_column("user_role")
        batch_op.drop_column("user_name")
    with op.batch_alter_table("audit_participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_participants_participant_id"))
    op.drop_table("audit_participants")

    # --- capacity_history: slots only (site rows are dropped) ------------------------------------------------------
    op.execute("DELETE FROM capacity_history WHERE slot_id IS NULL")
    with op.batch_alter_table("capacity_history", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_capacity_history_one_target"), type_="check")
        batch_op.drop_index(batch_op.f("ix_capacity_history_site_id"))
        batch_op.drop_constraint(batch_op.f("fk_capacity_history_site_id_sites"), type_="foreignkey")
        batch_op.drop_column("site_id")
        batch_op.alter_column("slot_id", existing_type=sa.String(length=64), nullable=False)

    # --- sites --------------------------------------------------------------------------------------------------
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("version")
