"""The officer desk end to end: real Update JSON posted to /webhooks/telegram, the card, buttons
and commands of the officers' group, and the citizen's notifications read from the fake Bot API.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import telegram_updates as tg
from desk_helpers import (
    CITIZEN_CHAT,
    GROUP,
    OTHER_GROUP_ID,
    STRANGER,
    buttons,
    desk_service,
    desk_settings,
)
from fake_telegram import FakeTelegram
from helpers import eventually


async def test_a_report_from_filing_to_rating(
    database_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with desk_service(database_url, tmp_path, fake_telegram) as desk:
        filed = await desk.file_report()
        assert "MDN-00001" in filed

        # The card reaches the default officers' group, with the moves a new report allows.
        card = await desk.expect("MDN-00001", GROUP)
        for part in ("Infrastruktur Jalan", "Kel. Taman, Kec. Taman", "Siti Rahayu", "Telegram"):
            assert part in card, part
        assert "motor sering jatuh" in card
        sent = next(m for m in desk.messages(GROUP) if "MDN-00001" in m["text"])
        assert buttons(sent) == ["d:mv:MDN-00001:verified", "d:rj:MDN-00001", "d:al:MDN-00001"]
        card_id = await desk.card_message_id("MDN-00001")

        # Verify by button: the citizen hears it, the card changes in place, the press is answered.
        outcome, answer = await desk.press("d:mv:MDN-00001:verified", card_id)
        assert outcome == "group: mv" and answer == "Tersimpan: Terverifikasi"
        notice = await desk.expect("Kabar laporan MDN-00001")
        assert "Terverifikasi, diteruskan ke Dinas Pekerjaan Umum dan Tata Ruang" in notice
        edit = await eventually(lambda: [e for e in desk.edits() if "Terverifikasi" in e["text"]])
        assert int(edit[-1]["message_id"]) == card_id
        assert "d:mv:MDN-00001:in_progress" in buttons(edit[-1])
        assert "Budi" in edit[-1]["text"]  # who verified, on the card's history

        # In progress by command, with a note the citizen reads.
        said = await desk.command("/status MDN-00001 proses tim sudah ke lokasi", "MDN-00001")
        assert "Ditindaklanjuti" in said and "Budi" in said
        notice = await desk.expect("Sedang ditindaklanjuti")
        assert "Catatan petugas: tim sudah ke lokasi" in notice

        # Resolved: the reporter is asked to rate, with buttons.
        await desk.press("d:mv:MDN-00001:resolved", card_id)
        await desk.expect("Bagaimana hasilnya?")
        question = [m for m in desk.messages() if "Bagaimana hasilnya?" in m["text"]][-1]
        assert "Kabar laporan MDN-00001: Selesai." in question["text"]
        assert buttons(question) == [
            *(f"rate:MDN-00001:{n}" for n in range(1, 6)),
            "reopen:MDN-00001",
        ]

        # The citizen rates: thanked, the group told, the card closed without buttons.
        await desk.say(tg.callback_query("rate:MDN-00001:5"), "Nilai 5/5")
        await desk.expect("Pelapor menilai MDN-00001: 5/5", GROUP)
        closed = await eventually(lambda: [e for e in desk.edits() if "Ditutup" in e["text"]])
        assert buttons(closed[-1]) == [] and "Nilai pelapor: 5/5" in closed[-1]["text"]

        # A closed report stays closed.
        refused = await desk.command("/status MDN-00001 proses", "MDN-00001")
        assert "ditutup" in refused
        assert await desk.status("MDN-00001") == "resolved"

        # Every step is a status event with its actor.
        async with desk.api() as api:
            body = (await api.get("/api/reports/MDN-00001")).json()
        moves = [(e["status"], e["actor"]) for e in body["timeline"]]
        officer = f"officer:{tg.OFFICER['id']}"
        assert moves == [
            ("received", "citizen"),
            ("verified", officer),
            ("in_progress", officer),
            ("resolved", officer),
        ]
        assert body["rating"] == 5 and body["closed_at"] is not None

        # What the citizen was sent, in order.
        texts = desk.texts()
        order = [
            next(i for i, t in enumerate(texts) if key in t)
            for key in (
                "Nomor tiket",
                "Terverifikasi",
                "Sedang ditindaklanjuti",
                "MDN-00001: Selesai.",
                "Nilai 5/5",
            )
        ]
        assert order == sorted(order)


async def test_a_callback_from_outside_the_officers_changes_nothing(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    officers = f"[{tg.OFFICER['id']}]"
    async with desk_service(
        sqlite_url, tmp_path, fake_telegram, LAPOR_OFFICERS__USER_IDS=officers
    ) as desk:
        await desk.file_report()
        card_id = await desk.card_message_id("MDN-00001")

        # A group that is not an officers' group (someone added the bot elsewhere).
        outcome, answer = await desk.press(
            "d:mv:MDN-00001:verified", card_id, chat_id=OTHER_GROUP_ID
        )
        assert "not an officers' group" in outcome or "outside" in outcome
        assert answer == "Grup ini belum terdaftar sebagai grup petugas."

        # A member of the officers' group who is not on officers.user_ids.
        outcome, answer = await desk.press("d:mv:MDN-00001:verified", card_id, user=STRANGER)
        assert "not an officer" in outcome
        assert answer == "Maaf, Anda belum terdaftar sebagai petugas."

        # A command from them is answered in the group, and changes nothing either.
        said = await desk.command("/status MDN-00001 verifikasi", "belum terdaftar", user=STRANGER)
        assert "petugas" in said
        said = await desk.command(
            "/status MDN-00001 verifikasi", "belum terdaftar", chat_id=OTHER_GROUP_ID
        )
        assert "grup petugas" in said

        assert await desk.status("MDN-00001") == "received"
        async with desk.api() as api:
            timeline = (await api.get("/api/reports/MDN-00001")).json()["timeline"]
        assert [e["status"] for e in timeline] == ["received"]
        assert not [t for t in desk.texts() if "Kabar laporan" in t]
        assert desk.edits() == []


async def test_an_illegal_move_is_refused_with_the_reason(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with desk_service(sqlite_url, tmp_path, fake_telegram) as desk:
        await desk.file_report()
        card_id = await desk.card_message_id("MDN-00001")

        # A stale or forged button: received cannot jump to resolved.
        outcome, answer = await desk.press("d:mv:MDN-00001:resolved", card_id)
        assert outcome == "group: refused (refused)"
        assert answer == (
            "MDN-00001 berstatus Diterima; dari situ hanya bisa ke: Terverifikasi, Ditolak."
        )
        said = await desk.command("/selesai MDN-00001", "hanya bisa ke")
        assert "Terverifikasi, Ditolak" in said
        said = await desk.command("/tolak MDN-00001", "alasan")
        assert "/tolak MDN-00001 <alasan>" in said
        said = await desk.command("/status MDN-00001 beres-beres", "tidak dikenal")
        said = await desk.command("/status MDN-00042 verifikasi", "tidak ditemukan")

        assert await desk.status("MDN-00001") == "received"
        assert not [t for t in desk.texts() if "Kabar laporan" in t]

        # Rejecting with a reason from the menu; after that nothing moves.
        outcome, _ = await desk.press("d:rj:MDN-00001", card_id)
        assert outcome == "group: rj"
        menu = await eventually(
            lambda: [e for e in desk.edits() if "d:rr:MDN-00001:spam" in buttons(e)]
        )
        assert "d:bk:MDN-00001" in buttons(menu[-1])
        await desk.press("d:rr:MDN-00001:spam", card_id)
        notice = await desk.expect("Ditolak")
        assert "Ditolak: bukan pengaduan (spam)" in notice
        outcome, answer = await desk.press("d:mv:MDN-00001:verified", card_id)
        assert answer == "MDN-00001 sudah ditolak; statusnya tidak bisa diubah lagi."
        assert await desk.status("MDN-00001") == "rejected"


async def test_a_reply_to_the_card_reaches_the_citizen(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with desk_service(sqlite_url, tmp_path, fake_telegram) as desk:
        await desk.file_report(privacy="anonim")
        card = await desk.expect("MDN-00001", GROUP)
        assert "Pelapor: anonim" in card and "Siti" not in card
        card_id = await desk.card_message_id("MDN-00001")

        said = await desk.command(
            "Mohon kirim foto yang lebih jelas, Bu/Pak", "diteruskan", reply_to=card_id
        )
        assert said == "Pesan diteruskan ke pelapor MDN-00001."
        relayed = await desk.expect("Mohon kirim foto yang lebih jelas")
        assert relayed.startswith("Pesan petugas tentang laporan MDN-00001:")

        # /balas does the same; a reply to an unrelated bot message asks which report.
        await desk.command("/balas MDN-00001 Terima kasih infonya", "diteruskan")
        await desk.expect("Terima kasih infonya")
        said = await desk.command("ini yang mana?", "Balas kartu", reply_to=424242, reply_text="hi")
        assert "/balas" in said

        # Officers chatting among themselves is none of the bot's business.
        assert await desk.command("siap, saya cek besok pagi") == "group: ignored"

        # /laporan shows the report again, and still hides the anonymous reporter.
        again = await desk.command("/laporan mdn 1", None)
        assert again == "group: show"
        await eventually(
            lambda: len([t for t in desk.texts(GROUP) if t.startswith("🆕 MDN-00001")]) == 2
        )
        assert all("Siti" not in t for t in desk.texts(GROUP))

        async with desk.api() as api:
            body = (await api.get("/api/reports/MDN-00001")).json()
        assert [m["text"] for m in body["messages"]] == [
            "Mohon kirim foto yang lebih jelas, Bu/Pak",
            "Terima kasih infonya",
        ]
        assert body["messages"][0]["direction"] == "officer"
        assert body["messages"][0]["author_name"] == "Budi"
        assert "Siti" not in str(body) and CITIZEN_CHAT not in str(body)

        # A command sent as a reply to the card needs no ticket.
        said = await desk.command("/tolak laporan ganda", "Ditolak", reply_to=card_id)
        assert said == "MDN-00001: Ditolak (oleh Budi)."
        notice = await desk.expect("Ditolak: laporan ganda")
        assert notice.startswith("Kabar laporan MDN-00001")


async def test_reassigning_moves_the_card_to_the_agencys_group(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    settings = desk_settings(sqlite_url, tmp_path, fake_telegram)
    dlh = next(a for a in settings.agencies if a.id == "dlh")
    dlh.telegram_chat_id = str(OTHER_GROUP_ID)
    async with desk_service(sqlite_url, tmp_path, fake_telegram, settings=settings) as desk:
        await desk.file_report()
        card_id = await desk.card_message_id("MDN-00001")

        await desk.press("d:al:MDN-00001", card_id)
        menu = await eventually(
            lambda: [e for e in desk.edits() if "d:ag:MDN-00001:dlh" in buttons(e)]
        )
        assert "d:ag:MDN-00001:dpupr" not in buttons(menu[-1])  # not to where it is already
        _, answer = await desk.press("d:ag:MDN-00001:dlh", card_id)
        assert answer == "Dialihkan ke Dinas Lingkungan Hidup"

        await desk.expect("dialihkan ke Dinas Lingkungan Hidup")
        new_card = await desk.expect("MDN-00001", str(OTHER_GROUP_ID))
        assert "Dinas: Dinas Lingkungan Hidup" in new_card
        old = await eventually(lambda: [e for e in desk.edits() if "Dialihkan ke" in e["text"]])
        assert buttons(old[-1]) == []

        # The agency's group acts on it now; the default group still may (it oversees all).
        new_id = await desk.card_message_id("MDN-00001", str(OTHER_GROUP_ID))
        _, answer = await desk.press("d:mv:MDN-00001:verified", new_id, chat_id=OTHER_GROUP_ID)
        assert answer == "Tersimpan: Terverifikasi"
        said = await desk.command("/antrian", "Antrian", chat_id=OTHER_GROUP_ID)
        assert (
            "MDN-00001 · Terverifikasi · Infrastruktur Jalan, Jembatan & Trotoar · Kel. Taman"
            in said
        )
        said = await desk.command("/antrian", "laporan terbuka")
        assert "Tidak ada laporan terbuka" in said


@pytest.mark.parametrize("command", ["/bantuan", "/help@LaporFakeBot"])
async def test_officers_can_ask_for_the_commands(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram, command: str
) -> None:
    async with desk_service(sqlite_url, tmp_path, fake_telegram) as desk:
        said = await desk.command(command, "Perintah petugas")
        assert "/antrian" in said and "/alihkan" in said
        # A command for another bot in the group is left alone.
        assert await desk.command("/status@SomeOtherBot MDN-00001 selesai") == "group: ignored"


async def test_desk_texts_follow_the_configured_overrides(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    overrides = {
        "LAPOR_TEXTS__ID__DESK_USAGE": "Tanya koordinator, atau ketik /antrian",
        "LAPOR_TEXTS__ID__DESK_CARD_CATEGORY": "Jenis masalah: {value}",
        "LAPOR_TEXTS__ID__DESK_ST_VERIFIED": "Sudah dicek",
    }
    async with desk_service(sqlite_url, tmp_path, fake_telegram, **overrides) as desk:
        said = await desk.command("/bantuan", "koordinator")
        assert said == "Tanya koordinator, atau ketik /antrian"
        await desk.file_report()
        card = await desk.expect("MDN-00001", GROUP)
        assert "Jenis masalah: Infrastruktur Jalan" in card and "Kategori:" not in card
        assert "Dinas: Dinas Pekerjaan Umum" in card  # what is not overridden stays built in
        _, answer = await desk.press(
            "d:mv:MDN-00001:verified", await desk.card_message_id("MDN-00001")
        )
        assert answer == "Tersimpan: Sudah dicek"
        edit = await eventually(lambda: [e for e in desk.edits() if "Sudah dicek" in e["text"]])
        assert edit[-1]["text"].startswith("✅ MDN-00001 · Sudah dicek")
