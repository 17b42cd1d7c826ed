"""Time limits with a clock the test moves: reminders in the officers' group once per
threshold, counted in working days (weekends and configured holidays skipped), and resolved
reports closing themselves when the citizen does not answer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import telegram_updates as tg
from desk_helpers import GROUP, Clock, buttons, desk_service
from fake_telegram import FakeTelegram
from helpers import eventually

# Thursday 8 January 2026, 09:00 in Madiun (WIB, UTC+7).
FILED = datetime(2026, 1, 8, 2, 0, tzinfo=UTC)


async def test_reminders_once_per_threshold_and_autoclose(
    database_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    clock = Clock(FILED)
    holidays = '["2026-01-12"]'  # Monday 12 January is a holiday here
    async with desk_service(
        database_url, tmp_path, fake_telegram, clock=clock, LAPOR_SLA__HOLIDAYS=holidays
    ) as desk:
        sla = desk.service.sla
        await desk.file_report()
        await desk.expect("MDN-00001", GROUP)

        # Three working days after Thursday 09:00: Friday, (weekend, holiday), Tuesday, Wednesday.
        clock.now = datetime(2026, 1, 13, 3, 0, tzinfo=UTC)  # Tuesday 10:00 WIB: not yet
        assert (await sla.run_once()).reminded == {}
        clock.now = datetime(2026, 1, 14, 2, 30, tzinfo=UTC)  # Wednesday 09:30 WIB: overdue
        done = await sla.run_once()
        assert done.reminded == {GROUP: ["MDN-00001"]}
        reminder = await desk.expect("Pengingat", GROUP)
        assert "Belum diverifikasi lewat 3 hari kerja" in reminder and "MDN-00001" in reminder
        clock.advance(hours=5)
        assert (await sla.run_once()).reminded == {}  # once per threshold
        assert sum("Pengingat" in t for t in desk.texts(GROUP)) == 1

        # Verified Wednesday: five working days to follow up, until the next Wednesday.
        await desk.command("/verifikasi MDN-00001", "Terverifikasi")
        clock.now = datetime(2026, 1, 20, 9, 0, tzinfo=UTC)  # Tuesday 16:00 WIB
        assert (await sla.run_once()).reminded == {}
        clock.now = datetime(2026, 1, 21, 9, 0, tzinfo=UTC)  # Wednesday 16:00 WIB
        assert (await sla.run_once()).reminded == {GROUP: ["MDN-00001"]}
        reminder = await desk.expect("Belum ditindaklanjuti", GROUP)
        assert "5 hari kerja" in reminder
        assert (await sla.run_once()).reminded == {}

        # Resolved, and the citizen never answers: closed after ten days, and told so.
        await desk.command("/selesai MDN-00001 sudah ditambal", "Selesai")
        await desk.expect("Bagaimana hasilnya?")
        clock.advance(days=9, hours=23)
        assert (await sla.run_once()).closed == []
        clock.advance(hours=2)
        assert (await sla.run_once()).closed == ["MDN-00001"]
        closed = await desk.expect("ditutup")
        assert closed.startswith("Laporan MDN-00001 ditutup")
        card = await eventually(lambda: [e for e in desk.edits() if "Ditutup" in e["text"]])
        assert "otomatis" in card[-1]["text"] and buttons(card[-1]) == []
        assert (await sla.run_once()).closed == []

        # Too late to rate or reopen; the status stays resolved.
        await desk.say(tg.callback_query("rate:MDN-00001:2"), "sudah ditutup")
        await desk.say(tg.text("belum beres"), "Tidak ada laporan selesai")
        assert await desk.status("MDN-00001") == "resolved"
