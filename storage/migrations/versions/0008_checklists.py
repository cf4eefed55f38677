"""checklists installed at run time (when a stored version was installed: the newest is in use);
villages in the registry, and inspections of a village (the village checklist)

Revision ID: 0008_checklists
Revises: 0007_service
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import storage.types

revision: str = "0008_checklists"
down_revision: str | None = "0007_service"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite reflects the unnamed UNIQUE (township_id, year) of 0001 without a name: batch mode
# names it by this convention so that it can be dropped; PostgreSQL named it itself.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _unique_name() -> str:
    return (
        "uq_inspection_township_id"
        if op.get_bind().dialect.name == "sqlite"
        else "inspection_township_id_year_key"
    )


def upgrade() -> None:
    with op.batch_alter_table("checklistversion") as batch:
        batch.add_column(sa.Column("installed_at", storage.types.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "village",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(["township_id"], ["township.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("township_id", "name"),
    )
    with op.batch_alter_table("village") as batch:
        batch.create_index("ix_village_township_id", ["township_id"], unique=False)
    with op.batch_alter_table("inspection", naming_convention=_NAMING) as batch:
        batch.add_column(sa.Column("village_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_inspection_village_id", "village", ["village_id"], ["id"])
        batch.drop_constraint(_unique_name(), type_="unique")
    op.create_index(
        "ux_inspection_township_year",
        "inspection",
        ["township_id", "year"],
        unique=True,
        sqlite_where=sa.text("village_id IS NULL"),
        postgresql_where=sa.text("village_id IS NULL"),
    )
    op.create_index(
        "ux_inspection_village_year",
        "inspection",
        ["village_id", "year"],
        unique=True,
        sqlite_where=sa.text("village_id IS NOT NULL"),
        postgresql_where=sa.text("village_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ux_inspection_village_year", table_name="inspection")
    op.drop_index("ux_inspection_township_year", table_name="inspection")
    with op.batch_alter_table("inspection", naming_convention=_NAMING) as batch:
        batch.drop_constraint("fk_inspection_village_id", type_="foreignkey")
        batch.drop_column("village_id")
        batch.create_unique_constraint(_unique_name(), ["township_id", "year"])
    with op.batch_alter_table("village") as batch:
        batch.drop_index("ix_village_township_id")
    op.drop_table("village")
    with op.batch_alter_table("checklistversion") as batch:
        batch.drop_column("installed_at")
