"""`lapor chat`: the real pipeline and database, with the terminal as the citizen's phone."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.service import Service, prepare_database
from bot.settings import Settings
from channels.console import HELP, ConsoleChannel

QUIT = {"/keluar", "/quit", "/exit"}


async def chat(settings: Settings, lines: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    await asyncio.to_thread(prepare_database, settings)
    console = ConsoleChannel(out)
    service = Service(settings, senders={console.name: console})
    await service.start(workers=False)
    out.write(HELP + "\n")
    try:
        out.write("\nanda> ")
        out.flush()
        while True:
            line = await asyncio.to_thread(lines.readline)
            if not line or line.strip().lower() in QUIT:
                break
            if not line.strip():
                out.write("anda> ")
                out.flush()
                continue
            message = console.parse(line, service.clock())
            await service.pipeline.accept(message, raw={"line": line.rstrip("\n")})
            await service.dispatcher.drain()
            out.write("\nanda> ")
            out.flush()
    finally:
        await service.stop()
    out.write("\n")
    return 0
