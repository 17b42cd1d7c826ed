"""What every channel adapter provides to the service.

Inbound: a route verifies the request (`Signature` says how that went) and calls the adapter's
parser, which turns one platform payload into `InboundMessage`s and `DeliveryStatus`es.
Outbound: the outbox dispatcher calls `send()` for one stored `Reply` and learns from
`SendError` whether to retry, give up, mark the recipient unreachable, or hold the reply until
the recipient writes again.

Below those: the few helpers the adapters share (text length in UTF-16 code units, map points,
phone numbers), so that each platform's rule is written once.
"""

from __future__ import annotations

import hmac
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from intake.types import ChannelCapabilities, GeoPoint, MediaRef, Reply


class Signature(StrEnum):
    """What checking a webhook request's signature or secret header found."""

    VALID = "valid"
    MISSING = "missing"  # no header: answer 401
    INVALID = "invalid"  # present but wrong or malformed: answer 403


def check_secret(secret: str, given: str | None) -> Signature:
    """Compare a value a request carries with a secret we configured, in constant time.

    MISSING when the request carries none, INVALID when it differs. An empty secret never
    validates anything.
    """
    value = (given or "").encode()
    if not value:
        return Signature.MISSING
    expected = secret.encode()
    if not expected or not hmac.compare_digest(value, expected):
        return Signature.INVALID
    return Signature.VALID


class SendFailure(StrEnum):
    RETRY = "retry"  # temporary: network, 5xx, throttling; try again later
    DEAD = "dead"  # this message can never be sent (bad request); give up on it
    UNREACHABLE = "unreachable"  # the recipient blocked us or does not exist: stop sending
    # The platform accepts this message only after the recipient writes again (WhatsApp's
    # 24-hour window): hold it, and send it when they do.
    WAIT = "wait"


class SendError(Exception):
    def __init__(self, failure: SendFailure, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.failure = failure
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class Sent:
    external_id: str | None  # the platform's id for what we sent, when it gives one


@dataclass(frozen=True)
class FetchedMedia:
    content: bytes
    mime: str  # as the platform declared it; the media store checks the bytes itself


class ChannelSender(Protocol):
    name: str
    capabilities: ChannelCapabilities

    async def send(self, chat_id: str, reply: Reply) -> Sent:
        """Deliver one reply; raise SendError on failure."""
        ...

    async def fetch_media(self, media: MediaRef) -> FetchedMedia:
        """Download a file the citizen sent; raise SendError(RETRY|DEAD) on failure."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class MediaUpload:
    """A file to upload with a reply, as the platform's own reference could not show it."""

    content: bytes
    filename: str  # its extension tells the platform the type, e.g. "lampiran-12.ogg"
    mime: str


@runtime_checkable
class UploadingSender(ChannelSender, Protocol):
    """A sender that can also upload files: `uploads` maps references used in the reply's
    photos, documents and voices to the bytes to send in their place."""

    async def send_uploads(
        self, chat_id: str, reply: Reply, uploads: Mapping[str, MediaUpload]
    ) -> Sent: ...


# --------------------------------------------------------------------------------------------
# Shared by the adapters


def utf16_len(text: str) -> int:
    """The length of `text` in UTF-16 code units, as Telegram and WhatsApp count characters."""
    return len(text.encode("utf-16-le")) // 2


def utf16_fit(text: str, limit: int) -> int:
    """The largest n such that text[:n] fits `limit` UTF-16 code units."""
    n = min(len(text), limit)
    while n > 0 and (over := utf16_len(text[:n]) - limit) > 0:
        n -= max(1, over // 2)
    return n


def geo_point(lat: Any, lon: Any) -> GeoPoint | None:
    """The point at a platform's latitude and longitude; None unless both are finite numbers
    (not booleans) in range."""
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon)):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return GeoPoint(float(lat), float(lon))


def plus_digits(number: str | None) -> str | None:
    """A phone number as we store it, "+<digits>": Telegram and WhatsApp send international
    numbers, usually without the "+"."""
    if not number:
        return None
    digits = re.sub(r"\D", "", number)
    return f"+{digits}" if digits else None
