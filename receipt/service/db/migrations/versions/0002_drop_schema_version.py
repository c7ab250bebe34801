"""Drop schema_version, the numbered runner's bookkeeping: alembic_version keeps the revision now.

Downgrading puts it back at version 1, so the code from before Alembic accepts the database.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("schema_version")


def downgrade() -> None:
    table = op.create_table(
        "schema_version",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    applied = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":  # stored naive UTC there, as the models do
        applied = applied.replace(tzinfo=None)
    op.bulk_insert(table, [{"version": 1, "applied_at": applied}])
