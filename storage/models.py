"""The tables. Migrations in storage/migrations must produce exactly this schema.

Timestamps are timezone-aware UTC datetimes; JSON columns hold dicts (stored as JSON text).
Table and index names are explicit so migrations can refer to them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.coltypes import JSONText, UTCDateTime, utcnow

# Values of string "enum" columns (kept as plain strings: cheaper to evolve than DB enums).
FETCH_PENDING, FETCH_STORED, FETCH_FAILED = "pending", "stored", "failed"
FETCH_LINK = "link"  # a URL an integration gave (Open311 media_url): shown, never downloaded
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
    campaign: str | None = None  # the campaign that brought it (its state's), migration 0012


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
        Index("ix_reports_campaign_created_at", "campaign", "created_at"),
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
    campaign: str | None = None  # the campaign whose link brought the conversation


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
    document: bool = False  # the platform has it as a file (a Telegram document), not a photo
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
    claimed_by: str | None = None  # the process that claimed it last (bot.core.liveness)
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

# Outbox status of a reply held until the citizen writes again (WhatsApp's 24-hour window); the
# pipeline puts it back to "pending" when their next message arrives. Blocks nothing meanwhile.
OUTBOX_WAITING = "waiting"


class WhatsAppDeliveryEvent(SQLModel, table=True):
    """What WhatsApp reported about a message we sent (sent, delivered, read, failed).

    One row per message and status, so a status Meta repeats counts once. `outbox_id` ties it to
    the outbox row that sent the message (found by the message id WhatsApp gave, `external_id`);
    a status that arrives before that id was recorded still matches by `external_id`.
    """

    __tablename__ = "whatsapp_delivery_events"
    __table_args__ = (
        UniqueConstraint("external_id", "status", name="uq_whatsapp_delivery_events_status"),
        Index("ix_whatsapp_delivery_events_outbox_id", "outbox_id"),
        Index("ix_whatsapp_delivery_events_chat_status", "chat_id", "status", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    external_id: str  # the WhatsApp message id ("wamid....")
    status: str  # "sent" | "delivered" | "read" | "failed"
    outbox_id: int | None = Field(
        default=None,
        sa_column_args=[
            ForeignKey(
                "outbox.id", ondelete="SET NULL", name="fk_whatsapp_delivery_events_outbox_id"
            )
        ],
    )
    chat_id: str | None = None  # the recipient (the outbox row's chat, else WhatsApp's word)
    error_code: int | None = None  # Graph API error code of a failure, e.g. 131047
    error: str | None = Field(default=None, sa_type=Text)
    occurred_at: datetime = Field(sa_type=UTCDateTime)  # as WhatsApp says
    received_at: datetime = Field(sa_type=UTCDateTime)  # when we heard of it


# --- SMS channel (issue 5) ---


class SmsDeliveryEvent(SQLModel, table=True):
    """What the SMS provider reported about a message we sent (sent, delivered, failed...).

    `event_key` makes a report that the provider repeats count once; `outbox_id` ties it to the
    outbox row that sent the message (found by the provider's message id, `external_id`).
    """

    __tablename__ = "sms_delivery_events"
    __table_args__ = (
        UniqueConstraint("event_key", name="uq_sms_delivery_events_event_key"),
        Index("ix_sms_delivery_events_external_id", "external_id"),
        Index("ix_sms_delivery_events_outbox_id", "outbox_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_key: str  # "android:<event id>", "twilio:<MessageSid>:<status>"
    external_id: str  # the provider's id of our message
    outbox_id: int | None = Field(
        default=None,
        sa_column_args=[
            ForeignKey("outbox.id", ondelete="SET NULL", name="fk_sms_delivery_events_outbox_id")
        ],
    )
    status: str  # "sent" | "delivered" | "read" | "failed"
    error: str | None = Field(default=None, sa_type=Text)
    occurred_at: datetime = Field(sa_type=UTCDateTime)  # as the provider says
    received_at: datetime = Field(sa_type=UTCDateTime)  # when we heard of it


# --- Officer desk and report lifecycle (issue 6) ---

# Why a resolved report was closed (ReportDesk.close_reason).
CLOSED_RATED, CLOSED_AUTO = "rated", "auto"
# Who wrote a ReportMessage.
FROM_OFFICER, FROM_CITIZEN = "officer", "citizen"


class ReportDesk(SQLModel, table=True):
    """What the officer desk knows about a report besides its status (one row per report).

    Created when first needed: a report without a row has no rating, is not closed, and was
    never reminded about.
    """

    __tablename__ = "report_desk"
    __table_args__ = (UniqueConstraint("report_id", name="uq_report_desk_report_id"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = _report_fk("report_desk")
    rating: int | None = None  # 1-5, from the reporter once resolved
    rated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    close_reason: str | None = None  # "rated" | "auto"
    duplicate_of: int | None = Field(
        default=None,
        sa_column_args=[
            ForeignKey("reports.id", ondelete="SET NULL", name="fk_report_desk_duplicate_of")
        ],
    )
    verify_reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    respond_reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReportCard(SQLModel, table=True):
    """A report's card in an officers' group: the message we edit in place.

    The card goes out through the outbox (`outbox_id`, and `media_outbox_id` for its photos and
    location pin); `message_id` is the card's Telegram message id once known. A card whose
    `refresh_due_at` has passed is re-rendered from the database and edited (bot/desk/cards.py).
    `active` is False once the report moved to another group; `menu` is the keyboard shown
    ("reject", "agency" or None for the moves).
    """

    __tablename__ = "report_cards"
    __table_args__ = (
        Index("ix_report_cards_report_id", "report_id"),
        Index("ix_report_cards_refresh_due_at", "refresh_due_at"),
        Index("ix_report_cards_chat_message", "chat_id", "message_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = _report_fk("report_cards")
    chat_id: str
    outbox_id: int | None = Field(
        default=None,
        sa_column_args=[
            ForeignKey("outbox.id", ondelete="SET NULL", name="fk_report_cards_outbox_id")
        ],
    )
    media_outbox_id: int | None = Field(
        default=None,
        sa_column_args=[
            ForeignKey("outbox.id", ondelete="SET NULL", name="fk_report_cards_media_outbox_id")
        ],
    )
    message_id: str | None = None
    media_message_id: str | None = None
    active: bool = True
    menu: str | None = None
    refresh_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReportMessage(SQLModel, table=True):
    """A message about a report: an officer's reply to the citizen, or the citizen's addition."""

    __tablename__ = "report_messages"
    __table_args__ = (Index("ix_report_messages_report_created", "report_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = _report_fk("report_messages")
    direction: str  # "officer" | "citizen"
    author: str  # "officer:<telegram user id>", "api", "citizen"
    author_name: str | None = None  # officers only; never the (possibly anonymous) citizen
    text: str = Field(default="", sa_type=Text)
    attachment_id: int | None = Field(
        default=None,
        sa_column_args=[
            ForeignKey(
                "attachments.id", ondelete="SET NULL", name="fk_report_messages_attachment_id"
            )
        ],
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReportAccessCode(SQLModel, table=True):
    """A report's access code, given to the reporter when filing: whoever holds it may check or
    add to the report from another chat. Reports filed before codes existed have none."""

    __tablename__ = "report_access_codes"

    report_id: int = Field(
        primary_key=True,
        sa_column_args=[
            ForeignKey("reports.id", ondelete="CASCADE", name="fk_report_access_codes_report_id")
        ],
    )
    code: str


class ReportSupporter(SQLModel, table=True):
    """A citizen who supports an open report instead of filing a duplicate; gets its updates."""

    __tablename__ = "report_supporters"
    __table_args__ = (
        UniqueConstraint("report_id", "channel", "chat_id", name="uq_report_supporters_chat"),
    )

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = _report_fk("report_supporters")
    channel: str
    chat_id: str
    contact_id: int | None = Field(
        default=None,
        sa_column_args=[
            ForeignKey("contacts.id", ondelete="SET NULL", name="fk_report_supporters_contact_id")
        ],
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DeskOfficer(SQLModel, table=True):
    """An officer who acted on the desk: their Telegram name, for cards and timelines."""

    __tablename__ = "desk_officers"

    user_id: str = Field(primary_key=True)
    display_name: str
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- Analytics (issue 7) ---


# Funnel session outcomes; NULL while the conversation is still writing its report.
FUNNEL_FILED = "filed"


class FunnelSession(SQLModel, table=True):
    """One attempt at a report in one conversation: from its first question to filed or given up.

    `steps` holds one bit per conversation step reached (intake.analytics.STEP_BITS). A session
    still open long after its last message was abandoned without a word: queries count it as
    expired at `last_step`.
    """

    __tablename__ = "funnel_sessions"
    __table_args__ = (
        # At most one open session per conversation: the observer upserts into it.
        Index(
            "ux_funnel_sessions_open",
            "conversation_key",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_funnel_sessions_started_at", "started_at", "channel"),
        # The funnel counts read this one alone, in order (no sort, no table reads).
        Index("ix_funnel_sessions_funnel", "channel", "outcome", "end_step", "steps", "started_at"),
        # Percentiles per channel walk these in order instead of sorting.
        Index("ix_funnel_sessions_duration", "outcome", "channel", "duration_s", "started_at"),
        Index("ix_funnel_sessions_messages", "outcome", "channel", "messages", "started_at"),
        # Sessions per campaign (only those a campaign brought are in it: partial).
        Index(
            "ix_funnel_sessions_campaign",
            "campaign",
            "started_at",
            "outcome",
            sqlite_where=text("campaign IS NOT NULL"),
            postgresql_where=text("campaign IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_key: str
    channel: str
    started_at: datetime = Field(sa_type=UTCDateTime)
    last_at: datetime = Field(sa_type=UTCDateTime)  # the last message handled in the session
    last_step: str
    steps: int = 0
    messages: int = 0  # inbound messages handled while the session was open
    outcome: str | None = None  # "filed" | "cancelled" | "expired" | "restarted" | "declined"
    end_step: str | None = None  # the step the conversation was at when it ended
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    duration_s: int | None = None  # seconds from start to end
    report_id: int | None = Field(
        default=None,
        sa_column_args=[
            ForeignKey("reports.id", ondelete="SET NULL", name="fk_funnel_sessions_report_id")
        ],
    )
    campaign: str | None = None  # the campaign that brought the conversation (migration 0012)


class ReportFacts(SQLModel, table=True):
    """One row per report with what the figures need, kept by database triggers.

    Triggers (migration 0006) copy the report's status and grouping columns on insert and
    update, and fold each status event into the lifecycle times, so every write path (officer
    desk, API, imports) is covered. Times are whole seconds since 1970-01-01 UTC; see
    storage/analytics.py for what each one means.
    """

    __tablename__ = "report_facts"
    __table_args__ = (
        Index("ix_report_facts_filed_s", "filed_s"),
        # Reports per channel, category, agency or kelurahan: counted from the index alone.
        Index("ix_report_facts_channel", "channel", "filed_s"),
        Index("ix_report_facts_category_id", "category_id", "filed_s"),
        Index("ix_report_facts_agency_id", "agency_id", "filed_s"),
        Index("ix_report_facts_kelurahan_code", "kelurahan_code", "filed_s"),
        # Percentiles walk these in order instead of sorting.
        Index("ix_report_facts_verification_s", "verification_s", "filed_s"),
        Index("ix_report_facts_response_s", "response_s", "filed_s"),
        Index("ix_report_facts_resolution_s", "resolution_s", "status", "filed_s"),
        Index("ix_report_facts_follow_up_s", "follow_up_s", "disposed_s", "filed_s"),
    )

    report_id: int = Field(
        primary_key=True,
        sa_column_kwargs={"autoincrement": False},
        sa_column_args=[
            ForeignKey("reports.id", ondelete="CASCADE", name="fk_report_facts_report_id")
        ],
    )
    status: str
    channel: str
    category_id: str | None = None
    agency_id: str | None = None
    kelurahan_code: str | None = None
    filed_s: int = Field(sa_type=BigInteger)
    verified_s: int | None = Field(default=None, sa_type=BigInteger)  # first verified/rejected
    disposed_s: int | None = Field(default=None, sa_type=BigInteger)  # first verified
    officer_s: int | None = Field(default=None, sa_type=BigInteger)  # first officer event
    followup_s: int | None = Field(default=None, sa_type=BigInteger)  # first in_progress/...
    resolved_s: int | None = Field(default=None, sa_type=BigInteger)  # last resolved
    # Durations from filing: to verified_s, to officer_s, to resolved_s.
    verification_s: int | None = Field(default=None, sa_type=BigInteger)
    response_s: int | None = Field(default=None, sa_type=BigInteger)
    resolution_s: int | None = Field(default=None, sa_type=BigInteger)
    follow_up_s: int | None = Field(default=None, sa_type=BigInteger)  # disposed_s to followup_s


class ReportTerm(SQLModel, table=True):
    """A topic word of a report's description (stop words removed), once per report.

    `created_at` repeats the report's, so top words in a period need no join; the index in
    term order lets the database count them without sorting.
    """

    __tablename__ = "report_terms"
    __table_args__ = (Index("ix_report_terms_term_created_at", "term", "created_at"),)

    report_id: int = Field(
        primary_key=True,
        sa_column_args=[
            ForeignKey("reports.id", ondelete="CASCADE", name="fk_report_terms_report_id")
        ],
    )
    term: str = Field(primary_key=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


# --- Scale-out (issue 8) ---


# --- Category training examples (issue 13) ---


class CategoryExample(SQLModel, table=True):
    """A report's description with the category an officer gave it: `lapor train` learns it."""

    __tablename__ = "category_examples"
    __table_args__ = (Index("ix_category_examples_created_at", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int | None = Field(
        default=None,
        sa_column_args=[
            ForeignKey("reports.id", ondelete="SET NULL", name="fk_category_examples_report_id")
        ],
    )
    description: str = Field(sa_type=Text)
    category_id: str
    previous_category_id: str | None = None
    actor: str  # "officer:<telegram user id>" or "api"
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- Web chat (issue 15) ---


class WebSession(SQLModel, table=True):
    """A browser's conversation on the web chat page. `chat_id` is the SHA-256 (hex, first 32
    characters) of the random token in the browser's HttpOnly cookie: the database never holds
    the token itself, so a copy of it cannot be used to read anyone's chat."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_expires_at", "expires_at"),)

    chat_id: str = Field(primary_key=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class WebMessage(SQLModel, table=True):
    """A reply delivered to a web chat: the page fetches its chat's rows after the last id it
    showed (its cursor). Written by the web channel's sender when the outbox sends the reply."""

    __tablename__ = "web_messages"
    __table_args__ = (Index("ix_web_messages_chat_id", "chat_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: str
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONText)  # the rendered reply
    created_at: datetime = Field(sa_type=UTCDateTime)
