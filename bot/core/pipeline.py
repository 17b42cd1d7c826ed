"""From an accepted platform message to stored state and queued replies (DESIGN.md steps 3-7).

`accept()` is what a webhook route calls: it stores the message in the inbox (deduplicated on
the channel's external id) and processes it before the route answers. Processing is the pure
flow step plus one transaction; replies go to the outbox, never straight to a platform.
A message that fails to process stays in the inbox and is retried by `resume()`.

Where conversation state lives, how a conversation is locked, the fast duplicate check and the
per-sender rate limit are ports (`bot.core.ports`; `bot.scaling` provides Redis versions for several
workers); the defaults are the SQL conversation table, an in-process lock, and none. Whatever
is plugged in, the inbox's unique constraint decides what is a duplicate, and a message is
processed only while its inbox row is unprocessed, checked under the conversation lock.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.clock import utcnow
from bot.core.conversations import SqlConversations
from bot.core.locks import KeyedLocks
from bot.core.ports import (
    ApplyEffects,
    ConversationLocks,
    ConversationStore,
    Dedupe,
    EffectContext,
    Observer,
    RateLimit,
    Telemetry,
)
from intake import flow
from intake.catalog import Catalog
from intake.types import (
    ChannelCapabilities,
    InboundMessage,
    Reply,
    message_from_dict,
    message_to_dict,
)
from storage import ConcurrentUpdate, Store, UnitOfWork
from storage.recovery import find_inbox, processed_inbox

log = logging.getLogger(__name__)

MAX_PROCESS_ATTEMPTS = 5

STORED, PROCESSED = 1, 2

PROCESSOR_LANES = 8  # conversations processed at the same time by `run_processor`


@dataclass(frozen=True)
class Accepted:
    inbox_id: int | None  # None: a duplicate of something already accepted
    processed: bool


class Pipeline:
    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        capabilities: Mapping[str, ChannelCapabilities],
        apply_effects: ApplyEffects,
        *,
        clock: Callable[[], datetime] = utcnow,
        locks: ConversationLocks | None = None,
        on_outbox: Callable[[], None] = lambda: None,
        conversations: ConversationStore | None = None,
        dedupe: Dedupe | None = None,
        rate_limit: RateLimit | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.capabilities = dict(capabilities)
        self.apply_effects = apply_effects
        self.clock = clock
        self.locks: ConversationLocks = locks or KeyedLocks()
        self.on_outbox = on_outbox  # wakes the dispatcher
        self.conversations: ConversationStore = conversations or SqlConversations()
        self.dedupe = dedupe
        self.rate_limit = rate_limit
        self.telemetry = telemetry  # counts for /metrics
        self.observers: list[Observer] = []
        self._lanes: list[asyncio.Queue[tuple[int, InboundMessage]]] = []

    async def accept(self, message: InboundMessage, raw: Any = None) -> Accepted:
        """Store one inbound message, then process it. Safe to call twice with the same id."""
        started = time.perf_counter()
        inbox_id = await self._store(message, raw)
        if inbox_id is None:
            return Accepted(None, False)
        if not await self._within_rate_limit(inbox_id, message):
            return Accepted(inbox_id, False)
        processed = await self._process_timed(inbox_id, message, started)
        return Accepted(inbox_id, processed)

    async def receive(self, message: InboundMessage, raw: Any = None) -> Accepted:
        """What a webhook route calls: store the message (committed on return, so the route may
        acknowledge it) and, while `run_processor` runs, leave processing to it; otherwise
        process it here as `accept` does."""
        lanes = self._lanes
        if not lanes:
            return await self.accept(message, raw)
        inbox_id = await self._store(message, raw)
        if inbox_id is not None:
            lane = lanes[hash(message.conversation_key) % len(lanes)]
            lane.put_nowait((inbox_id, message))
        return Accepted(inbox_id, False)

    async def run_processor(self, lanes: int = PROCESSOR_LANES) -> None:
        """Process what `receive` stored. A conversation always goes to the same lane, and a
        lane processes in the order messages were stored, so each conversation's messages are
        processed in order while other conversations' go on meanwhile. What is still queued
        when this stops stays unprocessed in the inbox; `resume()` processes it (at the next
        start or sweep)."""
        queues = [asyncio.Queue[tuple[int, InboundMessage]]() for _ in range(lanes)]
        self._lanes = queues
        try:
            await asyncio.gather(*(self._lane(queue) for queue in queues))
        finally:
            self._lanes = []

    async def _lane(self, queue: asyncio.Queue[tuple[int, InboundMessage]]) -> None:
        while True:
            inbox_id, message = await queue.get()
            started = time.perf_counter()
            if await self._within_rate_limit(inbox_id, message):
                await self._process_timed(inbox_id, message, started)

    async def _process_timed(self, inbox_id: int, message: InboundMessage, started: float) -> bool:
        processed = await self._process_safely(inbox_id, message)
        if processed and self.telemetry is not None:
            self.telemetry.message_processed(message.channel, time.perf_counter() - started)
        return processed

    async def _store(self, message: InboundMessage, raw: Any) -> int | None:
        """The inbox id of the newly stored message; None for a duplicate (handled here)."""
        if await self._stage(message) == PROCESSED:
            return None  # the fast path: no database round trip
        payload = {"message": message_to_dict(message), "raw": raw}
        inbox_id = await self.store.accept_inbound(
            message.channel, message.external_id, payload, self.clock()
        )
        if inbox_id is None:
            await self._redelivered(message)
            return None
        await self._mark(message, STORED)
        if self.telemetry is not None:
            self.telemetry.message_received(message.channel)
        return inbox_id

    async def _redelivered(self, message: InboundMessage) -> None:
        """A duplicate. If the first copy was stored but never processed (its worker died before
        answering, so the platform sent it again), process the stored copy now."""
        async with self.store.unit_of_work() as uow:
            entry = await find_inbox(uow.session, message.channel, message.external_id)
            row = None
            if entry is not None and not entry.processed:
                row = await uow.inbox.get(entry.id)
        if entry is not None and entry.processed:
            await self._mark(message, PROCESSED)
        if row is None or row.id is None or row.attempts >= MAX_PROCESS_ATTEMPTS:
            return
        try:
            stored = message_from_dict(row.payload["message"])
        except (KeyError, TypeError, ValueError):
            return  # resume() marks it unreadable
        await self._process_safely(row.id, stored)

    async def _stage(self, message: InboundMessage) -> int:
        if self.dedupe is None:
            return 0
        try:
            return await self.dedupe.stage(message.channel, message.external_id)
        except Exception as exc:  # the fast path is optional: the database decides
            log.warning("dedupe fast path unavailable: %s", exc)
            return 0

    async def _mark(self, message: InboundMessage, stage: int) -> None:
        if self.dedupe is not None:
            try:
                await self.dedupe.mark(message.channel, message.external_id, stage)
            except Exception as exc:
                log.warning("dedupe fast path unavailable: %s", exc)

    async def _within_rate_limit(self, inbox_id: int, message: InboundMessage) -> bool:
        """False for a message over the sender's rate limit: it stays stored in the inbox (it
        was acknowledged) but is marked handled without being processed. The first one over the
        limit in a window gets one polite notice; the rest only a log line."""
        limiter = self.rate_limit
        if limiter is None:
            return True
        try:
            count = await limiter.hit(message.channel, message.sender_id)
        except Exception as exc:
            log.warning("rate limit unavailable, message processed: %s", exc)
            return True
        if count <= limiter.limit:
            return True
        sender = hashlib.sha256(message.sender_id.encode()).hexdigest()[:10]
        log.warning(
            "rate limit: %s sender %s sent %d messages within %gs; inbox row %s not processed",
            message.channel,
            sender,
            count,
            limiter.window,
            inbox_id,
        )
        notify = count == limiter.limit + 1
        key = message.conversation_key
        now = self.clock()
        async with self.locks.hold(key), self.store.unit_of_work() as uow:
            if notify:
                loaded, _ = await self.conversations.load(uow, key)
                lang = (
                    flow.ConversationState.from_dict(loaded).lang
                    if loaded is not None
                    else self.catalog.default_language
                )
                notice = Reply(self.catalog.texts.get("rate_limited", lang))
                await self._queue(uow, key, message.channel, message.chat_id, notice, now)
            await uow.inbox.mark_processed(inbox_id, now, "rate limited: not processed")
        await self._mark(message, PROCESSED)
        if notify:
            self.on_outbox()
        return False

    async def resume(self) -> int:
        """Process inbox rows that were stored but not processed (after a crash or an error)."""
        done = 0
        for row in await self.store.unprocessed_inbox(limit=500):
            assert row.id is not None
            if row.attempts >= MAX_PROCESS_ATTEMPTS:
                continue
            try:
                message = message_from_dict(row.payload["message"])
            except (KeyError, TypeError, ValueError) as exc:
                async with self.store.unit_of_work() as uow:
                    await uow.inbox.mark_processed(row.id, self.clock(), f"unreadable: {exc}")
                continue
            if await self._process_safely(row.id, message):
                done += 1
        return done

    async def _process_safely(self, inbox_id: int, message: InboundMessage) -> bool:
        try:
            await self.process(inbox_id, message)
            return True
        except Exception as exc:  # a bug must not lose the message: it stays in the inbox
            log.exception("processing inbox row %s failed", inbox_id)
            await self.store.record_inbox_failure(inbox_id, f"{type(exc).__name__}: {exc}")
            return False

    async def process(self, inbox_id: int, message: InboundMessage) -> None:
        key = message.conversation_key
        async with self.locks.hold(key):
            for attempt in range(3):
                try:
                    async with self.store.unit_of_work() as uow:
                        await self._step(uow, inbox_id, message)
                    break
                except ConcurrentUpdate:
                    if attempt == 2:
                        raise
                    await asyncio.sleep(0.01 * (attempt + 1))
        await self._mark(message, PROCESSED)
        self.on_outbox()

    async def _step(self, uow: UnitOfWork, inbox_id: int, message: InboundMessage) -> None:
        if (await processed_inbox(uow.session, [inbox_id])).get(inbox_id):
            return  # another worker (a redelivery, a resume sweep) processed it meanwhile
        now = self.clock()
        key = message.conversation_key
        loaded, version = await self.conversations.load(uow, key)
        before = flow.ConversationState.from_dict(loaded) if loaded is not None else None
        contact = await uow.contacts.upsert(
            message.channel,
            message.sender_id,
            message.chat_id,
            display_name=message.sender_name,
            phone=message.phone,
            inbound_at=now,
        )
        # Replies held until the citizen wrote again (WhatsApp's 24-hour window) go out now.
        await uow.outbox.release_waiting(key, now)
        ctx = flow.FlowContext(now, self.catalog, self._capabilities(message.channel))
        outcome = flow.step(before, message, ctx)
        state, replies = await self.apply_effects(
            outcome, EffectContext(uow, message, contact, ctx, self.catalog)
        )
        for observer in self.observers:
            await observer(uow, before, state, outcome, message)
        await self.conversations.save(
            uow,
            key,
            message.channel,
            message.chat_id,
            state.to_dict(),
            version,
            now + self.catalog.conversation_timeout,
            now=now,
            inbox_id=inbox_id,
        )
        for reply in replies:
            await self._queue(uow, key, message.channel, message.chat_id, reply, now)
        await uow.inbox.mark_processed(inbox_id, now)

    @staticmethod
    async def _queue(
        uow: UnitOfWork, key: str, channel: str, chat_id: str, reply: Reply, now: datetime
    ) -> None:
        await uow.outbox.add(key, channel, chat_id, reply.to_dict(), now, now=now)

    def _capabilities(self, channel: str) -> ChannelCapabilities:
        return self.capabilities.get(channel, ChannelCapabilities())
