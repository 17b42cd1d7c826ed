"""WhatsApp channel (issue 4): delivery statuses of the messages we sent.

(The outbox's new "waiting" status, for replies held until the citizen writes again, is a value
of the existing string column and needs no schema change.)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

TABLE = "whatsapp_delivery_events"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("chat_id", sa.String(), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name="fk_whatsapp_delivery_events_outbox_id",
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("external_id", "status", name="uq_whatsapp_delivery_events_status"),
    )
    op.create_index("ix_whatsapp_delivery_events_outbox_id", TABLE, ["outbox_id"])
    op.create_index(
        "ix_whatsapp_delivery_events_chat_status", TABLE, ["chat_id", "status", "received_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_whatsapp_delivery_events_chat_status", table_name=TABLE)
    op.drop_index("ix_whatsapp_delivery_events_outbox_id", table_name=TABLE)
    op.drop_table(TABLE)
