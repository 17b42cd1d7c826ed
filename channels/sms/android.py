"""SMS Gateway for Android (capcom6/android-sms-gateway): an Android phone with an ordinary SIM.

Webhooks are JSON events, one per request::

    {"id": "Ey6ECgOkVVFjz3CL48B8C", "webhookId": "...", "deviceId": "...",
     "event": "sms:received",
     "payload": {"messageId": "...", "message": "...", "phoneNumber": "+62812...",
                 "simNumber": 1, "receivedAt": "2024-06-22T15:46:11.000+07:00"}}

``mms:received`` (a picture message, whose content the app does not hand over) and any other
event naming the citizen's ``phoneNumber`` become a message we cannot read, answered helpfully.
``sms:sent``, ``sms:delivered`` and ``sms:failed`` report on messages we sent (their
``payload.messageId`` is the id the send API returned; ``sms:failed`` adds ``reason``).
The device retries an event until it gets a 2xx (for about two days), always with the same
top-level ``id``: that id is the deduplication key. ``payload.messageId`` of a received SMS
is derived from its content and is not unique.

Signature: ``X-Signature`` = hex(HMAC-SHA256(signing key, raw body + ``X-Timestamp``)), the
timestamp in Unix seconds; a request older or newer than five minutes is refused (replay).

Sending: ``POST {gateway_url}/message`` on the phone's local server, or
``{gateway_url}/3rdparty/v1/messages`` on the cloud (or a private) server, basic auth, body
``{"textMessage": {"text": ...}, "phoneNumbers": [...]}``; 202 answers ``{"id": ...}``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from channels.base import SendError, SendFailure
from channels.secrets import register_secret
from channels.sms import CHANNEL, SmsEvents, json_object, normalize_phone, post, text_message
from channels.wire import header_seconds
from intake.types import DeliveryStatus, MessageKind

PROVIDER = "android"
SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"
MAX_SKEW_SECONDS = 300
_EARLIEST, _LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)
MAX_UNIX_TIME = 10**11  # past year 5000: anything larger is not a time stamp
MAX_RETRY_AFTER = 3600.0
CLOUD_HOST = "api.sms-gate.app"
CLOUD_PATH = "/3rdparty/v1"

RECEIVED = "sms:received"
_STATUSES = {"sms:sent": "sent", "sms:delivered": "delivered", "sms:failed": "failed"}
UNREADABLE_KINDS = {"mms:received": "mms"}  # other events a citizen causes: "" (this message)
_TIME_FIELDS = {"sms:sent": "sentAt", "sms:delivered": "deliveredAt", "sms:failed": "failedAt"}


# --------------------------------------------------------------------------------------------
# Signatures


def compute_signature(key: str, body: bytes, timestamp: str) -> str:
    """hex HMAC-SHA256 of the raw body followed by the X-Timestamp value."""
    return hmac.new(
        key.encode("utf-8"), body + timestamp.encode("utf-8"), hashlib.sha256
    ).hexdigest()


def check_signature(
    key: str, body: bytes, timestamp: str, signature: str, now: datetime
) -> str | None:
    """None when the request is genuine and fresh; otherwise what is wrong with it."""
    if not key:
        return "no signing key configured"
    expected = compute_signature(key, body, timestamp.strip())
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        return f"wrong {SIGNATURE_HEADER}"
    sent = header_seconds(timestamp, at_most=MAX_UNIX_TIME)  # "nan" and "inf" are no time
    if sent is None:
        return f"{TIMESTAMP_HEADER} is not a Unix time"
    if abs(now.timestamp() - sent) > MAX_SKEW_SECONDS:
        return f"{TIMESTAMP_HEADER} is more than {MAX_SKEW_SECONDS // 60} minutes off"
    return None


# --------------------------------------------------------------------------------------------
# Inbound


def parse_event(data: Any, now: datetime) -> SmsEvents:
    """Turn one (verified) webhook event into a message or a delivery status. Never raises."""
    if not isinstance(data, dict):
        return SmsEvents(ignored="malformed event: not an object")
    event = data.get("event")
    event_id = data.get("id")
    payload = data.get("payload")
    if not isinstance(event, str) or not isinstance(payload, dict):
        return SmsEvents(ignored="malformed event: no event or payload")
    if not isinstance(event_id, str) or not event_id.strip():
        return SmsEvents(ignored="malformed event: no id")
    if event == RECEIVED:
        return _received(event_id, payload, now)
    if event in _STATUSES:
        return _status(event, event_id, payload, now)
    return _unreadable(event, event_id, payload, now)


def _unreadable(event: str, event_id: str, payload: Mapping[str, Any], now: datetime) -> SmsEvents:
    """Something a citizen sent that we cannot read (an MMS, a data SMS, an event of a newer
    app version): a message of the unsupported kind, answered helpfully like a sticker on a
    chat app. Events from no phone number (the device's `system:ping`) are ignored."""
    sender = payload.get("phoneNumber") or payload.get("sender")
    phone = normalize_phone(sender) if isinstance(sender, str) else None
    if phone is None:
        return SmsEvents(ignored=f"event {event}")
    message = text_message(
        external_id=f"{PROVIDER}:{event_id}",
        phone=phone,
        text=UNREADABLE_KINDS.get(event, ""),  # names what it was, for the reply
        received_at=_time(payload.get("receivedAt")) or now,
        kind=MessageKind.UNSUPPORTED,
    )
    return SmsEvents(messages=[message])


def _received(event_id: str, payload: Mapping[str, Any], now: datetime) -> SmsEvents:
    text = payload.get("message")
    sender = payload.get("phoneNumber") or payload.get("sender")
    if not isinstance(text, str) or not isinstance(sender, str):
        return SmsEvents(ignored="malformed sms:received: no message or phoneNumber")
    phone = normalize_phone(sender)
    if phone is None:
        return SmsEvents(ignored="sender is not a phone number")
    if not text.strip():
        return SmsEvents(ignored="empty message")
    received = _time(payload.get("receivedAt")) or now
    message = text_message(
        external_id=f"{PROVIDER}:{event_id}", phone=phone, text=text, received_at=received
    )
    return SmsEvents(messages=[message])


def _status(event: str, event_id: str, payload: Mapping[str, Any], now: datetime) -> SmsEvents:
    message_id = payload.get("messageId")
    if not isinstance(message_id, str) or not message_id:
        return SmsEvents(ignored=f"malformed {event}: no messageId")
    at = _time(payload.get(_TIME_FIELDS[event])) or now
    reason = payload.get("reason")
    error = str(reason)[:300] if reason else None
    delivery = DeliveryStatus(CHANNEL, message_id, _STATUSES[event], at, error)
    return SmsEvents(statuses=[delivery], status_keys=[f"{PROVIDER}:{event_id}"])


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            return None
        utc = parsed.astimezone(UTC)  # 0001-01-01T00:00+07:00 is before year 1 in UTC
    except (ValueError, OverflowError):
        return None
    return utc if _EARLIEST <= utc <= _LATEST else None  # a phone's clock, not a year 1


# --------------------------------------------------------------------------------------------
# Outbound


def messages_url(gateway_url: str) -> str:
    """Where to POST a message, from the configured gateway URL.

    - the public cloud server (``https://api.sms-gate.app``) or any URL already ending in
      ``/3rdparty/v1`` (a private server): ``.../3rdparty/v1/messages``;
    - otherwise the phone's local server (``http://192.168.1.20:8080``): ``.../message``.
    """
    base = gateway_url.rstrip("/")
    parts = urlsplit(base)
    if parts.path.endswith(CLOUD_PATH):
        return f"{base}/messages"
    if parts.hostname == CLOUD_HOST:
        return f"{base}{CLOUD_PATH}/messages"
    return f"{base}/message"


class AndroidGatewayProvider:
    """Sends through the gateway app's API with basic auth (the user name and password the app
    shows)."""

    name = PROVIDER

    def __init__(
        self, gateway_url: str, username: str, password: str, *, timeout: float = 15.0
    ) -> None:
        if not gateway_url:
            raise ValueError("the android gateway needs gateway_url")
        register_secret(password)
        self.url = messages_url(gateway_url)
        auth = (username, password) if username or password else None
        self._client = httpx.AsyncClient(auth=auth, timeout=timeout)

    async def submit(self, to: str, text: str) -> str | None:
        body = {"textMessage": {"text": text}, "phoneNumbers": [to], "withDeliveryReport": True}
        # No answer (RETRY): the phone is off, out of Wi-Fi or asleep, a temporary state.
        response = await post(self._client, self.url, "android gateway", json=body)
        if 200 <= response.status_code < 300:
            data = json_object(response)
            message_id = data.get("id")
            return message_id if isinstance(message_id, str) and message_id else None
        raise classify_error(response)

    async def aclose(self) -> None:
        await self._client.aclose()


def classify_error(response: httpx.Response) -> SendError:
    status = response.status_code
    message = str(json_object(response).get("message") or "")[:200]
    reason = f"android gateway {status}" + (f": {message}" if message else "")
    if status == 429 or status >= 500:
        seconds = header_seconds(response.headers.get("Retry-After"), at_most=MAX_RETRY_AFTER)
        return SendError(SendFailure.RETRY, reason, seconds)
    if status in (401, 403):
        # The gateway's credentials, not this message: keep it for when they are fixed.
        return SendError(SendFailure.RETRY, reason)
    if status == 400 and "phone" in message.lower():
        return SendError(SendFailure.UNREACHABLE, reason)
    return SendError(SendFailure.DEAD, reason)
