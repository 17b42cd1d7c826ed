"""What the web chat page posts, as InboundMessages.

A message is JSON: `{"id": ..., "text": "..."}`, `{"id": ..., "choice": "<value>"}` (a clicked
button) or `{"id": ..., "location": {"lat": ..., "lon": ...}}` (the browser's geolocation),
with an optional `"lang"` ("id"/"en", the page's language) and `"campaign"` (the campaign id
the page was opened with, /chat?campaign=<id>). `id` is made by the page for each
message, so a request the browser repeats (a network hiccup) is handled once. A photo comes as
a multipart upload with the same `id` field; the route stores it first (`photo_message`).

Anything else is a `BadPayload` saying what is wrong (answered 400, nothing stored).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Any

from channels.base import geo_point
from channels.wire import BadPayload
from intake.types import InboundMessage, MediaRef, MessageKind

CHANNEL = "web"
MAX_TEXT = 4000  # characters the page lets the citizen type in one message
MAX_CHOICE = 64  # a choice value fits Telegram's callback data: ours are short
LANGUAGES = ("id", "en")
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
_CAMPAIGN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def message_id(value: Any) -> str:
    """The page's id of a message, checked."""
    if not isinstance(value, str) or not _MESSAGE_ID.fullmatch(value):
        raise BadPayload("id: 8 to 64 letters, digits, '-' or '_' (one per message)")
    return value


def language(value: Any) -> str | None:
    return value if isinstance(value, str) and value in LANGUAGES else None


def campaign(value: Any) -> str | None:
    """A campaign id as the page passes it; anything else is no campaign (the chat goes on)."""
    return value if isinstance(value, str) and _CAMPAIGN.fullmatch(value) else None


def _base(chat_id: str, client_id: str, now: datetime, lang: str | None) -> InboundMessage:
    return InboundMessage(
        channel=CHANNEL,
        external_id=f"{chat_id}:{client_id}",  # unique across browsers, repeated by none
        sender_id=chat_id,
        chat_id=chat_id,
        kind=MessageKind.TEXT,
        received_at=now,
        language_hint=lang,
    )


def parse_message(data: Any, chat_id: str, now: datetime) -> InboundMessage:
    """One posted message; raises BadPayload when it is not one."""
    if not isinstance(data, dict):
        raise BadPayload("a JSON object is expected")
    client_id = message_id(data.get("id"))
    base = _base(chat_id, client_id, now, language(data.get("lang")))
    base = _with(base, campaign_hint=campaign(data.get("campaign")))
    given = [name for name in ("text", "choice", "location") if data.get(name) is not None]
    if len(given) != 1:
        raise BadPayload("exactly one of text, choice or location")
    if given == ["text"]:
        text = data["text"]
        if not isinstance(text, str) or not text.strip():
            raise BadPayload("text: a non-empty string")
        if len(text) > MAX_TEXT:
            raise BadPayload(f"text: at most {MAX_TEXT} characters")
        return _with(base, text=text.strip())
    if given == ["choice"]:
        choice = data["choice"]
        if not isinstance(choice, str) or not choice or len(choice) > MAX_CHOICE:
            raise BadPayload(f"choice: the value of a button (1 to {MAX_CHOICE} characters)")
        return _with(base, kind=MessageKind.CHOICE, choice=choice)
    location = data["location"]
    point = None
    if isinstance(location, dict):
        point = geo_point(location.get("lat"), location.get("lon"))
    if point is None:
        raise BadPayload("location: {lat, lon} in degrees")
    return _with(base, kind=MessageKind.LOCATION, location=point)


def photo_message(
    chat_id: str,
    client_id: str,
    now: datetime,
    *,
    stored_path: str,
    mime: str,
    size: int,
    lang: str | None,
) -> InboundMessage:
    """An uploaded photo, already checked and stored at `stored_path` in the media store."""
    media = MediaRef(CHANNEL, stored_path, mime, size)
    base = _base(chat_id, client_id, now, lang)
    return _with(base, kind=MessageKind.PHOTO, media=media)


# What the page may upload as a photo (the media store checks the bytes themselves).
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")


def photo_type(declared: str | None, head: bytes) -> str | None:
    """The photo's type when both the browser's word and the file's first bytes say it is one
    we take; None otherwise."""
    mime = (declared or "").split(";")[0].strip().lower()
    if mime not in PHOTO_TYPES:
        return None
    sniffed = (
        "image/jpeg"
        if head.startswith(b"\xff\xd8\xff")
        else "image/png"
        if head.startswith(b"\x89PNG\r\n\x1a\n")
        else "image/gif"
        if head[:6] in (b"GIF87a", b"GIF89a")
        else "image/webp"
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP"
        else None
    )
    return sniffed


def _with(base: InboundMessage, **changes: Any) -> InboundMessage:
    return replace(base, **changes)
