"""One table of channel behaviours, and one small adapter per channel to run it with.

Modelled on RapidPro courier's handler tests (a list of cases, each saying what is posted and
what must come of it), but shared: every case runs against every channel, through the real
webhook route of the app, with the platform's fake API over loopback HTTP answering the sends
(tests/test_channel_cases.py runs them). A case is a few steps; a step is what the citizen's
platform posts (`Send`) and what must follow: the HTTP status, the reply that reaches the fake
platform (a fragment, compared case-insensitively; None: no reply at all), and whether the
message is stored in the inbox. Where channels differ, a value is a mapping by channel name
(`per`), so the differences stand in the table, not in the code.

An adapter knows how its platform builds a request (`payload`), signs it (`headers`), where
it posts it (`path`), and what the fake API received for the citizen (`replies`).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, TypeVar
from urllib.parse import parse_qsl, urlencode

import telegram_updates as tg
import whatsapp_payloads as wa
from app_server import (
    ANDROID_SIGNING_KEY,
    TELEGRAM_SECRET,
    TWILIO_WEBHOOK_URL,
    android_env,
    telegram_env,
    twilio_env,
    whatsapp_env,
)
from fake_sms import TWILIO_NUMBER, FakeGateway, FakeTwilio, android_signature, twilio_signature
from fake_telegram import FakeTelegram
from fake_whatsapp import APP_SECRET, FakeGraph

CHANNELS = ("telegram", "whatsapp", "sms-twilio", "sms-android")

Kind = Literal["text", "unsupported", "malformed"]
Signature = Literal["valid", "wrong", "missing"]
_T = TypeVar("_T")
PerChannel: TypeAlias = _T | Mapping[str, _T]  # one value, or one per channel name


def per(value: PerChannel[_T], channel: str) -> _T:
    """`value` for `channel`: a mapping by channel name, or one value for all channels."""
    if isinstance(value, Mapping):
        return value[channel]  # type: ignore[no-any-return]
    return value


@dataclass(frozen=True)
class Send:
    """What the citizen's platform posts to the webhook."""

    kind: Kind = "text"
    text: str = "halo"
    signature: Signature = "valid"
    times: int = 1  # the very same request, delivered this many times (platforms retry)


@dataclass(frozen=True)
class Step:
    send: Send
    status: PerChannel[int] = 200
    reply: PerChannel[str | None] = None  # a fragment of the first new reply; None: no reply
    replies: PerChannel[int] = 1  # how many new replies arrive, when `reply` is not None
    stored: PerChannel[bool] = True  # the message is in the inbox (once, however often sent)


@dataclass(frozen=True)
class Case:
    id: str  # the test id
    label: str
    steps: tuple[Step, ...]


GREETING = "setuju"  # "Apakah Anda setuju?" (chat apps), "... Setuju?" (SMS)
UNREADABLE = "bisa membaca"  # "belum bisa membaca stiker" / "hanya bisa membaca teks"

CASES: tuple[Case, ...] = (
    Case(
        "text-answered",
        "a text is stored and answered",
        (Step(Send(text="halo"), reply=GREETING),),
    ),
    Case(
        "duplicate-once",
        "the same message delivered twice is processed once",
        (Step(Send(text="halo", times=2), reply=GREETING),),
    ),
    Case(
        "wrong-signature",
        "a wrong signature or secret is refused and nothing is stored",
        (Step(Send(signature="wrong"), status=403, stored=False),),
    ),
    Case(
        "missing-signature",
        "a missing signature is refused and nothing is stored",
        (Step(Send(signature="missing"), status=401, stored=False),),
    ),
    Case(
        "malformed-body",
        "a malformed (but signed) body is never a 500, and nothing is stored",
        (
            Step(
                Send(kind="malformed"),
                status={"telegram": 400, "whatsapp": 200, "sms-twilio": 200, "sms-android": 400},
                stored=False,
            ),
        ),
    ),
    Case(
        "unsupported-kind",
        "an unsupported kind gets a helpful reply and the conversation carries on",
        (
            Step(Send(text="halo"), reply=GREETING),
            Step(
                Send(kind="unsupported"),
                # An MMS (Twilio with NumMedia, the Android gateway's mms:received) too.
                reply=UNREADABLE,
                replies=2,  # the helpful reply, then the question the citizen is at, again
            ),
            Step(Send(text="setuju"), reply="Ceritakan"),
        ),
    ),
    Case(
        "empty-text",
        "an empty text never fails: the chat apps answer it as a first message, SMS drops it",
        (
            Step(
                Send(text=""),
                reply={
                    "telegram": GREETING,
                    "whatsapp": GREETING,
                    "sms-twilio": None,
                    "sms-android": None,
                },
                stored={
                    "telegram": True,
                    "whatsapp": True,
                    "sms-twilio": False,
                    "sms-android": False,
                },
            ),
        ),
    ),
)


# -- the adapters ---------------------------------------------------------------------------


@dataclass
class Request:
    body: bytes
    content_type: str
    form: dict[str, str] = field(default_factory=dict)  # what Twilio signs


def _json(payload: Any) -> Request:
    return Request(json.dumps(payload, separators=(",", ":")).encode(), "application/json")


_ids = itertools.count(1)


class TelegramChannel:
    name = "telegram"
    path = "/webhooks/telegram"
    conversation = f"telegram:{tg.CITIZEN_ID}"

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake

    def env(self) -> dict[str, str]:
        return telegram_env(self.fake)

    def payload(self, kind: Kind, text: str) -> Request:
        if kind == "malformed":
            return Request(b"{oops", "application/json")
        return _json(tg.sticker() if kind == "unsupported" else tg.text(text))

    def headers(self, request: Request, signature: Signature) -> dict[str, str]:
        secret = {"valid": TELEGRAM_SECRET, "wrong": "not-the-secret", "missing": None}[signature]
        headers = {"Content-Type": request.content_type}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        return headers

    def replies(self) -> list[str]:
        chat = str(tg.CITIZEN_ID)
        return [
            str(c.params["text"]) for c in self.fake.calls_to("sendMessage") if c.chat_id == chat
        ]

    def calls(self) -> list[Any]:
        return [c for c in self.fake.calls if c.method != "getMe"]  # getMe: the bot starting


class WhatsAppChannel:
    name = "whatsapp"
    path = "/webhooks/whatsapp"
    conversation = f"whatsapp:{wa.CITIZEN['wa_id']}"

    def __init__(self, fake: FakeGraph) -> None:
        self.fake = fake

    def env(self) -> dict[str, str]:
        return whatsapp_env(self.fake)

    def payload(self, kind: Kind, text: str) -> Request:
        if kind == "malformed":
            return Request(b"{not json", "application/json")
        return _json(wa.incoming(wa.sticker() if kind == "unsupported" else wa.text(text)))

    def headers(self, request: Request, signature: Signature) -> dict[str, str]:
        headers = {"Content-Type": request.content_type}
        if signature != "missing":
            secret = APP_SECRET if signature == "valid" else "not-the-app-secret"
            headers["X-Hub-Signature-256"] = wa.sign(secret, request.body)
        return headers

    def replies(self) -> list[str]:
        return self.fake.texts(wa.CITIZEN["wa_id"])

    def calls(self) -> list[Any]:
        return list(self.fake.calls)


CITIZEN_PHONE = "+6281234567890"


class TwilioChannel:
    name = "sms-twilio"
    path = "/webhooks/sms/twilio"
    conversation = f"sms:{CITIZEN_PHONE}"

    def __init__(self, fake: FakeTwilio) -> None:
        self.fake = fake

    def env(self) -> dict[str, str]:
        return twilio_env(self.fake)

    def payload(self, kind: Kind, text: str) -> Request:
        content_type = "application/x-www-form-urlencoded"
        if kind == "malformed":  # Twilio signs the fields it sends: here, whatever this parses to
            body = b"\xff\xfe%%%&&&=="
            form = dict(parse_qsl(body.decode(errors="replace"), keep_blank_values=True))
            return Request(body, content_type, form)
        sid = f"SM{next(_ids):032x}"
        form = {
            "ToCountry": "ID",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "SmsStatus": "received",
            "Body": text,
            "To": TWILIO_NUMBER,
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": self.fake.account_sid,
            "From": CITIZEN_PHONE,
            "ApiVersion": "2010-04-01",
        }
        if kind == "unsupported":  # an MMS with a picture and no text
            form |= {"Body": "", "NumMedia": "1", "MediaUrl0": "https://api.twilio.com/m/ME1"}
            form["MediaContentType0"] = "image/jpeg"
        return Request(urlencode(form).encode(), content_type, form)

    def headers(self, request: Request, signature: Signature) -> dict[str, str]:
        headers = {"Content-Type": request.content_type}
        if signature != "missing":
            key = self.fake.auth_token if signature == "valid" else "not-the-token"
            headers["X-Twilio-Signature"] = twilio_signature(key, TWILIO_WEBHOOK_URL, request.form)
        return headers

    def replies(self) -> list[str]:
        return self.fake.texts_to(CITIZEN_PHONE)

    def calls(self) -> list[Any]:
        return list(self.fake.calls)


class AndroidChannel:
    name = "sms-android"
    path = "/webhooks/sms/android"
    conversation = f"sms:{CITIZEN_PHONE}"

    def __init__(self, fake: FakeGateway) -> None:
        self.fake = fake

    def env(self) -> dict[str, str]:
        return android_env(self.fake)

    def payload(self, kind: Kind, text: str) -> Request:
        if kind == "malformed":
            return Request(b"{not json", "application/json")
        received = {"phoneNumber": "081234567890", "simNumber": 1}
        received["receivedAt"] = "2026-11-27T08:46:11.000+07:00"
        if kind == "unsupported":
            event = "mms:received"
            received |= {"messageId": "mms1", "transactionId": "T1", "subject": "", "size": 52100}
        else:
            event = "sms:received"
            received |= {"messageId": f"m{next(_ids)}", "message": text}
        return _json(
            {
                "deviceId": "ffffffffceb0b1db0000018e937c815b",
                "event": event,
                "id": f"evt{next(_ids):08d}",
                "payload": received,
                "webhookId": "wh-1",
            }
        )

    def headers(self, request: Request, signature: Signature) -> dict[str, str]:
        headers = {"Content-Type": request.content_type}
        if signature != "missing":
            stamp = str(int(time.time()))
            key = ANDROID_SIGNING_KEY if signature == "valid" else "another-key"
            headers |= {"X-Signature": android_signature(key, request.body, stamp)}
            headers["X-Timestamp"] = stamp
        return headers

    def replies(self) -> list[str]:
        return self.fake.texts_to(CITIZEN_PHONE)

    def calls(self) -> list[Any]:
        return list(self.fake.calls)


Channel = TelegramChannel | WhatsAppChannel | TwilioChannel | AndroidChannel
