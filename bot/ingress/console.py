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


async def converse(
    console: ConsoleChannel,
    pipeline: Pipeline,
    drain: Callable[[], Awaitable[int]],
    clock: Clock,
    lines: TextIO,
    out: TextIO,
) -> None:
    """Read lines until end of input or a quit word; each line is one citizen message, and the
    outbox is drained (so the replies are printed) before the next prompt."""
    out.write(HELP + "\n")
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
        line = clean_text(line)  # a pasted NUL would not store on PostgreSQL
        message = console.parse(line, clock())
        await pipeline.accept(message, raw={"line": line.rstrip("\n")})
        await drain()
        out.write("\nanda> ")
        out.flush()
    out.write("\n")
