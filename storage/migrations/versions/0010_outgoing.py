"""outgoing messages: notices to others kept until they are sent

Revision ID: 0010_outgoing
Revises: 0009_rectification
Create Date: 2026-12-01 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import storage.types

revision: str = "0010_outgoing"
down_revision: str | None = "0009_rectification"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outgoingmessage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reply", sa.JSON(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outgoingmessage_created_at", "outgoingmessage", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_outgoingmessage_created_at", table_name="outgoingmessage")
    op.drop_table("outgoingmessage")
