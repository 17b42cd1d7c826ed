"""Socialisation campaigns (issue 15): which campaign brought a conversation, its funnel
sessions and its reports. Nullable: everything before this came through no campaign.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None

_NOT_NULL = sa.text("campaign IS NOT NULL")
_TABLES = ("conversations", "reports", "funnel_sessions")

# Plain ADD COLUMN / DROP COLUMN (SQLite 3.35+ has both): no batch copy of the tables, which
# would lose the triggers that keep report_facts (0006).


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column("campaign", sa.String(), nullable=True))
    op.create_index("ix_reports_campaign_created_at", "reports", ["campaign", "created_at"])
    op.create_index(
        "ix_funnel_sessions_campaign",
        "funnel_sessions",
        ["campaign", "started_at", "outcome"],
        sqlite_where=_NOT_NULL,
        postgresql_where=_NOT_NULL,
    )


def downgrade() -> None:
    op.drop_index("ix_funnel_sessions_campaign", table_name="funnel_sessions")
    op.drop_index("ix_reports_campaign_created_at", table_name="reports")
    for table in reversed(_TABLES):
        op.drop_column(table, "campaign")
