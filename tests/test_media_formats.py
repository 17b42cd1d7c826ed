"""Photos as phones really send them, through the real app and the fake Bot API: formats the
store must accept, and images sent as files (Telegram documents) shown to officers as files."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import telegram_updates as tg
from desk_helpers import GROUP, desk_service, eventually
from fake_telegram import FakeTelegram
from PIL import Image
from test_telegram import telegram_service

from storage.models import Attachment


def mpo_with_gps() -> bytes:
    """A multi-picture JPEG (MPO) as many phones write it: the photo plus a second frame,
    with GPS in the EXIF."""
    photo = Image.new("RGB", (64, 48), (200, 120, 40))
    depth = Image.new("RGB", (64, 48), (10, 10, 10))
    exif = Image.Exif()
    exif[0x8825] = {1: "S", 2: (7.0, 37.0, 47.0), 3: "E", 4: (111.0, 31.0, 26.0)}  # GPS IFD
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    photo.save(out, "MPO", save_all=True, append_images=[depth], exif=exif)
    content = out.getvalue()
    with Image.open(io.BytesIO(content)) as check:  # really an MPO, with GPS
        assert check.format == "MPO" and getattr(check, "n_frames", 1) == 2
        assert check.getexif().get(0x8825) is not None
    return content


async def test_an_mpo_photo_is_stored_as_its_first_frame_without_exif(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.add_file("photo-mpo", mpo_with_gps())
    async with telegram_service(sqlite_url, tmp_path, fake_telegram) as citizen:
        await citizen.say(tg.text("halo"), "setuju")
        await citizen.say(tg.text("setuju"), "Ceritakan")
        await citizen.say(tg.text("Jalan depan pasar bolong gede, motor sering jatuh"), "Benar?")
        await citizen.say(tg.text("ya"), "Di mana")
        await citizen.say(tg.text("Jl. Salak 5, kel. Taman"), "Kirim foto")
        await citizen.say(tg.photo("photo-mpo"), "Foto diterima")
        await citizen.say(tg.text("selesai"), "privasi")
        await citizen.say(tg.text("biasa"), "Periksa")
        await citizen.say(tg.text("kirim"), "MDN-00001")

        async def attachment() -> Attachment:
            async with citizen.service.store.unit_of_work() as uow:
                report = await uow.reports.get("MDN-00001")
                assert report is not None and report.id is not None
                (photo,) = await uow.reports.attachments(report.id)
                return photo

        deadline = time.monotonic() + 10
        while (photo := await attachment()).fetch_status == "pending":
            assert time.monotonic() < deadline, photo
            await asyncio.sleep(0.05)
        assert photo.fetch_status == "stored", photo.last_error
        assert photo.mime == "image/jpeg" and photo.stored_path is not None
        media_dir = Path(citizen.service.settings.storage.media_dir)
        with Image.open(media_dir / photo.stored_path) as image:
            assert image.format == "JPEG" and getattr(image, "n_frames", 1) == 1
            assert not image.getexif(), "EXIF (with GPS) must be stripped"
            assert image.getpixel((10, 10))[0] > 150, "the first frame (the photo) is kept"


def jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(out, "JPEG")
    return out.getvalue()


def group_media(fake: FakeTelegram) -> list[tuple[str, str]]:
    """(type, file id) of every photo and document sent to the officers' group, in order."""
    sent: list[tuple[str, str]] = []
    for call in fake.calls:
        if call.status != 200 or call.chat_id != GROUP:
            continue
        if call.method == "sendPhoto":
            sent.append(("photo", str(call.params["photo"])))
        elif call.method == "sendDocument":
            sent.append(("document", str(call.params["document"])))
        elif call.method == "sendMediaGroup":
            sent += [(str(m["type"]), str(m["media"])) for m in call.params["media"]]
    return sent


async def test_images_sent_as_files_reach_the_officers_as_files(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    """Telegram sends a document's file id only as a document: the card's album used to send
    them as photos, so Telegram refused the whole album and officers saw none of them."""
    fake_telegram.add_file("photo-1", jpeg((200, 0, 0)))
    fake_telegram.add_file("photo-2", jpeg((0, 200, 0)))
    fake_telegram.add_file("file-1", jpeg((0, 0, 200)), document=True)
    fake_telegram.add_file("file-2", jpeg((200, 200, 0)), document=True)
    fake_telegram.add_file("file-3", jpeg((0, 200, 200)), document=True)
    async with desk_service(sqlite_url, tmp_path, fake_telegram) as desk:
        await desk.say(tg.text("halo"), "setuju")
        await desk.say(tg.text("setuju"), "Ceritakan")
        await desk.say(tg.text("Jalan depan pasar bolong gede, motor sering jatuh"), "Benar?")
        await desk.say(tg.text("ya"), "Di mana")
        await desk.say(tg.text("Jl. Salak 5, kel. Taman"), "Kirim foto")
        await desk.say(tg.photo("photo-1"), "Foto diterima")
        await desk.say(tg.document("file-1", mime_type="image/jpeg", file_name="a.jpg"), "Foto")
        await desk.say(tg.photo("photo-2"), "Foto")
        await desk.say(tg.document("file-2", mime_type="image/jpeg", file_name="b.jpg"), "Foto")
        await desk.say(tg.text("selesai"), "privasi")
        await desk.say(tg.text("biasa"), "Periksa")
        await desk.say(tg.text("kirim"), "MDN-00001")

        await eventually(lambda: len(group_media(fake_telegram)) == 4)
        assert sorted(group_media(fake_telegram)) == [
            ("document", "file-1"),
            ("document", "file-2"),
            ("photo", "photo-1"),
            ("photo", "photo-2"),
        ]
        albums = fake_telegram.calls_to("sendMediaGroup")
        assert [{m["type"] for m in a.params["media"]} for a in albums] == [
            {"photo"},
            {"document"},
        ]
        assert "MDN-00001" in albums[0].params["media"][0]["caption"]
        assert not [c for c in fake_telegram.calls if c.status != 200], "Telegram refused"

        # A file added later is passed on as a file too.
        await desk.say(tg.text("tambah MDN-00001"), "tambahan untuk MDN-00001")
        await desk.say(
            tg.document("file-3", mime_type="image/jpeg", file_name="c.jpg"), "Diteruskan"
        )
        await eventually(lambda: ("document", "file-3") in group_media(fake_telegram))
        (added,) = [c for c in fake_telegram.calls_to("sendDocument") if c.chat_id == GROUP]
        assert "Foto tambahan dari pelapor untuk MDN-00001" in added.params["caption"]
        assert not [c for c in fake_telegram.calls if c.status != 200], "Telegram refused"
