"""rectification items (整改事项), their history, and the township contact's township

Revision ID: 0009_rectification
Revises: 0008_checklists
Create Date: 2026-12-01 13:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import storage.types

revision: str = "0009_rectification"
down_revision: str | None = "0008_checklists"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("township_id", sa.Integer(), nullable=True))
        batch.create_index("ix_person_township_id", ["township_id"])
        batch.create_foreign_key("fk_person_township_id", "township", ["township_id"], ["id"])
    op.create_table(
        "rectificationitem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("finding", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("closed_how", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("opened_by", sa.Integer(), nullable=True),
        sa.Column("opened_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["township_id"], ["township.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["inspection_id"], ["inspection.id"]),
        sa.ForeignKeyConstraint(["owner_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["opened_by"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("township_id", "year", "finding"),
    )
    op.create_index("ix_rectificationitem_township_id", "rectificationitem", ["township_id"])
    op.create_index("ix_rectificationitem_status_due", "rectificationitem", ["status", "due"])
    op.create_table(
        "itemevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("by", sa.Integer(), nullable=True),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["rectificationitem.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["by"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_itemevent_item", "itemevent", ["item_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_itemevent_item", table_name="itemevent")
    op.drop_table("itemevent")
    op.drop_index("ix_rectificationitem_status_due", table_name="rectificationitem")
    op.drop_index("ix_rectificationitem_township_id", table_name="rectificationitem")
    op.drop_table("rectificationitem")
    with op.batch_alter_table("person") as batch:
        batch.drop_constraint("fk_person_township_id", type_="foreignkey")
        batch.drop_index("ix_person_township_id")
        batch.drop_column("township_id")
