"""The SMS adapters on their own: numbers, encodings, rendering, signatures, payloads, errors.

Twilio's signature code is cross-checked against the `twilio` package's RequestValidator
(a test-only dependency) on generated requests.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fake_sms import GATEWAY_PASSWORD, GATEWAY_USER, FakeGateway, FakeTwilio
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator, get_signature_algorithm

from channels.base import SendError, SendFailure
from channels.sms import (
    CAPABILITIES,
    MAX_MESSAGE_SEGMENTS,
    SmsSender,
    gsm,
    normalize_phone,
    render,
)
from channels.sms import android as sms_android
from channels.sms import twilio as sms_twilio
from intake.types import Choice, GeoPoint, MessageKind, Reply

NOW = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# Phone numbers


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("081234567890", "+6281234567890"),
        ("0812-3456-7890", "+6281234567890"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("+6281234567890", "+6281234567890"),
        ("(0351) 462 111", "+62351462111"),  # a Madiun landline
        ("+14155550123", "+14155550123"),
        ("+447700900123", "+447700900123"),
    ],
)
def test_numbers_become_e164(raw: str, e164: str) -> None:
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "   ", "TELKOMSEL", "3636", "123", "+", "x" * 50])
def test_names_and_short_codes_are_not_numbers(raw: str) -> None:
    assert normalize_phone(raw) is None


# --------------------------------------------------------------------------------------------
# Encodings and segments


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", "GSM-7", 1),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("[" * 80, "GSM-7", 1),  # extension characters count twice
        ("[" * 81, "GSM-7", 2),
        ("a" * 152 + "€" + "a" * 10, "GSM-7", 2),  # the escape pair is never split
        ("é ü ñ Ä Ø Δ £ ¥ @ _ §", "GSM-7", 1),
        ("ç" * 10, "UCS-2", 1),  # small c cedilla is not in the alphabet
        ("a" * 69 + "😀", "UCS-2", 2),  # an emoji is two UTF-16 units
        ("x" * 70 + "“", "UCS-2", 2),
        ("x" * 133 + "“", "UCS-2", 2),
        ("x" * 134 + "“", "UCS-2", 3),
    ],
)
def test_encoding_and_segments(text: str, encoding: str, segments: int) -> None:
    assert gsm.encoding(text).value == encoding
    assert gsm.segments(text) == segments


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("Lampu mati 😭😭 tolong", "Lampu mati tolong"),
        ("“Jalan” rusak… – parah", '"Jalan" rusak... - parah'),
        ("Kel. Manguharjo\u00a0— Taman", "Kel. Manguharjo - Taman"),
        ("garçon café", "garcon café"),
        ("\u200bhalo\ufe0f", "halo"),
        ("Baik 👍🏽", "Baik"),
    ],
)
def test_to_gsm_keeps_what_a_reader_needs(text: str, plain: str) -> None:
    assert gsm.to_gsm(text) == plain
    assert gsm.is_gsm7(plain)


def test_to_gsm_keeps_other_scripts() -> None:
    text = gsm.to_gsm("Nama: محمد 😀")
    assert text == "Nama: محمد" and gsm.encoding(text) is gsm.Encoding.UCS2


@given(st.text(max_size=400))
@settings(max_examples=200, deadline=None)
def test_split_keeps_every_piece_within_its_segments(text: str) -> None:
    pieces = gsm.split(text, 2)
    assert all(gsm.segments(piece) <= 2 for piece in pieces)
    assert "".join("".join(p.split()) for p in pieces) == "".join(text.split())


# --------------------------------------------------------------------------------------------
# Rendering


def test_choices_become_numbered_lines_and_a_hint() -> None:
    reply = Reply(
        "Privasi? 🙂",
        choices=(Choice("a", "Biasa"), Choice("b", "Anonim"), Choice("c", "Rahasia")),
        lang="id",
    )
    assert render(reply) == "Privasi?\n1. Biasa\n2. Anonim\n3. Rahasia\nBalas 1, 2 atau 3"
    located = Reply("Lokasi laporan:", location=GeoPoint(-7.6298, 111.5239), lang="en")
    assert render(located).endswith("https://maps.google.com/?q=-7.629800,111.523900")


def test_the_sms_channel_asks_for_no_buttons_photos_or_gps() -> None:
    assert not (CAPABILITIES.buttons or CAPABILITIES.photos or CAPABILITIES.location)
    assert CAPABILITIES.text_variant == "sms"


async def test_the_sender_splits_very_long_texts(fake_gateway: FakeGateway) -> None:
    provider = sms_android.AndroidGatewayProvider(
        fake_gateway.gateway_url, GATEWAY_USER, GATEWAY_PASSWORD
    )
    sender = SmsSender(provider)
    try:
        long = ("Balasan petugas yang panjang sekali tentang perbaikan jalan. " * 40).strip()
        sent = await sender.send("+6281234567890", Reply(long))
        texts = fake_gateway.texts_to("+6281234567890")
        assert len(texts) == 2 and all(gsm.segments(t) <= MAX_MESSAGE_SEGMENTS for t in texts)
        assert sent.external_id == fake_gateway.id_of(texts[-1][-30:])
        with pytest.raises(SendError) as empty:
            await sender.send("+6281234567890", Reply("  "))
        assert empty.value.failure is SendFailure.DEAD
        with pytest.raises(SendError) as nobody:
            await sender.send("TELKOMSEL", Reply("halo"))
        assert nobody.value.failure is SendFailure.UNREACHABLE
    finally:
        await sender.aclose()


# --------------------------------------------------------------------------------------------
# Twilio signatures, cross-checked against the twilio package

names = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=12)
values = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
urls = st.sampled_from(
    [
        "https://lapor.example.go.id/webhooks/sms/twilio",
        "https://lapor.example.go.id:443/webhooks/sms/twilio",
        "http://127.0.0.1:8080/webhooks/sms/twilio?x=1&y=%20",
        "https://lapor.example.go.id/kota/webhooks/sms/twilio",
    ]
)


@given(url=urls, params=st.dictionaries(names, values, max_size=12), sha256=st.booleans())
@settings(max_examples=300, deadline=None)
def test_signatures_match_twilios_validator(url: str, params: dict[str, str], sha256: bool) -> None:
    algorithm = sms_twilio.HMAC_SHA256 if sha256 else sms_twilio.HMAC_SHA1
    theirs = RequestValidator("token-123").compute_signature(url, params, algorithm)
    ours = sms_twilio.compute_signature("token-123", url, list(params.items()), algorithm)
    assert ours == theirs
    assert sms_twilio.verify_signature("token-123", url, list(params.items()), theirs, algorithm)
    assert RequestValidator("token-123").validate(url, params, ours, algorithm)
    assert not sms_twilio.verify_signature(
        "token-124", url, list(params.items()), theirs, algorithm
    )


@given(pairs=st.lists(st.tuples(st.sampled_from(["A", "B", "MediaUrl0"]), values), max_size=8))
@settings(max_examples=100, deadline=None)
def test_repeated_parameters_sign_as_twilio_does(pairs: list[tuple[str, str]]) -> None:
    class MultiDict(dict[str, list[str]]):
        def getall(self, name: str) -> list[str]:
            return self[name]

    multi = MultiDict()
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    url = "https://lapor.example.go.id/webhooks/sms/twilio"
    theirs = RequestValidator("k" * 32).compute_signature(url, multi)
    assert sms_twilio.compute_signature("k" * 32, url, pairs) == theirs


def test_twilio_signs_with_or_without_the_default_port() -> None:
    params = [("Body", "halo"), ("From", "+6281234567890")]
    validator = RequestValidator("secret-token")
    for signed, checked in [
        ("https://a.example/w", "https://a.example:443/w"),
        ("https://a.example:443/w", "https://a.example/w"),
    ]:
        signature = validator.compute_signature(signed, dict(params))
        assert sms_twilio.verify_signature("secret-token", checked, params, signature)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "key=wk_1,algorithm=HMAC_SHA256",
        "algorithm=HMAC_SHA1, key=x",
        "key=wk_1",
        " algorithm = HMAC_SHA256 ",
    ],
)
def test_signature_settings_header(header: str | None) -> None:
    assert sms_twilio.signature_algorithm(header) == get_signature_algorithm(header)


def test_an_unknown_algorithm_never_verifies() -> None:
    assert not sms_twilio.verify_signature("k", "https://a/w", [], "x", "HMAC_MD5")
    with pytest.raises(ValueError):
        sms_twilio.compute_signature("k", "https://a/w", [], "HMAC_MD5")


# --------------------------------------------------------------------------------------------
# Twilio payloads

SID1 = "SM" + "1" * 32
SID9 = "SM" + "9f" * 16
MMS_SID = "MM" + "a0" * 16


def test_an_incoming_sms() -> None:
    form = sms_twilio.parse_form(
        b"ToCountry=ID&SmsMessageSid=" + SID1.encode() + b"&NumMedia=0&Body=Lampu+jalan+mati%21"
        b"&From=%2B6281234567890&To=%2B6281100000001&MessageSid="
        + SID1.encode()
        + b"&AccountSid=AC1"
    )
    events = sms_twilio.parse_webhook(form, NOW)
    [message] = events.messages
    assert message.channel == "sms" and message.external_id == f"twilio:{SID1}"
    assert message.kind is MessageKind.TEXT and message.text == "Lampu jalan mati!"
    assert message.sender_id == message.chat_id == message.phone == "+6281234567890"
    assert message.received_at == NOW and not events.statuses


@pytest.mark.parametrize(
    ("status", "code", "expected", "unreachable"),
    [
        ("sent", "", ("sent", None), False),
        ("delivered", "", ("delivered", None), False),
        ("undelivered", "30005", ("failed", "twilio 30005"), True),
        ("failed", "30008", ("failed", "twilio 30008"), False),
        ("undelivered", "21610", ("failed", "twilio 21610"), True),
    ],
)
def test_status_callbacks(
    status: str, code: str, expected: tuple[str, Any], unreachable: bool
) -> None:
    form = {"MessageSid": SID9, "MessageStatus": status, "SmsStatus": status, "ErrorCode": code}
    events = sms_twilio.parse_webhook(form, NOW)
    [delivery] = events.statuses
    assert (delivery.status, delivery.error) == expected
    assert delivery.external_id == SID9 and delivery.channel == "sms"
    assert events.status_keys == [f"twilio:{SID9}:{status}"]
    assert (events.unreachable == [SID9]) is unreachable


@pytest.mark.parametrize(
    ("form", "ignored"),
    [
        ({}, "no MessageSid"),
        ({"MessageSid": SID1, "MessageStatus": "queued"}, "status queued"),
        ({"MessageSid": SID1, "From": "INFO", "Body": "promo"}, "sender is not a phone number"),
        ({"MessageSid": SID1, "From": "+6281234567890", "Body": " "}, "empty message"),
    ],
)
def test_twilio_payloads_we_ignore(form: dict[str, str], ignored: str) -> None:
    events = sms_twilio.parse_webhook(form, NOW)
    assert events.ignored == ignored and not events.messages and not events.statuses


def test_an_mms_without_text_is_unsupported() -> None:
    form = {"MessageSid": MMS_SID, "From": "+6281234567890", "Body": "", "NumMedia": "2"}
    [message] = sms_twilio.parse_webhook(form, NOW).messages
    assert message.kind is MessageKind.UNSUPPORTED and message.text == "mms"


# --------------------------------------------------------------------------------------------
# Twilio sending


@pytest.mark.parametrize(
    ("status", "body", "retry_after", "failure", "delay"),
    [
        (400, {"code": 21610}, None, SendFailure.UNREACHABLE, None),
        (400, {"code": 21211}, None, SendFailure.UNREACHABLE, None),
        (400, {"code": 21614}, None, SendFailure.UNREACHABLE, None),
        (400, {"code": 21617}, None, SendFailure.DEAD, None),
        (400, {"code": 21408}, None, SendFailure.DEAD, None),
        (429, {"code": 20429}, "7", SendFailure.RETRY, 7.0),
        (429, {}, None, SendFailure.RETRY, None),
        (500, {}, None, SendFailure.RETRY, None),
        (503, {"code": 20503}, "nonsense", SendFailure.RETRY, None),
        (401, {"code": 20003}, None, SendFailure.RETRY, None),
        (404, {"code": 20404}, None, SendFailure.DEAD, None),
    ],
)
def test_twilio_errors(
    status: int,
    body: dict[str, Any],
    retry_after: str | None,
    failure: SendFailure,
    delay: float | None,
) -> None:
    error = sms_twilio.classify_error(status, body, retry_after)
    assert error.failure is failure and error.retry_after == delay


async def test_twilio_provider_against_the_fake(fake_twilio: FakeTwilio) -> None:
    provider = sms_twilio.TwilioProvider(
        fake_twilio.account_sid,
        fake_twilio.auth_token,
        "MG0123456789abcdef0123456789abcdef",
        api_base=fake_twilio.api_base,
    )
    try:
        sid = await provider.submit("+6281234567890", "halo")
        [call] = fake_twilio.sent()
        assert sid == call.params["_sid"] and call.authorized
        assert call.params["MessagingServiceSid"].startswith("MG") and "From" not in call.params
        assert "StatusCallback" not in call.params
    finally:
        await provider.aclose()
    wrong = sms_twilio.TwilioProvider(
        fake_twilio.account_sid, "wrong-token-123", "+6281100000001", api_base=fake_twilio.api_base
    )
    try:
        with pytest.raises(SendError) as refused:
            await wrong.submit("+6281234567890", "halo")
        assert refused.value.failure is SendFailure.RETRY and "20003" in refused.value.reason
    finally:
        await wrong.aclose()
    nowhere = sms_twilio.TwilioProvider("AC1", "token-123", "+1", api_base="http://127.0.0.1:9")
    try:
        with pytest.raises(SendError) as down:
            await nowhere.submit("+6281234567890", "halo")
        assert down.value.failure is SendFailure.RETRY
    finally:
        await nowhere.aclose()


# --------------------------------------------------------------------------------------------
# SMS Gateway for Android


def test_gateway_signature_follows_the_documented_recipe() -> None:
    body = b'{"event":"sms:received","id":"x"}'
    # The docs' Python sample: hmac.new(key, (payload + timestamp).encode(), sha256).hexdigest()
    expected = hmac.new(b"key-1", (body.decode() + "1732669200").encode(), hashlib.sha256)
    assert sms_android.compute_signature("key-1", body, "1732669200") == expected.hexdigest()
    now = datetime.fromtimestamp(1732669200, UTC)
    good = expected.hexdigest()
    assert sms_android.check_signature("key-1", body, "1732669200", good, now) is None
    assert sms_android.check_signature("key-1", body, "1732669200", good.upper(), now) is None
    late = now + timedelta(minutes=5, seconds=1)
    assert "minutes" in (sms_android.check_signature("key-1", body, "1732669200", good, late) or "")
    assert sms_android.check_signature("key-2", body, "1732669200", good, now) is not None
    assert sms_android.check_signature("", body, "1732669200", good, now) is not None
    not_a_time = sms_android.compute_signature("key-1", body, "soon")
    assert "Unix" in (sms_android.check_signature("key-1", body, "soon", not_a_time, now) or "")


def test_a_received_sms_event() -> None:
    event = {
        "deviceId": "ffffffffceb0b1db0000018e937c815b",
        "event": "sms:received",
        "id": "Ey6ECgOkVVFjz3CL48B8C",
        "payload": {
            "messageId": "abc123",
            "message": "LAPOR jalan rusak",
            "phoneNumber": "081234567890",
            "simNumber": None,
            "receivedAt": "2026-11-27T08:46:11.000+07:00",
        },
        "webhookId": "LreFUt-Z3sSq0JufY9uWB",
    }
    [message] = sms_android.parse_event(event, NOW).messages
    assert message.external_id == "android:Ey6ECgOkVVFjz3CL48B8C"
    assert message.chat_id == "+6281234567890" and message.text == "LAPOR jalan rusak"
    assert message.received_at == datetime(2026, 11, 27, 1, 46, 11, tzinfo=UTC)


@pytest.mark.parametrize(
    ("event", "payload", "named"),
    [
        (
            "mms:received",
            {"messageId": "m9", "transactionId": "T1", "subject": "", "size": 52100},
            "mms",
        ),
        ("sms:data-received", {"messageId": "m8", "data": "SGVsbG8=", "simNumber": 1}, ""),
    ],
)
def test_a_gateway_event_we_cannot_read_is_an_unsupported_message(
    event: str, payload: dict[str, object], named: str
) -> None:
    data = {"event": event, "id": "evt-9", "payload": {**payload, "phoneNumber": "0812345678"}}
    [message] = sms_android.parse_event(data, NOW).messages
    assert message.kind is MessageKind.UNSUPPORTED and message.text == named
    assert (message.external_id, message.chat_id) == ("android:evt-9", "+62812345678")
    ping = {"event": "system:ping", "id": "evt-10", "payload": {"health": {"status": "pass"}}}
    assert sms_android.parse_event(ping, NOW).messages == []


@pytest.mark.parametrize(
    ("event", "at_field", "status"),
    [("sms:sent", "sentAt", "sent"), ("sms:delivered", "deliveredAt", "delivered")],
)
def test_gateway_status_events(event: str, at_field: str, status: str) -> None:
    data = {
        "event": event,
        "id": "e7",
        "payload": {"messageId": "m1", at_field: "2026-11-27T09:00:00Z"},
    }
    events = sms_android.parse_event(data, NOW)
    [delivery] = events.statuses
    assert (delivery.external_id, delivery.status, delivery.error) == ("m1", status, None)
    assert delivery.at == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert events.status_keys == ["android:e7"]


def test_a_failed_event_keeps_its_reason() -> None:
    data = {
        "event": "sms:failed",
        "id": "e8",
        "payload": {"messageId": "m1", "reason": "No service"},
    }
    [delivery] = sms_android.parse_event(data, NOW).statuses
    assert delivery.status == "failed" and delivery.error == "No service" and delivery.at == NOW


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)


@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"event": st.sampled_from(["sms:received", "sms:sent", "sms:failed", "x"])},
            optional={"id": json_values, "payload": json_values},
        ),
    )
)
@settings(max_examples=300, deadline=None)
def test_any_json_parses_without_raising(data: Any) -> None:
    events = sms_android.parse_event(data, NOW)
    assert events.messages or events.statuses or events.ignored


@given(st.lists(st.tuples(st.text(max_size=15), st.text(max_size=30)), max_size=8))
@settings(max_examples=200, deadline=None)
def test_any_twilio_form_parses_without_raising(pairs: list[tuple[str, str]]) -> None:
    events = sms_twilio.parse_webhook(pairs, NOW)
    assert events.messages or events.statuses or events.ignored


@pytest.mark.parametrize(
    ("gateway_url", "messages_url"),
    [
        ("http://192.168.1.20:8080", "http://192.168.1.20:8080/message"),
        ("http://192.168.1.20:8080/", "http://192.168.1.20:8080/message"),
        ("https://api.sms-gate.app", "https://api.sms-gate.app/3rdparty/v1/messages"),
        ("https://api.sms-gate.app/3rdparty/v1", "https://api.sms-gate.app/3rdparty/v1/messages"),
        ("https://sms.kota.go.id/3rdparty/v1/", "https://sms.kota.go.id/3rdparty/v1/messages"),
    ],
)
def test_local_or_cloud_from_the_gateway_url(gateway_url: str, messages_url: str) -> None:
    assert sms_android.messages_url(gateway_url) == messages_url


@pytest.mark.parametrize(
    ("status", "body", "failure"),
    [
        (400, {"message": "invalid phone number"}, SendFailure.UNREACHABLE),
        (400, {"message": "Text message is empty"}, SendFailure.DEAD),
        (401, {"message": "Unauthorized"}, SendFailure.RETRY),
        (429, {}, SendFailure.RETRY),
        (500, {"message": "boom"}, SendFailure.RETRY),
        (502, None, SendFailure.RETRY),
        (404, None, SendFailure.DEAD),
    ],
)
def test_gateway_errors(status: int, body: dict[str, Any] | None, failure: SendFailure) -> None:
    response = httpx.Response(status, json=body) if body is not None else httpx.Response(status)
    assert sms_android.classify_error(response).failure is failure


async def test_gateway_provider_against_the_fake(fake_gateway: FakeGateway) -> None:
    provider = sms_android.AndroidGatewayProvider(
        fake_gateway.gateway_url, GATEWAY_USER, GATEWAY_PASSWORD
    )
    wrong = sms_android.AndroidGatewayProvider(fake_gateway.gateway_url, GATEWAY_USER, "nope-nope")
    down = sms_android.AndroidGatewayProvider("http://127.0.0.1:9", GATEWAY_USER, "x")
    try:
        message_id = await provider.submit("+6281234567890", "halo")
        [call] = fake_gateway.sent()
        assert message_id == call.params["_id"] and call.path == "/message"
        assert call.params["textMessage"] == {"text": "halo"}
        assert call.params["phoneNumbers"] == ["+6281234567890"]
        with pytest.raises(SendError) as refused:
            await wrong.submit("+6281234567890", "halo")
        assert refused.value.failure is SendFailure.RETRY
        with pytest.raises(SendError) as unreachable:
            await down.submit("+6281234567890", "halo")
        assert unreachable.value.failure is SendFailure.RETRY
    finally:
        for p in (provider, wrong, down):
            await p.aclose()
