"""Officers see and hear what a WhatsApp citizen sent (issue 13): the photos and voice notes,
which Telegram knows no file id for, are uploaded into the officers' group from the media store
(multipart), after the card. A file that cannot be had gives a line saying so, never a dead card.

A real WhatsApp webhook (signed) into the app, the fake Graph API serving the media, the fake
Bot API receiving the uploads, a real database and media directory.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import whatsapp_payloads as wa
from app_server import whatsapp_env
from desk_helpers import GROUP, Desk, desk_service
from fake_telegram import ATTACH, Call, FakeTelegram
from fake_whatsapp import FakeGraph
from helpers import eventually, jpeg_with_gps
from PIL import Image
from sqlmodel import col, select

from intake.types import Reply
from storage.models import Attachment, OutboxMessage

CITIZEN = wa.CITIZEN["wa_id"]
# A voice note as WhatsApp records it: Opus in an Ogg container (the store keeps it as sent).
VOICE_NOTE = b"OggS\x00\x02" + bytes(range(256)) * 40
GPS_IFD = 0x8825


async def says(desk: Desk, graph: FakeGraph, message: dict[str, Any], expect: str) -> str:
    before = len(graph.texts(CITIZEN))
    raw, headers = wa.signed(wa.incoming(message))
    response = await desk.client.post("/webhooks/whatsapp", content=raw, headers=headers)
    assert response.status_code == 200, response.text
    found = await eventually(lambda: [t for t in graph.texts(CITIZEN)[before:] if expect in t])
    return str(found[-1])


async def file_with(desk: Desk, graph: FakeGraph, *media: dict[str, Any]) -> None:
    """A WhatsApp citizen files a street-light report with `media` at the photo question."""
    for message, expect in (
        (wa.text("halo"), "Apakah Anda setuju?"),
        (wa.button_reply("agree", "Setuju"), "Ceritakan"),
        (wa.text("Lampu jalan di gang 3 mati sudah seminggu, gelap sekali"), "Benar?"),
        (wa.button_reply("yes", "Ya"), "Di mana"),
        (wa.location(-7.6298, 111.5239, "Pasar Sleko"), "Kirim foto"),
    ):
        await says(desk, graph, message, expect)
    for item in media:
        await says(desk, graph, item, "diterima")
    done = wa.button_reply("done", "Selesai") if media else wa.text("lewati")
    await says(desk, graph, done, "privasi")
    await says(desk, graph, wa.list_reply("priv:normal", "Biasa"), "Periksa")
    await says(desk, graph, wa.button_reply("send", "Kirim"), "MDN-00001")


def to_group(fake: FakeTelegram, method: str) -> list[Call]:
    return [c for c in fake.calls_to(method) if c.chat_id == GROUP]


async def stored_files(desk: Desk) -> list[Attachment]:
    async with desk.service.store.unit_of_work() as uow:
        stmt = select(Attachment).order_by(col(Attachment.id))
        return list((await uow.session.exec(stmt)).all())


def stored_path(desk: Desk, attachment: Attachment) -> Path:
    assert attachment.stored_path is not None
    return Path(desk.service.settings.storage.media_dir) / attachment.stored_path


def stored_bytes(desk: Desk, attachment: Attachment) -> bytes:
    return stored_path(desk, attachment).read_bytes()


async def test_officers_get_a_whatsapp_citizens_photos_and_voice_note_uploaded(
    database_url: str, tmp_path: Path, fake_telegram: FakeTelegram, graph: FakeGraph
) -> None:
    graph.add_media("wa-photo-1", jpeg_with_gps((200, 40, 40)))
    graph.add_media("wa-photo-2", jpeg_with_gps((40, 200, 40)))
    graph.add_media("wa-voice-1", VOICE_NOTE, mime="audio/ogg; codecs=opus")
    async with desk_service(database_url, tmp_path, fake_telegram, **whatsapp_env(graph)) as desk:
        await file_with(
            desk, graph, wa.image("wa-photo-1"), wa.image("wa-photo-2"), wa.voice_note("wa-voice-1")
        )
        card = await desk.expect("MDN-00001", GROUP)
        assert "Foto: 2" in card and "tidak bisa diambil" not in card
        assert "🎤 1 pesan suara" in card

        # The photos: one album, both uploaded (attach:// parts), the caption on the first.
        (album,) = await eventually(lambda: to_group(fake_telegram, "sendMediaGroup"))
        items = album.params["media"]
        assert [item["type"] for item in items] == ["photo", "photo"]
        assert items[0]["caption"] == "📷 MDN-00001"
        parts = [album.files[item["media"].removeprefix(ATTACH)] for item in items]
        photos = [a for a in await stored_files(desk) if a.mime.startswith("image/")]
        assert parts == [stored_bytes(desk, a) for a in photos]  # what the store kept: cleaned
        for part, color in zip(parts, ((200, 40, 40), (40, 200, 40)), strict=True):
            with Image.open(io.BytesIO(part)) as image:
                assert image.format == "JPEG" and GPS_IFD not in image.getexif()  # no GPS
                red, green, _ = image.convert("RGB").getpixel((5, 5))  # type: ignore[misc]
                assert (red > green) == (color[0] > color[1])

        # The voice note: uploaded as a voice note, byte for byte, after the photos.
        (voice,) = await eventually(lambda: to_group(fake_telegram, "sendVoice"))
        assert voice.files == {"voice": VOICE_NOTE} and "voice" not in voice.params
        assert voice.at >= album.at
        await eventually(lambda: to_group(fake_telegram, "sendLocation"))
        assert not [m for m in fake_telegram.methods if m.startswith(("forward", "copy"))]


async def test_a_photo_added_later_from_whatsapp_is_uploaded_with_its_caption(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram, graph: FakeGraph
) -> None:
    graph.add_media("wa-extra", jpeg_with_gps((10, 10, 220)))
    async with desk_service(sqlite_url, tmp_path, fake_telegram, **whatsapp_env(graph)) as desk:
        await file_with(desk, graph)
        await desk.expect("MDN-00001", GROUP)
        await says(desk, graph, wa.text("tambah"), "MDN-00001")
        await says(desk, graph, wa.image("wa-extra", caption="makin gelap"), "MDN-00001")
        (photo,) = await eventually(lambda: to_group(fake_telegram, "sendPhoto"))
        caption = photo.params["caption"]
        assert "Foto tambahan dari pelapor untuk MDN-00001" in caption and "makin gelap" in caption
        (extra,) = await stored_files(desk)
        assert photo.files == {"photo": stored_bytes(desk, extra)}


async def test_a_file_that_cannot_be_had_is_a_line_and_the_rest_still_reaches_officers(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram, graph: FakeGraph
) -> None:
    # The voice note's media id is unknown to the Graph API: its download fails for good.
    graph.add_media("wa-photo-1", jpeg_with_gps((200, 40, 40)))
    async with desk_service(sqlite_url, tmp_path, fake_telegram, **whatsapp_env(graph)) as desk:
        await file_with(desk, graph, wa.image("wa-photo-1"), wa.voice_note("wa-voice-gone"))
        (photo,) = await eventually(lambda: to_group(fake_telegram, "sendPhoto"))
        assert photo.files["photo"]  # the photo still goes, the caption says what is missing
        caption = photo.params["caption"].splitlines()
        assert caption == [
            "📷 MDN-00001",
            "⚠️ 1 lampiran pelapor tidak dapat ditampilkan (gagal diambil atau hilang).",
        ]
        assert not to_group(fake_telegram, "sendVoice")
        await eventually(lambda: to_group(fake_telegram, "sendLocation"))

        # The photo's file is lost from the server later: the card sent again by /laporan
        # says so instead of failing.
        stored = [a for a in await stored_files(desk) if a.stored_path]
        for attachment in stored:
            stored_path(desk, attachment).unlink()
        before = len(desk.texts(GROUP))
        await desk.command("/laporan MDN-00001", "MDN-00001")
        again = await desk.expect("2 lampiran pelapor tidak dapat ditampilkan", GROUP, before)
        assert again.startswith("📷 MDN-00001")
        assert len(to_group(fake_telegram, "sendPhoto")) == 1
        async with desk.service.store.unit_of_work() as uow:
            rows = (await uow.session.exec(select(OutboxMessage))).all()
        assert not [r for r in rows if r.status == "dead"]


def test_the_outbox_names_stored_files_by_id_only() -> None:
    reply = Reply("📷 MDN-00001", photos=("AgAC-photo",), stored=(7, 9))
    payload = reply.to_dict()
    assert payload["stored"] == [7, 9] and Reply.from_dict(payload) == reply
    for forged in (["../../etc/passwd"], [0], [True], [1.5]):
        with pytest.raises(ValueError):  # the dispatcher takes the row as unreadable (dead)
            Reply.from_dict({**payload, "stored": forged})
