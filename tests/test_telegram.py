"""Telegram end to end: real Update JSON posted to the app, replies read from a fake Bot API."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import telegram_updates as tg
from app_server import TELEGRAM_SECRET, service_on, telegram_env
from fake_telegram import FakeTelegram
from helpers import eventually, jpeg_with_gps, reachable, until_unreachable
from PIL import Image

from bot.compose import Service
from bot.ingress.telegram import OFFSET_CURSOR
from storage.models import Attachment

SECRET = TELEGRAM_SECRET
CHAT = str(tg.CITIZEN_ID)


@dataclass
class TelegramCitizen:
    client: httpx.AsyncClient
    fake: FakeTelegram
    service: Service

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> httpx.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        return await self.client.post("/webhooks/telegram", json=update, headers=headers)

    def texts(self) -> list[str]:
        return [c.params["text"] for c in self.fake.calls_to("sendMessage") if c.chat_id == CHAT]

    async def say(self, update: dict[str, Any], expect: str) -> str:
        """Post an update and wait for a reply containing `expect`; return the new replies."""
        before = len(self.texts())
        response = await self.post(update)
        assert response.status_code == 200, response.text
        await eventually(lambda: any(expect in t for t in self.texts()[before:]))
        return "\n".join(self.texts()[before:])


@asynccontextmanager
async def telegram_service(
    url: str, tmp_path: Path, fake: FakeTelegram, mode: str = "webhook"
) -> AsyncIterator[TelegramCitizen]:
    async with service_on(url, tmp_path, telegram_env(fake, mode)) as (service, client):
        yield TelegramCitizen(client, fake, service)


async def test_full_report_with_gps_and_a_two_photo_album(
    database_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.add_file("photo-a", jpeg_with_gps())
    fake_telegram.add_file("photo-b", jpeg_with_gps())
    async with telegram_service(database_url, tmp_path, fake_telegram) as citizen:
        await citizen.say(tg.command("/start"), "Apakah Anda setuju?")
        greeting = fake_telegram.calls_to("sendMessage")[-1].params
        buttons = [
            b["callback_data"] for row in greeting["reply_markup"]["inline_keyboard"] for b in row
        ]
        assert buttons == ["agree", "disagree", "lang:en"]

        await citizen.say(tg.callback_query("agree"), "Ceritakan masalahnya")
        await eventually(lambda: fake_telegram.calls_to("answerCallbackQuery"))
        await citizen.say(tg.text("Jalan depan pasar bolong gede, motor sering jatuh"), "Benar?")
        asked = await citizen.say(tg.callback_query("yes"), "Di mana lokasinya?")
        keyboard = fake_telegram.calls_to("sendMessage")[-1].params["reply_markup"]
        assert keyboard["keyboard"][0][0]["request_location"] is True, asked
        await citizen.say(tg.location(-7.6298, 111.5239), "Kirim foto")

        # An album arrives as two concurrent updates.
        before = len(citizen.texts())
        answers = await asyncio.gather(
            citizen.post(tg.photo("photo-a", media_group_id="album-1")),
            citizen.post(tg.photo("photo-b", media_group_id="album-1")),
        )
        assert [a.status_code for a in answers] == [200, 200]
        await eventually(lambda: len(citizen.texts()) > before)
        await asyncio.sleep(0.3)
        acknowledgements = citizen.texts()[before:]
        assert len(acknowledgements) == 1 and "Foto diterima" in acknowledgements[0]

        await citizen.say(tg.callback_query("done"), "privasi")
        await citizen.say(tg.callback_query("priv:anonymous"), "Periksa laporan")
        assert "Foto: 2" in citizen.texts()[-1] and "Kejuron" in citizen.texts()[-1]
        filed = await citizen.say(tg.callback_query("send"), "MDN-00001")
        assert "Dinas Pekerjaan Umum" in filed

        async with citizen.service.store.unit_of_work() as uow:
            report = await uow.reports.get("MDN-00001")
            assert report is not None and report.id is not None
            assert report.category_id == "jalan" and report.kelurahan == "Kejuron"
            assert report.anonymous and not report.confidential and report.channel == "telegram"

        async def stored() -> list[Attachment]:
            async with citizen.service.store.unit_of_work() as uow:
                return await uow.reports.attachments(report.id)  # type: ignore[arg-type]

        deadline = time.monotonic() + 10
        while not all(a.fetch_status == "stored" for a in await stored()):
            assert time.monotonic() < deadline, await stored()
            await asyncio.sleep(0.05)
        photos = await stored()
        assert sorted(a.platform_ref for a in photos) == ["photo-a", "photo-b"]
        media_dir = Path(citizen.service.settings.storage.media_dir)
        for photo in photos:
            assert photo.stored_path is not None
            with Image.open(media_dir / photo.stored_path) as image:
                assert not image.getexif(), "EXIF (with GPS) must be stripped"


async def test_typed_kelurahan_and_no_photo(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with telegram_service(sqlite_url, tmp_path, fake_telegram) as citizen:
        await citizen.say(tg.text("halo"), "Apakah Anda setuju?")
        await citizen.say(tg.text("ya"), "Ceritakan")
        await citizen.say(tg.text("PDAM mati dari kemarin, air gak ngalir"), "Air Bersih")
        await citizen.say(tg.text("ya"), "Di mana")
        await citizen.say(tg.text("Jl. Salak 5, kel. Taman"), "Kirim foto")
        await citizen.say(tg.text("lewati"), "privasi")
        await citizen.say(tg.text("biasa"), "Periksa")
        await citizen.say(tg.text("kirim"), "MDN-00001")
        async with citizen.service.store.unit_of_work() as uow:
            report = await uow.reports.get("MDN-00001")
        assert report is not None and report.kelurahan == "Taman" and report.lat is None
        assert report.address == "Jl. Salak 5, kel. Taman" and report.agency_id == "pdam"


async def test_cancel_half_way_then_check_a_ticket(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with telegram_service(sqlite_url, tmp_path, fake_telegram) as citizen:
        await citizen.say(tg.text("Lampu jalan di gang 3 mati sudah seminggu"), "setuju")
        await citizen.say(tg.text("setuju"), "Benar?")
        await citizen.say(tg.command("/batal"), "dibatalkan")
        async with citizen.service.store.unit_of_work() as uow:
            assert await uow.reports.list() == []
        await citizen.say(tg.text("cek MDN-00009"), "tidak ditemukan")


async def test_the_same_update_twice_is_answered_once(
    database_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with telegram_service(database_url, tmp_path, fake_telegram) as citizen:
        update = tg.text("halo")
        await citizen.say(update, "Apakah Anda setuju?")
        again = await citizen.post(update)
        assert again.status_code == 200
        await asyncio.sleep(0.3)
        assert len(citizen.texts()) == 1


async def test_a_wrong_or_missing_secret_changes_nothing(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with telegram_service(sqlite_url, tmp_path, fake_telegram) as citizen:
        assert (await citizen.post(tg.text("halo"), secret="wrong")).status_code == 403
        assert (await citizen.post(tg.text("halo"), secret=None)).status_code == 401
        not_json = await citizen.client.post(
            "/webhooks/telegram",
            content=b"{oops",
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert not_json.status_code == 400
        odd = await citizen.post({"update_id": 5, "poll": {"id": "x"}})
        assert odd.status_code == 200 and odd.json()["outcome"].startswith("ignored")
        assert (await citizen.post({"unexpected": [1, 2]})).status_code == 200
        assert await citizen.service.store.unprocessed_inbox() == []
        async with citizen.service.store.unit_of_work() as uow:
            assert await uow.conversations.load(f"telegram:{CHAT}") is None
        await asyncio.sleep(0.2)
        assert fake_telegram.calls_to("sendMessage") == []


async def test_a_burst_of_429s_delays_but_delivers_in_order(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with telegram_service(sqlite_url, tmp_path, fake_telegram) as citizen:
        fake_telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", 1, count=3)
        await citizen.say(tg.text("halo"), "Apakah Anda setuju?")
        await citizen.say(tg.text("english"), "Do you agree?")
        failed = [
            c for c in fake_telegram.calls_to("sendMessage", ok_only=False) if c.status == 429
        ]
        assert len(failed) == 3
        texts = citizen.texts()
        assert texts.index("Language: English.") > 0 and "Apakah Anda setuju?" in texts[0]


async def test_a_citizen_who_blocked_the_bot_is_not_retried(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with telegram_service(sqlite_url, tmp_path, fake_telegram) as citizen:
        store = citizen.service.store
        fake_telegram.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
        assert (await citizen.post(tg.text("halo"))).status_code == 200

        await until_unreachable(store, "telegram", CHAT)
        await asyncio.sleep(0.3)
        assert len(fake_telegram.calls_to("sendMessage", ok_only=False)) == 1  # no retries

        assert (await citizen.post(tg.my_chat_member("member"))).json()["outcome"] == "unblocked"
        assert await reachable(store, "telegram", CHAT) is True
        assert (await citizen.post(tg.my_chat_member("kicked"))).json()["outcome"] == "blocked"
        assert await reachable(store, "telegram", CHAT) is False
    assert fake_telegram.token not in caplog.text
    assert fake_telegram.token.split(":")[1] not in caplog.text


async def test_polling_across_a_restart_neither_loses_nor_repeats(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.push_update(tg.text("halo"))
    async with telegram_service(sqlite_url, tmp_path, fake_telegram, mode="polling") as citizen:
        await eventually(lambda: any("setuju" in t for t in citizen.texts()))
        assert await citizen.service.store.get_cursor(OFFSET_CURSOR)
    assert fake_telegram.calls_to("deleteWebhook")

    fake_telegram.push_update(tg.text("ya"))  # arrives while the service is down
    async with telegram_service(sqlite_url, tmp_path, fake_telegram, mode="polling") as citizen:
        await eventually(lambda: any("Ceritakan" in t for t in citizen.texts()))
        await asyncio.sleep(0.5)
        texts = citizen.texts()
        assert sum("Apakah Anda setuju?" in t for t in texts) == 1  # "halo" was not repeated
        assert sum("Ceritakan" in t for t in texts) == 1


def test_set_webhook_registers_the_public_url_with_the_secret(
    fake_telegram: FakeTelegram, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import main

    for key, value in telegram_env(fake_telegram).items():
        monkeypatch.setenv(key, value)
    assert main(["set-webhook"]) == 0
    call = fake_telegram.calls_to("setWebhook")[0].params
    assert call["url"] == "https://lapor.example.go.id/webhooks/telegram"
    assert call["secret_token"] == SECRET
    assert "callback_query" in call["allowed_updates"]
    assert fake_telegram.token not in capsys.readouterr().out

    monkeypatch.setenv("LAPOR_SERVICE__PUBLIC_URL", "")
    assert main(["set-webhook"]) == 2
    assert "service.public_url" in capsys.readouterr().err


OGG_VOICE = b"OggS\x00\x02" + bytes(22) + b"OpusHead\x01\x01" + bytes(40)  # an Ogg Opus header


async def test_a_citizen_who_cannot_type_reports_by_voice_note(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.add_file("voice-1", OGG_VOICE, file_path="voice/file_1.oga")
    fake_telegram.add_file("photo-v", jpeg_with_gps())
    group = "-1001234567890"
    env = {**telegram_env(fake_telegram), "LAPOR_OFFICERS__DEFAULT_CHAT_ID": group}
    async with service_on(sqlite_url, tmp_path, env) as (service, client):
        citizen = TelegramCitizen(client, fake_telegram, service)
        await citizen.say(tg.text("halo"), "Apakah Anda setuju?")
        await citizen.say(tg.callback_query("agree"), "Ceritakan")
        said = await citizen.say(tg.voice("voice-1"), "Pilih kategori")
        assert "Pesan suara diterima" in said and "ketik" not in said.lower()
        await citizen.say(tg.callback_query("cat:jalan"), "Di mana lokasinya?")
        await citizen.say(tg.location(-7.6298, 111.5239), "Kirim foto")
        await citizen.say(tg.photo("photo-v"), "privasi")
        summary = await citizen.say(tg.callback_query("priv:normal"), "Periksa laporan")
        assert "(pesan suara)" in summary
        await citizen.say(tg.callback_query("send"), "MDN-00001")

        async with service.store.unit_of_work() as uow:
            report = await uow.reports.get("MDN-00001")
            assert report is not None and report.id is not None
        report_id = report.id

        async def stored() -> list[Attachment]:
            async with service.store.unit_of_work() as uow:
                return await uow.reports.attachments(report_id)

        deadline = time.monotonic() + 10
        while not all(a.fetch_status == "stored" for a in await stored()):
            assert time.monotonic() < deadline, await stored()
            await asyncio.sleep(0.05)
        (voice,) = [a for a in await stored() if a.mime.startswith("audio/")]
        assert voice.platform_ref == "voice-1" and voice.mime == "audio/ogg"
        media_dir = Path(service.settings.storage.media_dir)
        assert voice.stored_path is not None and voice.stored_path.endswith(".ogg")
        assert (media_dir / voice.stored_path).read_bytes() == OGG_VOICE  # kept as received

        # The officers' card says there is a voice note, and counts only the photo as a photo.
        cards = await eventually(
            lambda: [
                c.params["text"]
                for c in fake_telegram.calls_to("sendMessage")
                if c.chat_id == group and "MDN-00001" in c.params["text"]
            ]
        )
        assert "1 pesan suara" in cards[0] and "Foto: 1" in cards[0]
        # ... and officers can listen to it: the voice note itself follows the card's photo,
        # re-sent by its file id (sendVoice), a new message rather than a forward.
        voices = await eventually(
            lambda: [c.params for c in fake_telegram.calls_to("sendVoice") if c.chat_id == group]
        )
        assert [v["voice"] for v in voices] == ["voice-1"]
        (photo,) = [c.params for c in fake_telegram.calls_to("sendPhoto") if c.chat_id == group]
        assert photo["photo"] == "photo-v" and "MDN-00001" in photo["caption"]
