"""`lapor serve` and `lapor chat` on one database, as README suggests trying them: each process
sends only the replies of channels it can send on, and a reply that goes dead is never silent
(a warning, `GET /api/outbox`, the dashboard, `lapor outbox` to list and send it again)."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from app_server import API_TOKEN, ROOT, api, serve, settings_for
from desk_helpers import GROUP, desk_env, eventually
from fake_telegram import FakeTelegram
from PIL import Image
from procs import service_env

from bot.compose import Service, build_senders, chat, create_app, prepare_database


class Terminal:
    """`lapor chat` running in this process: lines typed through a pipe, the screen read back."""

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        self.keyboard = os.fdopen(read_fd, "r")
        self.typing = os.fdopen(write_fd, "w")
        self.screen = io.StringIO()

    async def type(self, line: str, expect: str) -> str:
        start = len(self.screen.getvalue())
        self.typing.write(line + "\n")
        self.typing.flush()
        return await self.shows(expect, start)

    async def shows(self, expect: str, start: int = 0) -> str:
        await eventually(lambda: expect in self.screen.getvalue()[start:])
        return self.screen.getvalue()[start:]


@asynccontextmanager
async def server_and_chat(
    url: str, tmp_path: Path, fake: FakeTelegram
) -> AsyncIterator[tuple[Service, str, Terminal]]:
    """`lapor serve` (Telegram, officers' group) and `lapor chat` on the same database."""
    settings = settings_for(url, tmp_path, **desk_env(fake))
    prepare_database(settings)
    server = Service(settings, senders=build_senders(settings))
    terminal = Terminal()
    async with serve(create_app(server)) as base_url:
        console = asyncio.create_task(chat(settings, terminal.keyboard, terminal.screen))
        try:
            await terminal.shows("anda>")
            yield server, base_url, terminal
        finally:
            terminal.typing.write("/keluar\n")
            terminal.typing.close()
            await asyncio.wait_for(console, 10)
            terminal.keyboard.close()


async def file_on_the_console(terminal: Terminal, photo: Path | None = None) -> None:
    await terminal.type("halo", "setuju")
    await terminal.type("1", "Ceritakan")
    await terminal.type("Lampu jalan di gang 3 mati sudah seminggu, gelap", "Benar?")
    await terminal.type("ya", "Di mana")
    await terminal.type("/lokasi -7.6298 111.5239", "Kirim foto")
    if photo is not None:
        await terminal.type(f"/foto {photo}", "Foto diterima")
        await terminal.type("selesai", "privasi")
    else:
        await terminal.type("lewati", "privasi")
    await terminal.type("biasa", "Periksa")
    await terminal.type("kirim", "MDN-00001")


def group_texts(fake: FakeTelegram) -> list[str]:
    return [c.params["text"] for c in fake.calls_to("sendMessage") if c.chat_id == GROUP]


async def test_serve_and_chat_each_send_their_own_channels(
    database_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    photo = tmp_path / "lampu.jpg"
    Image.new("RGB", (32, 24), (250, 200, 0)).save(photo, "JPEG")
    async with server_and_chat(database_url, tmp_path, fake_telegram) as (
        server,
        base_url,
        terminal,
    ):
        await file_on_the_console(terminal, photo)
        # The console cannot send the officers' card (Telegram): the server does.
        await eventually(lambda: any("MDN-00001" in t for t in group_texts(fake_telegram)))
        # The photo typed with /foto is read and stored by the chat, which can read it; the
        # server, which cannot, leaves it alone.
        async with server.store.unit_of_work() as uow:
            report = await uow.reports.get("MDN-00001")
            assert report is not None and report.id is not None
        for _ in range(200):
            async with server.store.unit_of_work() as uow:
                (attachment,) = await uow.reports.attachments(report.id)
            if attachment.fetch_status != "pending":
                break
            await asyncio.sleep(0.05)
        assert attachment.fetch_status == "stored" and attachment.attempts == 1

        # An officer verifies it through the server; the citizen on the console sees it
        # without typing anything (the chat sends what the server queued for it).
        async with api(base_url) as client:
            moved = await client.post("/api/reports/MDN-00001/status", json={"status": "verified"})
            assert moved.status_code == 200, moved.text
            await terminal.shows("Terverifikasi")
            dead = (await client.get("/api/outbox", params={"status": "dead"})).json()
        assert dead["rows"] == [] and dead["counts"].get("dead", 0) == 0
        assert dead["counts"]["sent"] >= 10


async def test_a_dead_reply_is_logged_listed_shown_and_sent_again(
    sqlite_url: str,
    tmp_path: Path,
    fake_telegram: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.core.dispatcher")
    fake_telegram.fail_next("sendMessage", 400, "Bad Request: wrong parameter action in request")
    async with server_and_chat(sqlite_url, tmp_path, fake_telegram) as (_, base_url, terminal):
        await file_on_the_console(terminal)
        async with api(base_url) as client:

            async def dead_rows() -> list[dict[str, object]]:
                body = (await client.get("/api/outbox", params={"status": "dead"})).json()
                return list(body["rows"])

            rows: list[dict[str, object]] = []
            for _ in range(200):
                if rows := await dead_rows():
                    break
                await asyncio.sleep(0.05)
            (row,) = rows
            assert row["channel"] == "telegram" and "Wrong parameter" in str(row["error"])
            assert "MDN-00001" in str(row["text"]) and "chat_id" not in row
            assert any(
                r.levelno == logging.WARNING and "Wrong parameter" in r.getMessage()
                for r in caplog.records
            )
            bad = await client.get("/api/outbox", params={"status": "lost"})
            assert bad.status_code == 422

            async with httpx.AsyncClient(base_url=base_url, timeout=10) as browser:
                page = await browser.get(
                    "/dashboard", headers={"Authorization": f"Bearer {API_TOKEN}"}
                )
            assert "Balasan yang tidak terkirim: 1" in page.text
            assert "Wrong parameter" in page.text

            env = service_env(sqlite_url, tmp_path, **desk_env(fake_telegram))
            listed = await lapor(env, "outbox")
            assert "dead 1" in listed and "Wrong parameter" in listed and str(row["id"]) in listed
            assert "MDN-00001" in listed
            unknown = await lapor(env, "outbox", "--retry", "999999", expect_code=1)
            assert "999999" in unknown
            again = await lapor(env, "outbox", "--retry", str(row["id"]))
            assert "1 row(s) queued again" in again

            # The running server sends it within a second or so; nothing is dead any more.
            await eventually(lambda: any("MDN-00001" in t for t in group_texts(fake_telegram)))
            assert await dead_rows() == []
            assert "dead 0" in await lapor(env, "outbox")


async def lapor(env: dict[str, str], *args: str, expect_code: int = 0) -> str:
    """Run the `lapor` command line as a separate process; its output (stdout and stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode()
    assert process.returncode == expect_code, text
    return text
