"""report facts: inspection facts as the checklist declares them; the inspection team

Revision ID: 0005_report_facts
Revises: 0004

The per-question columns of ``inspectionfact`` give way to the groups an inspection is in
and its number answers (JSON), so any checklist gets a report. The kept facts are derived
data: they are dropped here and computed again from the answers when first read.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import storage.types

revision: str = "0005_report_facts"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("inspectionfact")
    op.create_table(
        "inspectionfact",
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("stamp", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rules", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("unknown", sa.JSON(), nullable=False),
        sa.Column("numbers", sa.JSON(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["inspection_id"], ["inspection.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("inspection_id"),
    )
    op.create_table(
        "inspectionteam",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("leader", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("leader_title", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("asks", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )


def downgrade() -> None:
    op.drop_table("inspectionteam")
    op.drop_table("inspectionfact")
    op.create_table(
        "inspectionfact",
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("stamp", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rules", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("mask", sa.Integer(), nullable=False),
        sa.Column("filed_up_to", sa.Integer(), nullable=True),
        sa.Column("villages_total", sa.Integer(), nullable=True),
        sa.Column("villages_established", sa.Integer(), nullable=True),
        sa.Column("progress", sa.Float(), nullable=True),
        sa.Column("funding", sa.Float(), nullable=True),
        sa.Column("work_state", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(["inspection_id"], ["inspection.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("inspection_id"),
    )
