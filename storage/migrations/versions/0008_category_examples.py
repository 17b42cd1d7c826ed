"""Category training examples (issue 13): officers' corrections, learned by `lapor train`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "category_examples",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "report_id",
            sa.Integer(),
            sa.ForeignKey("reports.id", ondelete="SET NULL", name="fk_category_examples_report_id"),
            nullable=True,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category_id", sa.String(), nullable=False),
        sa.Column("previous_category_id", sa.String(), nullable=True),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_category_examples_created_at", "category_examples", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_category_examples_created_at", table_name="category_examples")
    op.drop_table("category_examples")
