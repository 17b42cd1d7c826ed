"""Scale-out (issue 8): no new tables; PostgreSQL vacuums the queue tables sooner.

What several workers share beyond the database (conversation state, locks, leases, rate limits,
wake-ups, in-flight claims) lives in Redis (storage/redis_state.py); the database keeps its
tables, and the inbox's unique constraint and the outbox's row locks do the rest.

The outbox and the inbox are queues: every row is updated two or three times and then never
again, so dead row versions pile up in their status indexes and the outbox claim slows down
between vacuums. On PostgreSQL, autovacuum visits them after 1% of their rows changed instead of
the default 20% (a table storage parameter; it needs autovacuum on, as it is by default).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

QUEUES = ("outbox", "inbox")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in QUEUES:
        op.execute(
            f"ALTER TABLE {table} SET (autovacuum_vacuum_scale_factor = 0.01, "
            "autovacuum_analyze_scale_factor = 0.02)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in QUEUES:
        op.execute(
            f"ALTER TABLE {table} RESET (autovacuum_vacuum_scale_factor, "
            "autovacuum_analyze_scale_factor)"
        )
