"""A citizen on WhatsApp, officers on Telegram: the card shows the channel, and every update
reaches the citizen on WhatsApp (the fake Graph API), including the rating question as a list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import whatsapp_payloads as wa
from app_server import whatsapp_env
from desk_helpers import GROUP, Desk, desk_service
from fake_telegram import FakeTelegram
from fake_whatsapp import FakeGraph
from helpers import eventually

CITIZEN = wa.CITIZEN["wa_id"]


async def whatsapp_says(desk: Desk, graph: FakeGraph, message: dict[str, Any], expect: str) -> str:
    before = len(graph.texts(CITIZEN))
    raw, headers = wa.signed(wa.incoming(message))
    response = await desk.client.post("/webhooks/whatsapp", content=raw, headers=headers)
    assert response.status_code == 200, response.text
    found = await eventually(lambda: [t for t in graph.texts(CITIZEN)[before:] if expect in t])
    return str(found[-1])


async def test_a_whatsapp_citizen_hears_back_on_whatsapp(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram, graph: FakeGraph
) -> None:
    async with desk_service(sqlite_url, tmp_path, fake_telegram, **whatsapp_env(graph)) as desk:
        for typed, expect in (
            ("halo", "Apakah Anda setuju?"),
            ("setuju", "Ceritakan"),
            ("Lampu jalan di gang 3 mati sudah seminggu, gelap sekali", "Benar?"),
            ("ya", "Di mana"),
            ("Gang 3, kel. Taman", "Kirim foto"),
            ("lewati", "privasi"),
            ("biasa", "Periksa"),
            ("kirim", "MDN-00001"),
        ):
            await whatsapp_says(desk, graph, wa.text(typed), expect)

        card = await desk.expect("MDN-00001", GROUP)
        assert "Kanal: WhatsApp" in card and "Siti Rahayu · +6281234567890" in card
        card_id = await desk.card_message_id("MDN-00001")

        await desk.press("d:mv:MDN-00001:verified", card_id)
        notice = await eventually(
            lambda: [t for t in graph.texts(CITIZEN) if "Kabar laporan MDN-00001" in t]
        )
        assert "Terverifikasi" in notice[-1]

        await desk.press("d:mv:MDN-00001:resolved", card_id)
        asked = await eventually(
            lambda: [c for c in graph.messages(CITIZEN) if "Bagaimana hasilnya?" in c.text]
        )
        interactive = asked[-1].body["interactive"]
        rows = [r["id"] for s in interactive["action"]["sections"] for r in s["rows"]]
        assert rows == [*(f"rate:MDN-00001:{n}" for n in range(1, 6)), "reopen:MDN-00001"]

        thanks = await whatsapp_says(desk, graph, wa.list_reply("rate:MDN-00001:4", "4"), "4/5")
        assert "MDN-00001" in thanks
        await desk.expect("Pelapor menilai MDN-00001: 4/5", GROUP)
