"""Property-based fuzzing of every webhook and API route (hypothesis).

The running service (real uvicorn, SQLite, Redis) gets malformed and random requests: random
paths, queries, headers and bodies on every route the app has, and, past each route's check,
validly signed requests whose content is random or a realistic payload with one part replaced
by random JSON. Properties: never a 5xx, and a request that is refused (4xx) changes nothing,
neither in the database nor in Redis.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
import redis
import telegram_updates as tg
from app_server import API_TOKEN, settings_for
from conftest import REDIS_HOST, REDIS_PORT, service_unavailable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from procs import ThreadedApp

from bot.compose import Service, build_senders, create_app, prepare_database
from bot.scaling.cluster import namespace_for

TELEGRAM_SECRET = "fuzz-telegram-secret_123"
WA_APP_SECRET = "fuzz-whatsapp-app-secret-456"
WA_VERIFY = "fuzz-whatsapp-verify-789"
SMS_KEY = "fuzz-sms-signing-key-abc"
TWILIO_TOKEN = "fuzz0twilio0auth0token0def"
PUBLIC_URL = "https://lapor.example.go.id"
NOWHERE = "http://127.0.0.1:9"  # outbound calls fail at once; replies stay in the outbox

FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def channels_env(sms_provider: str) -> dict[str, str]:
    env = {
        "LAPOR_SERVICE__PUBLIC_URL": PUBLIC_URL,
        "LAPOR_CHANNELS__TELEGRAM__ENABLED": "true",
        "LAPOR_CHANNELS__TELEGRAM__TOKEN": "123456789:AAE-fuzz-token_xyz0123456789abcd",
        "LAPOR_CHANNELS__TELEGRAM__API_BASE": NOWHERE,
        "LAPOR_CHANNELS__TELEGRAM__WEBHOOK_SECRET": TELEGRAM_SECRET,
        "LAPOR_CHANNELS__TELEGRAM__MODE": "webhook",
        "LAPOR_CHANNELS__WHATSAPP__ENABLED": "true",
        "LAPOR_CHANNELS__WHATSAPP__PHONE_NUMBER_ID": "106540352242922",
        "LAPOR_CHANNELS__WHATSAPP__ACCESS_TOKEN": "EAAG-fuzz-access-token-0123456789",
        "LAPOR_CHANNELS__WHATSAPP__APP_SECRET": WA_APP_SECRET,
        "LAPOR_CHANNELS__WHATSAPP__VERIFY_TOKEN": WA_VERIFY,
        "LAPOR_CHANNELS__WHATSAPP__GRAPH_BASE": NOWHERE,
        "LAPOR_CHANNELS__SMS__ENABLED": "true",
        "LAPOR_CHANNELS__SMS__PROVIDER": sms_provider,
        "LAPOR_CHANNELS__SMS__WEBHOOK_SECRET": SMS_KEY,
    }
    if sms_provider == "twilio":
        env.update(
            {
                "LAPOR_CHANNELS__SMS__API_BASE": NOWHERE,
                "LAPOR_CHANNELS__SMS__ACCOUNT_SID": "AC" + "0" * 32,
                "LAPOR_CHANNELS__SMS__AUTH_TOKEN": TWILIO_TOKEN,
                "LAPOR_CHANNELS__SMS__FROM_NUMBER": "+15005550006",
                "LAPOR_CHANNELS__SMS__WEBHOOK_SECRET": "",
            }
        )
    else:
        env.update(
            {
                "LAPOR_CHANNELS__SMS__GATEWAY_URL": NOWHERE,
                "LAPOR_CHANNELS__SMS__USERNAME": "gateway",
                "LAPOR_CHANNELS__SMS__PASSWORD": "fuzz-gateway-password",
            }
        )
    return env


def require_redis() -> str:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            if not sock.recv(64).startswith(b"+PONG"):
                service_unavailable("Redis did not answer PING")
    except OSError as exc:
        service_unavailable(f"Redis not reachable at {REDIS_HOST}:{REDIS_PORT}: {exc}")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/0"


@dataclass
class Target:
    """The running service and a way to photograph its state."""

    app: ThreadedApp
    client: httpx.Client
    database: Path
    redis: redis.Redis
    prefix: str

    def state(self) -> tuple[dict[str, Any], frozenset[bytes]]:
        """Every table's row count and a digest of its rows (the outbox and attachments only
        by count: the dispatcher and the media fetcher update those in the background), plus
        the Redis keys that record what was received (locks, heartbeats and claims come and
        go by themselves)."""
        tables: dict[str, Any] = {}
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True) as db:
            names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for name in names:
                rows = db.execute(f'SELECT * FROM "{name}"').fetchall()  # noqa: S608
                volatile = name in ("outbox", "attachments") or name.startswith("sqlite_")
                digest = "" if volatile else hashlib.sha256(repr(sorted(map(repr, rows))).encode())
                tables[name] = (len(rows), digest and digest.hexdigest())
        keys = frozenset(
            k
            for k in self.redis.scan_iter(match=f"{self.prefix}*", count=500)
            if k.split(b":")[2] in (b"conv", b"seen", b"rate")
        )
        return tables, keys

    def send(self, request: httpx.Request) -> httpx.Response:
        """Send `request`; check the response is not a 5xx and a refusal changed nothing."""
        before = self.state()
        response = self.client.send(request)
        assert response.status_code < 500, (request.method, request.url, response.text[:500])
        if response.status_code >= 400:
            tables, keys = self.state()
            assert tables == before[0], f"refused with {response.status_code}, state changed"
            assert keys <= before[1], f"refused with {response.status_code}, Redis changed"
        return response


def start_target(tmp: Path, sms_provider: str) -> Iterator[Target]:
    redis_url = require_redis()
    database = tmp / "fuzz.db"
    env = {**channels_env(sms_provider), "LAPOR_STORAGE__REDIS_URL": redis_url}
    config = settings_for(f"sqlite+aiosqlite:///{database}", tmp, **env)
    prepare_database(config)
    service = Service(config, senders=build_senders(config))
    client = redis.Redis.from_url(redis_url)
    prefix = f"lapor:{namespace_for(config.storage.database_url)}:"
    with ThreadedApp(create_app(service)) as app, httpx.Client(base_url=app.base_url) as http:
        yield Target(app, http, database, client, prefix)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    yield from start_target(tmp_path_factory.mktemp("fuzz"), "android")


@pytest.fixture(scope="module")
def twilio_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    yield from start_target(tmp_path_factory.mktemp("fuzz-twilio"), "twilio")


# -- strategies ---------------------------------------------------------------------------------

texts = st.text(max_size=40)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=16,
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(texts, texts, max_size=5).map(lambda d: urlencode(d).encode()),
)
CONTENT_TYPES = (
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "multipart/form-data; boundary=x",
)
HEADER_NAMES = (
    "authorization",
    "x-telegram-bot-api-secret-token",
    "x-hub-signature-256",
    "x-twilio-signature",
    "x-signature",
    "x-timestamp",
)
latin1 = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60)
headers = st.dictionaries(
    st.sampled_from(HEADER_NAMES), latin1.map(lambda v: v.encode("latin-1")), max_size=4
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    return found


@st.composite
def mutated(draw: st.DrawFn, template: Any) -> Any:
    """`template` with one part (any depth) replaced by random JSON, or removed."""
    value = json.loads(json.dumps(template))
    path = draw(st.sampled_from(_paths(value)))
    if not path:
        return draw(json_values)
    parent = value
    for part in path[:-1]:
        parent = parent[part]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)
    return value


def telegram_templates() -> list[dict[str, Any]]:
    return [
        tg.text("halo"),
        tg.command("/start"),
        tg.callback_query("agree"),
        tg.location(),
        tg.venue(),
        tg.photo(media_group_id="album"),
        tg.document(),
        tg.contact(),
        tg.voice(),
        tg.edited_message(),
        tg.my_chat_member("kicked"),
        tg.group_message("/tindak MDN-00001"),
        tg.callback_query("act:verify:MDN-00001", chat=tg.group_chat(), user=tg.OFFICER),
    ]


def whatsapp_template(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": "106540352242922",
                            },
                            "contacts": [{"profile": {"name": "Siti"}, "wa_id": "6281234567890"}],
                            "messages": [message],
                        },
                    }
                ],
            }
        ],
    }


WHATSAPP_MESSAGES = [
    {"from": "6281234567890", "id": "wamid.A1", "timestamp": "1767225600", "type": "text",
     "text": {"body": "halo"}},
    {"from": "6281234567890", "id": "wamid.A2", "timestamp": "1767225600", "type": "interactive",
     "interactive": {"type": "button_reply", "button_reply": {"id": "agree", "title": "Setuju"}}},
    {"from": "6281234567890", "id": "wamid.A3", "timestamp": "1767225600", "type": "location",
     "location": {"latitude": -7.63, "longitude": 111.52}},
    {"from": "6281234567890", "id": "wamid.A4", "timestamp": "1767225600", "type": "image",
     "image": {"id": "media-1", "mime_type": "image/jpeg"}},
]  # fmt: skip
WHATSAPP_STATUS = {
    "object": "whatsapp_business_account",
    "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "statuses": [{"id": "wamid.OUT1", "status": "failed", "timestamp": "1767225605",
                      "recipient_id": "6281234567890", "errors": [{"code": 131047}]}]}}]}],
}  # fmt: skip
ANDROID_EVENTS = [
    {"event": "sms:received", "id": "evt-1", "deviceId": "dev",
     "payload": {"messageId": "m1", "message": "LAPOR jalan rusak", "phoneNumber": "+6281234567890",
                 "receivedAt": "2026-01-01T07:00:00.000+07:00"}},
    {"event": "sms:delivered", "id": "evt-2", "deviceId": "dev",
     "payload": {"messageId": "out-1", "phoneNumber": "+6281234567890",
                 "deliveredAt": "2026-01-01T07:00:05.000+07:00"}},
]  # fmt: skip
TWILIO_FORMS = [
    {"From": "+6281234567890", "To": "+15005550006", "Body": "LAPOR lampu mati",
     "MessageSid": "SM" + "1" * 32, "AccountSid": "AC" + "0" * 32, "NumMedia": "0"},
    {"MessageSid": "SM" + "2" * 32, "MessageStatus": "undelivered", "ErrorCode": "30003",
     "To": "+6281234567890", "AccountSid": "AC" + "0" * 32},
]  # fmt: skip

telegram_updates = st.one_of(json_values, st.sampled_from(telegram_templates()).flatmap(mutated))
whatsapp_notifications = st.one_of(
    json_values,
    st.sampled_from([whatsapp_template(m) for m in WHATSAPP_MESSAGES]).flatmap(mutated),
    mutated(WHATSAPP_STATUS),
)
android_events = st.one_of(json_values, st.sampled_from(ANDROID_EVENTS).flatmap(mutated))
form_values = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)
twilio_forms = st.one_of(
    st.dictionaries(texts, form_values, max_size=6),
    st.sampled_from(TWILIO_FORMS).flatmap(
        lambda form: st.fixed_dictionaries({k: st.just(v) | form_values for k, v in form.items()})
    ),
)


def fresh_ids(value: Any) -> Any:
    """Make the message ids in a payload unique, so it is not refused as a duplicate."""
    tag = str(time.monotonic_ns())
    if isinstance(value, dict):
        for key in ("update_id", "message_id", "id", "messageId", "MessageSid"):
            if key in value and isinstance(value[key], int) and not isinstance(value[key], bool):
                value[key] = value[key] + int(tag[-9:])
            elif key in value and isinstance(value[key], str):
                value[key] = value[key] + tag
        for item in value.values():
            fresh_ids(item)
    elif isinstance(value, list):
        for item in value:
            fresh_ids(item)
    return value


def routes(target: Target) -> list[tuple[str, str]]:
    """(method, path template) of every route in the app's OpenAPI document."""
    return sorted(
        (method.upper(), path)
        for path, operations in target.app.app.openapi()["paths"].items()
        for method in operations
    )


# -- every route, anything --------------------------------------------------------------------


def test_the_fuzzed_routes_include_every_webhook_and_the_api(target: Target) -> None:
    paths = {path for _, path in routes(target)}
    assert {"/webhooks/telegram", "/webhooks/whatsapp", "/api/reports"} <= paths
    assert {"/webhooks/sms/twilio", "/webhooks/sms/android", "/api/reports/{ticket}"} <= paths


@FUZZ
@given(data=st.data())
def test_any_request_to_any_route(target: Target, data: st.DataObject) -> None:
    method, path = data.draw(st.sampled_from(routes(target)), label="route")
    if "{ticket}" in path:
        value = data.draw(st.text(min_size=1, max_size=30), label="ticket")
        path = path.replace("{ticket}", quote(value, safe=""))
    query = data.draw(st.dictionaries(texts, texts, max_size=4), label="query")
    sent_headers = data.draw(headers, label="headers")
    sent_headers["content-type"] = data.draw(st.sampled_from(CONTENT_TYPES), label="type").encode()
    body = data.draw(bodies, label="body") if method in ("POST", "PUT", "PATCH") else b""
    request = target.client.build_request(
        method, httpx.URL(path=path, params=query), headers=sent_headers, content=body
    )
    target.send(request)


# -- past each route's check ------------------------------------------------------------------


@FUZZ
@given(update=telegram_updates)
def test_telegram_updates(target: Target, update: Any) -> None:
    request = target.client.build_request(
        "POST",
        "/webhooks/telegram",
        content=json.dumps(fresh_ids(update)).encode(),
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    target.send(request)


@FUZZ
@given(notification=whatsapp_notifications, raw=st.booleans(), junk=st.binary(max_size=100))
def test_whatsapp_notifications(target: Target, notification: Any, raw: bool, junk: bytes) -> None:
    body = junk if raw else json.dumps(fresh_ids(notification)).encode()
    signature = "sha256=" + hmac.new(WA_APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    request = target.client.build_request(
        "POST",
        "/webhooks/whatsapp",
        content=body,
        headers={"X-Hub-Signature-256": signature, "content-type": "application/json"},
    )
    target.send(request)


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge", "other"]),
        st.sampled_from(["subscribe", WA_VERIFY]) | texts,
        max_size=4,
    )
)
def test_whatsapp_handshake(target: Target, params: dict[str, str]) -> None:
    response = target.send(target.client.build_request("GET", "/webhooks/whatsapp", params=params))
    if response.status_code == 200:
        assert params.get("hub.verify_token") == WA_VERIFY
        assert response.text == params["hub.challenge"]


@FUZZ
@given(event=android_events, skew=st.sampled_from([0, 0, 0, 400, -400]), junk=st.booleans())
def test_android_gateway_events(target: Target, event: Any, skew: int, junk: bool) -> None:
    body = b"\xff{not json" if junk else json.dumps(fresh_ids(event)).encode()
    timestamp = str(int(time.time()) + skew)
    signature = hmac.new(SMS_KEY.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()
    request = target.client.build_request(
        "POST",
        "/webhooks/sms/android",
        content=body,
        headers={"X-Signature": signature, "X-Timestamp": timestamp},
    )
    response = target.send(request)
    if abs(skew) > 300:
        assert response.status_code == 403


@FUZZ
@given(form=twilio_forms)
def test_twilio_messages(twilio_target: Target, form: dict[str, str]) -> None:
    from twilio.request_validator import RequestValidator

    form = fresh_ids(form)
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        PUBLIC_URL + "/webhooks/sms/twilio", form
    )
    request = twilio_target.client.build_request(
        "POST",
        "/webhooks/sms/twilio",
        content=urlencode(form).encode(),
        headers={
            "X-Twilio-Signature": signature,
            "content-type": "application/x-www-form-urlencoded",
        },
    )
    twilio_target.send(request)


api_queries = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["received", "verified", "rejected"]) | texts,
        "category": texts,
        "agency": texts,
        "channel": st.sampled_from(["telegram", "whatsapp", "sms"]) | texts,
        "since": st.sampled_from(["2026-01-01", "2026-01-01T00:00:00+07:00"]) | texts,
        "until": texts,
        "limit": st.integers(-5, 5000).map(str) | texts,
        "offset": st.integers(-5, 10**12).map(str) | texts,
        "format": texts,
        "by": texts,
    },
)
api_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "status": st.sampled_from(["verified", "in_progress", "resolved", "rejected"]) | texts,
            "note": texts,
            "agency": texts,
            "duplicate_of": texts,
            "actor": texts,
            "text": texts,
        },
    ),
)
tickets = st.sampled_from(["MDN-00001", "mdn-00001", "MDN-99999", "..%2f", "%00"]) | st.text(
    min_size=1, max_size=20
)


@FUZZ
@given(data=st.data())
def test_api_with_a_valid_token(target: Target, data: st.DataObject) -> None:
    api_routes = [(m, p) for m, p in routes(target) if p.startswith("/api")]
    method, path = data.draw(st.sampled_from(api_routes), label="route")
    if "{ticket}" in path:
        path = path.replace("{ticket}", quote(data.draw(tickets, label="ticket"), safe=""))
    body = json.dumps(data.draw(api_bodies, label="body")).encode() if method == "POST" else b""
    request = target.client.build_request(
        method,
        httpx.URL(path=path, params=data.draw(api_queries, label="query")),
        content=body,
        headers={"Authorization": f"Bearer {API_TOKEN}", "content-type": "application/json"},
    )
    target.send(request)
