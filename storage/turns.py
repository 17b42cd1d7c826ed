"""Turns at SQLite's one writer within a process, first come first served, except that an
urgent writer goes ahead of those still waiting (never ahead of the one writing).

The outbox dispatcher records a send's outcome urgently: a reply the platform has taken but
the database does not yet call sent would be sent again after a crash, so that record must not
queue behind a burst of inbound messages.
"""

from __future__ import annotations

import asyncio
from collections import deque


class WriteTurns:
    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def acquire(self, *, urgent: bool = False) -> None:
        if not self._held and not self._urgent and not self._waiting:
            self._held = True
            return
        queue = self._urgent if urgent else self._waiting
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # handed the turn just as the wait was cancelled: pass it on
            else:
                queue.remove(turn)
            raise

    def release(self) -> None:
        """End this turn: the next waiter (urgent ones first) writes, or no one."""
        for queue in (self._urgent, self._waiting):
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)  # the turn passes on; `_held` stays true
                    return
        self._held = False
