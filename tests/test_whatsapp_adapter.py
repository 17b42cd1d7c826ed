"""The WhatsApp adapter: parsing real webhook JSON, rendering replies, classifying errors, and
sending through a fake Graph API."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import whatsapp_payloads as wa
from fake_whatsapp import PHONE_NUMBER_ID, STATUS_TEMPLATE, FakeGraph
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.base import SendError, SendFailure
from channels.whatsapp import (
    CAPABILITIES,
    LIST_BUTTON_LABEL,
    LOCATION_PROMPT,
    Signature,
    WhatsAppSender,
    check_signature,
    classify_error,
    parse_webhook,
    recipient,
    render,
    shorten,
    sign,
    split_text,
    template_message,
)
from intake.types import (
    Choice,
    DeliveryStatus,
    GeoPoint,
    InboundMessage,
    MediaRef,
    MessageKind,
    Reply,
    StatusNotice,
)

JAN_1 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BSUID = wa.CITIZEN["user_id"]
PHONE = wa.CITIZEN["wa_id"]


def only_message(payload: dict[str, Any], **kwargs: Any) -> InboundMessage:
    events = parse_webhook(payload, now=NOW, **kwargs)
    assert events.ignored == [], events.ignored
    assert len(events.messages) == 1 and not events.statuses
    return events.messages[0].message


# --------------------------------------------------------------------------------------------
# Parsing


def test_capabilities() -> None:
    assert (CAPABILITIES.buttons, CAPABILITIES.photos, CAPABILITIES.location) == (True,) * 3
    assert CAPABILITIES.max_text == 4096


def test_a_text_message_identifies_the_citizen_by_the_business_scoped_id() -> None:
    message = wa.text("Lampu jalan di gang 3 mati", message_id="wamid.ABC=")
    assert only_message(wa.incoming(message)) == InboundMessage(
        channel="whatsapp",
        external_id="wamid.ABC=",
        sender_id=BSUID,
        chat_id=PHONE,
        kind=MessageKind.TEXT,
        received_at=JAN_1,
        text="Lampu jalan di gang 3 mati",
        sender_name="Siti Rahayu",
        phone="+6281234567890",
    )


def test_before_business_scoped_ids_the_phone_number_identifies_the_citizen() -> None:
    payload = wa.incoming(wa.text("halo"))
    value = payload["entry"][0]["changes"][0]["value"]
    del value["contacts"][0]["user_id"], value["messages"][0]["from_user_id"]
    message = only_message(payload)
    assert (message.sender_id, message.chat_id, message.phone) == (PHONE, PHONE, "+" + PHONE)


def test_a_citizen_with_a_username_is_answered_at_the_business_scoped_id() -> None:
    message = only_message(wa.incoming(wa.text("halo", phone=False), phone=False))
    assert (message.sender_id, message.chat_id, message.phone) == (BSUID, BSUID, None)
    assert recipient(message.chat_id) == {"recipient": BSUID}
    assert recipient(PHONE) == {"to": PHONE}
    assert recipient("+" + PHONE) == {"to": PHONE}


def test_the_raw_message_and_its_contact_are_kept_for_the_inbox() -> None:
    payload = wa.incoming(wa.text("halo"))
    (incoming,) = parse_webhook(payload).messages
    value = payload["entry"][0]["changes"][0]["value"]
    assert incoming.raw == {
        "metadata": value["metadata"],
        "contact": value["contacts"][0],
        "message": value["messages"][0],
    }
    json.dumps(incoming.raw)  # storable as it is


@pytest.mark.parametrize(
    ("payload", "kind", "fields"),
    [
        (
            wa.image("1049270452618423", caption="lubang di depan pasar"),
            MessageKind.PHOTO,
            {
                "media": MediaRef("whatsapp", "1049270452618423", "image/jpeg"),
                "text": "lubang di depan pasar",
            },
        ),
        (
            wa.document("77", "image/png", "foto.png"),
            MessageKind.PHOTO,
            {"media": MediaRef("whatsapp", "77", "image/png")},
        ),
        (wa.document("78", "application/pdf"), MessageKind.UNSUPPORTED, {"text": "document"}),
        (
            wa.voice_note("2216485301939857"),
            MessageKind.VOICE,
            {"media": MediaRef("whatsapp", "2216485301939857", "audio/ogg; codecs=opus")},
        ),
        (
            wa.location(-7.6298, 111.5239, "Pasar Sleko", "Jl. Sulawesi, Madiun"),
            MessageKind.LOCATION,
            {"location": GeoPoint(-7.6298, 111.5239), "text": "Pasar Sleko, Jl. Sulawesi, Madiun"},
        ),
        (
            wa.location(-7.6298, 111.5239),
            MessageKind.LOCATION,
            {"location": GeoPoint(-7.6298, 111.5239)},
        ),
        (
            wa.button_reply("agree", "Setuju"),
            MessageKind.CHOICE,
            {"choice": "agree", "text": "Setuju"},
        ),
        (
            wa.list_reply("priv:anonymous", "Anonim", "Nama Anda tidak terlihat"),
            MessageKind.CHOICE,
            {"choice": "priv:anonymous", "text": "Anonim"},
        ),
        (
            wa.template_button("Cek status", "cmd:check"),
            MessageKind.CHOICE,
            {"choice": "cmd:check", "text": "Cek status"},
        ),
        (wa.template_button("Cek status"), MessageKind.TEXT, {"text": "Cek status"}),
        (wa.text("/batal"), MessageKind.COMMAND, {"text": "batal"}),
        (wa.text("/ bukan perintah"), MessageKind.TEXT, {"text": "/ bukan perintah"}),
        (wa.request_welcome(), MessageKind.COMMAND, {"text": "start"}),
        (wa.video(), MessageKind.UNSUPPORTED, {"text": "video"}),
        (wa.sticker(), MessageKind.UNSUPPORTED, {"text": "sticker"}),
        (wa.shared_contact(), MessageKind.UNSUPPORTED, {"text": "contacts"}),
        (wa.unsupported("poll"), MessageKind.UNSUPPORTED, {"text": "poll"}),
        (wa.message({"type": "hologram"}), MessageKind.UNSUPPORTED, {"text": "hologram"}),
        # Readable envelope, unreadable content: answered politely rather than dropped.
        (wa.message({"type": "image", "image": {}}), MessageKind.UNSUPPORTED, {"text": "image"}),
    ],
)
def test_message_kinds(payload: dict[str, Any], kind: MessageKind, fields: dict[str, Any]) -> None:
    message = only_message(wa.incoming(payload))
    assert message.kind is kind
    for name, expected in fields.items():
        assert getattr(message, name) == expected, name


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (wa.reaction("wamid.OURS="), "reaction"),
        (wa.system_number_changed(), "system message"),
        (wa.location(91.0, 111.5), "location out of range"),
        (wa.message({"type": "text", "text": {"body": "hi"}, "group_id": "G1"}), "group message"),
        ({"type": "text", "text": {"body": "no id"}}, "malformed message (no id)"),
    ],
)
def test_what_needs_no_answer_is_skipped_with_the_reason(
    payload: dict[str, Any], reason: str
) -> None:
    events = parse_webhook(wa.incoming(payload))
    assert events.messages == []
    assert len(events.ignored) == 1 and events.ignored[0].endswith(reason)


def test_every_entry_change_message_and_status_of_a_batch() -> None:
    first, second, third = wa.text("satu"), wa.text("dua", person=wa.NEIGHBOUR), wa.text("tiga")
    payload = wa.notification(
        wa.value([first, second], contacts=[wa.contact(), wa.contact(wa.NEIGHBOUR)]),
        wa.value(statuses=[wa.status("wamid.A=", "sent"), wa.status("wamid.A=", "delivered")]),
        wa.value([third], contacts=[wa.contact()]),
        wa.value(statuses=[wa.status("wamid.B=", "played")]),
        entries=2,
    )
    events = parse_webhook(payload)
    assert events.ignored == []
    assert [(i.message.text, i.message.sender_name) for i in events.messages] == [
        ("satu", "Siti Rahayu"),
        ("dua", "Budi Santoso"),
        ("tiga", "Siti Rahayu"),
    ]
    assert events.messages[1].message.chat_id == wa.NEIGHBOUR["wa_id"]
    assert events.messages[1].raw["contact"]["profile"]["name"] == "Budi Santoso"
    assert [(s.delivery.external_id, s.delivery.status) for s in events.statuses] == [
        ("wamid.A=", "sent"),
        ("wamid.A=", "delivered"),
        ("wamid.B=", "read"),  # "played" (a voice message was listened to) counts as read
    ]


def test_statuses() -> None:
    payload = wa.statuses(
        wa.status("wamid.A=", "read", timestamp=1767225700),
        wa.failed("wamid.B=", 131047, "Re-engagement message", wa.REENGAGEMENT_DETAILS),
        wa.failed("wamid.C=", 131026, "Message undeliverable"),
        {**wa.status("wamid.D=", "sent"), "status": "deleted"},
    )
    events = parse_webhook(payload)
    read, reengagement, undeliverable = events.statuses
    assert read.delivery == DeliveryStatus(
        "whatsapp", "wamid.A=", "read", datetime(2026, 1, 1, 0, 1, 40, tzinfo=UTC)
    )
    assert read.recipient == PHONE and read.error_code is None
    assert reengagement.error_code == 131047
    assert reengagement.delivery.error == (
        "131047 Re-engagement message: " + wa.REENGAGEMENT_DETAILS
    )
    assert undeliverable.delivery.error == "131026 Message undeliverable"
    assert events.ignored == ["entry 0 change 0 status 3: status 'deleted'"]


def test_changes_for_another_number_or_another_field_are_ignored() -> None:
    other = wa.notification(
        wa.value([wa.text("halo")], contacts=[wa.contact()], phone_number_id="999")
    )
    events = parse_webhook(other, phone_number_id=PHONE_NUMBER_ID)
    assert events.messages == [] and "for phone number id 999" in events.ignored[0]
    assert len(parse_webhook(other).messages) == 1  # no configured number: take it

    template_update = {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "1", "changes": [{"field": "message_template_status_update", "value": {}}]}
        ],
    }
    events = parse_webhook(template_update)
    assert events.messages == [] and events.ignored == [
        "entry 0 change 0: field 'message_template_status_update'"
    ]


def test_webhook_level_errors_are_reported() -> None:
    value = {**wa.value(), "errors": [{"code": 131000, "title": "Something went wrong"}]}
    assert parse_webhook(wa.notification(value)).ignored == [
        "entry 0 change 0: webhook error 131000 Something went wrong"
    ]


def test_parsing_does_not_change_the_payload() -> None:
    payload = wa.incoming(wa.image("1", caption="x"), wa.text("y"))
    before = copy.deepcopy(payload)
    parse_webhook(payload)
    assert payload == before


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "text",
        {"object": "whatsapp_business_account", "entry": "x"},
        {"entry": [None, 1, {"changes": None}, {"changes": [None, {"field": "messages"}]}]},
        {"entry": [{"changes": [{"field": "messages", "value": {"messages": {"a": 1}}}]}]},
        {"entry": [{"changes": [{"field": "messages", "value": {"statuses": [{"id": 1}]}}]}]},
        wa.incoming({"id": "wamid.X=", "from": None, "type": "text"}),
        wa.incoming({**wa.text("x"), "timestamp": "soon"}),
    ],
)
def test_malformed_payloads_never_raise(payload: Any) -> None:
    events = parse_webhook(payload, now=NOW)
    for incoming in events.messages:
        assert incoming.message.received_at == NOW  # no usable timestamp


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "object",
                    "entry",
                    "changes",
                    "field",
                    "value",
                    "messages",
                    "statuses",
                    "contacts",
                    "id",
                    "from",
                    "type",
                    "text",
                    "body",
                    "image",
                    "interactive",
                    "location",
                    "errors",
                    "metadata",
                    "phone_number_id",
                    "wa_id",
                    "user_id",
                    "status",
                    "timestamp",
                ]
            ),  # fmt: skip
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_parse_webhook_never_raises_on_any_json(data: Any) -> None:
    parse_webhook(data)


# --------------------------------------------------------------------------------------------
# Signatures


def test_signature() -> None:
    body = wa.encode(wa.incoming(wa.text("halo")))
    header = sign("s3cret", body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert check_signature("s3cret", body, header) is Signature.VALID
    assert check_signature("s3cret", body, header.upper().replace("SHA256", "sha256")) is (
        Signature.VALID
    )
    assert check_signature("s3cret", body, None) is Signature.MISSING
    assert check_signature("s3cret", body, " ") is Signature.MISSING
    assert check_signature("other", body, header) is Signature.INVALID
    assert check_signature("s3cret", body + b" ", header) is Signature.INVALID
    assert check_signature("s3cret", body, "sha1=" + header[7:]) is Signature.INVALID
    assert check_signature("s3cret", body, header[7:]) is Signature.INVALID
    assert check_signature("", body, sign("", body)) is Signature.INVALID


# --------------------------------------------------------------------------------------------
# Rendering


def _choices(*labels: str) -> tuple[Choice, ...]:
    return tuple(Choice(f"c{i}", label) for i, label in enumerate(labels))


def test_plain_text() -> None:
    assert render(Reply("Terima kasih.")) == [
        {"type": "text", "text": {"body": "Terima kasih.", "preview_url": False}}
    ]
    pieces = render(Reply(("kalimat panjang. " * 400).strip()))
    assert len(pieces) == 2 and all(len(p["text"]["body"]) <= 4096 for p in pieces)


def test_up_to_three_choices_are_reply_buttons_with_short_distinct_titles() -> None:
    choices = (
        Choice("agree", "Setuju"),
        Choice("cat:pju", "Penerangan Jalan Umum dan Taman Kota"),
        Choice("cat:pju2", "Penerangan Jalan Umum dan Taman Desa"),
    )
    (message,) = render(Reply("Pilih salah satu:", choices=choices))
    interactive = message["interactive"]
    assert interactive["type"] == "button" and interactive["body"] == {"text": "Pilih salah satu:"}
    titles = [b["reply"]["title"] for b in interactive["action"]["buttons"]]
    ids = [b["reply"]["id"] for b in interactive["action"]["buttons"]]
    assert ids == ["agree", "cat:pju", "cat:pju2"]
    assert titles[0] == "Setuju"
    assert all(len(t) <= 20 for t in titles) and len(set(titles)) == 3
    assert titles[1] == "Penerangan Jalan…"
    assert titles[2].endswith("(2)")


def test_four_to_ten_choices_are_a_list() -> None:
    choices = (
        Choice("priv:normal", "Biasa"),
        Choice(
            "priv:anonymous", "Anonim", "Nama Anda tidak ditampilkan kepada petugas maupun publik"
        ),
        Choice("priv:confidential", "Rahasia: isi laporan tidak dipublikasikan"),
        Choice("priv:both", "Anonim dan rahasia"),
    )
    (message,) = render(Reply("Pilih privasi:", choices=choices, lang="id"))
    interactive = message["interactive"]
    assert interactive["type"] == "list" and interactive["action"]["button"] == "Pilih"
    (section,) = interactive["action"]["sections"]
    assert section["rows"] == [
        {"id": "priv:normal", "title": "Biasa"},
        {
            "id": "priv:anonymous",
            "title": "Anonim",
            "description": "Nama Anda tidak ditampilkan kepada petugas maupun publik",
        },
        {
            "id": "priv:confidential",
            "title": "Rahasia: isi laporan…",  # the full label goes in the description
            "description": "Rahasia: isi laporan tidak dipublikasikan",
        },
        {"id": "priv:both", "title": "Anonim dan rahasia"},
    ]
    long = Choice("x", "y", "d" * 100)
    (message,) = render(Reply("?", choices=(*_choices("a", "b", "c"), long)))
    assert message["interactive"]["action"]["button"] == LIST_BUTTON_LABEL
    assert len(message["interactive"]["action"]["sections"][0]["rows"][3]["description"]) == 72


def test_more_than_ten_choices_are_numbered_text() -> None:
    choices = _choices(*(f"Kelurahan {i}" for i in range(1, 13)))
    (message,) = render(Reply("Kelurahan mana?", choices=choices))
    body = message["text"]["body"]
    assert body.startswith("Kelurahan mana?\n\n1. Kelurahan 1\n2. Kelurahan 2\n")
    assert body.endswith("12. Kelurahan 12")


def test_the_location_question_is_a_location_request() -> None:
    (message,) = render(Reply("Di mana lokasinya?", request_location=True))
    assert message == {
        "type": "interactive",
        "interactive": {
            "type": "location_request_message",
            "body": {"text": "Di mana lokasinya?"},
            "action": {"name": "send_location"},
        },
    }
    # With choices too: the choices carry the text, a location request follows.
    menu = Reply("Kecamatan mana?", choices=_choices("Kartoharjo", "Manguharjo", "Taman"),
                 request_location=True, lang="en")  # fmt: skip
    buttons, request = render(menu)
    assert buttons["interactive"]["type"] == "button"
    assert buttons["interactive"]["body"]["text"] == "Kecamatan mana?"
    assert request["interactive"]["body"]["text"] == "📍 Send location"
    unknown_language = render(Reply("", choices=_choices("a", "b"), request_location=True))[1]
    assert unknown_language["interactive"]["body"]["text"] == LOCATION_PROMPT


def test_a_long_question_sends_text_first_and_fits_the_interactive_body() -> None:
    text = "\n".join(f"Baris {i}: " + "isi " * 20 for i in range(30))  # ~3000 characters
    messages = render(Reply(text, choices=_choices("Ya", "Tidak")))
    assert [m["type"] for m in messages] == ["text", "text", "interactive"]
    body = messages[-1]["interactive"]["body"]["text"]
    assert len(body) <= 1024 and body.startswith("Baris")
    sent = "\n".join(m["text"]["body"] for m in messages[:-1]) + "\n" + body
    assert sent.split() == text.split()  # nothing lost


def test_photos_and_a_location() -> None:
    messages = render(Reply("Foto laporan", photos=("55501",), location=GeoPoint(-7.6, 111.5)))
    assert messages == [
        {"type": "image", "image": {"id": "55501", "caption": "Foto laporan"}},
        {"type": "location", "location": {"latitude": -7.6, "longitude": 111.5}},
    ]
    two = render(Reply("Dua foto", photos=("1", "https://example.org/p.jpg")))
    assert [m.get("image") for m in two] == [
        {"id": "1"},
        {"link": "https://example.org/p.jpg"},
        None,
    ]


def test_what_cannot_be_rendered_is_dead() -> None:
    with pytest.raises(SendError) as empty:
        render(Reply("  "))
    assert empty.value.failure is SendFailure.DEAD
    with pytest.raises(SendError) as too_long:
        render(Reply("?", choices=(Choice("v" * 300, "x"),)))
    assert too_long.value.failure is SendFailure.DEAD


def test_template_parameters_are_single_lines() -> None:
    message = template_message(
        "lapor_status", "id", StatusNotice("MDN-00042", "Ditolak:\n  di luar\twilayah")
    )
    assert message["template"]["components"] == [
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "MDN-00042"},
                {"type": "text", "text": "Ditolak: di luar wilayah"},
            ],
        }
    ]


def test_shorten_and_split() -> None:
    assert shorten("Penerangan Jalan Umum", 20) == "Penerangan Jalan…"
    assert shorten("Sampah", 20) == "Sampah"
    assert shorten("Supercalifragilisticexpialidocious", 10) == "Supercali…"
    assert split_text("a" * 10, 4) == ["aaaa", "aaaa", "aa"]
    assert split_text("satu dua tiga", 8) == ["satu dua", "tiga"]


# --------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    ("status", "code", "failure", "retry_after"),
    [
        (400, 131047, SendFailure.WAIT, None),
        (400, 4, SendFailure.RETRY, None),
        (400, 80007, SendFailure.RETRY, None),
        (400, 130429, SendFailure.RETRY, None),
        (400, 131048, SendFailure.RETRY, None),
        (400, 131056, SendFailure.RETRY, None),
        (429, None, SendFailure.RETRY, None),
        (400, 131026, SendFailure.UNREACHABLE, None),
        (400, 131030, SendFailure.UNREACHABLE, None),
        (400, 100, SendFailure.DEAD, None),
        (400, 131009, SendFailure.DEAD, None),
        (400, 132001, SendFailure.DEAD, None),
        (401, 190, SendFailure.RETRY, None),  # an expired token: fix the configuration
        (400, 131000, SendFailure.RETRY, None),
        (500, 1, SendFailure.RETRY, None),
        (503, None, SendFailure.RETRY, None),
    ],
)
def test_classify_error(
    status: int, code: int | None, failure: SendFailure, retry_after: float | None
) -> None:
    body = {"error": {"message": "(#x) something", "code": code}} if code is not None else None
    error = classify_error(status, body)
    assert error.failure is failure
    assert error.retry_after == retry_after
    assert f"HTTP {status}" in error.reason


def test_retry_after_header_wins() -> None:
    error = classify_error(400, {"error": {"code": 130429}}, "17")
    assert (error.failure, error.retry_after) == (SendFailure.RETRY, 17.0)
    assert classify_error(429, {}, "soon").retry_after is None


# --------------------------------------------------------------------------------------------
# Sending through the fake Graph API


@pytest.fixture
async def sender(graph: FakeGraph) -> AsyncIterator[WhatsAppSender]:
    found = WhatsAppSender(
        graph.phone_number_id,
        graph.token,
        graph_base=graph.graph_base,
        api_version=graph.version,
        status_template=STATUS_TEMPLATE,
    )
    yield found
    await found.aclose()


NOTICE = Reply("Laporan MDN-00001: Selesai.", notice=StatusNotice("MDN-00001", "Selesai"))


async def test_send_posts_to_the_phone_number_and_returns_the_message_id(
    sender: WhatsAppSender, graph: FakeGraph
) -> None:
    sent = await sender.send(PHONE, Reply("Halo", choices=_choices("Ya", "Tidak")))
    (call,) = graph.messages()
    assert call.path == f"/{graph.version}/{graph.phone_number_id}/messages"
    assert call.body["messaging_product"] == "whatsapp" and call.body["to"] == PHONE
    assert call.body["recipient_type"] == "individual"
    assert sent.external_id == call.wamid and (sent.external_id or "").startswith("wamid.")


async def test_outside_the_window_a_notice_goes_as_the_template_and_others_wait(
    sender: WhatsAppSender, graph: FakeGraph
) -> None:
    async def closed(chat_id: str) -> bool:
        return False

    sender.window = closed
    sent = await sender.send(PHONE, NOTICE)
    (call,) = graph.messages()
    assert call.body["type"] == "template" and sent.external_id == call.wamid
    with pytest.raises(SendError) as held:
        await sender.send(PHONE, Reply("Apakah Anda setuju?"))
    assert held.value.failure is SendFailure.WAIT
    assert len(graph.calls) == 1  # nothing tried

    sender.status_template = ""
    with pytest.raises(SendError) as no_template:
        await sender.send(PHONE, NOTICE)
    assert no_template.value.failure is SendFailure.WAIT
    assert "status_template" in no_template.value.reason


async def test_error_131047_falls_back_to_the_template(
    sender: WhatsAppSender, graph: FakeGraph
) -> None:
    graph.close_window(PHONE)
    sent = await sender.send(PHONE, NOTICE)
    refused, template = graph.messages(ok_only=False)
    assert refused.status == 400 and template.body["type"] == "template"
    assert sent.external_id == template.wamid
    with pytest.raises(SendError) as held:
        await sender.send(PHONE, Reply("Terima kasih."))
    assert held.value.failure is SendFailure.WAIT


async def test_errors_from_the_api(sender: WhatsAppSender, graph: FakeGraph) -> None:
    graph.fail_next(131026, "Message undeliverable")
    with pytest.raises(SendError) as unreachable:
        await sender.send(PHONE, Reply("x"))
    assert unreachable.value.failure is SendFailure.UNREACHABLE
    graph.fail_next(130429, "Rate limit hit", retry_after="3")
    with pytest.raises(SendError) as throttled:
        await sender.send(PHONE, Reply("x"))
    assert (throttled.value.failure, throttled.value.retry_after) == (SendFailure.RETRY, 3.0)
    sender.status_template = "no_such_template"
    graph.close_window(PHONE)
    with pytest.raises(SendError) as bad_template:
        await sender.send(PHONE, NOTICE)
    assert bad_template.value.failure is SendFailure.DEAD
    assert "132001" in bad_template.value.reason


async def test_a_wrong_token_and_an_unreachable_api_are_retried(graph: FakeGraph) -> None:
    wrong = WhatsAppSender(
        graph.phone_number_id, "EAAG-wrong-token-123456", graph_base=graph.graph_base
    )
    with pytest.raises(SendError) as rejected:
        await wrong.send(PHONE, Reply("x"))
    assert rejected.value.failure is SendFailure.RETRY and "190" in rejected.value.reason
    await wrong.aclose()
    away = WhatsAppSender(graph.phone_number_id, graph.token, graph_base="http://127.0.0.1:9")
    with pytest.raises(SendError) as network:
        await away.send(PHONE, Reply("x"))
    assert network.value.failure is SendFailure.RETRY
    await away.aclose()


async def test_mark_read_with_a_typing_indicator(sender: WhatsAppSender, graph: FakeGraph) -> None:
    await sender.mark_read("wamid.HBgN=")
    (call,) = graph.reads()
    assert call.body == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.HBgN=",
        "typing_indicator": {"type": "text"},
    }


async def test_fetch_media_looks_up_the_url_then_downloads_with_the_token(
    sender: WhatsAppSender, graph: FakeGraph
) -> None:
    graph.add_media("1049270452618423", b"\xff\xd8jpeg bytes", "image/jpeg")
    fetched = await sender.fetch_media(MediaRef("whatsapp", "1049270452618423", "image/jpeg"))
    assert (fetched.content, fetched.mime) == (b"\xff\xd8jpeg bytes", "image/jpeg")
    lookup, download = [c for c in graph.calls if c.kind in ("media", "download")]
    assert lookup.path == f"/{graph.version}/1049270452618423" and download.status == 200

    with pytest.raises(SendError) as gone:
        await sender.fetch_media(MediaRef("whatsapp", "404404", "image/jpeg"))
    assert gone.value.failure is SendFailure.DEAD
    with pytest.raises(SendError) as not_an_id:
        await sender.fetch_media(MediaRef("whatsapp", "../../me", "image/jpeg"))
    assert not_an_id.value.failure is SendFailure.DEAD

    sender.max_download = 4
    with pytest.raises(SendError) as too_big:
        await sender.fetch_media(MediaRef("whatsapp", "1049270452618423", "image/jpeg"))
    assert too_big.value.failure is SendFailure.DEAD


async def test_the_token_is_never_sent_to_a_plain_http_stranger(
    sender: WhatsAppSender, graph: FakeGraph
) -> None:
    graph.add_media("1", b"bytes")
    graph.download_base = "http://media.example.invalid"
    with pytest.raises(SendError) as refused:
        await sender.fetch_media(MediaRef("whatsapp", "1", "image/jpeg"))
    assert refused.value.failure is SendFailure.DEAD
    assert [c.kind for c in graph.calls] == ["media"]


async def test_the_token_never_reaches_the_logs(
    graph: FakeGraph, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sender = WhatsAppSender(graph.phone_number_id, graph.token, graph_base=graph.graph_base)
    graph.fail_next(100, "Invalid parameter", details=f"echo {graph.token}")
    with pytest.raises(SendError) as failed:
        await sender.send(PHONE, Reply("x"))
    logging.getLogger("test").warning("failed: %s", failed.value.reason)
    await sender.send(PHONE, Reply("y"))
    graph.add_media("9", b"x")
    await sender.fetch_media(MediaRef("whatsapp", "9"))
    await sender.aclose()
    assert caplog.records and graph.token not in caplog.text
