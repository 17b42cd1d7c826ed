"""SMS channel (issue 5): delivery reports of the SMS providers.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "sms_delivery_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_key", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name="fk_sms_delivery_events_outbox_id",
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("event_key", name="uq_sms_delivery_events_event_key"),
    )
    op.create_index("ix_sms_delivery_events_external_id", "sms_delivery_events", ["external_id"])
    op.create_index("ix_sms_delivery_events_outbox_id", "sms_delivery_events", ["outbox_id"])


def downgrade() -> None:
    op.drop_index("ix_sms_delivery_events_outbox_id", table_name="sms_delivery_events")
    op.drop_index("ix_sms_delivery_events_external_id", table_name="sms_delivery_events")
    op.drop_table("sms_delivery_events")
