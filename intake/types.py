"""Message and domain types shared by the flow, the channels and storage.

Everything here is plain data: no I/O, no platform details.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class MessageKind(StrEnum):
    TEXT = "text"
    CHOICE = "choice"  # a button, list row or callback: `choice` holds the value
    LOCATION = "location"
    PHOTO = "photo"
    VOICE = "voice"
    COMMAND = "command"  # "/start", "/help": `text` holds the command without the slash
    UNSUPPORTED = "unsupported"  # sticker, video, reaction...: `text` names what it was


@dataclass(frozen=True)
class GeoPoint:
    lat: float
    lon: float


@dataclass(frozen=True)
class MediaRef:
    """A platform's reference to a file the citizen sent (not yet downloaded)."""

    channel: str
    ref: str  # Telegram file_id, WhatsApp media id, a local path for the console
    mime: str = ""
    size: int | None = None
    document: bool = False  # sent as a file (a Telegram document), not as a photo


@dataclass(frozen=True)
class InboundMessage:
    channel: str  # "telegram" | "whatsapp" | "sms" | "console" | ...
    external_id: str  # unique per channel: the key for deduplication
    sender_id: str  # the platform's stable user id
    chat_id: str  # where replies go
    kind: MessageKind
    received_at: datetime
    text: str = ""
    choice: str | None = None
    location: GeoPoint | None = None
    media: MediaRef | None = None
    media_group: str | None = None  # Telegram album id
    sender_name: str | None = None
    phone: str | None = None
    language_hint: str | None = None
    campaign_hint: str | None = None  # a campaign id the channel was opened with (web chat)

    @property
    def conversation_key(self) -> str:
        return conversation_key(self.channel, self.chat_id)


def conversation_key(channel: str, chat_id: str) -> str:
    return f"{channel}:{chat_id}"


@dataclass(frozen=True)
class DeliveryStatus:
    """A platform's word on an outbound message we sent."""

    channel: str
    external_id: str  # the platform's id of our outbound message
    status: str  # "sent" | "delivered" | "read" | "failed"
    at: datetime
    error: str | None = None


@dataclass(frozen=True)
class Choice:
    value: str  # short and stable: fits Telegram's 64-byte callback_data
    label: str
    description: str = ""


@dataclass(frozen=True)
class StatusNotice:
    """Marks a reply as a status notification about a ticket, sent without the citizen asking.

    Channels that restrict unsolicited messages (WhatsApp's 24-hour window) send these as an
    approved template with the ticket and the status label as parameters.
    """

    ticket: str
    status: str  # the label the citizen sees, e.g. "Sedang ditindaklanjuti"


@dataclass(frozen=True)
class Reply:
    """Something to say to the citizen. Channels decide how to render choices."""

    text: str
    choices: tuple[Choice, ...] = ()
    request_location: bool = False  # offer a "share my location" button where the channel can
    remove_keyboard: bool = False
    photos: tuple[str, ...] = ()  # platform refs of photos to show (officer cards)
    documents: tuple[str, ...] = ()  # ... and of images the citizen sent as files
    voices: tuple[str, ...] = ()  # ... and of the citizen's voice notes, to play
    # Attachments (by id) to upload from the media store: files the platform cannot show by a
    # reference of its own (a WhatsApp photo in a Telegram group). The sender loads them just
    # before sending; the outbox never holds their bytes.
    stored: tuple[int, ...] = ()
    location: GeoPoint | None = None
    notice: StatusNotice | None = None
    lang: str = ""  # the language of `text` ("id"/"en"; "" = unknown), for channels that add words

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "choices": [
                {"value": c.value, "label": c.label, "description": c.description}
                for c in self.choices
            ],
            "request_location": self.request_location,
            "remove_keyboard": self.remove_keyboard,
            "photos": list(self.photos),
            "documents": list(self.documents),
            "voices": list(self.voices),
            "stored": list(self.stored),
            "location": (
                {"lat": self.location.lat, "lon": self.location.lon} if self.location else None
            ),
            "notice": (
                {"ticket": self.notice.ticket, "status": self.notice.status}
                if self.notice
                else None
            ),
            "lang": self.lang,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Reply:
        loc = d.get("location")
        notice = d.get("notice")
        return cls(
            text=d["text"],
            choices=tuple(
                Choice(c["value"], c["label"], c.get("description", ""))
                for c in d.get("choices", [])
            ),
            request_location=bool(d.get("request_location", False)),
            remove_keyboard=bool(d.get("remove_keyboard", False)),
            photos=tuple(d.get("photos", [])),
            documents=tuple(d.get("documents", [])),
            voices=tuple(d.get("voices", [])),
            stored=tuple(_attachment_id(i) for i in d.get("stored", [])),
            location=GeoPoint(loc["lat"], loc["lon"]) if loc else None,
            notice=StatusNotice(notice["ticket"], notice["status"]) if notice else None,
            lang=str(d.get("lang") or ""),
        )


def _attachment_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"not an attachment id: {value!r}")
    return value


@dataclass(frozen=True)
class Category:
    id: str
    name: str  # Indonesian
    name_en: str
    agency: str  # agency id
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Agency:
    id: str
    name: str
    telegram_chat_id: str | None = None


@dataclass(frozen=True)
class Kelurahan:
    kelurahan: str
    kecamatan: str
    code: str
    lat: float  # label point, inside the area
    lon: float
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlaceMatch:
    """Where a report is: from a GPS point or a typed place name."""

    kelurahan: str | None
    kecamatan: str | None
    code: str | None = None
    point: GeoPoint | None = None
    address: str = ""  # what the citizen typed, or the platform's venue name


@dataclass(frozen=True)
class CategoryCandidate:
    category_id: str
    score: float  # 0..100


@dataclass
class ReportDraft:
    """What the flow has collected; becomes a Report when filed."""

    description: str = ""
    category_id: str | None = None
    place: PlaceMatch | None = None
    photos: list[MediaRef] = field(default_factory=list)
    anonymous: bool = False
    confidential: bool = False
    voice_notes: list[MediaRef] = field(default_factory=list)  # attached like photos


class ReportStatus(StrEnum):
    RECEIVED = "received"
    VERIFIED = "verified"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ChannelCapabilities:
    """What a channel can show, so the flow can ask the right questions."""

    buttons: bool = True  # choices rendered as buttons (else numbered options)
    photos: bool = True  # the citizen can send photos
    location: bool = True  # the citizen can share a GPS point
    max_text: int = 4096  # characters in one message
    # A shorter catalogue of texts for channels that pay per character ("sms"); "" = the usual.
    text_variant: str = ""


def message_to_dict(message: InboundMessage) -> dict[str, Any]:
    """A JSON-ready form of an inbound message, kept in the inbox for replay."""
    return {
        "channel": message.channel,
        "external_id": message.external_id,
        "sender_id": message.sender_id,
        "chat_id": message.chat_id,
        "kind": message.kind.value,
        "received_at": message.received_at.isoformat(),
        "text": message.text,
        "choice": message.choice,
        "location": (
            {"lat": message.location.lat, "lon": message.location.lon} if message.location else None
        ),
        "media": (
            {
                "channel": message.media.channel,
                "ref": message.media.ref,
                "mime": message.media.mime,
                "size": message.media.size,
                "document": message.media.document,
            }
            if message.media
            else None
        ),
        "media_group": message.media_group,
        "sender_name": message.sender_name,
        "phone": message.phone,
        "language_hint": message.language_hint,
        "campaign_hint": message.campaign_hint,
    }


def message_from_dict(data: dict[str, Any]) -> InboundMessage:
    location = data.get("location")
    media = data.get("media")
    return InboundMessage(
        channel=data["channel"],
        external_id=data["external_id"],
        sender_id=data["sender_id"],
        chat_id=data["chat_id"],
        kind=MessageKind(data["kind"]),
        received_at=datetime.fromisoformat(data["received_at"]),
        text=data.get("text", ""),
        choice=data.get("choice"),
        location=GeoPoint(location["lat"], location["lon"]) if location else None,
        media=(
            MediaRef(
                media["channel"],
                media["ref"],
                media.get("mime", ""),
                media.get("size"),
                bool(media.get("document", False)),
            )
            if media
            else None
        ),
        media_group=data.get("media_group"),
        sender_name=data.get("sender_name"),
        phone=data.get("phone"),
        language_hint=data.get("language_hint"),
        campaign_hint=data.get("campaign_hint"),
    )
