"""The whole service: pipeline, database, outbox and the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from app_server import ConsoleCitizen, api, make_service, serve

from bot.compose import create_app
from channels.console import ConsoleChannel
from intake.types import InboundMessage, MessageKind, message_to_dict
from storage import Database, Store

INSIDE = "-7.6298 111.5239"  # a point in Kel. Kejuron, Kec. Taman


async def file_report(citizen: ConsoleCitizen, photo: Path) -> str:
    await citizen.type("halo")
    await citizen.type("1")  # setuju
    await citizen.type("Sampah numpuk udh 3 hari gk diangkut di pinggir jalan, bau bgt")
    await citizen.type("ya")
    assert "Kejuron" in await citizen.type(f"/lokasi {INSIDE}")
    await citizen.type(f"/foto {photo}")
    await citizen.type("selesai")
    await citizen.type("2")  # anonim
    answer = await citizen.type("kirim")
    assert "MDN-00001" in answer, answer
    return "MDN-00001"


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "lubang.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return path


async def test_a_scripted_citizen_files_a_report_the_api_lists(
    database_url: str, tmp_path: Path, photo: Path
) -> None:
    service = make_service(database_url, tmp_path)
    async with serve(create_app(service, workers=False)) as base_url:
        citizen = ConsoleCitizen.attach(service)
        ticket = await file_report(citizen, photo)

        async with api(base_url, token=None) as anonymous:
            assert (await anonymous.get("/api/reports")).status_code == 401
        async with api(base_url, token="wrong") as wrong:
            assert (await wrong.get("/api/reports")).status_code == 401

        async with api(base_url) as client:
            listed = (await client.get("/api/reports")).json()["reports"]
            assert [r["ticket"] for r in listed] == [ticket]
            report = listed[0]
            assert report["status"] == "received"
            assert report["category"] == "sampah" and report["agency"] == "dlh"
            assert report["channel"] == "console"
            assert report["location"]["kelurahan"] == "Kejuron"
            assert report["location"]["kecamatan"] == "Taman"
            assert report["location"]["lat"] == pytest.approx(-7.6298)
            assert report["photos"] == 1
            assert report["anonymous"] is True and report["confidential"] is False

            one = (await client.get(f"/api/reports/{ticket.lower()}")).json()
            assert [e["status"] for e in one["timeline"]] == ["received"]
            assert (await client.get("/api/reports/MDN-99999")).status_code == 404

            by_filter = await client.get("/api/reports", params={"category": "jalan"})
            assert by_filter.json()["reports"] == []
            since = await client.get("/api/reports", params={"since": "2000-01-01T00:00:00"})
            assert len(since.json()["reports"]) == 1
            bad = await client.get("/api/reports", params={"since": "kemarin"})
            assert bad.status_code == 422 and bad.json()["errors"][0]["where"] == "query.since"


async def test_the_reporter_sees_the_timeline_and_others_do_not(
    sqlite_url: str, tmp_path: Path, photo: Path
) -> None:
    service = make_service(sqlite_url, tmp_path)
    async with serve(create_app(service, workers=False)):
        reporter = ConsoleCitizen.attach(service, chat_id="warga-1")
        ticket = await file_report(reporter, photo)
        found = re.search(r"Kode laporan Anda: ([A-Z0-9]{6})", reporter.screen.getvalue())
        assert found, reporter.screen.getvalue()
        code = found.group(1)
        assert "Riwayat:" in await reporter.type(f"cek {ticket}")

        neighbour = ConsoleCitizen(
            service, ConsoleChannel(reporter.screen, "warga-2"), reporter.screen
        )
        # Someone else's ticket is answered exactly as a ticket that does not exist (issue 14:
        # this used to show the status to anyone).
        answer = await neighbour.type(f"cek {ticket}")
        unknown = await neighbour.type("cek MDN-00077")
        assert "tidak ditemukan" in unknown
        assert answer.replace(ticket, "T") == unknown.replace("MDN-00077", "T")
        assert "Diterima" not in answer and "Riwayat:" not in answer
        wrong = await neighbour.type(f"cek {ticket} AAAAAA")
        assert wrong.replace(ticket, "T") == unknown.replace("MDN-00077", "T")
        # The reporter's code opens it from anywhere.
        with_code = await neighbour.type(f"cek {ticket} {code.lower()}")
        assert "Diterima, menunggu verifikasi" in with_code and "Riwayat:" in with_code


async def test_the_same_message_delivered_twice_has_one_effect(
    database_url: str, tmp_path: Path
) -> None:
    service = make_service(database_url, tmp_path)
    screen = io.StringIO()
    service.add_sender(ConsoleChannel(screen))
    await service.start(workers=False)
    try:
        message = InboundMessage(
            channel="console",
            external_id="same-id",
            sender_id="w1",
            chat_id="w1",
            kind=MessageKind.TEXT,
            received_at=datetime.now(UTC),
            text="halo",
        )
        first = await service.pipeline.accept(message)
        second = await service.pipeline.accept(message)
        assert first.inbox_id is not None and first.processed
        assert second.inbox_id is None
        await service.dispatcher.drain()
        assert screen.getvalue().count("Apakah Anda setuju?") == 1
    finally:
        await service.stop()


async def test_messages_accepted_before_a_crash_are_processed_at_start(
    database_url: str, tmp_path: Path
) -> None:
    # The platform got its 200 (the message is in the inbox) but the process died before
    # processing it. A new service picks it up and the citizen still gets an answer.
    store = Store(Database(database_url))
    message = InboundMessage(
        channel="console",
        external_id="before-crash",
        sender_id="w1",
        chat_id="w1",
        kind=MessageKind.TEXT,
        received_at=datetime.now(UTC),
        text="halo",
    )
    payload = {"message": message_to_dict(message), "raw": None}
    assert await store.accept_inbound("console", "before-crash", payload, datetime.now(UTC))
    await store.accept_inbound("console", "garbage", {"message": {"kind": 1}}, datetime.now(UTC))
    await store.dispose()

    service = make_service(database_url, tmp_path)
    screen = io.StringIO()
    service.add_sender(ConsoleChannel(screen))
    await service.start(workers=False)
    try:
        await service.dispatcher.drain()
        assert "Apakah Anda setuju?" in screen.getvalue()
        assert await service.store.unprocessed_inbox() == []  # the garbage row was set aside
    finally:
        await service.stop()


async def test_health_and_readiness(sqlite_url: str, tmp_path: Path) -> None:
    service = make_service(sqlite_url, tmp_path)
    async with (
        serve(create_app(service, workers=False)) as base_url,
        api(base_url, token=None) as client,
    ):
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"]["database"] is True
