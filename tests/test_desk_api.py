"""POST /api/reports/{ticket}/status and /replies: the desk's rules and effects over REST."""

from __future__ import annotations

from pathlib import Path

import httpx
from desk_helpers import GROUP, desk_service
from fake_telegram import FakeTelegram
from helpers import eventually


async def test_status_and_replies_over_rest(
    database_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with desk_service(database_url, tmp_path, fake_telegram) as desk:
        await desk.file_report()
        await desk.expect("MDN-00001", GROUP)
        base = str(desk.client.base_url)

        async with httpx.AsyncClient(base_url=base, timeout=10) as anonymous:
            no_token = await anonymous.post(
                "/api/reports/MDN-00001/status", json={"status": "verified"}
            )
            assert no_token.status_code == 401
            wrong = await anonymous.post(
                "/api/reports/MDN-00001/replies",
                json={"text": "halo"},
                headers={"Authorization": "Bearer nope"},
            )
            assert wrong.status_code == 401
        assert await desk.status("MDN-00001") == "received"

        async with desk.api() as api:
            illegal = await api.post("/api/reports/MDN-00001/status", json={"status": "resolved"})
            assert illegal.status_code == 409
            assert "hanya bisa ke: Terverifikasi, Ditolak" in illegal.json()["detail"]
            unknown = await api.post("/api/reports/MDN-00001/status", json={"status": "maybe"})
            assert unknown.status_code == 422
            no_reason = await api.post("/api/reports/MDN-00001/status", json={"status": "rejected"})
            assert no_reason.status_code == 422 and "alasan" in no_reason.json()["detail"]
            nothing = await api.post("/api/reports/MDN-00001/status", json={})
            assert nothing.status_code == 422
            missing = await api.post("/api/reports/MDN-00404/status", json={"status": "verified"})
            assert missing.status_code == 404
            assert await desk.status("MDN-00001") == "received"

            moved = await api.post(
                "/api/reports/mdn-1/status",
                json={"status": "verified", "note": "lokasi sudah dicek", "actor": "dashboard"},
            )
            assert moved.status_code == 200, moved.text
            assert moved.json()["report"]["status"] == "verified"
            notice = await desk.expect("Kabar laporan MDN-00001: Terverifikasi")
            assert "Catatan petugas: lokasi sudah dicek" in notice
            await eventually(lambda: [e for e in desk.edits() if "Terverifikasi" in e["text"]])

            again = await api.post("/api/reports/MDN-00001/status", json={"status": "verified"})
            assert again.status_code == 409 and "sudah berstatus" in again.json()["detail"]

            empty = await api.post("/api/reports/MDN-00001/replies", json={"text": ""})
            assert empty.status_code == 422
            replied = await api.post(
                "/api/reports/MDN-00001/replies",
                json={"text": "Petugas datang besok pagi.", "actor": "dashboard"},
            )
            assert replied.status_code == 201, replied.text
            assert replied.json()["message"]["direction"] == "officer"
            relayed = await desk.expect("Petugas datang besok pagi.")
            assert relayed.startswith("Pesan petugas tentang laporan MDN-00001:")
            missing = await api.post("/api/reports/MDN-00404/replies", json={"text": "x"})
            assert missing.status_code == 404

            reassigned = await api.post("/api/reports/MDN-00001/status", json={"agency": "dlh"})
            assert reassigned.status_code == 200
            assert reassigned.json()["report"]["agency"] == "dlh"
            await desk.expect("dialihkan ke Dinas Lingkungan Hidup")

            body = (await api.get("/api/reports/MDN-00001")).json()
            assert [m["text"] for m in body["messages"]] == ["Petugas datang besok pagi."]
            actors = [e["actor"] for e in body["timeline"]]
            assert actors == ["citizen", "api:dashboard", "api"]
