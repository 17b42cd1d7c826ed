"""Who claimed an outbox row (issue 14): the claiming process's identity, so that a process
starting up can hand back at once the rows of a process that died (killed, crashed) instead of
waiting for their lease to run out.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


# A plain ADD COLUMN (SQLite has it), no batch copy of the table.


def upgrade() -> None:
    op.add_column("outbox", sa.Column("claimed_by", sa.String(), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "claimed_by")
