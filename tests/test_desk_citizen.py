"""The citizen's side of a filed report, end to end through Telegram: reopening ("belum beres"),
duplicates offered and supported, adding information and photos, and who sees what with `cek`.
"""

from __future__ import annotations

import re
from pathlib import Path

import telegram_updates as tg
from desk_helpers import GROUP, NEIGHBOUR, buttons, desk_service
from fake_telegram import FakeTelegram
from helpers import eventually

NEIGHBOUR_CHAT = str(NEIGHBOUR["id"])


def access_code(filed: str) -> str:
    """The report code the filing confirmation gives the reporter."""
    found = re.search(r"Kode laporan Anda: ([A-Z0-9]{6})", filed)
    assert found, filed
    return found.group(1)


async def test_not_fixed_reopens_the_report_and_tells_the_group(
    database_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with desk_service(database_url, tmp_path, fake_telegram) as desk:
        await desk.file_report()
        card_id = await desk.card_message_id("MDN-00001")
        await desk.press("d:mv:MDN-00001:verified", card_id)
        await desk.press("d:mv:MDN-00001:resolved", card_id)
        await desk.expect("Bagaimana hasilnya?")

        # Typed, as an SMS citizen would: "belum beres" with what is still wrong.
        reopened = await desk.say(tg.text("belum beres, lubangnya masih ada"), "dibuka kembali")
        assert "MDN-00001" in reopened
        told = await desk.expect("dibuka kembali oleh pelapor", GROUP)
        assert "lubangnya masih ada" in told
        assert await desk.status("MDN-00001") == "in_progress"
        card = await eventually(
            lambda: [e for e in desk.edits() if e["text"].startswith("🔧 MDN-00001")]
        )
        assert "d:mv:MDN-00001:resolved" in buttons(card[-1])

        # Resolved again: rating it now closes it, and "belum beres" is too late after that.
        await desk.press("d:mv:MDN-00001:resolved", card_id)
        await eventually(lambda: sum("Bagaimana hasilnya?" in t for t in desk.texts()) == 2)
        await desk.say(tg.text("4"), "Nilai 4/5")
        late = await desk.say(tg.text("belum beres"), "Tidak ada laporan selesai")
        assert "penilaian" in late
        await desk.say(tg.callback_query("reopen:MDN-00001"), "sudah ditutup")
        assert await desk.status("MDN-00001") == "resolved"

        async with desk.api() as api:
            timeline = (await api.get("/api/reports/MDN-00001")).json()["timeline"]
        reopen = [e for e in timeline if e["actor"] == "citizen" and e["status"] == "in_progress"]
        assert len(reopen) == 1 and "lubangnya masih ada" in reopen[0]["note"]


async def test_a_similar_report_is_offered_for_support(
    database_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with desk_service(database_url, tmp_path, fake_telegram) as desk:
        await desk.file_report("Jalan depan pasar bolong gede, motor sering jatuh")
        await desk.expect("MDN-00001", GROUP)

        # A neighbour reports the same pothole in other words.
        offer = await desk.file_report(
            "Jalan depan pasar berlubang gede, banyak motor jatuh",
            user=NEIGHBOUR,
            expect="Laporan serupa",
            send=False,
        )
        assert "MDN-00001" in offer and "Kel. Taman" in offer and "Dukung" in offer
        sent = [m for m in desk.messages(NEIGHBOUR_CHAT) if "Laporan serupa" in m["text"]][-1]
        assert buttons(sent) == ["support:MDN-00001", "file_anyway"]
        # The offer is the one question: no summary with other numbered choices beside it.
        assert not [m for m in desk.messages(NEIGHBOUR_CHAT) if "Periksa laporan" in m["text"]]

        supported = await desk.say(
            tg.callback_query("support:MDN-00001", user=NEIGHBOUR), "dukungan", NEIGHBOUR_CHAT
        )
        assert "MDN-00001" in supported
        async with desk.service.store.unit_of_work() as uow:
            assert [r.ticket for r in await uow.reports.list()] == ["MDN-00001"]
        card = await eventually(
            lambda: [e for e in desk.edits() if "Dukungan warga: 1" in e["text"]]
        )
        assert "Agus" not in card[-1]["text"]  # supporters are not named to officers

        # The supporter now hears what happens to MDN-00001.
        card_id = await desk.card_message_id("MDN-00001")
        await desk.press("d:mv:MDN-00001:verified", card_id)
        await desk.expect("Kabar laporan MDN-00001: Terverifikasi")
        await desk.expect("Kabar laporan MDN-00001: Terverifikasi", NEIGHBOUR_CHAT)
        await desk.press("d:mv:MDN-00001:resolved", card_id)
        supporter_notice = await desk.expect("MDN-00001: Selesai", NEIGHBOUR_CHAT)
        assert "nilai" not in supporter_notice  # only the reporter rates
        # ... but a supporter cannot rate or reopen it: answered as if no such report were
        # there, like any button naming a report that is not theirs (issue 14).
        await desk.say(
            tg.callback_query("reopen:MDN-00001", user=NEIGHBOUR),
            "tidak ditemukan",
            NEIGHBOUR_CHAT,
        )
        assert await desk.status("MDN-00001") == "resolved"


async def test_file_anyway_and_an_officer_marks_the_duplicate(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with desk_service(sqlite_url, tmp_path, fake_telegram) as desk:
        await desk.file_report("Lampu jalan di gang 3 mati sudah seminggu, gelap sekali")
        # Something different in the same place is not a duplicate.
        other = await desk.file_report(
            "Sampah menumpuk di pinggir jalan sudah tiga hari tidak diangkut",
            user=NEIGHBOUR,
        )
        assert "MDN-00002" in other

        offer = await desk.file_report(
            "lampu jalan gang 3 mati seminggu, gelap",
            user=NEIGHBOUR,
            expect="Laporan serupa",
            send=False,
        )
        assert "MDN-00001" in offer
        filed = await desk.say(
            tg.callback_query("file_anyway", user=NEIGHBOUR), "Nomor tiket", NEIGHBOUR_CHAT
        )
        assert "MDN-00003" in filed

        # The officers mark it; its reporter follows the original from then on.
        said = await desk.command("/duplikat MDN-00003 MDN-00001", "duplikat")
        assert "MDN-00003 ditandai duplikat dari MDN-00001" in said
        notice = await desk.expect("Ditolak", NEIGHBOUR_CHAT)
        assert "duplikat dari MDN-00001" in notice
        assert "Kabar selanjutnya mengikuti laporan MDN-00001" in notice
        await desk.command("/verifikasi MDN-00001", "Terverifikasi")
        await desk.expect("Kabar laporan MDN-00001: Terverifikasi", NEIGHBOUR_CHAT)
        async with desk.api() as api:
            body = (await api.get("/api/reports/MDN-00003")).json()
        assert body["status"] == "rejected" and body["duplicate_of"] == "MDN-00001"


async def test_adding_information_and_photos_to_an_open_report(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with desk_service(sqlite_url, tmp_path, fake_telegram) as desk:
        code = access_code(await desk.file_report())
        await desk.say(tg.text("tambah"), "tambahan untuk MDN-00001")
        await desk.say(tg.text("Sekarang lubangnya makin lebar, sudah 1 meter"), "Diteruskan")
        told = await desk.expect("Tambahan dari pelapor untuk MDN-00001", GROUP)
        assert "makin lebar" in told
        await desk.post(tg.photo("photo-extra", caption="dari sisi utara"))
        photo = await eventually(
            lambda: [c.params for c in fake_telegram.calls_to("sendPhoto") if c.chat_id == GROUP]
        )
        assert photo[-1]["photo"] == "photo-extra"
        assert "Foto tambahan dari pelapor untuk MDN-00001" in photo[-1]["caption"]
        await desk.say(tg.text("selesai"), "Terima kasih")
        card = await eventually(lambda: [e for e in desk.edits() if "Tambahan: 2" in e["text"]])
        assert "Foto: 1" in card[-1]["text"]

        # One message, ticket and all. From someone else only with the report's code (issue
        # 14: anyone could post into the officers' group); then it is flagged as not the
        # reporter's chat.
        refused = await desk.say(
            tg.text("tambah MDN-00001 warga sekitar sudah pasang tanda", user=NEIGHBOUR),
            "tidak ditemukan",
            NEIGHBOUR_CHAT,
        )
        assert "TAMBAH MDN-00001 <kode>" in refused
        await desk.say(
            tg.text(f"tambah MDN-00001 {code} warga sekitar sudah pasang tanda", user=NEIGHBOUR),
            "sudah diteruskan",
            NEIGHBOUR_CHAT,
        )
        told = await desk.expect("lewat kode laporan (bukan chat pelapor)", GROUP)
        assert "pasang tanda" in told and code not in told
        assert not [t for t in desk.texts(GROUP) if "sudah pasang tanda" in t and t != told]

        # A rejected report takes no more.
        await desk.command("/tolak MDN-00001 di luar wilayah", "Ditolak")
        await desk.say(tg.text("tambah MDN-00001"), "tidak bisa dikirim")
        async with desk.api() as api:
            body = (await api.get("/api/reports/MDN-00001")).json()
        directions = [(m["direction"], m["photo"]) for m in body["messages"]]
        assert directions == [("citizen", False), ("citizen", True), ("citizen", False)]
        assert body["photos"] == 1


async def test_check_shows_the_timeline_only_to_the_reporter(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with desk_service(sqlite_url, tmp_path, fake_telegram) as desk:
        code = access_code(await desk.file_report())
        await desk.command("/verifikasi MDN-00001 sudah dicek", "Terverifikasi")
        await desk.file_report(
            "Sampah menumpuk di pinggir jalan sudah tiga hari tidak diangkut",
            privacy="rahasia",
        )

        mine = await desk.say(tg.text("cek MDN-00001"), "Riwayat")
        assert "Terverifikasi" in mine and "sudah dicek" in mine

        # Others learn nothing, not even that the ticket exists (issue 14: they used to see
        # the status): the answer an unknown ticket gets.
        theirs = await desk.say(
            tg.text("cek MDN-00001", user=NEIGHBOUR), "Tiket MDN-00001", NEIGHBOUR_CHAT
        )
        unknown = await desk.say(
            tg.text("cek MDN-00099", user=NEIGHBOUR), "Tiket MDN-00099", NEIGHBOUR_CHAT
        )
        assert "tidak ditemukan" in unknown
        assert theirs.replace("MDN-00001", "T") == unknown.replace("MDN-00099", "T")
        secret = await desk.say(
            tg.text("cek MDN-00002", user=NEIGHBOUR), "MDN-00002", NEIGHBOUR_CHAT
        )
        assert secret.replace("MDN-00002", "T") == unknown.replace("MDN-00099", "T")
        # With the reporter's code: the status and its history.
        opened = await desk.say(
            tg.text(f"cek MDN-00001 {code}", user=NEIGHBOUR), "Riwayat", NEIGHBOUR_CHAT
        )
        assert "Terverifikasi" in opened and "sudah dicek" in opened


async def test_a_voice_note_added_to_a_filed_report_reaches_the_group_and_the_card(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with desk_service(sqlite_url, tmp_path, fake_telegram) as desk:
        await desk.file_report()
        await desk.say(tg.text("tambah"), "tambahan untuk MDN-00001")
        await desk.post(tg.voice("voice-extra"))
        # Officers can listen to it: the voice note itself, re-sent by its file id as a new
        # message (never a forward of the citizen's message).
        voices = await eventually(
            lambda: [c.params for c in fake_telegram.calls_to("sendVoice") if c.chat_id == GROUP]
        )
        assert voices[-1]["voice"] == "voice-extra"
        assert "Pesan suara tambahan dari pelapor untuk MDN-00001" in voices[-1]["caption"]
        assert not [m for m in fake_telegram.methods if m.startswith(("forward", "copy"))]
        await desk.say(tg.text("selesai"), "Terima kasih")
        card = await eventually(lambda: [e for e in desk.edits() if "pesan suara" in e["text"]])
        assert "Foto: 0" in card[-1]["text"]  # a voice note is no photo
        async with desk.api() as api:
            body = (await api.get("/api/reports/MDN-00001")).json()
        assert body["voice_notes"] == 1 and body["photos"] == 0


async def test_an_anonymous_reporters_voice_note_reaches_the_group_without_their_name(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with desk_service(sqlite_url, tmp_path, fake_telegram) as desk:
        await desk.file_report(privacy="anonim")
        await desk.expect("Pelapor: anonim", GROUP)
        await desk.say(tg.text("tambah"), "tambahan untuk MDN-00001")
        await desk.post(tg.voice("voice-anon"))
        voices = await eventually(
            lambda: [c.params for c in fake_telegram.calls_to("sendVoice") if c.chat_id == GROUP]
        )
        assert voices[-1]["voice"] == "voice-anon" and "MDN-00001" in voices[-1]["caption"]
        group_said = [str(v.get("caption", "")) for v in voices] + desk.texts(GROUP)
        assert not [t for t in group_said if "Siti" in t or "siti_r" in t]
        assert not [m for m in fake_telegram.methods if m.startswith(("forward", "copy"))]
