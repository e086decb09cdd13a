"""Data-subject rights and slot changes under placements: `placement_warnings` (rules an active placement breaks
after a forced slot change), `erasures` (the pseudonyms of erased participants) and `audit_log.status` (the status
of a denied attempt to read participant data) and `participants.erased_at` (an erased participant's anonymous row).

New tables and one nullable column (SQLite adds it in place, no batch rebuild).

Revision ID: 0008_subject
Revises: 0007_idempotency
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_subject"
down_revision = "0005_floor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("status", sa.Integer(), nullable=True))
    op.add_column("participants", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "placement_warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("placement_id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("scheduled_change_id", sa.Integer(), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_placement_warnings_created_by_users")),
        sa.ForeignKeyConstraint(
            ["placement_id"],
            ["placements.id"],
            name=op.f("fk_placement_warnings_placement_id_placements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scheduled_change_id"],
            ["scheduled_capacity_changes.id"],
            name=op.f("fk_placement_warnings_scheduled_change_id_scheduled_capacity_changes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placement_warnings")),
    )
    op.create_index(op.f("ix_placement_warnings_placement_id"), "placement_warnings", ["placement_id"], unique=False)
    op.create_index(
        op.f("ix_placement_warnings_scheduled_change_id"), "placement_warnings", ["scheduled_change_id"], unique=False
    )
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("association_id", sa.String(length=64), nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("erased_by", sa.Integer(), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["association_id"], ["associations.id"], name=op.f("fk_erasures_association_id_associations")
        ),
        sa.ForeignKeyConstraint(["erased_by"], ["users.id"], name=op.f("fk_erasures_erased_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasures")),
        sa.UniqueConstraint("pseudonym", name=op.f("uq_erasures_pseudonym")),
    )
    op.create_index(op.f("ix_erasures_association_id"), "erasures", ["association_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_erasures_association_id"), table_name="erasures")
    op.drop_table("erasures")
    op.drop_index(op.f("ix_placement_warnings_scheduled_change_id"), table_name="placement_warnings")
    op.drop_index(op.f("ix_placement_warnings_placement_id"), table_name="placement_warnings")
    op.drop_table("placement_warnings")
    # Not a batch rebuild on SQLite: dropping the rebuilt table would cascade to the rows that refer to it
    # (audit_participants, placements). SQLite 3.35+ drops a plain column in place.
    for table, column in (("participants", "erased_at"), ("audit_log", "status")):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
