"""answer source: the message that gave an answer

Revision ID: 0006_answer_source
Revises: 0005_report_facts
Create Date: 2026-12-01 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0006_answer_source"
down_revision: str | None = "0005_report_facts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("answerchange") as batch:
        batch.add_column(sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True))
        batch.create_index("ix_answerchange_source", ["source"])


def downgrade() -> None:
    with op.batch_alter_table("answerchange") as batch:
        batch.drop_index("ix_answerchange_source")
        batch.drop_column("source")
