"""Debian's Chromium, headless, for the tests that look at a page as a browser draws it
(the dashboard, the public page, the offline API docs)."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")


def headless_flags(profile: str, *extra: str) -> list[str]:
    """A quiet, offline-minded headless Chromium with its own throw-away profile."""
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *extra,
    ]


async def run_chromium(program: Path, *args: str) -> str:
    """Run the browser to the end and return what it printed (a dumped DOM, say)."""
    process = await asyncio.create_subprocess_exec(
        str(program),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "HOME": tempfile.gettempdir()},
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode(errors="replace")
