"""WhatsApp Cloud API: verify and parse webhooks, render replies as API calls, classify errors.

A thin client of our own over httpx (no WhatsApp SDK). Every URL is built from the configured
``graph_base`` and ``api_version``; the access token travels only in the Authorization header, so
it never appears in a URL, a log line or an error reason.

Inbound. One webhook POST can batch several entries, each with several changes, each with
several messages and statuses: `parse_webhook` returns all of them and never raises. A malformed
item is skipped (with the reason) without losing its neighbours.

- The deduplication key (`InboundMessage.external_id`) is the WhatsApp message id (``wamid...``).
- A citizen is identified by the business-scoped user id (``user_id`` / ``from_user_id``, sent
  since 2026) when present, else by the phone number (``wa_id`` / ``from``). Replies go to the
  phone number when we have one (``"to"``), else to the business-scoped id (``"recipient"``).
- Statuses (sent, delivered, read, failed) become `StatusUpdate`s carrying the error code.

Outbound (`WhatsAppSender.send`):

- text: ``type=text``, split at 4096 characters;
- up to 3 choices: reply buttons (titles at most 20 characters, shortened at a word);
  4 to 10: a list message (row titles at most 24, descriptions at most 72); more: numbered text;
- the location question: an interactive ``location_request_message``;
- a reply with a `StatusNotice` outside the 24-hour window (or refused with error 131047) goes
  as the configured template with the ticket and the status as parameters; without a template,
  and for any other reply outside the window, `SendError(WAIT)` holds it until the citizen writes.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from channels.base import FetchedMedia, SendError, SendFailure, Sent, Signature
from channels.secrets import register_secret
from intake.types import (
    ChannelCapabilities,
    Choice,
    DeliveryStatus,
    GeoPoint,
    InboundMessage,
    MediaRef,
    MessageKind,
    Reply,
    StatusNotice,
)

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
CAPABILITIES = ChannelCapabilities(buttons=True, photos=True, location=True, max_text=4096)
DEFAULT_GRAPH_BASE = "https://graph.facebook.com"
SIGNATURE_HEADER = "X-Hub-Signature-256"

MAX_TEXT = 4096  # a text message body
MAX_INTERACTIVE_BODY = 1024  # body of reply buttons and of a location request
MAX_LIST_BODY = 4096
MAX_CAPTION = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_LIST_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_ROW_ID = 200
MAX_LIST_BUTTON = 20
LIST_BUTTON_LABEL = "Pilih / Choose"  # when the reply's language is unknown
LOCATION_PROMPT = "📍 Kirim lokasi / Send location"
_WORDS = {"id": ("Pilih", "📍 Kirim lokasi"), "en": ("Choose", "📍 Send location")}
DEFAULT_MAX_DOWNLOAD = 16 * 1024 * 1024  # WhatsApp's own limit for audio and video

# Graph API error codes (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes)
REENGAGEMENT = 131047  # more than 24 hours since the citizen last wrote: only templates go
# Throttling: application, account, throughput, spam and per-citizen ("pair") rate limits.
# Retried with the dispatcher's exponential back-off (or the Retry-After the API gives).
THROTTLED: frozenset[int] = frozenset({4, 80007, 130429, 131048, 131056})
# The recipient cannot be reached: not on WhatsApp, old app, not an allowed test number...
UNREACHABLE: frozenset[int] = frozenset({131026, 131030})
# Temporary trouble at Meta's end, or a configuration problem (token, number, payment) that an
# administrator can fix: keep the message and try again.
TRANSIENT: frozenset[int] = frozenset(
    {0, 1, 2, 3, 10, 190, 200, 368, 131000, 131016, 131031, 131042, 131045, 131057}
    | set(range(133000, 133017))
)

_DIGITS = re.compile(r"\+?\d{5,20}")


# --------------------------------------------------------------------------------------------
# Webhook signature


def check_signature(app_secret: str, body: bytes, header: str | None) -> Signature:
    """Compare ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app_secret, body)>`` in constant
    time. An empty app secret never validates anything."""
    if not header or not header.strip():
        return Signature.MISSING
    scheme, _, given = header.strip().partition("=")
    if scheme.strip().lower() != "sha256" or not app_secret:
        return Signature.INVALID
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(given.strip().lower().encode(), expected.encode())
    return Signature.VALID if ok else Signature.INVALID


def sign(app_secret: str, body: bytes) -> str:
    """The header value Meta would send for `body` (for tests and local tools)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


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
        "phone": _phone(wa_id),
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
        point = _geo(msg.location.latitude, msg.location.longitude)
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


def _geo(lat: float, lon: float) -> GeoPoint | None:
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return GeoPoint(lat, lon)


def _phone(wa_id: str | None) -> str | None:
    """WhatsApp sends international numbers without the "+"; we store "+<digits>"."""
    if not wa_id:
        return None
    digits = re.sub(r"\D", "", wa_id)
    return f"+{digits}" if digits else None


# --------------------------------------------------------------------------------------------
# Errors


def classify_error(status_code: int, body: Any, retry_after: str | None = None) -> SendError:
    """Map a Graph API error answer to a SendError (the reason never holds the token)."""
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = ""
    if isinstance(error, dict):
        message = str(error.get("message") or "")
        data = error.get("error_data")
        details = data.get("details") if isinstance(data, dict) else None
        if isinstance(details, str) and details and details not in message:
            message = f"{message}: {details}" if message else details
    reason = f"HTTP {status_code}" + (f", error {code}" if code is not None else "")
    reason += f": {message}"[:400] if message else ""
    wait = _retry_after(retry_after)
    if code == REENGAGEMENT:
        return SendError(SendFailure.WAIT, f"outside the 24-hour window ({reason})")
    if status_code == 429 or code in THROTTLED:
        return SendError(SendFailure.RETRY, f"throttled: {reason}", wait)
    if code in UNREACHABLE:
        return SendError(SendFailure.UNREACHABLE, reason)
    if code in TRANSIENT or status_code >= 500 or status_code in (401, 408):
        return SendError(SendFailure.RETRY, reason, wait)
    return SendError(SendFailure.DEAD, reason)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and 0 <= seconds <= 86400 else None


# --------------------------------------------------------------------------------------------
# Rendering


def _length(text: str) -> int:
    """Characters as WhatsApp may count them (UTF-16 code units, the safe side)."""
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """The largest n such that text[:n] fits `limit`."""
    n = min(len(text), limit)
    while n > 0 and (over := _length(text[:n]) - limit) > 0:
        n -= max(1, over // 2)
    return n


def shorten(text: str, limit: int) -> str:
    """`text` on one line in at most `limit` characters, cut at a word and marked with "…"."""
    text = " ".join(text.split())
    if _length(text) <= limit:
        return text
    head = text[: _fit(text, limit - 1)]
    space = head.rfind(" ")
    if space >= len(head) // 2:
        head = head[:space]
    return head.rstrip(" ,.;:-/(") + "…"


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most `limit` characters, cut at a paragraph, a line or a space."""
    pieces: list[str] = []
    rest = text.strip()
    while _length(rest) > limit:
        cut = _fit(rest, limit)
        at, skip = cut, 0
        for sep in ("\n\n", "\n", " "):
            i = rest[: cut + len(sep)].rfind(sep)  # a break just past the window fits too
            if i >= cut // 2:
                at, skip = i, len(sep)
                break
        pieces.append(rest[:at].rstrip())
        rest = rest[at + skip :].lstrip()
    if rest or not pieces:
        pieces.append(rest)
    return [p for p in pieces if p] or [""]


def _unique_titles(labels: Sequence[str], limit: int) -> list[str]:
    """Shortened titles, made distinct (WhatsApp refuses two buttons with the same title)."""
    titles: list[str] = []
    for label in labels:
        title = shorten(label, limit) or "-"
        n = 2
        while title.casefold() in (t.casefold() for t in titles):
            suffix = f" ({n})"
            title = shorten(label, limit - len(suffix)) + suffix
            n += 1
        titles.append(title)
    return titles


def _check_id(value: str, limit: int) -> str:
    if not 0 < len(value) <= limit:
        raise SendError(
            SendFailure.DEAD, f"choice value {value[:20]!r} must be 1-{limit} characters"
        )
    return value


def _body_and_rest(text: str, limit: int, default: str) -> tuple[list[str], str]:
    """(text messages to send first, the body of the interactive message that ends the reply)."""
    if not text.strip():
        return [], default
    pieces = split_text(text, MAX_TEXT)
    tail = split_text(pieces.pop(), limit)
    return pieces + tail[:-1], tail[-1]


def _text_message(text: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": text, "preview_url": False}}


def reply_buttons(body: str, choices: Sequence[Choice]) -> dict[str, Any]:
    titles = _unique_titles([c.label or c.value for c in choices], MAX_BUTTON_TITLE)
    buttons = [
        {"type": "reply", "reply": {"id": _check_id(c.value, MAX_BUTTON_ID), "title": title}}
        for c, title in zip(choices, titles, strict=True)
    ]
    return {
        "type": "interactive",
        "interactive": {"type": "button", "body": {"text": body}, "action": {"buttons": buttons}},
    }


def list_message(
    body: str, choices: Sequence[Choice], button: str = LIST_BUTTON_LABEL
) -> dict[str, Any]:
    titles = _unique_titles([c.label or c.value for c in choices], MAX_ROW_TITLE)
    rows = []
    for choice, title in zip(choices, titles, strict=True):
        row = {"id": _check_id(choice.value, MAX_ROW_ID), "title": title}
        label = " ".join((choice.label or choice.value).split())
        description = choice.description or (label if title != label else "")
        if description:
            row["description"] = shorten(description, MAX_ROW_DESCRIPTION)
        rows.append(row)
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": body},
            "action": {
                "button": shorten(button, MAX_LIST_BUTTON),
                "sections": [{"rows": rows}],
            },
        },
    }


def location_request(body: str) -> dict[str, Any]:
    return {
        "type": "interactive",
        "interactive": {
            "type": "location_request_message",
            "body": {"text": body},
            "action": {"name": "send_location"},
        },
    }


def numbered(text: str, choices: Sequence[Choice]) -> str:
    lines = []
    for number, choice in enumerate(choices, start=1):
        hint = f" ({choice.description})" if choice.description else ""
        lines.append(f"{number}. {choice.label or choice.value}{hint}")
    return "\n\n".join(p for p in (text.strip(), "\n".join(lines)) if p)


def _image(ref: str, caption: str) -> dict[str, Any]:
    link = ref.startswith(("https://", "http://"))
    image: dict[str, Any] = {"link": ref} if link else {"id": ref}
    if caption:
        image["caption"] = caption
    return {"type": "image", "image": image}


def render(reply: Reply) -> list[dict[str, Any]]:
    """The message objects (without recipient) that together say `reply`, in order."""
    text = reply.text if reply.text.strip() else ""
    choose, share = _WORDS.get(getattr(reply, "lang", ""), (LIST_BUTTON_LABEL, LOCATION_PROMPT))
    choices: Sequence[Choice] = reply.choices
    interactive = bool(choices) or reply.request_location
    out: list[dict[str, Any]] = []
    if reply.photos:
        single = len(reply.photos) == 1
        caption = text if single and not interactive and _length(text) <= MAX_CAPTION else ""
        out += [_image(ref, caption if i == 0 else "") for i, ref in enumerate(reply.photos)]
        if caption:
            text = ""
    if len(choices) > MAX_LIST_ROWS:
        text, choices = numbered(text, choices), ()
    if choices:
        few = len(choices) <= MAX_BUTTONS
        limit = MAX_INTERACTIVE_BODY if few else MAX_LIST_BODY
        pieces, body = _body_and_rest(text, limit, choose)
        out += [_text_message(p) for p in pieces]
        out.append(reply_buttons(body, choices) if few else list_message(body, choices, choose))
        if reply.request_location:  # one interactive per message: the location button follows
            out.append(location_request(share))
    elif reply.request_location:
        pieces, body = _body_and_rest(text, MAX_INTERACTIVE_BODY, share)
        out += [_text_message(p) for p in pieces]
        out.append(location_request(body))
    elif text:
        out += [_text_message(p) for p in split_text(text, MAX_TEXT)]
    if reply.location is not None:
        point = {"latitude": reply.location.lat, "longitude": reply.location.lon}
        out.append({"type": "location", "location": point})
    if not out:
        raise SendError(SendFailure.DEAD, "empty reply: no text, choices, photos or location")
    return out


def template_message(name: str, language: str, notice: StatusNotice) -> dict[str, Any]:
    """The status template: body parameters {{1}} = ticket, {{2}} = status label."""
    parameters = [
        {"type": "text", "text": _template_parameter(value)}
        for value in (notice.ticket, notice.status)
    ]
    return {
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": language},
            "components": [{"type": "body", "parameters": parameters}],
        },
    }


def _template_parameter(value: str) -> str:
    # Template parameters may not hold new lines, tabs or more than 4 consecutive spaces.
    return " ".join(value.split())[:1000] or "-"


def recipient(chat_id: str) -> dict[str, str]:
    """A phone number goes in "to"; a business-scoped user id ("ID.123...") in "recipient"."""
    if _DIGITS.fullmatch(chat_id):
        return {"to": chat_id.lstrip("+")}
    return {"recipient": chat_id}


# --------------------------------------------------------------------------------------------
# The sender


# Whether a free-form message may go to `chat_id` now (the citizen wrote within 24 hours).
WindowCheck = Callable[[str], Awaitable[bool]]


class WhatsAppSender:
    """Sends replies, marks messages read and fetches media through the Cloud API."""

    name = CHANNEL
    capabilities = CAPABILITIES

    def __init__(
        self,
        phone_number_id: str,
        access_token: str,
        *,
        graph_base: str = DEFAULT_GRAPH_BASE,
        api_version: str = "v21.0",
        status_template: str = "",
        template_language: str = "id",
        window: WindowCheck | None = None,
        request_timeout: float = 10.0,
        download_timeout: float = 60.0,
        max_download: int = DEFAULT_MAX_DOWNLOAD,
    ) -> None:
        if not phone_number_id or not access_token:
            raise ValueError("whatsapp phone_number_id and access_token are required")
        register_secret(access_token)
        self.phone_number_id = phone_number_id
        self.status_template = status_template
        self.template_language = template_language or "id"
        self.window = window
        self.max_download = max_download
        self._token = access_token
        self._graph = graph_base.rstrip("/")
        self._download_timeout = download_timeout
        self._client = httpx.AsyncClient(
            base_url=f"{self._graph}/{api_version}/",
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=request_timeout,
        )

    # -- sending ---------------------------------------------------------------------------

    async def send(self, chat_id: str, reply: Reply) -> Sent:
        messages = render(reply)  # raises DEAD before anything is sent
        if self.window is not None and not await self.window(chat_id):
            return await self._outside_window(chat_id, reply, "outside the 24-hour window")
        try:
            last: str | None = None
            for message in messages:
                last = await self._post_message(chat_id, message)
            return Sent(external_id=last)
        except SendError as exc:
            if exc.failure is SendFailure.WAIT:
                return await self._outside_window(chat_id, reply, exc.reason)
            raise

    async def _outside_window(self, chat_id: str, reply: Reply, reason: str) -> Sent:
        if reply.notice is not None and self.status_template:
            return await self.send_template(chat_id, reply.notice)
        if reply.notice is not None:
            reason += "; no status_template is configured"
        raise SendError(SendFailure.WAIT, f"{reason}: held until the citizen writes again")

    async def send_template(self, chat_id: str, notice: StatusNotice) -> Sent:
        if not self.status_template:
            raise SendError(SendFailure.WAIT, "no status_template is configured")
        message = template_message(self.status_template, self.template_language, notice)
        return Sent(external_id=await self._post_message(chat_id, message))

    async def _post_message(self, chat_id: str, message: dict[str, Any]) -> str | None:
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            **recipient(chat_id),
            **message,
        }
        answer = await self._call("POST", f"{self.phone_number_id}/messages", json=body)
        sent = answer.get("messages") if isinstance(answer, dict) else None
        first = sent[0] if isinstance(sent, list) and sent else None
        wamid = first.get("id") if isinstance(first, dict) else None
        if not isinstance(wamid, str) or not wamid:
            log.warning("the Cloud API accepted a message without giving its id")
            return None
        return wamid

    async def mark_read(self, message_id: str, *, typing: bool = True) -> None:
        """Blue ticks for the citizen's message, and a typing indicator while we answer."""
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": message_id,
        }
        if typing:
            body["typing_indicator"] = {"type": "text"}
        await self._call("POST", f"{self.phone_number_id}/messages", json=body)

    # -- media -----------------------------------------------------------------------------

    async def fetch_media(self, media: MediaRef) -> FetchedMedia:
        """``GET {graph}/{version}/{media_id}`` gives a URL; download it with the token."""
        info = await self._call(
            "GET", _media_path(media.ref), params={"phone_number_id": self.phone_number_id}
        )
        url = info.get("url") if isinstance(info, dict) else None
        if not isinstance(url, str) or not self._may_send_token_to(url):
            raise SendError(SendFailure.DEAD, "the media lookup returned no usable URL")
        declared = _int(info.get("file_size"))
        if declared is not None and declared > self.max_download:
            raise SendError(SendFailure.DEAD, f"media is {declared} bytes, over the limit")
        mime = info.get("mime_type") if isinstance(info.get("mime_type"), str) else ""
        content = await self._download(url)
        return FetchedMedia(content=content, mime=mime or media.mime)

    def _may_send_token_to(self, url: str) -> bool:
        """Our bearer token goes only over HTTPS, or to the configured Graph host itself."""
        parts, graph = urlsplit(url), urlsplit(self._graph)
        if parts.scheme == "https" and parts.hostname:
            return True
        return (parts.scheme, parts.netloc) == (graph.scheme, graph.netloc)

    async def _download(self, url: str) -> bytes:
        try:
            async with self._client.stream(
                "GET", url, timeout=self._download_timeout, follow_redirects=True
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise _error_of(response)
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_download:
                        raise SendError(SendFailure.DEAD, "media is over the download limit")
                    chunks.append(chunk)
                return b"".join(chunks)
        except SendError:
            raise
        except httpx.HTTPError as exc:
            raise SendError(SendFailure.RETRY, f"download failed: {type(exc).__name__}") from None

    # -- plumbing --------------------------------------------------------------------------

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise SendError(SendFailure.RETRY, "timed out") from None
        except httpx.HTTPError as exc:
            raise SendError(SendFailure.RETRY, f"network error: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise _error_of(response)
        try:
            return response.json()
        except ValueError:
            raise SendError(SendFailure.RETRY, "the Cloud API answered with no JSON") from None

    async def aclose(self) -> None:
        await self._client.aclose()


def _error_of(response: httpx.Response) -> SendError:
    try:
        body = response.json()
    except ValueError:
        body = None
    return classify_error(response.status_code, body, response.headers.get("retry-after"))


def _media_path(media_id: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,200}", media_id):  # digits, in practice
        raise SendError(SendFailure.DEAD, "not a WhatsApp media id")
    return media_id


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
