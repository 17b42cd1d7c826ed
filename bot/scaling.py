"""Running several workers: what they share through Redis, and how `lapor serve --workers N`
starts them.

Without `storage.redis_url` nothing here is active: conversation state stays in the database,
the conversation lock is per process and there is no rate limit (the embedded single-worker
set-up). With it, every worker of the deployment shares:

- conversation state in Redis, written by compare-and-set on a version. The write happens inside
  the message's database transaction, just before the commit; if that commit then fails (or the
  worker dies in between), the next reader sees that the inbox row which produced the state is
  still unprocessed and goes back to the state before it (each record keeps one step of undo).
- a fast duplicate check (`storage.redis_state.RedisDedupe`); the inbox's unique constraint
  stays the final word.
- a per-conversation lock across processes (an in-process lock first, so only one task per
  worker waits on Redis), extended while held and freed `LOCK_TTL` seconds after a holder dies.
- a per-sender rate limit: `RATE_LIMIT` messages per `RATE_WINDOW` seconds. The excess is
  still acknowledged and stored in the inbox (anything acknowledged is stored), marked handled
  with the error "rate limited", and not processed; the first message over the limit in a window
  gets one polite notice (text key `rate_limited`), the rest a log line.
- outbox wake-ups: a new reply wakes every worker's dispatcher, not only the local one.
- worker heartbeats: outbox rows claimed by a worker that stopped beating go back to pending
  within seconds, rather than when their 60-second lease ends.
- leases for work that must run once (Telegram polling): `Scaling.exclusive()`.

Keys are namespaced by the database the workers share (see `namespace_for`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

from bot.locks import KeyedLocks
from bot.settings import Settings
from storage import UnitOfWork
from storage.models import OutboxMessage
from storage.recovery import processed_inbox, release_outbox_leases
from storage.redis_state import (
    RedisConversations,
    RedisDedupe,
    RedisLease,
    RedisLock,
    RedisRateLimit,
    RedisState,
    RedisWakeups,
    RedisWorkers,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

    from bot.service import Service

log = logging.getLogger(__name__)

RATE_LIMIT = 30  # messages per sender per window; a person types far fewer, an album is <= 10
RATE_WINDOW = 60.0  # seconds
LOCK_TTL = 5.0  # seconds a dead worker can keep a conversation locked
LEASE_TTL = 5.0  # seconds a dead poller keeps the polling lease
HEARTBEAT_EVERY = 1.0
HEARTBEAT_TTL = 5.0  # a worker silent this long is dead: its outbox rows are handed back
SWEEP_EVERY = 2.0
STATE_KEPT = timedelta(days=30)  # idle conversation state kept this long after it expires


def cancellation_point() -> None:
    """Raise CancelledError if this task was asked to stop. Called after Redis commands in
    loops: redis-py can swallow a cancellation that lands mid-command (redis/redis-py#2028)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def stop_task(task: asyncio.Task[Any], grace: float = 5.0) -> None:
    """Cancel `task` and wait for it, cancelling again if a cancellation got lost."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=grace)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()


def namespace_for(database_url: str) -> str:
    """Workers of one deployment share a database; its URL (without password) names the keys.
    So give every worker the same `storage.database_url` (same host spelling, same name)."""
    url = make_url(database_url).set(password=None)
    rendered = url.render_as_string(hide_password=False)
    return hashlib.sha256(rendered.encode()).hexdigest()[:12]


# -- the pieces the pipeline plugs in ---------------------------------------------------------


@dataclass(frozen=True)
class _Version:
    number: int | None  # the Redis record's version (None: no record)
    state: dict[str, Any] | None  # the state the step starts from (kept as one step of undo)
    inbox_id: int | None  # the inbox row that produced `state`


class RedisConversationStore:
    """`ConversationStore` on Redis, with the undo rule described in the module doc."""

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


class Scaling:
    """What one worker needs to cooperate with the others (inactive without Redis)."""

    def __init__(self, settings: Settings, *, worker_id: str | None = None) -> None:
        self.worker_id = worker_id or secrets.token_hex(6)
        self.redis: RedisState | None = None
        if settings.storage.redis_url:
            namespace = namespace_for(settings.storage.database_url)
            self.redis = RedisState(settings.storage.redis_url, namespace)
        self._publish = asyncio.Event()

    @property
    def enabled(self) -> bool:
        return self.redis is not None

    def pipeline_options(self) -> dict[str, Any]:
        """Keyword arguments for `Pipeline`: the shared implementations, or the defaults."""
        if self.redis is None:
            return {}
        return {
            "conversations": RedisConversationStore(RedisConversations(self.redis)),
            "locks": DistributedLocks(RedisLock(self.redis, ttl=LOCK_TTL)),
            "dedupe": RedisDedupe(self.redis),
            "rate_limit": RedisRateLimit(self.redis, limit=RATE_LIMIT, window=RATE_WINDOW),
        }

    def outbox_notifier(self, wake_local: Callable[[], None]) -> Callable[[], None]:
        """What the pipeline calls after queueing replies: wake this worker's dispatcher now,
        and the others' through Redis (coalesced by the publisher loop)."""

        def notify() -> None:
            wake_local()
            if self.redis is not None:
                self._publish.set()

        return notify

    def tracker(self) -> RedisInflightTracker | None:
        if self.redis is None:
            return None
        return RedisInflightTracker(RedisWorkers(self.redis, self.worker_id, ttl=HEARTBEAT_TTL))

    def start(self, service: Service) -> None:
        """Start the background loops (in `service`'s worker set)."""
        if self.redis is None:
            return
        wakeups = RedisWakeups(self.redis, self.worker_id)
        service.run_worker(self._publisher(wakeups), "outbox-wake-publish")
        service.run_worker(self._listener(wakeups, service.dispatcher.wake), "outbox-wake-listen")
        service.run_worker(self._supervise(service), "worker-heartbeat")

    async def exclusive(self, name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `work()` on one worker of the deployment at a time, moving to another worker when
        the holder dies (after `LEASE_TTL`) or shuts down (at once). Without Redis, just run."""
        if self.redis is None:
            await work()
            return
        lease = RedisLease(self.redis, name, self.worker_id, ttl=LEASE_TTL)
        pause = LEASE_TTL / 5
        try:
            while True:
                if not await self._claim(lease):
                    cancellation_point()
                    await asyncio.sleep(pause)
                    continue
                log.info("worker %s runs %s", self.worker_id, name)
                task = asyncio.create_task(work(), name=name)
                try:
                    while True:
                        await asyncio.wait({task}, timeout=pause)
                        if task.done() or not await self._claim(lease):
                            break
                        cancellation_point()
                finally:
                    await stop_task(task)
                log.warning("worker %s stopped running %s", self.worker_id, name)
                await asyncio.sleep(pause)
        finally:
            with contextlib.suppress(Exception):
                await lease.release()

    @staticmethod
    async def _claim(lease: RedisLease) -> bool:
        try:
            return await lease.claim()
        except Exception as exc:
            log.warning("lease %s: Redis unavailable: %s", lease.key, exc)
            return False

    async def _publisher(self, wakeups: RedisWakeups) -> None:
        while True:
            await self._publish.wait()
            self._publish.clear()
            try:
                await wakeups.publish()
            except Exception as exc:
                log.warning("outbox wake-up not published: %s", exc)
                await asyncio.sleep(1.0)
            cancellation_point()

    async def _listener(self, wakeups: RedisWakeups, wake: Callable[[], None]) -> None:
        while True:
            try:
                async for _ in wakeups.listen():
                    wake()
                    cancellation_point()
            except Exception as exc:
                log.warning("outbox wake-up subscription lost: %s", exc)
                await asyncio.sleep(1.0)
            cancellation_point()

    async def _supervise(self, service: Service) -> None:
        """Beat this worker's heart; hand back outbox rows of workers whose heart stopped."""
        assert self.redis is not None
        workers = RedisWorkers(self.redis, self.worker_id, ttl=HEARTBEAT_TTL)
        loop = asyncio.get_running_loop()
        next_sweep = 0.0
        # On shutdown the heartbeat just stops: what this worker still holds is handed back
        # once it has expired, after the dispatcher's shutdown grace, not during it.
        while True:
            try:
                await workers.heartbeat()
                if loop.time() >= next_sweep:
                    next_sweep = loop.time() + SWEEP_EVERY
                    if await self._sweep(service, workers):
                        service.dispatcher.wake()
            except Exception as exc:
                log.warning("worker heartbeat failed: %s", exc)
            cancellation_point()
            await asyncio.sleep(HEARTBEAT_EVERY)

    @staticmethod
    async def _sweep(service: Service, workers: RedisWorkers) -> int:
        released = 0
        for worker, leases in (await workers.orphaned()).items():
            async with service.store.unit_of_work() as uow:
                count = await release_outbox_leases(
                    uow.session, [datetime.fromisoformat(lease) for lease in leases]
                )
            await workers.forget(worker, leases)
            if count:
                log.warning("handed back %d outbox row(s) of stopped worker %s", count, worker)
            released += count
        return released

    async def ping(self) -> bool | None:
        """None without Redis; else whether Redis answers."""
        return None if self.redis is None else await self.redis.ping()

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


# -- `lapor serve --workers N` ----------------------------------------------------------------


def worker_app() -> FastAPI:
    """The app of one worker process (an import-string factory for uvicorn's `--workers`):
    configuration from `LAPOR_CONFIG` and the `LAPOR_*` environment, as `lapor serve` reads it."""
    from bot.app import create_app
    from bot.channels_setup import build_senders
    from bot.service import Service
    from bot.settings import load_settings

    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO,
            format=f"%(asctime)s %(levelname)s [{os.getpid()}] %(name)s: %(message)s",
        )
    settings = load_settings()
    service = Service(settings, senders=build_senders(settings))
    return create_app(service)
