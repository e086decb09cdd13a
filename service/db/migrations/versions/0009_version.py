"""Data versions: `data_versions` counts the changes to what the core sees, per association (see
`service/db/data_version.py`), so a server process can keep the compiled instance until the data changes.

A new table, and `plans.work_limit` (nullable: an added column, no table rebuilt on SQLite). Every existing
association gets its version row, so its first count is known before its next write.

Revision ID: 0009_version
Revises: 0007_idempotency
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_version"
down_revision = "0008_subject"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_versions",
        sa.Column("association_id", sa.String(length=64), nullable=False),
        sa.Column("catalogue", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("occupancy", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("association_id", name=op.f("pk_data_versions")),
    )
    op.execute("INSERT INTO data_versions (association_id, catalogue, occupancy) SELECT id, 0, 0 FROM associations")
    op.add_column("plans", sa.Column("work_limit", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("work_limit")
    op.drop_table("data_versions")
