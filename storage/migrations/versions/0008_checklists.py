"""checklists installed at run time: when a stored version was installed (the newest is in use)

Revision ID: 0008_checklists
Revises: 0006_answer_source
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0008_checklists"
down_revision: str | None = "0006_answer_source"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("checklistversion") as batch:
        batch.add_column(sa.Column("installed_at", storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("checklistversion") as batch:
        batch.drop_column("installed_at")
