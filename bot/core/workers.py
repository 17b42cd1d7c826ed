"""The service's background tasks: long-running loops and short jobs, stopped together."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any


class Workers:
    def __init__(self) -> None:
        self._loops: list[asyncio.Task[None]] = []
        self._jobs: set[asyncio.Task[Any]] = set()

    def run(self, loop: Coroutine[Any, Any, None], name: str) -> None:
        """Run a background loop until `stop()`."""
        self._loops.append(asyncio.create_task(loop, name=name))

    def spawn(self, job: Coroutine[Any, Any, Any]) -> None:
        """Run a short job in the background (e.g. answering a button press)."""
        task = asyncio.create_task(job)
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    async def stop(self) -> None:
        """Cancel the loops, and wait for them and for the jobs still running."""
        for task in self._loops:
            task.cancel()
        for task in [*self._loops, *self._jobs]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._loops.clear()
