"""Sequential tickets are easy to guess: only the reporting contact, or whoever holds the report's
code from the filing confirmation, may check a report or add to it; anyone else gets the answer
an unknown ticket gets, and a sender who keeps guessing is stopped for a while (issue 14)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

import telegram_updates as tg
from desk_helpers import GROUP, STRANGER, Clock, desk_service
from fake_telegram import FakeTelegram

from bot.actions.lookups import REFUSALS, WINDOW

STRANGER_CHAT = str(STRANGER["id"])


def code_in(filed: str) -> str:
    found = re.search(r"Kode laporan Anda: ([A-Z0-9]{6})", filed)
    assert found, filed
    return found.group(1)


async def test_a_stranger_guessing_tickets_and_codes_is_stopped_for_a_while(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    clock = Clock(datetime(2026, 11, 2, 2, 0, tzinfo=UTC))
    async with desk_service(sqlite_url, tmp_path, fake_telegram, clock=clock) as desk:
        code = code_in(await desk.file_report())
        wrong = "AAAAAA" if code != "AAAAAA" else "BBBBBB"

        answers = []
        for attempt in range(REFUSALS):
            guess = f"cek MDN-00001 {wrong}" if attempt % 2 else f"cek MDN-{attempt + 2:05d}"
            answers.append(
                await desk.say(tg.text(guess, user=STRANGER), "tidak ditemukan", STRANGER_CHAT)
            )
        assert not any("Diterima" in a or "Riwayat" in a for a in answers)

        # Used up: even the right code is not looked at now.
        stopped = await desk.say(
            tg.text(f"cek MDN-00001 {code}", user=STRANGER), "Terlalu banyak", STRANGER_CHAT
        )
        assert "Diterima" not in stopped
        stopped = await desk.say(
            tg.text(f"tambah MDN-00001 {code} halo", user=STRANGER), "Terlalu banyak", STRANGER_CHAT
        )
        assert not [t for t in desk.texts(GROUP) if "halo" in t]
        # Only this sender is stopped: the reporter checks as always.
        await desk.say(tg.text("cek MDN-00001"), "Riwayat")

        clock.advance(seconds=WINDOW.total_seconds() + 1)
        opened = await desk.say(
            tg.text(f"cek MDN-00001 {code}", user=STRANGER), "Riwayat", STRANGER_CHAT
        )
        assert "Diterima, menunggu verifikasi" in opened


async def test_the_code_admits_another_chat_to_add_information(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with desk_service(sqlite_url, tmp_path, fake_telegram) as desk:
        code = code_in(await desk.file_report())
        # Starting to add with the code (any case), then writing as the reporter would.
        await desk.say(
            tg.text(f"tambah MDN-00001 {code.lower()}", user=STRANGER),
            "tambahan untuk MDN-00001",
            STRANGER_CHAT,
        )
        await desk.say(
            tg.text("Tadi pagi ada motor jatuh lagi di lubang itu", user=STRANGER),
            "Diteruskan",
            STRANGER_CHAT,
        )
        told = await desk.expect("lewat kode laporan (bukan chat pelapor)", GROUP)
        assert "motor jatuh lagi" in told and code not in told
        await desk.say(tg.text("selesai", user=STRANGER), "Terima kasih", STRANGER_CHAT)

        # Without the code, another chat gets what an unknown ticket gets, and the officers
        # hear nothing.
        before = len(desk.texts(GROUP))
        refused = await desk.say(
            tg.text("tambah MDN-00001 ini laporan palsu", user=STRANGER),
            "tidak ditemukan",
            STRANGER_CHAT,
        )
        unknown = await desk.say(
            tg.text("tambah MDN-00077 ini laporan palsu", user=STRANGER),
            "tidak ditemukan",
            STRANGER_CHAT,
        )
        assert refused.replace("MDN-00001", "T") == unknown.replace("MDN-00077", "T")
        assert not [t for t in desk.texts(GROUP)[before:] if "palsu" in t]


async def test_a_forged_rate_or_reopen_button_tells_nothing_and_changes_nothing(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with desk_service(sqlite_url, tmp_path, fake_telegram) as desk:
        await desk.file_report()
        card_id = await desk.card_message_id("MDN-00001")
        await desk.press("d:mv:MDN-00001:verified", card_id)
        await desk.press("d:mv:MDN-00001:resolved", card_id)
        await desk.expect("Bagaimana hasilnya?")  # the reporter may rate it now
        group_before, citizen_before = len(desk.texts(GROUP)), len(desk.texts())

        async def press(data: str, ticket: str) -> list[str]:
            """What the stranger is told after pressing `data`, with the ticket blanked."""
            before = len(desk.texts(STRANGER_CHAT))
            await desk.post(tg.callback_query(data, user=STRANGER))
            await desk.expect(ticket, STRANGER_CHAT, since=before)
            await asyncio.sleep(0.3)  # anything else it would have said
            return [t.replace(ticket, "<ticket>") for t in desk.texts(STRANGER_CHAT)[before:]]

        await press("rate:MDN-00077:3", "MDN-00077")  # a first contact may be greeted too
        for existing, missing in (
            ("rate:MDN-00001:1", "rate:MDN-00099:1"),
            ("reopen:MDN-00001", "reopen:MDN-00099"),
        ):
            told = await press(existing, "MDN-00001")
            assert told == await press(missing, "MDN-00099")
            assert "tidak ditemukan" in told[-1]
            assert not any("pelapor" in t.lower() for t in told)

        assert await desk.status("MDN-00001") == "resolved"
        async with desk.service.store.unit_of_work() as uow:
            report = await uow.reports.get("MDN-00001")
            assert report is not None and report.id is not None
            state = await uow.desk.state(report.id)
        assert state is None or (state.rating is None and state.closed_at is None)
        await asyncio.sleep(0.3)
        assert len(desk.texts(GROUP)) == group_before and len(desk.texts()) == citizen_before
