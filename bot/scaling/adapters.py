"""Redis implementations of the core's ports (`bot.core.ports`), for several workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.core.locks import KeyedLocks
from storage import UnitOfWork
from storage.models import OutboxMessage
from storage.recovery import processed_inbox
from storage.redis_state import RedisConversations, RedisLock, RedisWorkers

log = logging.getLogger(__name__)

STATE_KEPT = timedelta(days=30)  # idle conversation state kept this long after it expires


@dataclass(frozen=True)
class _Version:
    number: int | None  # the Redis record's version (None: no record)
    state: dict[str, Any] | None  # the state the step starts from (kept as one step of undo)
    inbox_id: int | None  # the inbox row that produced `state`


class RedisConversationStore:
    """`ConversationStore` on Redis, with the undo rule described in
    `bot.scaling.cluster`."""

    def __init__(self, conversations: RedisConversations) -> None:
        self.conversations = conversations

    async def load(self, uow: UnitOfWork, key: str) -> tuple[dict[str, Any] | None, Any]:
        record = await self.conversations.load(key)
        if record is None:
            # New here: a conversation from before Redis was switched on goes on from its row.
            row = await uow.conversations.load(key)
            state = row[0] if row is not None else None
            return state, _Version(None, state, None)
        state, inbox_id = record.state, record.inbox_id
        if inbox_id is not None:
            done = await processed_inbox(uow.session, [inbox_id])
            if done.get(inbox_id) is False:  # its transaction never committed
                log.info("conversation state of %s rolled back one step", key.split(":")[0])
                state, inbox_id = record.previous, record.previous_inbox_id
        return state, _Version(record.version, state, inbox_id)

    async def save(
        self,
        uow: UnitOfWork,
        key: str,
        channel: str,
        chat_id: str,
        state: dict[str, Any],
        version: Any,
        expires_at: datetime,
        *,
        now: datetime,
        inbox_id: int,
    ) -> None:
        loaded: _Version = version
        ttl = (expires_at - now + STATE_KEPT).total_seconds()
        await self.conversations.save(
            key,
            state,
            loaded.number,
            inbox_id=inbox_id,
            previous=loaded.state,
            previous_inbox_id=loaded.inbox_id,
            ttl_seconds=ttl,
        )


class DistributedLocks:
    """One holder per key across every worker: an in-process lock, then the Redis lock."""

    def __init__(self, lock: RedisLock) -> None:
        self.lock = lock
        self.local = KeyedLocks()

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        async with self.local.hold(key):
            token = await self.lock.acquire(key)
            # The keeper is told to stop, not cancelled: redis-py can swallow a cancellation
            # that lands mid-command (redis/redis-py#2028), which would leave it running.
            done = asyncio.Event()
            keeper = asyncio.create_task(self._keep(key, token, done))
            try:
                yield
            finally:
                done.set()
                await keeper
                try:
                    await self.lock.release(key, token)
                except Exception as exc:  # it expires by itself
                    log.warning("releasing a conversation lock failed: %s", exc)

    async def _keep(self, key: str, token: str, done: asyncio.Event) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=self.lock.ttl / 3)
            if done.is_set():
                return
            try:
                if not await self.lock.extend(key, token):
                    log.warning("a conversation lock expired while held (a long pause?)")
                    return
            except Exception as exc:
                log.warning("extending a conversation lock failed: %s", exc)


class RedisInflightTracker:
    """`InflightTracker` on `RedisWorkers`: claims by lease end, counted off row by row."""

    def __init__(self, workers: RedisWorkers) -> None:
        self.workers = workers

    async def claiming(self, lease_until: datetime) -> None:
        await self.workers.claiming(lease_until.isoformat())

    async def claimed(self, lease_until: datetime, rows: list[OutboxMessage]) -> None:
        await self.workers.claimed(lease_until.isoformat(), len(rows))

    async def finished(self, row: OutboxMessage) -> None:
        if row.lease_until is not None:
            await self.workers.finished(row.lease_until.isoformat())


# -- the whole ------------------------------------------------------------------------------------
