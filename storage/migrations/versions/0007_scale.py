"""Scale-out (issue 8): no schema changes.

What several workers share beyond the database (conversation state, locks, leases, rate limits,
wake-ups, in-flight claims) lives in Redis (storage/redis_state.py); the database keeps its
tables, and the inbox's unique constraint and the outbox's row locks do the rest.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
