"""Photo formats phones really send, through the real app: a citizen's photo on Telegram is
downloaded from the fake Bot API, checked, cleaned and stored."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import telegram_updates as tg
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
