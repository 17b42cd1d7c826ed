"""Running several workers: what they share through Redis (each worker of `lapor serve
--workers N` is built by `bot.compose.worker_app`).

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
import secrets
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

from bot.core.workers import Workers
from storage import Store
from storage.recovery import release_outbox_leases

if TYPE_CHECKING:  # redis-py is loaded only when storage.redis_url is set (start-up, memory)
    from bot.scaling.adapters import RedisInflightTracker
    from storage.redis_state import RedisLease, RedisState, RedisWakeups, RedisWorkers

log = logging.getLogger(__name__)

RATE_LIMIT = 30  # messages per sender per window; a person types far fewer, an album is <= 10
RATE_WINDOW = 60.0  # seconds
LOCK_TTL = 5.0  # seconds a dead worker can keep a conversation locked
LEASE_TTL = 5.0  # seconds a dead poller keeps the polling lease
HEARTBEAT_EVERY = 1.0
HEARTBEAT_TTL = 5.0  # a worker silent this long is dead: its outbox rows are handed back
SWEEP_EVERY = 2.0


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


class Scaling:
    """What one worker needs to cooperate with the others (inactive without Redis)."""

    def __init__(self, redis_url: str, database_url: str, *, worker_id: str | None = None) -> None:
        self.worker_id = worker_id or secrets.token_hex(6)
        self.redis: RedisState | None = None
        if redis_url:
            from storage.redis_state import RedisState

            self.redis = RedisState(redis_url, namespace_for(database_url))
        self._publish = asyncio.Event()

    @property
    def enabled(self) -> bool:
        return self.redis is not None

    def pipeline_options(self) -> dict[str, Any]:
        """Keyword arguments for `Pipeline`: the shared implementations, or the defaults."""
        if self.redis is None:
            return {}
        from bot.scaling.adapters import DistributedLocks, RedisConversationStore
        from storage.redis_state import RedisConversations, RedisDedupe, RedisLock, RedisRateLimit

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
        from bot.scaling.adapters import RedisInflightTracker
        from storage.redis_state import RedisWorkers

        return RedisInflightTracker(RedisWorkers(self.redis, self.worker_id, ttl=HEARTBEAT_TTL))

    def start(self, workers: Workers, store: Store, wake_outbox: Callable[[], None]) -> None:
        """Start the background loops in `workers`."""
        if self.redis is None:
            return
        from storage.redis_state import RedisWakeups

        wakeups = RedisWakeups(self.redis, self.worker_id)
        workers.run(self._publisher(wakeups), "outbox-wake-publish")
        workers.run(self._listener(wakeups, wake_outbox), "outbox-wake-listen")
        workers.run(self._supervise(store, wake_outbox), "worker-heartbeat")

    async def exclusive(self, name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `work()` on one worker of the deployment at a time, moving to another worker when
        the holder dies (after `LEASE_TTL`) or shuts down (at once). Without Redis, just run."""
        if self.redis is None:
            await work()
            return
        from storage.redis_state import RedisLease

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

    async def _supervise(self, store: Store, wake_outbox: Callable[[], None]) -> None:
        """Beat this worker's heart; hand back outbox rows of workers whose heart stopped."""
        assert self.redis is not None
        from storage.redis_state import RedisWorkers

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
                    if await self._sweep(store, workers):
                        wake_outbox()
            except Exception as exc:
                log.warning("worker heartbeat failed: %s", exc)
            cancellation_point()
            await asyncio.sleep(HEARTBEAT_EVERY)

    @staticmethod
    async def _sweep(store: Store, workers: RedisWorkers) -> int:
        released = 0
        for worker, leases in (await workers.orphaned()).items():
            async with store.unit_of_work() as uow:
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
