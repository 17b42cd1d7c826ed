"""Initial schema: contacts, conversations, reports, attachments, status events, inbox,
outbox and ticket counters.

Revision ID: 0001
Revises:
Create Date: 2025-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("chat_id", sa.String(), nullable=False),
        sa.Column("display_name", sa.String(), nullable=True),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("language", sa.String(), nullable=True),
        sa.Column("reachable", sa.Boolean(), nullable=False),
        _ts("last_inbound_at", nullable=True),
        _ts("created_at"),
        sa.UniqueConstraint("channel", "user_id", name="uq_contacts_channel_user"),
    )
    op.create_index("ix_contacts_channel_chat", "contacts", ["channel", "chat_id"])

    op.create_table(
        "conversations",
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("chat_id", sa.String(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("updated_at"),
        _ts("expires_at", nullable=True),
    )
    op.create_index("ix_conversations_expires_at", "conversations", ["expires_at"])

    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("category_id", sa.String(), nullable=True),
        sa.Column("agency_id", sa.String(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("kelurahan", sa.String(), nullable=True),
        sa.Column("kecamatan", sa.String(), nullable=True),
        sa.Column("kelurahan_code", sa.String(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("chat_id", sa.String(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_reports_contact_id", ondelete="SET NULL"
        ),
        sa.UniqueConstraint("ticket", name="uq_reports_ticket"),
    )
    op.create_index("ix_reports_created_at", "reports", ["created_at"])
    op.create_index("ix_reports_status_created_at", "reports", ["status", "created_at"])
    op.create_index("ix_reports_category_created_at", "reports", ["category_id", "created_at"])
    op.create_index("ix_reports_agency_created_at", "reports", ["agency_id", "created_at"])
    op.create_index("ix_reports_channel_chat", "reports", ["channel", "chat_id"])
    op.create_index("ix_reports_contact_id", "reports", ["contact_id"])

    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("platform_ref", sa.Text(), nullable=False),
        sa.Column("mime", sa.String(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("stored_path", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(), nullable=True),
        sa.Column("fetch_status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name="fk_attachments_report_id", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_attachments_report_id", "attachments", ["report_id"])
    op.create_index("ix_attachments_fetch_status", "attachments", ["fetch_status", "id"])

    op.create_table(
        "status_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name="fk_status_events_report_id", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_status_events_report_created", "status_events", ["report_id", "created_at"])

    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        _ts("received_at"),
        _ts("processed_at", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.UniqueConstraint("channel", "external_id", name="uq_inbox_channel_external"),
    )
    op.create_index("ix_inbox_processed_at_id", "inbox", ["processed_at", "id"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("conversation_key", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("chat_id", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("due_at"),
        _ts("lease_until", nullable=True),
        sa.Column("external_id", sa.String(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _ts("created_at"),
        _ts("sent_at", nullable=True),
    )
    op.create_index("ix_outbox_status_due_at", "outbox", ["status", "due_at"])
    op.create_index("ix_outbox_conversation_id", "outbox", ["conversation_key", "id"])
    op.create_index("ix_outbox_channel_external", "outbox", ["channel", "external_id"])

    op.create_table(
        "ticket_counters",
        sa.Column("prefix", sa.String(), primary_key=True),
        sa.Column("next_value", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ticket_counters")
    op.drop_table("outbox")
    op.drop_table("inbox")
    op.drop_table("status_events")
    op.drop_table("attachments")
    op.drop_table("reports")
    op.drop_table("conversations")
    op.drop_table("contacts")
