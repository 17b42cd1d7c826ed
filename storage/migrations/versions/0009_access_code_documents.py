"""A per-report access code (issue 14): the reporter gets it in the filing confirmation, and
whoever holds it may check the report or add to it from another chat (`cek MDN-00042 <code>`).
Reports filed before have none: only their reporting contact may.

And whether an attachment is a file (a Telegram document) rather than a photo: Telegram sends a
document's file id only as a document, so officers' cards must too.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


# A table of its own for the codes, and a plain ADD COLUMN for attachments (SQLite has it): a
# batch copy of the reports table would drop its analytics triggers (0006).


def upgrade() -> None:
    op.create_table(
        "report_access_codes",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name="fk_report_access_codes_report_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id"),
    )
    op.add_column(
        "attachments",
        sa.Column("document", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("attachments", "document")
    op.drop_table("report_access_codes")
