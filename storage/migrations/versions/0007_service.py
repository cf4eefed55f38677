"""service: who holds a reminder's claim; the inbox of callbacks stored before acknowledging

Revision ID: 0007_service
Revises: 0006_answer_source
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from storage.types import UTCDateTime

revision: str = "0007_service"
down_revision: str | None = "0006_answer_source"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reminderlog") as batch:
        batch.add_column(sa.Column("claimed_by", sa.BigInteger(), nullable=True))
    op.create_table(
        "inboxmessage",
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("update_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("channel", "update_id"),
    )
    op.create_index("ix_inboxmessage_processed_at", "inboxmessage", ["processed_at"])


def downgrade() -> None:
    op.drop_index("ix_inboxmessage_processed_at", table_name="inboxmessage")
    op.drop_table("inboxmessage")
    with op.batch_alter_table("reminderlog") as batch:
        batch.drop_column("claimed_by")
