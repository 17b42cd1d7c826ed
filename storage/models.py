"""The tables. Migrations in storage/migrations must produce exactly this schema.

Timestamps are timezone-aware UTC datetimes; JSON columns hold dicts (stored as JSON text).
Table and index names are explicit so migrations can refer to them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.coltypes import JSONText, UTCDateTime, utcnow

# Values of string "enum" columns (kept as plain strings: cheaper to evolve than DB enums).
FETCH_PENDING, FETCH_STORED, FETCH_FAILED = "pending", "stored", "failed"
OUTBOX_PENDING, OUTBOX_INFLIGHT, OUTBOX_SENT, OUTBOX_DEAD = "pending", "inflight", "sent", "dead"


class Contact(SQLModel, table=True):
    """A citizen (or officer) as one platform knows them."""

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("channel", "user_id", name="uq_contacts_channel_user"),
        Index("ix_contacts_channel_chat", "channel", "chat_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str
    user_id: str  # the platform's stable user id
    chat_id: str  # where replies go
    display_name: str | None = None
    phone: str | None = None
    language: str | None = None
    reachable: bool = True  # False once the platform says we may not send (blocked bot, ...)
    last_inbound_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Conversation(SQLModel, table=True):
    """The flow's state for one chat, with a version for optimistic locking."""

    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_expires_at", "expires_at"),)

    key: str = Field(primary_key=True)  # "telegram:12345"
    channel: str
    chat_id: str
    state: dict[str, Any] = Field(default_factory=dict, sa_type=JSONText)
    version: int = 1
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Report(SQLModel, table=True):
    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("ticket", name="uq_reports_ticket"),
        Index("ix_reports_created_at", "created_at"),
        Index("ix_reports_status_created_at", "status", "created_at"),
        Index("ix_reports_category_created_at", "category_id", "created_at"),
        Index("ix_reports_agency_created_at", "agency_id", "created_at"),
        Index("ix_reports_channel_chat", "channel", "chat_id"),
        Index("ix_reports_contact_id", "contact_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket: str
    status: str = "received"
    category_id: str | None = None
    agency_id: str | None = None
    description: str = Field(default="", sa_type=Text)
    lat: float | None = None
    lon: float | None = None
    kelurahan: str | None = None
    kecamatan: str | None = None
    kelurahan_code: str | None = None
    address: str | None = Field(default=None, sa_type=Text)
    anonymous: bool = False
    confidential: bool = False
    channel: str
    chat_id: str
    contact_id: int | None = Field(
        default=None,
        sa_column_args=[
            ForeignKey("contacts.id", ondelete="SET NULL", name="fk_reports_contact_id")
        ],
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def _report_fk(table: str) -> Any:
    return Field(
        sa_column_args=[ForeignKey("reports.id", ondelete="CASCADE", name=f"fk_{table}_report_id")]
    )


class Attachment(SQLModel, table=True):
    """A photo of a report: first a platform reference, then (once fetched) a stored file."""

    __tablename__ = "attachments"
    __table_args__ = (
        Index("ix_attachments_report_id", "report_id"),
        Index("ix_attachments_fetch_status", "fetch_status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = _report_fk("attachments")
    channel: str
    platform_ref: str = Field(sa_type=Text)
    mime: str = ""
    size: int | None = None
    stored_path: str | None = Field(default=None, sa_type=Text)
    sha256: str | None = None
    fetch_status: str = FETCH_PENDING  # "pending" | "stored" | "failed"
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StatusEvent(SQLModel, table=True):
    """One move of a report's lifecycle (filing is the move to "received")."""

    __tablename__ = "status_events"
    __table_args__ = (Index("ix_status_events_report_created", "report_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = _report_fk("status_events")
    status: str
    actor: str  # "citizen", "officer:123", "system", "api"
    note: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class InboxMessage(SQLModel, table=True):
    """An accepted inbound platform message, kept raw until processed."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_inbox_channel_external"),
        Index("ix_inbox_processed_at_id", "processed_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str
    external_id: str
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONText)
    received_at: datetime = Field(sa_type=UTCDateTime)
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    error: str | None = Field(default=None, sa_type=Text)


class OutboxMessage(SQLModel, table=True):
    """A reply waiting to be sent; each conversation's rows are sent in id order."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due_at", "status", "due_at"),
        Index("ix_outbox_conversation_id", "conversation_key", "id"),
        Index("ix_outbox_channel_external", "channel", "external_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_key: str
    channel: str
    chat_id: str
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONText)
    status: str = OUTBOX_PENDING  # "pending" | "inflight" | "sent" | "dead"
    attempts: int = 0
    due_at: datetime = Field(sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    external_id: str | None = None  # the platform's id once sent
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TicketCounter(SQLModel, table=True):
    __tablename__ = "ticket_counters"

    prefix: str = Field(primary_key=True)
    next_value: int = 1  # the number the next filed report gets


class Cursor(SQLModel, table=True):
    """A named position in an external stream, e.g. Telegram's getUpdates offset."""

    __tablename__ = "cursors"

    name: str = Field(primary_key=True)
    value: str
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# Tables added by later features go below their own heading.

# --- WhatsApp channel (issue 4) ---

# --- SMS channel (issue 5) ---

# --- Officer desk and report lifecycle (issue 6) ---

# --- Analytics (issue 7) ---

# --- Scale-out (issue 8) ---
