"""Dated capacity changes: `scheduled_capacity_changes` holds changes to a slot or a site that hold from a date.

A new table only (no table is altered), so SQLite needs no batch rebuild of a table others refer to (see 0003).

Revision ID: 0004_dated
Revises: 0003_capacity
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_dated"
down_revision = "0003_capacity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduled_capacity_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.String(length=64), nullable=True),
        sa.Column("site_id", sa.String(length=64), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "(slot_id IS NULL) <> (site_id IS NULL)", name=op.f("ck_scheduled_capacity_changes_one_target")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_scheduled_capacity_changes_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_scheduled_capacity_changes_site_id_sites"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"], ["slots.id"], name=op.f("fk_scheduled_capacity_changes_slot_id_slots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_capacity_changes")),
    )
    op.create_index(
        op.f("ix_scheduled_capacity_changes_site_id"), "scheduled_capacity_changes", ["site_id"], unique=False
    )
    op.create_index(
        op.f("ix_scheduled_capacity_changes_slot_id"), "scheduled_capacity_changes", ["slot_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_scheduled_capacity_changes_slot_id"), table_name="scheduled_capacity_changes")
    op.drop_index(op.f("ix_scheduled_capacity_changes_site_id"), table_name="scheduled_capacity_changes")
    op.drop_table("scheduled_capacity_changes")
