"""The Telegram adapter: parsing real Update JSON, sending through a fake Bot API, media."""

from __future__ import annotations

import copy
import hashlib
import io
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import telegram_updates as tu
from fake_telegram import FakeTelegram
from PIL import ExifTags, Image, PngImagePlugin

from channels.base import SendError, SendFailure, Signature
from channels.telegram import (
    ALLOWED_UPDATES,
    CAPABILITIES,
    LOCATION_BUTTON_LABEL,
    TelegramSender,
    check_secret_token,
    classify_error,
    parse_update,
    split_text,
)
from intake.types import Choice, GeoPoint, InboundMessage, MediaRef, MessageKind, Reply
from storage.media import MediaRejected, MediaStore

JAN_1 = datetime(2026, 1, 1, tzinfo=UTC)


def only_message(update: dict[str, Any], **kwargs: Any) -> InboundMessage:
    events = parse_update(update, **kwargs)
    assert events.ignored is None, events.ignored
    assert len(events.messages) == 1
    return events.messages[0]


# --------------------------------------------------------------------------------------------
# Parsing


def test_capabilities() -> None:
    assert (CAPABILITIES.buttons, CAPABILITIES.photos, CAPABILITIES.location) == (True,) * 3
    assert CAPABILITIES.max_text == 4096
    assert ALLOWED_UPDATES == ["message", "edited_message", "callback_query", "my_chat_member"]


def test_private_text_message() -> None:
    update = tu.text("Jalan di depan pasar berlubang", message_id=42, update_id=9001)
    events = parse_update(update)
    assert events.update_id == 9001
    assert events.messages == [
        InboundMessage(
            channel="telegram",
            external_id=f"m{tu.CITIZEN_ID}:42",
            sender_id=str(tu.CITIZEN_ID),
            chat_id=str(tu.CITIZEN_ID),
            kind=MessageKind.TEXT,
            received_at=JAN_1,
            text="Jalan di depan pasar berlubang",
            sender_name="Siti Rahayu",
            language_hint="id",
        )
    ]
    assert events.messages[0].received_at.tzinfo is not None


def test_external_id_is_the_same_for_webhook_and_polling_deliveries() -> None:
    by_webhook = tu.text("halo", message_id=7, update_id=1)
    by_polling = tu.text("halo", message_id=7, update_id=2)
    assert only_message(by_webhook).external_id == only_message(by_polling).external_id


def test_parsing_does_not_change_the_payload() -> None:
    update = tu.photo(caption="lubang", media_group_id="1357")
    before = copy.deepcopy(update)
    parse_update(update)
    assert update == before


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/start", "start"),
        ("/cek MDN-00001", "cek MDN-00001"),
        ("/cek@LaporFakeBot MDN-00001", "cek MDN-00001"),
        ("/Batal", "batal"),
        ("/start  kelurahan_taman ", "start kelurahan_taman"),
    ],
)
def test_commands(body: str, expected: str) -> None:
    msg = only_message(tu.command(body), bot_username="LaporFakeBot")
    assert (msg.kind, msg.text) == (MessageKind.COMMAND, expected)


def test_command_for_another_bot_is_plain_text() -> None:
    msg = only_message(tu.command("/start@OtherBot"), bot_username="LaporFakeBot")
    assert (msg.kind, msg.text) == (MessageKind.TEXT, "/start@OtherBot")


def test_photo_takes_the_largest_size_caption_and_album() -> None:
    msg = only_message(tu.photo("PHOTO-1", caption="Lubang besar", media_group_id="13579"))
    assert msg.kind is MessageKind.PHOTO
    assert msg.media == MediaRef("telegram", "PHOTO-1", "image/jpeg", 184233)
    assert (msg.text, msg.media_group) == ("Lubang besar", "13579")


def test_image_document_counts_as_photo_other_documents_do_not() -> None:
    msg = only_message(tu.document("DOC-1", mime_type="image/png", caption="foto"))
    assert msg.kind is MessageKind.PHOTO
    assert msg.media == MediaRef("telegram", "DOC-1", "image/png", 245761, document=True)
    assert msg.text == "foto"
    pdf = only_message(tu.document("DOC-2", mime_type="application/pdf", file_name="surat.pdf"))
    assert (pdf.kind, pdf.text, pdf.media) == (MessageKind.UNSUPPORTED, "document", None)


def test_location_and_venue() -> None:
    loc = only_message(tu.location(-7.6298, 111.5239))
    assert (loc.kind, loc.location, loc.text) == (
        MessageKind.LOCATION,
        GeoPoint(-7.6298, 111.5239),
        "",
    )
    ven = only_message(tu.venue(-7.6311, 111.53, "Alun-Alun Kota Madiun", "Jl. Pahlawan"))
    assert ven.kind is MessageKind.LOCATION
    assert ven.location == GeoPoint(-7.6311, 111.53)
    assert ven.text == "Alun-Alun Kota Madiun, Jl. Pahlawan"


def test_contact_gives_the_phone_only_when_it_is_the_citizens_own() -> None:
    own = only_message(tu.contact("6281234567890", own=True))
    assert (own.kind, own.text, own.phone) == (MessageKind.UNSUPPORTED, "contact", "+6281234567890")
    other = only_message(tu.contact("6289999999999", own=False))
    assert (other.kind, other.text, other.phone) == (MessageKind.UNSUPPORTED, "contact", None)


def test_voice() -> None:
    msg = only_message(tu.voice("VOICE-1"))
    assert msg.kind is MessageKind.VOICE
    assert msg.media == MediaRef("telegram", "VOICE-1", "audio/ogg", 15360)


def test_an_audio_file_is_a_voice_message_kept_as_a_file() -> None:
    """Its file id cannot be sent back as a voice note, so officers are not sent it as one."""
    audio = {"file_id": "AUDIO-1", "file_unique_id": "a1", "duration": 60, "mime_type": "audio/ogg"}
    msg = only_message(tu.message_update({"audio": audio}))
    assert msg.kind is MessageKind.VOICE
    assert msg.media == MediaRef("telegram", "AUDIO-1", "audio/ogg", None, document=True)


@pytest.mark.parametrize(
    ("update", "name"),
    [
        (tu.sticker(), "sticker"),
        (tu.video(), "video"),
        (tu.message_update({"dice": {"emoji": "🎲", "value": 4}}), "dice"),
        (
            tu.message_update(
                {
                    "video_note": {
                        "duration": 3,
                        "length": 240,
                        "file_id": "VN",
                        "file_unique_id": "vn",
                    }
                }
            ),
            "video_note",
        ),
        (
            tu.message_update(
                {
                    "animation": {
                        "file_id": "AN",
                        "file_unique_id": "an",
                        "width": 1,
                        "height": 1,
                        "duration": 1,
                        "mime_type": "video/mp4",
                    },
                    "document": {"file_id": "AN", "file_unique_id": "an", "mime_type": "video/mp4"},
                }
            ),
            "animation",
        ),
        (tu.message_update({"brand_new_kind": {"x": 1}}), "brand_new_kind"),
    ],
)
def test_unsupported_kinds_are_named(update: dict[str, Any], name: str) -> None:
    msg = only_message(update)
    assert (msg.kind, msg.text) == (MessageKind.UNSUPPORTED, name)


def test_edited_messages_are_ignored() -> None:
    events = parse_update(tu.edited_message())
    assert (events.messages, events.ignored) == ([], "edited_message")
    post = {"update_id": 5, "edited_channel_post": {"message_id": 1}}
    assert parse_update(post).ignored == "edited_message"


def test_callback_query_is_a_choice() -> None:
    update = tu.callback_query("cat:jalan", query_id="4382")
    events = parse_update(update, now=JAN_1)
    assert events.callback_query_id == "4382"
    assert events.messages == [
        InboundMessage(
            channel="telegram",
            external_id="c4382",
            sender_id=str(tu.CITIZEN_ID),
            chat_id=str(tu.CITIZEN_ID),
            kind=MessageKind.CHOICE,
            received_at=JAN_1,
            choice="cat:jalan",
            sender_name="Siti Rahayu",
            language_hint="id",
        )
    ]


@pytest.mark.parametrize(
    "update",
    [
        tu.callback_query(None, query_id="77"),
        tu.callback_query("x", with_message=False, query_id="77"),
    ],
)
def test_unusable_callbacks_are_ignored_but_still_answered(update: dict[str, Any]) -> None:
    events = parse_update(update)
    assert events.messages == []
    assert events.ignored
    assert events.callback_query_id == "77"


def test_group_traffic_goes_to_the_officer_desk_raw() -> None:
    update = tu.group_message("/tindak MDN-00001")
    events = parse_update(update)
    assert events.messages == []
    assert events.group_message == update["message"]
    callback = tu.callback_query("verify:MDN-00001", user=tu.OFFICER, chat=tu.group_chat())
    events = parse_update(callback)
    assert events.messages == []
    assert events.group_callback == callback["callback_query"]
    assert events.callback_query_id == callback["callback_query"]["id"]


@pytest.mark.parametrize(("status", "blocked"), [("kicked", True), ("member", False)])
def test_my_chat_member_block_and_unblock(status: str, blocked: bool) -> None:
    events = parse_update(tu.my_chat_member(status))
    assert events.messages == []
    assert events.membership is not None
    assert events.membership.blocked is blocked
    assert events.membership.user_id == events.membership.chat_id == str(tu.CITIZEN_ID)
    assert events.membership.at == JAN_1


@pytest.mark.parametrize(
    ("update", "reason"),
    [
        ({"update_id": 3, "channel_post": {"message_id": 1}}, "channel_post"),
        ({"update_id": 4, "inline_query": {"id": "1"}}, "inline_query"),
        ({"update_id": 5}, "empty update"),
    ],
)
def test_other_update_kinds_are_ignored(update: dict[str, Any], reason: str) -> None:
    events = parse_update(update)
    assert (events.messages, events.ignored) == ([], reason)


def test_private_chats_only() -> None:
    channel_like = tu.text("hi", chat={"id": -1009, "type": "channel", "title": "News"})
    events = parse_update(channel_like)
    assert events.messages == [] and events.ignored


@pytest.mark.parametrize(
    "data",
    [
        [],
        [tu.text("hi")],
        None,
        "update",
        42,
        {},
        {"update_id": "12"},
        {"update_id": True, "message": {}},
        {"update_id": 1, "message": None},
        {"update_id": 1, "message": "hello"},
        {"update_id": 1, "message": {"text": "no chat"}},
        {"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": "x", "text": "hi"}},
        {"update_id": 1, "message": {"message_id": 1, "date": "x", "chat": {"id": 1}}},
        {"update_id": 1, "callback_query": []},
        {"update_id": 1, "my_chat_member": {"chat": {"id": 1, "type": "private"}}},
    ],
)
def test_malformed_updates_are_ignored_with_a_reason(data: Any) -> None:
    events = parse_update(data)
    assert events.messages == []
    assert events.ignored


def _mutations(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*path, key)
            yield from _mutations(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _mutations(child, (*path, i))


def _mutated(update: dict[str, Any], path: tuple[Any, ...], new: Any) -> dict[str, Any]:
    result = copy.deepcopy(update)
    node: Any = result
    for key in path[:-1]:
        node = node[key]
    if new is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = new
    return result


ALL_KINDS = [
    tu.text("hi"),
    tu.command("/cek MDN-1"),
    tu.photo(media_group_id="1"),
    tu.document(),
    tu.location(),
    tu.venue(),
    tu.contact(),
    tu.voice(),
    tu.sticker(),
    tu.callback_query(),
    tu.my_chat_member("kicked"),
    tu.group_message(),
]


@pytest.mark.parametrize("update", ALL_KINDS, ids=lambda u: next(k for k in u if k != "update_id"))
def test_no_field_removal_or_wrong_type_makes_the_parser_raise(update: dict[str, Any]) -> None:
    for path in _mutations(update):
        for new in (KeyError, None, "x", 3.5, [], {}, True):
            events = parse_update(_mutated(update, path, new))
            for msg in events.messages:
                assert isinstance(msg.chat_id, str) and isinstance(msg.sender_id, str)
                assert isinstance(msg.text, str)
                assert msg.received_at.tzinfo is not None
            assert (
                events.messages
                or events.ignored
                or events.membership
                or (events.group_message is not None or events.group_callback is not None)
            )


# --------------------------------------------------------------------------------------------
# Sending


@pytest.fixture
async def sender(fake_telegram: FakeTelegram) -> AsyncIterator[TelegramSender]:  # noqa: F811
    s = TelegramSender(fake_telegram.token, fake_telegram.api_base, request_timeout=5)
    yield s
    await s.aclose()


CHAT = str(tu.CITIZEN_ID)


async def test_text_with_choices_is_an_inline_keyboard(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    reply = Reply(
        "Pilih kategori:",
        choices=(Choice("cat:jalan", "Jalan rusak"), Choice("cat:sampah", "Sampah"),
                 Choice("cat:lampu", "Lampu jalan")),
    )  # fmt: skip
    sent = await sender.send(CHAT, reply)
    [call] = fake_telegram.calls_to("sendMessage")
    assert call.chat_id == CHAT
    assert call.params["text"] == "Pilih kategori:"
    assert "parse_mode" not in call.params  # plain text: nothing to escape
    assert call.params["reply_markup"] == {
        "inline_keyboard": [
            [
                {"text": "Jalan rusak", "callback_data": "cat:jalan"},
                {"text": "Sampah", "callback_data": "cat:sampah"},
            ],
            [{"text": "Lampu jalan", "callback_data": "cat:lampu"}],
        ]
    }
    assert sent.external_id is not None and sent.external_id.isdigit()


async def test_long_labels_get_a_row_each(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    choices = (Choice("a", "Ya, kirim tanpa foto sekarang"), Choice("b", "Tidak"))
    await sender.send(CHAT, Reply("Lanjut?", choices=choices))
    rows = fake_telegram.calls_to("sendMessage")[0].params["reply_markup"]["inline_keyboard"]
    assert [len(r) for r in rows] == [1, 1]


async def test_choice_value_over_64_bytes_is_dead_and_nothing_is_sent(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    with pytest.raises(SendError) as err:
        await sender.send(CHAT, Reply("Pilih", choices=(Choice("é" * 33, "Terlalu panjang"),)))
    assert err.value.failure is SendFailure.DEAD
    assert "64 bytes" in err.value.reason
    assert fake_telegram.calls == []


async def test_request_location_is_a_one_time_reply_keyboard(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    reply = Reply("Di mana lokasinya?", choices=(Choice("skip", "Lewati"),), request_location=True)
    await sender.send(CHAT, reply)
    markup = fake_telegram.calls_to("sendMessage")[0].params["reply_markup"]
    assert markup["keyboard"] == [
        [{"text": LOCATION_BUTTON_LABEL, "request_location": True}],
        [{"text": "Lewati"}],
    ]
    assert markup["one_time_keyboard"] is True
    assert markup["resize_keyboard"] is True


async def test_remove_keyboard(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    await sender.send(CHAT, Reply("Lokasi diterima.", remove_keyboard=True))
    [call] = fake_telegram.calls_to("sendMessage")
    assert call.params["reply_markup"] == {"remove_keyboard": True}


async def test_remove_keyboard_and_choices_travel_on_two_messages(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    reply = Reply(
        "Lokasi diterima.\nApakah laporan ini rahasia?",
        choices=(Choice("yes", "Ya"), Choice("no", "Tidak")),
        remove_keyboard=True,
    )
    await sender.send(CHAT, reply)
    first, last = fake_telegram.calls_to("sendMessage")
    assert (first.params["text"], first.params["reply_markup"]) == (
        "Lokasi diterima.",
        {"remove_keyboard": True},
    )
    assert last.params["text"] == "Apakah laporan ini rahasia?"
    assert "inline_keyboard" in last.params["reply_markup"]


async def test_long_text_is_split_and_only_the_last_piece_has_the_keyboard(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    words = ("jalan berlubang di depan pasar besar madiun " * 300)[:9000]
    assert len(words) == 9000
    sent = await sender.send(CHAT, Reply(words, choices=(Choice("ok", "OK"),)))
    calls = fake_telegram.calls_to("sendMessage")
    assert len(calls) == 3
    assert all(len(c.params["text"]) <= 4096 for c in calls)
    assert ["reply_markup" in c.params for c in calls] == [False, False, True]
    assert " ".join(c.params["text"] for c in calls).split() == words.split()
    assert sent.external_id == "3"


def test_split_text_prefers_paragraphs_and_counts_utf16() -> None:
    text = "a" * 3000 + "\n\n" + "b" * 3000
    assert split_text(text) == ["a" * 3000, "b" * 3000]
    emoji = "😀" * 3000  # 2 UTF-16 units each
    pieces = split_text(emoji)
    assert [len(p) for p in pieces] == [2048, 952]
    assert split_text("short") == ["short"]


async def test_two_photos_are_a_media_group_with_the_caption_on_the_first(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    sent = await sender.send(CHAT, Reply("MDN-00001: jalan rusak", photos=("P1", "P2")))
    [call] = fake_telegram.calls_to("sendMediaGroup")
    assert [(m["type"], m["media"]) for m in call.params["media"]] == [
        ("photo", "P1"),
        ("photo", "P2"),
    ]
    assert call.params["media"][0]["caption"] == "MDN-00001: jalan rusak"
    assert "caption" not in call.params["media"][1]
    assert fake_telegram.calls_to("sendMessage") == []
    assert sent.external_id == "2"


async def test_one_photo_with_buttons_is_one_message(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    await sender.send(CHAT, Reply("Laporan baru", choices=(Choice("v", "Verifikasi"),),
                                  photos=("P1",)))  # fmt: skip
    [call] = fake_telegram.calls_to("sendPhoto")
    assert (call.params["photo"], call.params["caption"]) == ("P1", "Laporan baru")
    assert "inline_keyboard" in call.params["reply_markup"]
    assert fake_telegram.methods == ["sendPhoto"]


async def test_voice_notes_follow_the_photos_and_carry_the_caption_when_alone(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    await sender.send(
        CHAT,
        Reply(
            "📷 MDN-00001", photos=("P1",), voices=("V1", "V2"), location=GeoPoint(-7.63, 111.52)
        ),
    )
    assert fake_telegram.methods == ["sendPhoto", "sendVoice", "sendVoice", "sendLocation"]
    first, second = fake_telegram.calls_to("sendVoice")
    assert (first.params["voice"], second.params["voice"]) == ("V1", "V2")
    assert "caption" not in first.params  # the caption rode on the photo
    fake_telegram.clear()

    await sender.send(CHAT, Reply("🎤 MDN-00002", voices=("V3",)))
    [call] = fake_telegram.calls_to("sendVoice")
    assert (call.params["voice"], call.params["caption"]) == ("V3", "🎤 MDN-00002")
    assert fake_telegram.methods == ["sendVoice"]


async def test_location_goes_after_the_text(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    sent = await sender.send(CHAT, Reply("Lokasi laporan:", location=GeoPoint(-7.63, 111.52)))
    assert fake_telegram.methods == ["sendMessage", "sendLocation"]
    loc = fake_telegram.calls_to("sendLocation")[0].params
    assert (float(loc["latitude"]), float(loc["longitude"])) == (-7.63, 111.52)
    assert sent.external_id == "2"


def assert_no_token(err: SendError) -> None:
    """The bot token never appears in what we raise (tokens used in this module)."""
    text = f"{err} {err.reason} {err!r}"
    assert "fake-test-token" not in text and "wrong-token" not in text, text


async def _send_error(sender: TelegramSender, reply: Reply | None = None) -> SendError:
    with pytest.raises(SendError) as err:
        await sender.send(CHAT, reply or Reply("halo"))
    assert_no_token(err.value)
    return err.value


async def test_429_is_retry_with_retry_after(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    fake_telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    err = await _send_error(sender)
    assert (err.failure, err.retry_after) == (SendFailure.RETRY, 3)
    await sender.send(CHAT, Reply("halo"))  # the next call goes through


@pytest.mark.parametrize(
    ("status", "description", "failure"),
    [
        (403, "Forbidden: bot was blocked by the user", SendFailure.UNREACHABLE),
        (403, "Forbidden: user is deactivated", SendFailure.UNREACHABLE),
        (400, "Bad Request: chat not found", SendFailure.UNREACHABLE),
        (400, "Bad Request: message text is empty", SendFailure.DEAD),
        (500, "Internal Server Error", SendFailure.RETRY),
        (502, "Bad Gateway", SendFailure.RETRY),
    ],
)
async def test_send_errors_are_classified(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
    status: int,
    description: str,
    failure: SendFailure,
) -> None:
    fake_telegram.fail_next("sendMessage", status, description)
    err = await _send_error(sender)
    assert err.failure is failure
    assert err.retry_after is None
    if failure is SendFailure.DEAD:
        assert "message text is empty" in err.reason.lower()


async def test_an_error_description_holding_the_token_is_sanitised(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    leaky = f"Bad Request: bad url {fake_telegram.api_base}/bot{fake_telegram.token}/x"
    fake_telegram.fail_next("sendMessage", 400, leaky)
    err = await _send_error(sender)
    assert err.failure is SendFailure.DEAD
    assert fake_telegram.token not in err.reason and "<token>" in err.reason
    assert err.__cause__ is None  # the PTB exception (and its message) is not chained


async def test_wrong_token_and_network_failures_are_retried(
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    wrong = TelegramSender("999:wrong-token", fake_telegram.api_base)
    try:
        err = await _send_error(wrong)
        assert err.failure is SendFailure.RETRY
        assert "999:wrong-token" not in err.reason
    finally:
        await wrong.aclose()
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    down = TelegramSender(fake_telegram.token, closed, request_timeout=2)
    try:
        err = await _send_error(down)
        assert err.failure is SendFailure.RETRY
        with pytest.raises(SendError) as fetch_err:
            await down.fetch_media(MediaRef("telegram", "X"))
        assert_no_token(fetch_err.value)
        assert fetch_err.value.failure is SendFailure.RETRY
    finally:
        await down.aclose()


def test_unexpected_exceptions_are_retry_with_the_type_only() -> None:
    err = classify_error(RuntimeError("secret-token in here"), "secret-token")
    assert (err.failure, err.reason) == (SendFailure.RETRY, "unexpected error: RuntimeError")


async def test_httpx_request_logs_do_not_show_the_token(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        await sender.send(CHAT, Reply("halo"))
    assert any("sendMessage" in r.getMessage() for r in caplog.records)
    assert all(fake_telegram.token not in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------------------------
# Other Bot API calls


async def test_answer_callback_webhook_and_me(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    await sender.answer_callback("4382", "Tersimpan")
    [answer] = fake_telegram.calls_to("answerCallbackQuery")
    assert answer.params == {"callback_query_id": "4382", "text": "Tersimpan"}

    await sender.set_webhook("https://lapor.example.id/webhooks/telegram", "s3cret")
    [hook] = fake_telegram.calls_to("setWebhook")
    assert hook.params["url"] == "https://lapor.example.id/webhooks/telegram"
    assert hook.params["secret_token"] == "s3cret"
    assert hook.params["allowed_updates"] == ALLOWED_UPDATES
    await sender.delete_webhook()
    assert fake_telegram.webhook is None

    me = await sender.get_me()
    assert me["username"] == "LaporFakeBot" and me["is_bot"] is True


async def test_edit_text_replaces_the_text_and_the_keyboard(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    choices = (Choice("st:verified", "Verifikasi"), Choice("st:rejected", "Tolak"))
    await sender.edit_text(CHAT, "41", Reply("MDN-1: diterima", choices=choices))
    await sender.edit_text(CHAT, 41, Reply("MDN-1: selesai"))
    with_keyboard, without = fake_telegram.calls_to("editMessageText")
    assert with_keyboard.params["message_id"] == "41" == without.params["message_id"]
    assert with_keyboard.params["text"] == "MDN-1: diterima"
    assert with_keyboard.params["reply_markup"] == {
        "inline_keyboard": [
            [
                {"text": "Verifikasi", "callback_data": "st:verified"},
                {"text": "Tolak", "callback_data": "st:rejected"},
            ]
        ]
    }
    # No choices: an empty keyboard (PTB leaves the empty list out), so the buttons go away.
    assert without.params["reply_markup"] == {}


async def test_edit_text_takes_an_unchanged_message_as_done_and_classifies_errors(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    fake_telegram.fail_next(
        "editMessageText",
        400,
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message",
    )
    await sender.edit_text(CHAT, 41, Reply("sama"))  # no error
    fake_telegram.fail_next("editMessageText", 400, "Bad Request: message to edit not found")
    with pytest.raises(SendError) as gone:
        await sender.edit_text(CHAT, 41, Reply("hilang"))
    assert gone.value.failure is SendFailure.DEAD
    fake_telegram.fail_next("editMessageText", 429, "Too Many Requests: retry after 3", 3)
    with pytest.raises(SendError) as slow:
        await sender.edit_text(CHAT, 41, Reply("nanti"))
    assert (slow.value.failure, slow.value.retry_after) == (SendFailure.RETRY, 3)
    with pytest.raises(SendError) as long_value:
        await sender.edit_text(CHAT, 41, Reply("x", choices=(Choice("v" * 65, "Panjang"),)))
    assert long_value.value.failure is SendFailure.DEAD
    assert fake_telegram.methods.count("editMessageText") == 3  # the last one was never sent


def test_the_webhook_secret_header_is_compared_whole() -> None:
    assert check_secret_token("s3cret-token", "s3cret-token") is Signature.VALID
    assert check_secret_token("s3cret-token", None) is Signature.MISSING
    assert check_secret_token("s3cret-token", "") is Signature.MISSING
    assert check_secret_token("s3cret-token", "s3cret") is Signature.INVALID
    assert check_secret_token("s3cret-token", "s3cret-token ") is Signature.INVALID
    assert check_secret_token("", "anything") is Signature.INVALID  # no secret: nothing is valid


async def test_the_bot_is_usable_directly_for_uploads_and_edits(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    upload = await sender.bot.send_photo(CHAT, photo=_jpeg(), caption="unggahan")
    [call] = fake_telegram.calls_to("sendPhoto")
    assert call.files["photo"] == _jpeg() and call.params["caption"] == "unggahan"
    edited = await sender.bot.edit_message_text(
        "diubah", chat_id=CHAT, message_id=upload.message_id
    )
    assert edited.text == "diubah"  # type: ignore[union-attr]
    await sender.bot.edit_message_reply_markup(CHAT, upload.message_id, reply_markup=None)
    assert fake_telegram.methods[-2:] == ["editMessageText", "editMessageReplyMarkup"]


async def test_get_updates_returns_raw_updates_and_honours_offset(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    first = fake_telegram.push_update(tu.text("satu", update_id=500))
    second = fake_telegram.push_update(tu.photo(update_id=501))
    assert await sender.get_updates(None, timeout=0) == [first, second]
    assert await sender.get_updates(501, timeout=0) == [second]
    fake_telegram.max_poll_wait = 0.2  # an empty long poll waits, then answers []
    assert await sender.get_updates(502, timeout=30) == []
    call = fake_telegram.calls_to("getUpdates")[0]
    assert call.params["allowed_updates"] == ALLOWED_UPDATES


async def test_get_updates_while_a_webhook_is_set_is_a_conflict(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    await sender.set_webhook("https://lapor.example.id/webhooks/telegram", "s3cret")
    with pytest.raises(SendError) as err:
        await sender.get_updates(None, timeout=0)
    assert err.value.failure is SendFailure.RETRY and "webhook" in err.value.reason


async def test_fetch_media_downloads_the_registered_bytes(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    content = _jpeg()
    fake_telegram.add_file("PHOTO-1", content)
    fetched = await sender.fetch_media(MediaRef("telegram", "PHOTO-1", "image/jpeg", len(content)))
    assert (fetched.content, fetched.mime) == (content, "image/jpeg")


async def test_fetch_media_errors(
    sender: TelegramSender,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    with pytest.raises(SendError) as err:
        await sender.fetch_media(MediaRef("telegram", "NO-SUCH-FILE"))
    assert err.value.failure is SendFailure.DEAD
    assert_no_token(err.value)
    fake_telegram.add_file("PHOTO-2", b"x")
    fake_telegram.fail_next("getFile", 500, "Internal Server Error")
    with pytest.raises(SendError) as err:
        await sender.fetch_media(MediaRef("telegram", "PHOTO-2"))
    assert err.value.failure is SendFailure.RETRY
    assert_no_token(err.value)


# --------------------------------------------------------------------------------------------
# Media store


def _jpeg(size: tuple[int, int] = (64, 48), exif: Image.Exif | None = None) -> bytes:
    image = Image.new("RGB", size, (200, 120, 40))
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif if exif is not None else Image.Exif())
    return out.getvalue()


def _exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.Base.Model] = "Pelapor X1"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "S"
    gps[ExifTags.GPS.GPSLatitude] = (7.0, 37.0, 47.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (111.0, 31.0, 26.0)
    return exif


def test_exif_and_gps_are_stripped(tmp_path: Path) -> None:
    original = _jpeg(exif=_exif_with_gps())
    with Image.open(io.BytesIO(original)) as im:
        assert im.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the input really has GPS
    stored = MediaStore(tmp_path).store(original)
    assert stored.mime == "image/jpeg"
    data = (tmp_path / stored.path).read_bytes()
    assert b"PhoneCo" not in data and b"Exif" not in data
    with Image.open(tmp_path / stored.path) as im:
        assert not im.getexif()
        assert "exif" not in im.info
        assert im.size == (64, 48)


def test_orientation_is_applied_before_stripping(tmp_path: Path) -> None:
    rotated = _jpeg((40, 20), exif=_exif_with_gps(orientation=6))  # "rotate 90° clockwise"
    stored = MediaStore(tmp_path).store(rotated)
    with Image.open(tmp_path / stored.path) as im:
        assert im.size == (20, 40)


def test_png_text_chunks_are_stripped(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "pelapor: Siti, 081234567890")
    out = io.BytesIO()
    Image.new("RGBA", (8, 8), (1, 2, 3, 128)).save(out, "PNG", pnginfo=info)
    stored = MediaStore(tmp_path).store(out.getvalue())
    assert stored.mime == "image/png" and stored.path.endswith(".png")
    data = (tmp_path / stored.path).read_bytes()
    assert b"081234567890" not in data
    with Image.open(tmp_path / stored.path) as im:
        assert im.mode == "RGBA"


@pytest.mark.parametrize(
    ("fmt", "mode", "mime", "ext"),
    [
        ("JPEG", "RGB", "image/jpeg", "jpg"),
        ("PNG", "P", "image/png", "png"),
        ("WEBP", "RGBA", "image/webp", "webp"),
        ("GIF", "P", "image/gif", "gif"),
    ],
)
def test_accepted_formats(tmp_path: Path, fmt: str, mode: str, mime: str, ext: str) -> None:
    out = io.BytesIO()
    Image.new(mode, (12, 9)).save(out, fmt, exif=_exif_with_gps())
    stored = MediaStore(tmp_path).store(out.getvalue())
    assert (stored.mime, stored.path.rsplit(".", 1)[1]) == (mime, ext)
    with Image.open(tmp_path / stored.path) as im:
        assert (im.format, im.size) == (fmt, (12, 9))
        assert not im.getexif()


def test_storage_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    content = _jpeg(exif=_exif_with_gps())
    first = store.store(content)
    data = (tmp_path / first.path).read_bytes()
    assert first.sha256 == hashlib.sha256(data).hexdigest()
    assert first.path == f"{first.sha256[:2]}/{first.sha256}.jpg"
    assert first.size == len(data)
    assert store.store(content) == first
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [tmp_path / first.path]  # no temporary files left behind


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"%PDF-1.7 not an image",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,  # a PNG signature and garbage
    ],
)
def test_non_images_are_rejected(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(MediaRejected):
        MediaStore(tmp_path).store(content)
    assert not any(tmp_path.iterdir())


def test_truncated_and_unsupported_images_are_rejected(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    with pytest.raises(MediaRejected):
        store.store(_jpeg((256, 256))[:300])
    bmp = io.BytesIO()
    Image.new("RGB", (4, 4)).save(bmp, "BMP")
    with pytest.raises(MediaRejected) as err:
        store.store(bmp.getvalue())
    assert "BMP" in err.value.reason


def test_oversize_is_rejected(tmp_path: Path) -> None:
    content = _jpeg()
    with pytest.raises(MediaRejected) as err:
        MediaStore(tmp_path, max_bytes=len(content) - 1).store(content)
    assert "too large" in err.value.reason
    with pytest.raises(MediaRejected):
        MediaStore(tmp_path, max_pixels=100).store(content)


OGG = b"OggS\x00\x02" + bytes(22) + b"OpusHead\x01\x01" + bytes(40)


def test_a_voice_note_is_stored_as_received_and_content_addressed(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    stored = store.store(OGG, audio=True)
    assert stored.mime == "audio/ogg" and stored.path == f"{stored.sha256[:2]}/{stored.sha256}.ogg"
    assert (tmp_path / stored.path).read_bytes() == OGG
    assert store.store(OGG, audio=True) == stored


@pytest.mark.parametrize("content", [b"", b"%PDF-1.7 not audio", b"\xff\xd8\xff\xe0 a jpeg"])
def test_what_is_not_a_voice_note_is_rejected_as_one(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(MediaRejected):
        MediaStore(tmp_path).store(content, audio=True)
    assert not any(tmp_path.iterdir())


def test_an_oversize_voice_note_is_rejected_and_audio_is_no_photo(tmp_path: Path) -> None:
    with pytest.raises(MediaRejected) as err:
        MediaStore(tmp_path, max_audio_bytes=32).store(OGG, audio=True)
    assert "too large" in err.value.reason
    with pytest.raises(MediaRejected):
        MediaStore(tmp_path).store(OGG)  # as a photo: not an image
