"""From an accepted platform message to stored state and queued replies (DESIGN.md steps 3-7).

`accept()` is what a webhook route calls: it stores the message in the inbox (deduplicated on
the channel's external id) and processes it before the route answers. Processing is the pure
flow step plus one transaction; replies go to the outbox, never straight to a platform.
A message that fails to process stays in the inbox and is retried by `resume()`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.effects import EffectContext, apply_effects
from bot.locks import KeyedLocks
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

log = logging.getLogger(__name__)

MAX_PROCESS_ATTEMPTS = 5

# Called inside the transaction after each step: (uow, state before, state after, outcome,
# message). Analytics hooks in here.
Observer = Callable[
    [
        UnitOfWork,
        "flow.ConversationState | None",
        flow.ConversationState,
        flow.Outcome,
        InboundMessage,
    ],
    Awaitable[None],
]


def utcnow() -> datetime:
    return datetime.now(UTC)


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
        *,
        clock: Callable[[], datetime] = utcnow,
        locks: KeyedLocks | None = None,
        on_outbox: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.capabilities = dict(capabilities)
        self.clock = clock
        self.locks = locks or KeyedLocks()
        self.on_outbox = on_outbox  # wakes the dispatcher
        self.observers: list[Observer] = []

    async def accept(self, message: InboundMessage, raw: Any = None) -> Accepted:
        """Store one inbound message, then process it. Safe to call twice with the same id."""
        payload = {"message": message_to_dict(message), "raw": raw}
        inbox_id = await self.store.accept_inbound(
            message.channel, message.external_id, payload, self.clock()
        )
        if inbox_id is None:
            return Accepted(None, False)
        processed = await self._process_safely(inbox_id, message)
        return Accepted(inbox_id, processed)

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
        self.on_outbox()

    async def _step(self, uow: UnitOfWork, inbox_id: int, message: InboundMessage) -> None:
        now = self.clock()
        key = message.conversation_key
        loaded = await uow.conversations.load(key)
        before = flow.ConversationState.from_dict(loaded[0]) if loaded else None
        version = loaded[1] if loaded else None
        contact = await uow.contacts.upsert(
            message.channel,
            message.sender_id,
            message.chat_id,
            display_name=message.sender_name,
            phone=message.phone,
            inbound_at=now,
        )
        ctx = flow.FlowContext(now, self.catalog, self._capabilities(message.channel))
        outcome = flow.step(before, message, ctx)
        state, replies = await apply_effects(
            outcome, EffectContext(uow, message, contact, ctx, self.catalog)
        )
        for observer in self.observers:
            await observer(uow, before, state, outcome, message)
        await uow.conversations.save(
            key,
            message.channel,
            message.chat_id,
            state.to_dict(),
            version,
            now + self.catalog.conversation_timeout,
            now=now,
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
