"""Sends what the outbox holds, in order per conversation, whatever the channel.

Each round claims the oldest due row of every conversation (so one slow or failing chat never
holds up another), sends those rows concurrently, and records the outcome: sent, retry later
(with back-off, or the platform's own `retry_after`), dead (can never succeed), or the recipient
is unreachable (blocked the bot): then the contact is marked and the row is dead; or held until
the citizen writes again (WhatsApp's 24-hour window): the row is "waiting" and blocks nothing.

`run()` keeps up to `concurrency` sends going and claims more as soon as a slot frees, so a chat
that is slow or timing out never delays the others. Several dispatchers (one per worker) may
share the outbox: the claim takes each row once (FOR UPDATE SKIP LOCKED on PostgreSQL, the write
lock on SQLite), and a row whose lease ran out (its sender died) goes back to pending. Each row
records who claimed it (`bot.core.liveness`): at start-up, and every few seconds after, the
rows of a process on this machine that is gone (killed, crashed) go back to pending at once,
instead of after their lease. With an `InflightTracker` (Redis), rows of a dead worker on any
machine are handed back within seconds too. A send's outcome is recorded as soon as it is
known, in its own short transaction, so a crash leaves only the sends under way unknown.

With a `Pacer` (`bot.core.pacing`) the claim skips the chats and channels whose platform limit
is reached for now (a burst of cards to one officers' group), so they wait, pending, while
every other chat goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot.core.clock import utcnow
from bot.core.liveness import Liveness
from bot.core.pacing import Pacer
from bot.core.ports import InflightTracker, Telemetry
from channels.base import ChannelSender, SendError, SendFailure
from intake.types import Reply
from storage import Store
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
BASE_DELAY = 1.0  # seconds; doubles per attempt
MAX_DELAY = 300.0
LEASE_SECONDS = 60
RECOVER_EVERY = 5.0  # seconds between looks for rows claimed by processes that are gone


def backoff(attempts: int, rng: random.Random | None = None, base: float = BASE_DELAY) -> float:
    """Exponential back-off with full jitter, in seconds, for the n-th failed attempt."""
    ceiling = min(MAX_DELAY, base * 2 ** max(attempts - 1, 0))
    return (rng or random).uniform(ceiling / 2, ceiling)


class Dispatcher:
    def __init__(
        self,
        store: Store,
        senders: Mapping[str, ChannelSender],
        *,
        clock: Callable[[], datetime] = utcnow,
        tracker: InflightTracker | None = None,
        telemetry: Telemetry | None = None,
        pacer: Pacer | None = None,
        liveness: Liveness | None = None,
        batch: int = 50,
        concurrency: int = 100,
    ) -> None:
        self.store = store
        self.senders = senders  # live: a sender added later is seen
        self.clock = clock
        self.batch = batch
        self.concurrency = concurrency
        self.base_delay = BASE_DELAY  # back-off of the first retry (doubles per attempt)
        self.lease_seconds = LEASE_SECONDS
        self.tracker = tracker
        self.telemetry = telemetry  # counts for /metrics
        self.pacer = pacer
        self.liveness = liveness or Liveness()
        self.owner = self.liveness.identity  # written into the rows this process claims
        self.rng = random.Random()  # jitter of retries (its own, not the global generator)
        self._wake = asyncio.Event()
        self._paced_wake: asyncio.TimerHandle | None = None

    def wake(self) -> None:
        self._wake.set()

    async def run(self, idle_wait: float = 1.0, shutdown_grace: float = 5.0) -> None:
        """Send forever; a wake-up (a new reply in the outbox, a send finished) cuts the idle
        wait short. On cancellation, sends under way get `shutdown_grace` seconds to finish."""
        sending: set[asyncio.Task[None]] = set()
        next_release = 0.0
        next_recover = time.monotonic() + RECOVER_EVERY
        await self.recover()  # before the first claim: a restart after a crash goes on at once

        def finished(task: asyncio.Task[None]) -> None:
            sending.discard(task)
            self._wake.set()  # a slot is free, and the chat's next row may be due

        try:
            while True:
                self._wake.clear()
                if time.monotonic() >= next_release:
                    next_release = time.monotonic() + self.lease_seconds / 4
                    try:
                        await self.store.release_expired_leases(self.clock())
                    except Exception:
                        log.exception("releasing expired outbox leases failed")
                if time.monotonic() >= next_recover:
                    next_recover = time.monotonic() + RECOVER_EVERY
                    await self.recover()
                free = self.concurrency - len(sending)
                rows: list[OutboxMessage] = []
                if free > 0:
                    try:
                        rows = await self._claim(min(self.batch, free))
                    except Exception:
                        log.exception("outbox claim failed")
                    task = asyncio.current_task()  # a client library may have swallowed a
                    if task is not None and task.cancelling():  # cancellation (redis-py#2028)
                        for row in rows:
                            sending.add(asyncio.create_task(self._deliver(row)))
                        raise asyncio.CancelledError
                for row in rows:
                    task = asyncio.create_task(self._deliver(row))
                    sending.add(task)
                    task.add_done_callback(finished)
                if not rows:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=idle_wait)
        finally:
            if sending:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait(set(sending), timeout=shutdown_grace)
                for task in list(sending):
                    task.cancel()

    async def recover(self) -> int:
        """Hand back the in-flight rows of processes that are gone (see `bot.core.liveness`);
        returns how many. A failure is logged: the leases still run out."""
        try:
            owners = await self.store.outbox_claimants()
            gone = [owner for owner in owners if self.liveness.gone(owner)]
            released = await self.store.release_outbox_claims(gone) if gone else 0
        except Exception:
            log.exception("handing back the outbox rows of stopped processes failed")
            return 0
        if released:
            log.warning(
                "handed back %d outbox row(s) of %d stopped process(es)", released, len(gone)
            )
            self._wake.set()
        return released

    async def _claim(self, limit: int) -> list[OutboxMessage]:
        now = self.clock()
        channels = list(self.senders)
        held = None
        if self.pacer is not None:
            paced = self.pacer.held()
            channels = [c for c in channels if c not in paced.channels]
            held = paced.chats
        if not channels:
            self._wake_when_paced()
            return []
        lease_until = now + timedelta(seconds=self.lease_seconds)  # as the claim computes it
        if self.tracker is not None:
            try:
                await self.tracker.claiming(lease_until)
            except Exception as exc:  # tracking only speeds up recovery; leases still expire
                log.warning("could not record an outbox claim: %s", exc)
        rows = await self.store.claim_outbox(
            now, self.lease_seconds, limit, channels=channels, owner=self.owner, held=held
        )
        if self.tracker is not None:
            try:
                await self.tracker.claimed(lease_until, rows)
            except Exception as exc:
                log.warning("could not record an outbox claim: %s", exc)
        return await self._pace(rows) if self.pacer is not None else rows

    async def _pace(self, rows: list[OutboxMessage]) -> list[OutboxMessage]:
        """The rows the pacer lets go now; the others go back to pending, as they were."""
        assert self.pacer is not None
        going: list[OutboxMessage] = []
        waiting: list[OutboxMessage] = []
        for row in rows:
            try:
                reply: Reply | None = Reply.from_dict(row.payload)
            except (KeyError, TypeError, ValueError):
                reply = None  # unreadable: it goes (to be marked dead), counted as one message
            allowed = self.pacer.take(row.channel, row.chat_id, reply)
            (going if allowed else waiting).append(row)
        if waiting:
            try:
                await self.store.outbox_unclaim([row.id for row in waiting if row.id is not None])
            except Exception:  # they stay in flight until their lease ends
                log.exception("returning paced outbox rows failed")
            for row in waiting:
                await self._count_off(row)
        self._wake_when_paced()
        return going

    def _wake_when_paced(self) -> None:
        """Look again when a window that holds rows back has room."""
        if self.pacer is None or (free := self.pacer.next_free()) is None:
            return
        loop = asyncio.get_running_loop()
        at = loop.time() + max(0.0, free - self.pacer.clock()) + 0.005
        if self._paced_wake is not None:
            if self._paced_wake.when() <= at:
                return  # an earlier wake-up is set
            self._paced_wake.cancel()
        self._paced_wake = loop.call_at(at, self._paced_woken)

    def _paced_woken(self) -> None:
        self._paced_wake = None
        self._wake.set()

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
        rows = await self._claim(self.batch)
        if rows:
            await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows)

    async def _deliver(self, row: OutboxMessage) -> None:
        try:
            await self._deliver_row(row)
        finally:
            await self._count_off(row)

    async def _count_off(self, row: OutboxMessage) -> None:
        if self.tracker is not None:
            try:
                await self.tracker.finished(row)
            except Exception as exc:
                log.warning("could not record a finished outbox row: %s", exc)

    async def _deliver_row(self, row: OutboxMessage) -> None:
        assert row.id is not None
        sender = self.senders.get(row.channel)
        if sender is None:  # claimed only for channels with a sender: it was removed since
            log.warning("%s reply %s is dead: no sender for its channel", row.channel, row.id)
            await self._dead(row, f"no sender for channel {row.channel!r}")
            return
        try:
            reply = Reply.from_dict(row.payload)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("%s reply %s is dead: unreadable payload", row.channel, row.id)
            await self._dead(row, f"unreadable payload: {exc}")
            return
        try:
            # Never outlive the lease: past it, another dispatcher may take the row.
            async with asyncio.timeout(self.lease_seconds / 2):
                sent = await sender.send(row.chat_id, reply)
        except TimeoutError:
            await self._failed(row, SendError(SendFailure.RETRY, "send timed out"))
        except SendError as exc:
            await self._failed(row, exc)
        except Exception as exc:  # a sender bug: retry, never lose the reply silently
            log.exception("sender %s raised", row.channel)
            await self._failed(row, SendError(SendFailure.RETRY, type(exc).__name__))
        else:
            await self.store.outbox_sent(row.id, sent.external_id, self.clock())

    async def _failed(self, row: OutboxMessage, error: SendError) -> None:
        assert row.id is not None
        if self.telemetry is not None:
            self.telemetry.send_failed(row.channel, error.failure)
        attempts = row.attempts + 1
        if error.failure is SendFailure.UNREACHABLE:
            log.warning("%s chat unreachable, reply is dead: %s", row.channel, error.reason)
            await self._dead(row, error.reason)
            await self._mark_unreachable(row.channel, row.chat_id)
        elif error.failure is SendFailure.WAIT:
            log.info("%s reply held until the citizen writes: %s", row.channel, error.reason)
            await self.store.outbox_wait(row.id, error.reason)
        elif error.failure is SendFailure.DEAD or attempts >= MAX_ATTEMPTS:
            log.warning("%s send gave up: %s", row.channel, error.reason)
            await self._dead(row, error.reason)
        else:
            delay = (
                error.retry_after
                if error.retry_after is not None
                else backoff(attempts, self.rng, base=self.base_delay)
            )
            due = self.clock() + timedelta(seconds=delay)
            await self.store.outbox_retry(row.id, due, error.reason)
            # Look again when it is due, rather than at the next idle tick.
            asyncio.get_running_loop().call_later(delay + 0.01, self._wake.set)

    async def _dead(self, row: OutboxMessage, reason: str) -> None:
        assert row.id is not None
        await self.store.outbox_dead(row.id, reason)
        if self.telemetry is not None:
            self.telemetry.dead_letter(row.channel)

    async def _mark_unreachable(self, channel: str, chat_id: str) -> None:
        async with self.store.unit_of_work() as uow:
            contact = await uow.contacts.by_chat(channel, chat_id)
            if contact is not None:
                await uow.contacts.set_reachable(channel, contact.user_id, False)
