"""Fairness floor of a plan: `plans.fairness_floor` (null = none), the setting a plan was asked to keep.

One nullable column added; SQLite adds it in place (no batch rebuild of a table others refer to).

Revision ID: 0005_floor
Revises: 0004_dated
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_floor"
down_revision = "0007_idempotency"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("plans", sa.Column("fairness_floor", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("fairness_floor")
