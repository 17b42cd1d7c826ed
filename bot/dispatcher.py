"""Sends what the outbox holds, in order per conversation, whatever the channel.

Each round claims the oldest due row of every conversation (so one slow or failing chat never
holds up another), sends those rows concurrently, and records the outcome: sent, retry later
(with back-off, or the platform's own `retry_after`), dead (can never succeed), or the recipient
is unreachable (blocked the bot): then the contact is marked and the row is dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot.pipeline import utcnow
from channels.base import ChannelSender, SendError, SendFailure
from intake.types import Reply
from storage import Store
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
BASE_DELAY = 1.0  # seconds; doubles per attempt
MAX_DELAY = 300.0
LEASE_SECONDS = 60


def backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Exponential back-off with full jitter, in seconds, for the n-th failed attempt."""
    ceiling = min(MAX_DELAY, BASE_DELAY * 2 ** max(attempts - 1, 0))
    return (rng or random).uniform(ceiling / 2, ceiling)


class Dispatcher:
    def __init__(
        self,
        store: Store,
        senders: Mapping[str, ChannelSender],
        *,
        clock: Callable[[], datetime] = utcnow,
        batch: int = 50,
    ) -> None:
        self.store = store
        self.senders = dict(senders)
        self.clock = clock
        self.batch = batch
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, idle_wait: float = 1.0) -> None:
        """Send forever; a wake-up (a new reply in the outbox) cuts the idle wait short."""
        await self.store.release_expired_leases(self.clock())
        while True:
            try:
                sent = await self.round()
            except Exception:
                log.exception("outbox round failed")
                sent = 0
            if sent == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=idle_wait)
                self._wake.clear()

    async def drain(self, max_rounds: int = 100) -> int:
        """Send everything that is due now (used by the console and by tests)."""
        total = 0
        for _ in range(max_rounds):
            handled = await self.round()
            if handled == 0:
                break
            total += handled
        return total

    async def round(self) -> int:
        rows = await self.store.claim_outbox(self.clock(), LEASE_SECONDS, self.batch)
        if rows:
            await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows)

    async def _deliver(self, row: OutboxMessage) -> None:
        assert row.id is not None
        sender = self.senders.get(row.channel)
        if sender is None:
            await self.store.outbox_dead(row.id, f"no sender for channel {row.channel!r}")
            return
        try:
            reply = Reply.from_dict(row.payload)
        except (KeyError, TypeError, ValueError) as exc:
            await self.store.outbox_dead(row.id, f"unreadable payload: {exc}")
            return
        try:
            sent = await sender.send(row.chat_id, reply)
        except SendError as exc:
            await self._failed(row, exc)
        except Exception as exc:  # a sender bug: retry, never lose the reply silently
            log.exception("sender %s raised", row.channel)
            await self._failed(row, SendError(SendFailure.RETRY, type(exc).__name__))
        else:
            await self.store.outbox_sent(row.id, sent.external_id, self.clock())

    async def _failed(self, row: OutboxMessage, error: SendError) -> None:
        assert row.id is not None
        attempts = row.attempts + 1
        if error.failure is SendFailure.UNREACHABLE:
            log.info("%s chat unreachable: %s", row.channel, error.reason)
            await self.store.outbox_dead(row.id, error.reason)
            await self._mark_unreachable(row.channel, row.chat_id)
        elif error.failure is SendFailure.DEAD or attempts >= MAX_ATTEMPTS:
            log.warning("%s send gave up: %s", row.channel, error.reason)
            await self.store.outbox_dead(row.id, error.reason)
        else:
            delay = error.retry_after if error.retry_after is not None else backoff(attempts)
            due = self.clock() + timedelta(seconds=delay)
            await self.store.outbox_retry(row.id, due, error.reason)

    async def _mark_unreachable(self, channel: str, chat_id: str) -> None:
        async with self.store.unit_of_work() as uow:
            contact = await uow.contacts.by_chat(channel, chat_id)
            if contact is not None:
                await uow.contacts.set_reachable(channel, contact.user_id, False)
