"""inspection version

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # An integer that every change moves on: the guard against lost updates (a timestamp
    # could repeat within its precision, or step back with the clock).
    op.add_column("inspection", sa.Column("version", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("inspection") as batch:
        batch.drop_column("version")
