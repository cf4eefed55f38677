"""service: who holds a reminder's claim; the inbox of callbacks stored before acknowledging;
photos in the database

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
    op.create_table(
        "photoblob",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("unique_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["inspection_id"], ["inspection.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("inspection_id", "unique_id"),
    )
    op.create_index("ix_photoblob_inspection_id", "photoblob", ["inspection_id"])


def downgrade() -> None:
    op.drop_index("ix_photoblob_inspection_id", table_name="photoblob")
    op.drop_table("photoblob")
    op.drop_index("ix_inboxmessage_processed_at", table_name="inboxmessage")
    op.drop_table("inboxmessage")
    with op.batch_alter_table("reminderlog") as batch:
        batch.drop_column("claimed_by")
