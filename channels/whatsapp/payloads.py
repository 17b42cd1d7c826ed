"""Webhook notifications as events: citizen messages, delivery statuses, and what was skipped.

One webhook POST can batch several entries, each with several changes, each with several
messages and statuses: `parse_webhook` returns all of them and never raises. A malformed item
is skipped (with the reason) without losing its neighbours.

- The deduplication key (`InboundMessage.external_id`) is the WhatsApp message id (``wamid...``).
- A citizen is identified by the business-scoped user id (``user_id`` / ``from_user_id``, sent
  since 2026) when present, else by the phone number (``wa_id`` / ``from``). Replies go to the
  phone number when we have one (``"to"``), else to the business-scoped id (``"recipient"``).
- Statuses (sent, delivered, read, failed) become `StatusUpdate`s carrying the error code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from channels.base import geo_point, plus_digits
from intake.types import DeliveryStatus, InboundMessage, MediaRef, MessageKind

CHANNEL = "whatsapp"


# --------------------------------------------------------------------------------------------
# Webhook payload models (only what we read; everything else is ignored)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, populate_by_name=True)


class _Profile(_Model):
    name: str | None = None
    username: str | None = None


class _Contact(_Model):
    wa_id: str | None = None
    user_id: str | None = None
    profile: _Profile | None = None


class _Text(_Model):
    body: str = ""


class _Media(_Model):
    id: str = Field(min_length=1)
    mime_type: str = ""
    caption: str | None = None
    voice: bool = False


class _Location(_Model):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


class _ReplyRow(_Model):
    id: str = Field(min_length=1)
    title: str = ""


class _Interactive(_Model):
    type: str = ""
    button_reply: _ReplyRow | None = None
    list_reply: _ReplyRow | None = None


class _Button(_Model):
    text: str = ""
    payload: str | None = None


class _Unsupported(_Model):
    type: str | None = None


class _Envelope(_Model):
    """What every message has; enough to answer a message whose content we cannot read."""

    id: str = Field(min_length=1)
    from_: str | None = Field(default=None, alias="from")
    from_user_id: str | None = None
    timestamp: str | None = None
    type: str = "unknown"
    group_id: str | None = None


class _Message(_Envelope):
    text: _Text | None = None
    image: _Media | None = None
    audio: _Media | None = None
    voice: _Media | None = None
    video: _Media | None = None
    document: _Media | None = None
    sticker: _Media | None = None
    location: _Location | None = None
    interactive: _Interactive | None = None
    button: _Button | None = None
    unsupported: _Unsupported | None = None


class _StatusError(_Model):
    code: int | None = None
    title: str | None = None
    message: str | None = None
    error_data: dict[str, Any] | None = None


class _Status(_Model):
    id: str = Field(min_length=1)
    status: str
    timestamp: str | None = None
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    errors: list[_StatusError] = Field(default_factory=list)


class _Metadata(_Model):
    phone_number_id: str | None = None
    display_phone_number: str | None = None


class _Value(_Model):
    metadata: _Metadata | None = None
    contacts: list[Any] = Field(default_factory=list)
    messages: list[Any] = Field(default_factory=list)
    statuses: list[Any] = Field(default_factory=list)
    errors: list[Any] = Field(default_factory=list)


class _Change(_Model):
    field: str = ""
    value: _Value | None = None


class _Entry(_Model):
    changes: list[Any] = Field(default_factory=list)


class _Notification(_Model):
    object: str = ""
    entry: list[Any] = Field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Inbound


@dataclass(frozen=True)
class Incoming:
    """One citizen message and the part of the webhook it came in (kept in the inbox)."""

    message: InboundMessage
    raw: dict[str, Any]


@dataclass(frozen=True)
class StatusUpdate:
    """WhatsApp's word on a message we sent."""

    delivery: DeliveryStatus
    recipient: str | None  # the phone number (or business-scoped id) it was sent to
    error_code: int | None = None


@dataclass
class WhatsAppEvents:
    messages: list[Incoming] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # what was skipped, and why


_STATUSES = {"sent": "sent", "delivered": "delivered", "read": "read", "played": "read"}


def parse_webhook(
    data: Any, *, phone_number_id: str | None = None, now: datetime | None = None
) -> WhatsAppEvents:
    """Everything one webhook notification holds, in order. Never raises.

    Changes addressed to another phone number than `phone_number_id` (when given) are ignored:
    replies would go out from the wrong number. `now` stands in for missing timestamps.
    """
    events = WhatsAppEvents()
    received = now or datetime.now(UTC)
    try:
        notification = _Notification.model_validate(data)
    except ValidationError:
        events.ignored.append(f"malformed notification: {type(data).__name__}")
        return events
    if notification.object and notification.object != "whatsapp_business_account":
        events.ignored.append(f"object {notification.object!r}")
        return events
    for e, raw_entry in enumerate(notification.entry):
        try:
            entry = _Entry.model_validate(raw_entry)
        except ValidationError:
            events.ignored.append(f"entry {e}: malformed")
            continue
        for c, raw_change in enumerate(entry.changes):
            where = f"entry {e} change {c}"
            try:
                change = _Change.model_validate(raw_change)
            except ValidationError:
                events.ignored.append(f"{where}: malformed")
                continue
            if change.field != "messages" or change.value is None:
                events.ignored.append(f"{where}: field {change.field!r}")
                continue
            _parse_value(change.value, raw_change, where, phone_number_id, received, events)
    return events


def _parse_value(
    value: _Value,
    raw_change: Any,
    where: str,
    phone_number_id: str | None,
    received: datetime,
    events: WhatsAppEvents,
) -> None:
    metadata = value.metadata
    if phone_number_id and metadata and metadata.phone_number_id not in (None, phone_number_id):
        events.ignored.append(f"{where}: for phone number id {metadata.phone_number_id}")
        return
    for error in value.errors:
        events.ignored.append(f"{where}: webhook error {_error_text(error)}")
    contacts = _contacts(value.contacts)
    raw_value = raw_change.get("value", {}) if isinstance(raw_change, dict) else {}
    metadata_raw = raw_value.get("metadata") if isinstance(raw_value, dict) else None
    for m, raw_message in enumerate(value.messages):
        message, contact_raw, reason = _parse_message(raw_message, contacts, received)
        if message is None:
            events.ignored.append(f"{where} message {m}: {reason}")
            continue
        raw = {"metadata": metadata_raw, "contact": contact_raw, "message": raw_message}
        events.messages.append(Incoming(message, raw))
    for s, raw_status in enumerate(value.statuses):
        update, reason = _parse_status(raw_status, received)
        if update is None:
            events.ignored.append(f"{where} status {s}: {reason}")
            continue
        events.statuses.append(update)


def _contacts(items: list[Any]) -> list[tuple[_Contact, Any]]:
    found = []
    for item in items:
        try:
            found.append((_Contact.model_validate(item), item))
        except ValidationError:
            continue
    return found


def _parse_message(
    raw: Any, contacts: list[tuple[_Contact, Any]], received: datetime
) -> tuple[InboundMessage | None, Any, str]:
    """(the message or None, the raw contact it came with, why it was skipped)."""
    try:
        envelope = _Envelope.model_validate(raw)
    except ValidationError:
        return None, None, "malformed message (no id)"
    if envelope.group_id:
        return None, None, "group message"
    match: tuple[_Contact, Any] | None = None
    for candidate, candidate_raw in contacts:
        if (envelope.from_ and envelope.from_ == candidate.wa_id) or (
            envelope.from_user_id and envelope.from_user_id == candidate.user_id
        ):
            match = (candidate, candidate_raw)
            break
    if match is None and len(contacts) == 1:
        match = contacts[0]
    contact = match[0] if match else None
    # Identity: the business-scoped id when we have one; replies go to the phone number.
    user_id = envelope.from_user_id or (contact.user_id if contact else None)
    wa_id = envelope.from_ or (contact.wa_id if contact else None)
    sender_id = user_id or wa_id
    chat_id = wa_id or user_id
    if not sender_id or not chat_id:
        return None, None, "no sender"
    profile = contact.profile if contact else None
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "external_id": envelope.id,
        "sender_id": sender_id,
        "chat_id": chat_id,
        "received_at": _timestamp(envelope.timestamp, received),
        "sender_name": (profile.name or None) if profile else None,
        "phone": plus_digits(wa_id),
    }
    contact_raw = match[1] if match else None
    try:
        message = _Message.model_validate(raw)
    except ValidationError:
        # The envelope is fine but the content is not: answer politely instead of dropping it.
        unreadable = InboundMessage(kind=MessageKind.UNSUPPORTED, text=envelope.type, **base)
        return unreadable, contact_raw, ""
    inbound, reason = _content(message, base)
    return inbound, contact_raw, reason


def _content(msg: _Message, base: dict[str, Any]) -> tuple[InboundMessage | None, str]:
    kind = msg.type
    if kind == "text" and msg.text is not None:
        text = msg.text.body
        stripped = text.strip()
        if stripped.startswith("/") and len(stripped) > 1 and not stripped[1].isspace():
            return InboundMessage(kind=MessageKind.COMMAND, text=stripped[1:], **base), ""
        return InboundMessage(kind=MessageKind.TEXT, text=text, **base), ""
    if kind == "image" and msg.image is not None:
        media = MediaRef(CHANNEL, msg.image.id, msg.image.mime_type or "image/jpeg")
        caption = msg.image.caption or ""
        return InboundMessage(kind=MessageKind.PHOTO, media=media, text=caption, **base), ""
    if kind == "document" and msg.document is not None:
        doc = msg.document
        if doc.mime_type.lower().startswith("image/"):
            media = MediaRef(CHANNEL, doc.id, doc.mime_type)
            return (
                InboundMessage(kind=MessageKind.PHOTO, media=media, text=doc.caption or "", **base),
                "",
            )
        return InboundMessage(kind=MessageKind.UNSUPPORTED, text="document", **base), ""
    if kind in ("audio", "voice"):
        audio = msg.audio or msg.voice
        if audio is not None:
            media = MediaRef(CHANNEL, audio.id, audio.mime_type or "audio/ogg")
            return InboundMessage(kind=MessageKind.VOICE, media=media, **base), ""
    if kind == "location" and msg.location is not None:
        point = geo_point(msg.location.latitude, msg.location.longitude)
        if point is None:
            return None, "location out of range"
        text = ", ".join(p.strip() for p in (msg.location.name, msg.location.address) if p)
        return InboundMessage(kind=MessageKind.LOCATION, location=point, text=text, **base), ""
    if kind == "interactive" and msg.interactive is not None:
        row = msg.interactive.button_reply or msg.interactive.list_reply
        if row is not None:
            return (
                InboundMessage(kind=MessageKind.CHOICE, choice=row.id, text=row.title, **base),
                "",
            )
        return InboundMessage(kind=MessageKind.UNSUPPORTED, text="interactive", **base), ""
    if kind == "button" and msg.button is not None:  # a quick-reply button of a template
        if msg.button.payload:
            message = InboundMessage(
                kind=MessageKind.CHOICE, choice=msg.button.payload, text=msg.button.text, **base
            )
            return message, ""
        return InboundMessage(kind=MessageKind.TEXT, text=msg.button.text, **base), ""
    if kind == "request_welcome":  # the citizen opened the chat for the first time
        return InboundMessage(kind=MessageKind.COMMAND, text="start", **base), ""
    if kind == "reaction":
        return None, "reaction"  # an emoji on one of our messages: nothing to answer
    if kind == "system":
        return None, "system message"  # number or identity changed
    # video, sticker, contacts, order, unsupported (a poll, a view-once photo...), or new kinds.
    name = (msg.unsupported.type or "") if kind == "unsupported" and msg.unsupported else kind
    return InboundMessage(kind=MessageKind.UNSUPPORTED, text=name, **base), ""


def _parse_status(raw: Any, received: datetime) -> tuple[StatusUpdate | None, str]:
    try:
        status = _Status.model_validate(raw)
    except ValidationError:
        return None, "malformed status"
    error_code: int | None = None
    error: str | None = None
    if status.status == "failed":
        first = status.errors[0] if status.errors else None
        error_code = first.code if first else None
        error = _describe(first) if first else "failed (no reason given)"
    elif status.status not in _STATUSES:
        return None, f"status {status.status!r}"
    delivery = DeliveryStatus(
        channel=CHANNEL,
        external_id=status.id,
        status=_STATUSES.get(status.status, status.status),
        at=_timestamp(status.timestamp, received),
        error=error,
    )
    recipient = status.recipient_id or status.recipient_user_id
    return StatusUpdate(delivery, recipient, error_code), ""


def _describe(error: _StatusError) -> str:
    details = (error.error_data or {}).get("details") if error.error_data else None
    parts = [str(error.code) if error.code is not None else "", error.title or error.message or ""]
    text = " ".join(p for p in parts if p)
    if isinstance(details, str) and details and details != (error.title or error.message):
        text = f"{text}: {details}"
    return text[:500] or "failed"


def _error_text(raw: Any) -> str:
    try:
        return _describe(_StatusError.model_validate(raw))
    except ValidationError:
        return "(malformed)"


def _timestamp(value: str | None, default: datetime) -> datetime:
    try:
        seconds = int(value) if value is not None else None
    except ValueError:
        seconds = None
    if seconds is None or not 0 < seconds < 2**37:
        return default
    return datetime.fromtimestamp(seconds, UTC)
