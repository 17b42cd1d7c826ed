"""Officer desk and report lifecycle (issue 6): desk state per report, cards in officers'
groups, officer and citizen messages, supporters and officer names.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _report_id(table: str) -> list[Any]:
    return [
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=f"fk_{table}_report_id", ondelete="CASCADE"
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "report_desk",
        sa.Column("id", sa.Integer(), primary_key=True),
        *_report_id("report_desk"),
        sa.Column("rating", sa.Integer(), nullable=True),
        _ts("rated_at", nullable=True),
        _ts("closed_at", nullable=True),
        sa.Column("close_reason", sa.String(), nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        _ts("verify_reminded_at", nullable=True),
        _ts("respond_reminded_at", nullable=True),
        _ts("updated_at"),
        sa.ForeignKeyConstraint(
            ["duplicate_of"],
            ["reports.id"],
            name="fk_report_desk_duplicate_of",
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("report_id", name="uq_report_desk_report_id"),
    )

    op.create_table(
        "report_cards",
        sa.Column("id", sa.Integer(), primary_key=True),
        *_report_id("report_cards"),
        sa.Column("chat_id", sa.String(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("media_outbox_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.String(), nullable=True),
        sa.Column("media_message_id", sa.String(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("menu", sa.String(), nullable=True),
        _ts("refresh_due_at", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name="fk_report_cards_outbox_id", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["media_outbox_id"],
            ["outbox.id"],
            name="fk_report_cards_media_outbox_id",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_report_cards_report_id", "report_cards", ["report_id"])
    op.create_index("ix_report_cards_refresh_due_at", "report_cards", ["refresh_due_at"])
    op.create_index("ix_report_cards_chat_message", "report_cards", ["chat_id", "message_id"])

    op.create_table(
        "report_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        *_report_id("report_messages"),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("author_name", sa.String(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachments.id"],
            name="fk_report_messages_attachment_id",
            ondelete="SET NULL",
        ),
    )
    op.create_index(
        "ix_report_messages_report_created", "report_messages", ["report_id", "created_at"]
    )

    op.create_table(
        "report_supporters",
        sa.Column("id", sa.Integer(), primary_key=True),
        *_report_id("report_supporters"),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("chat_id", sa.String(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name="fk_report_supporters_contact_id",
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("report_id", "channel", "chat_id", name="uq_report_supporters_chat"),
    )

    op.create_table(
        "desk_officers",
        sa.Column("user_id", sa.String(), primary_key=True),
        sa.Column("display_name", sa.String(), nullable=False),
        _ts("updated_at"),
    )


def downgrade() -> None:
    op.drop_table("desk_officers")
    op.drop_table("report_supporters")
    op.drop_table("report_messages")
    op.drop_table("report_cards")
    op.drop_table("report_desk")
