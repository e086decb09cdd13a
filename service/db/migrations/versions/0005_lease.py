"""Plan leases: `plans.lease` and `plans.owner` say which worker took a plan; only it writes the plan's end.
`plans.deadline` says, while the core solves, by when it must have returned (the service stops it after).

Three nullable columns added (no table rebuilt), so SQLite needs no batch mode.

Revision ID: 0005_lease
Revises: 0009_version
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_lease"
down_revision = "0009_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("plans", sa.Column("lease", sa.String(length=36), nullable=True))
    op.add_column("plans", sa.Column("owner", sa.String(length=200), nullable=True))
    op.add_column("plans", sa.Column("deadline", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("deadline")
        batch.drop_column("owner")
        batch.drop_column("lease")
