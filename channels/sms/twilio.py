"""Twilio Programmable Messaging: verify and parse webhooks, send messages, classify errors.

Webhooks are form posts. Incoming messages carry ``MessageSid, From, To, Body, NumMedia``;
status callbacks for messages we sent carry ``MessageSid, MessageStatus`` (and ``ErrorCode``)
and no ``Body``. Both come to the same URL: we pass it as ``StatusCallback`` when sending.

Signature (``X-Twilio-Signature``): base64(HMAC(key, URL + each parameter name followed by its
value, names sorted)). The key is the account's auth token and the hash SHA-1, unless the
request carries ``X-Twilio-Webhooks-Signature-Settings: key=...,algorithm=HMAC_SHA256``: then
it was signed with a Webhooks SharedKey (our ``webhook_secret``) and that algorithm. The URL is
the one configured at Twilio, i.e. our ``public_url`` plus the route's path; Twilio is not
consistent about including the default port, so both forms are accepted, as Twilio's own
validator does. The tests cross-check this code against ``twilio.request_validator``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

from channels.base import SendError, SendFailure
from channels.secrets import register_secret
from channels.sms import CHANNEL, SmsEvents, json_object, normalize_phone, post, text_message
from channels.wire import header_seconds
from intake.types import DeliveryStatus, MessageKind

PROVIDER = "twilio"
SIGNATURE_HEADER = "X-Twilio-Signature"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
HMAC_SHA1, HMAC_SHA256 = "HMAC_SHA1", "HMAC_SHA256"
_HASHES = {HMAC_SHA1: hashlib.sha1, HMAC_SHA256: hashlib.sha256}
EMPTY_TWIML = "<Response/>"
MAX_BODY = 1600  # characters Twilio accepts in one message

# Error codes (https://www.twilio.com/docs/api/errors) meaning "this number cannot get our SMS".
UNREACHABLE_CODES = frozenset(
    {
        21211,  # invalid 'To' phone number
        21610,  # the recipient replied STOP (unsubscribed)
        21612,  # cannot route to this number
        21614,  # 'To' number is not a valid mobile number
        30004,  # message blocked (by the recipient or the carrier)
        30005,  # unknown destination handset
        30006,  # landline or unreachable carrier
    }
)
RATE_LIMITED = 20429
AUTHENTICATION = frozenset({20003, 20005})

# MessageStatus values worth recording, as DeliveryStatus statuses.
_STATUSES = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}

Params = Sequence[tuple[str, str]]

# SM (SMS) or MM (MMS) and 32 hexadecimal digits, e.g. SM9c5f27b1b4a1d7e0c0e5f7a2d3b4c5d6.
MESSAGE_SID = re.compile(r"(?:SM|MM)[0-9a-f]{32}")


# --------------------------------------------------------------------------------------------
# Signatures


def signature_algorithm(settings_header: str | None) -> str:
    """The algorithm named by X-Twilio-Webhooks-Signature-Settings; HMAC_SHA1 without it."""
    for part in (settings_header or "").split(","):
        name, sep, value = part.partition("=")
        if sep and name.strip().lower() == "algorithm" and value.strip():
            return value.strip().upper()
    return HMAC_SHA1


def compute_signature(key: str, url: str, params: Params, algorithm: str = HMAC_SHA1) -> str:
    """base64 HMAC of the URL followed by every parameter name and value, sorted by name.

    A name given several times contributes each distinct value, in sorted order.
    """
    digest = _HASHES.get(algorithm.upper())
    if digest is None:
        raise ValueError(f"unsupported signature algorithm {algorithm!r}")
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    signed = url + "".join(
        name + value for name in sorted(values) for value in sorted(values[name])
    )
    mac = hmac.new(key.encode("utf-8"), signed.encode("utf-8"), digest)
    return base64.b64encode(mac.digest()).decode("ascii")


def url_forms(url: str) -> list[str]:
    """The URL without its port and with it (the default one if none is given).

    Twilio signs either form depending on the product, so its validator accepts both.
    """
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    host = hostport
    if hostport.startswith("["):  # an IPv6 literal
        host = hostport[: hostport.find("]") + 1]
    elif ":" in hostport:
        host = hostport.rsplit(":", 1)[0]
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return [url]
    prefix = userinfo + at
    bare = urlunsplit(parts._replace(netloc=f"{prefix}{host}"))
    with_port = urlunsplit(parts._replace(netloc=f"{prefix}{host}:{port}"))
    return [bare, with_port]


def verify_signature(
    key: str, url: str, params: Params, signature: str, algorithm: str = HMAC_SHA1
) -> bool:
    """Whether `signature` is Twilio's for this request (constant-time comparison)."""
    if not key or not signature or algorithm.upper() not in _HASHES:
        return False
    given = signature.strip().encode()
    return any(
        hmac.compare_digest(compute_signature(key, form, params, algorithm).encode(), given)
        for form in url_forms(url)
    )


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """The (name, value) pairs of an application/x-www-form-urlencoded body, in order."""
    text = body.decode("utf-8", errors="replace")
    return parse_qsl(text, keep_blank_values=True)


# --------------------------------------------------------------------------------------------
# Inbound


def parse_webhook(params: Params | Mapping[str, str], now: datetime) -> SmsEvents:
    """Turn one (verified) webhook into an incoming message or a delivery status. Never raises."""
    fields = dict(params.items() if isinstance(params, Mapping) else params)
    sid = fields.get("MessageSid") or fields.get("SmsSid") or ""
    if not sid:
        return SmsEvents(ignored="no MessageSid")
    # The signature covers names and values run together, so "MessageSid=SM...&NumMedia=0"
    # and "MessageSid=SM...NumMedia0" sign alike: only a well-formed SID, the same in both
    # fields, is the message Twilio signed.
    if not MESSAGE_SID.fullmatch(sid):
        return SmsEvents(ignored="MessageSid is not a Twilio message SID")
    if "SmsSid" in fields and fields["SmsSid"] != sid:
        return SmsEvents(ignored="MessageSid and SmsSid differ")
    status = (fields.get("MessageStatus") or "").lower()
    if "Body" not in fields and status:
        return _status(sid, status, fields, now)
    sender = normalize_phone(fields.get("From", ""))
    if sender is None:
        return SmsEvents(ignored="sender is not a phone number")
    body = fields.get("Body", "")
    kind = MessageKind.TEXT
    if not body.strip():
        if _int(fields.get("NumMedia")):
            kind, body = MessageKind.UNSUPPORTED, "mms"
        else:
            return SmsEvents(ignored="empty message")
    message = text_message(
        external_id=f"{PROVIDER}:{sid}", phone=sender, text=body, received_at=now, kind=kind
    )
    return SmsEvents(messages=[message])


def _status(sid: str, status: str, fields: Mapping[str, str], now: datetime) -> SmsEvents:
    mapped = _STATUSES.get(status)
    if mapped is None:
        return SmsEvents(ignored=f"status {status}")
    code = _int(fields.get("ErrorCode"))
    error = None
    if code:
        message = fields.get("ErrorMessage", "").strip()
        error = f"twilio {code}" + (f": {message}" if message else "")
    delivery = DeliveryStatus(CHANNEL, sid, mapped, now, error)
    return SmsEvents(
        statuses=[delivery],
        status_keys=[f"{PROVIDER}:{sid}:{status}"],
        unreachable=[sid] if code in UNREACHABLE_CODES else [],
    )


def _int(value: Any) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return 0


# --------------------------------------------------------------------------------------------
# Outbound


class TwilioProvider:
    """Sends with ``POST {api_base}/2010-04-01/Accounts/{sid}/Messages.json`` (basic auth)."""

    name = PROVIDER

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        *,
        api_base: str = "https://api.twilio.com",
        status_callback: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not (account_sid and auth_token and from_number):
            raise ValueError("twilio needs account_sid, auth_token and from_number")
        register_secret(auth_token)
        self.url = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.from_number = from_number
        self.status_callback = status_callback
        self._client = httpx.AsyncClient(auth=(account_sid, auth_token), timeout=timeout)

    async def submit(self, to: str, text: str) -> str | None:
        form = {"To": to, "Body": text}
        if self.from_number.startswith("MG"):  # a Messaging Service picks the sender itself
            form["MessagingServiceSid"] = self.from_number
        else:
            form["From"] = self.from_number
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        response = await post(self._client, self.url, "twilio", data=form)
        data = json_object(response)
        if response.status_code in (200, 201):
            sid = data.get("sid")
            return sid if isinstance(sid, str) and sid else None
        raise classify_error(response.status_code, data, response.headers.get("Retry-After"))

    async def aclose(self) -> None:
        await self._client.aclose()


def classify_error(status: int, data: Mapping[str, Any], retry_after: str | None) -> SendError:
    """A Twilio error answer as a SendError (RETRY, DEAD or UNREACHABLE)."""
    code = _int(data.get("code"))
    message = str(data.get("message") or "")[:200]
    reason = (
        f"twilio {status}" + (f" ({code})" if code else "") + (f": {message}" if message else "")
    )
    if status == 429 or code == RATE_LIMITED:
        return SendError(SendFailure.RETRY, reason, _seconds(retry_after))
    if code in UNREACHABLE_CODES:
        return SendError(SendFailure.UNREACHABLE, reason)
    if status >= 500:
        return SendError(SendFailure.RETRY, reason, _seconds(retry_after))
    if status in (401, 403) or code in AUTHENTICATION:
        # The account's credentials, not this message: keep it for when they are fixed.
        return SendError(SendFailure.RETRY, reason)
    return SendError(SendFailure.DEAD, reason)


def _seconds(value: str | None) -> float | None:
    return header_seconds(value, at_most=3600)
