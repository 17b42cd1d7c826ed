"""Fake SMS providers served over loopback HTTP: Twilio's Messages API and the Android gateway.

Point the service at ``fake.api_base`` (Twilio: `channels.sms.api_base`) or ``fake.gateway_url``
(`channels.sms.gateway_url`). Each fake records every request in order, checks basic auth the
way the real service does, answers with realistic JSON and fails on demand::

    def test_x(fake_twilio):
        fake_twilio.fail_next(400, {"code": 21211, "message": "Invalid 'To' Phone Number"})
        ... fake_twilio.texts_to("+6281234567890")

Both run uvicorn in a background thread with their own event loop. `twilio_signature` and
`android_signature` sign webhooks the way each provider does, for posting to the service.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest
from loopback import LoopbackFake
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "fake-twilio-auth-token-0123456789"
TWILIO_NUMBER = "+6281100000001"
GATEWAY_USER = "sms"
GATEWAY_PASSWORD = "fake-gateway-password-42"


def twilio_signature(
    key: str, url: str, params: Mapping[str, str], algorithm: str | None = None
) -> str:
    """X-Twilio-Signature as Twilio computes it (the `twilio` package's own RequestValidator):
    keyed by the auth token, or the Webhooks SharedKey for "HMAC_SHA256"."""
    signature: str = RequestValidator(key).compute_signature(url, params, algorithm)
    return signature


def android_signature(key: str, body: bytes, timestamp: str) -> str:
    """X-Signature as SMS Gateway for Android computes it: HMAC-SHA256 of body + timestamp."""
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


@dataclass
class Call:
    """One request a fake received."""

    path: str
    params: dict[str, Any]  # the form fields (Twilio) or the JSON body (gateway)
    status: int
    authorized: bool
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Failure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    count: int


class _FakeServer(LoopbackFake):
    calls: list[Call]

    def __init__(self) -> None:
        super().__init__()
        self._failures: list[_Failure] = []

    # -- test-facing API ---------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        body: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next `count` send requests with `status` and `body`."""
        with self._lock:
            self._failures.append(_Failure(status, body or {}, headers or {}, count))

    def sent(self, *, ok_only: bool = True) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.status < 300 or not ok_only]

    # -- helpers -----------------------------------------------------------------------------

    def _take_failure(self) -> _Failure | None:
        return self._take_next(self._failures)

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)


def _basic_auth(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


class FakeTwilio(_FakeServer):
    """``POST /2010-04-01/Accounts/{sid}/Messages.json``, as Twilio answers it."""

    def __init__(self, account_sid: str = TWILIO_SID, auth_token: str = TWILIO_TOKEN) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._sids = itertools.count(1)

    @property
    def api_base(self) -> str:
        return self.base_url

    def texts_to(self, number: str) -> list[str]:
        return [c.params["Body"] for c in self.sent() if c.params.get("To") == number]

    def sid_of(self, body_part: str) -> str:
        """The MessageSid of the (last) message whose body contains `body_part`."""
        for call in reversed(self.sent()):
            if body_part in call.params.get("Body", ""):
                return str(call.params["_sid"])
        raise KeyError(body_part)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/2010-04-01/Accounts/{sid}/Messages.json", self._messages, methods=["POST"])
            ]
        )

    async def _messages(self, request: Request) -> Response:
        params = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        auth = _basic_auth(request)
        authorized = auth == (self.account_sid, self.auth_token)
        sid = request.path_params["sid"]

        def answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
            self._record(Call(request.url.path, params, status, authorized))
            return JSONResponse(body, status_code=status, headers=headers)

        if not authorized or sid != self.account_sid:
            return answer(401, _twilio_error(20003, "Authenticate", 401))
        failure = self._take_failure()
        if failure is not None:
            body = {"status": failure.status, **failure.body}
            return answer(failure.status, body, failure.headers)
        missing = [k for k in ("To", "Body") if not params.get(k)]
        if missing or not (params.get("From") or params.get("MessagingServiceSid")):
            return answer(400, _twilio_error(21604, "A 'To' phone number is required.", 400))
        if len(params["Body"]) > 1600:
            return answer(400, _twilio_error(21617, "The concatenated message body exceeds", 400))
        message_sid = f"SM{next(self._sids):032x}"
        params["_sid"] = message_sid
        return answer(
            201,
            {
                "sid": message_sid,
                "account_sid": sid,
                "to": params["To"],
                "from": params.get("From"),
                "body": params["Body"],
                "status": "queued",
                "num_segments": "1",
                "error_code": None,
                "error_message": None,
                "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json",
            },
        )


def _twilio_error(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class FakeGateway(_FakeServer):
    """SMS Gateway for Android: the phone's local ``/message`` and the cloud's
    ``/3rdparty/v1/messages``, both with basic auth."""

    def __init__(self, username: str = GATEWAY_USER, password: str = GATEWAY_PASSWORD) -> None:
        super().__init__()
        self.username = username
        self.password = password
        self._ids = itertools.count(1)

    @property
    def gateway_url(self) -> str:
        return self.base_url

    def texts_to(self, number: str) -> list[str]:
        return [
            c.params["textMessage"]["text"]
            for c in self.sent()
            if number in c.params.get("phoneNumbers", [])
        ]

    def id_of(self, text_part: str) -> str:
        for call in reversed(self.sent()):
            if text_part in call.params["textMessage"]["text"]:
                return str(call.params["_id"])
        raise KeyError(text_part)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/message", self._message, methods=["POST"]),
                Route("/3rdparty/v1/messages", self._message, methods=["POST"]),
            ]
        )

    async def _message(self, request: Request) -> Response:
        raw = await request.body()
        try:
            params = json.loads(raw)
        except ValueError:
            params = {"_raw": raw.decode(errors="replace")}
        authorized = _basic_auth(request) == (self.username, self.password)

        def answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
            self._record(Call(request.url.path, params, status, authorized))
            return JSONResponse(body, status_code=status, headers=headers)

        if not authorized:
            return answer(401, {"message": "Unauthorized"})
        failure = self._take_failure()
        if failure is not None:
            return answer(failure.status, failure.body, failure.headers)
        text = (params.get("textMessage") or {}).get("text") if isinstance(params, dict) else None
        numbers = params.get("phoneNumbers") if isinstance(params, dict) else None
        if not isinstance(text, str) or not text:
            return answer(400, {"message": "Text message is empty"})
        if not isinstance(numbers, list) or not numbers:
            return answer(400, {"message": "phoneNumbers is empty"})
        message_id = f"msg{next(self._ids):06d}"
        params["_id"] = message_id
        recipients = [{"phoneNumber": n, "state": "Pending", "error": None} for n in numbers]
        return answer(
            202,
            {
                "id": message_id,
                "state": "Pending",
                "recipients": recipients,
                "isEncrypted": False,
                "isHashed": False,
                "states": {"Pending": "2026-11-27T08:00:00.000+07:00"},
            },
        )


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """A running fake Twilio API (a conftest fixture)."""
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def fake_gateway() -> Iterator[FakeGateway]:
    """A running fake SMS Gateway for Android (a conftest fixture)."""
    with FakeGateway() as fake:
        yield fake
