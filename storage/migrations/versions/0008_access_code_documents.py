"""A per-report access code (issue 14): the reporter gets it in the filing confirmation, and
whoever holds it may check the report or add to it from another chat (`cek MDN-00042 <code>`).
Reports filed before have none: only their reporting contact may.

And whether an attachment is a file (a Telegram document) rather than a photo: Telegram sends a
document's file id only as a document, so officers' cards must too.

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


# A plain ADD/DROP COLUMN (SQLite has both): a batch table copy would drop the reports table's
# analytics triggers (0006).


def upgrade() -> None:
    op.add_column("reports", sa.Column("access_code", sa.String(), nullable=True))
    op.add_column(
        "attachments",
        sa.Column("document", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("attachments", "document")
    op.drop_column("reports", "access_code")
