"""`lapor chat`: the terminal as the citizen's phone, on the real pipeline and database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TextIO

from bot.core.pipeline import Pipeline
from bot.core.ports import Clock
from channels.console import HELP, ConsoleChannel
from channels.wire import clean_text

QUIT = {"/keluar", "/quit", "/exit"}
POLL_SECONDS = 1.0  # while waiting for a line: how often to send what others queued


async def converse(
    console: ConsoleChannel,
    pipeline: Pipeline,
    drain: Callable[[], Awaitable[int]],
    clock: Clock,
    lines: TextIO,
    out: TextIO,
    *,
    poll_seconds: float = POLL_SECONDS,
) -> None:
    """Read lines until end of input or a quit word; each line is one citizen message, and the
    outbox is drained (so the replies are printed) before the next prompt. While waiting for a
    line the outbox is drained every `poll_seconds`, so what an officer or `lapor serve` queued
    for the console (a status update, a reply) is printed too."""
    out.write(HELP + "\n")
    out.write("\nanda> ")
    out.flush()
    while True:
        reading = asyncio.ensure_future(asyncio.to_thread(lines.readline))
        while not reading.done():
            await asyncio.wait({reading}, timeout=poll_seconds)
            if not reading.done() and await drain():
                out.write("\nanda> ")
                out.flush()
        line = reading.result()
        if not line or line.strip().lower() in QUIT:
            break
        if not line.strip():
            out.write("anda> ")
            out.flush()
            continue
        line = clean_text(line)  # a pasted NUL would not store on PostgreSQL
        message = console.parse(line, clock())
        await pipeline.accept(message, raw={"line": line.rstrip("\n")})
        await drain()
        out.write("\nanda> ")
        out.flush()
    out.write("\n")
