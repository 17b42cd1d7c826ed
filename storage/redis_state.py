"""What several workers share through Redis (used only when `storage.redis_url` is set).

Every key lives under one namespace (``lapor:<namespace>:``), so deployments (and test runs)
sharing a Redis never see each other's keys. The pieces, each small and independent:

- `RedisConversations`: conversation state with a version number, written by compare-and-set.
  Each record also keeps the state it replaced and the inbox id that produced it, so a step whose
  database transaction did not commit can be undone by the next reader (see `bot.scaling.adapters`).
- `RedisDedupe`: a fast path in front of the inbox's unique constraint: "stored" once the inbox
  row is committed, "processed" once its transaction is. Only ever set after the database said
  so, so a hit can be trusted; a miss falls through to the database.
- `RedisLock`: a lease-style mutex (SET NX PX with a random token, released and extended only by
  its holder), for one message at a time per conversation and for "polling on one worker".
- `RedisRateLimit`: a fixed-window counter per sender.
- `RedisWakeups`: publish/subscribe so every worker's outbox dispatcher wakes up at once.
- `RedisWorkers`: worker heartbeats and the outbox claims each worker holds, so rows of a worker
  that died are handed to the living within seconds instead of when their lease expires.

Redis is a coordination and speed layer here: the database stays the record of what was
accepted, filed and sent.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from storage.errors import ConcurrentUpdate

# -- scripts ------------------------------------------------------------------------------------

# KEYS[1] conversation; ARGV: expected version ('' = must not exist), state, inbox id,
# previous state, previous inbox id, ttl ms. Returns the new version, or -1 on a conflict.
_SAVE_STATE = """
local current = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] == '' then
  if current then return -1 end
elseif current ~= ARGV[1] then
  return -1
end
local version = (tonumber(current) or 0) + 1
redis.call('HSET', KEYS[1], 'v', version, 's', ARGV[2], 'i', ARGV[3], 'ps', ARGV[4], 'pi', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return version
"""

# KEYS[1] lock; ARGV[1] token. 1 if released, 0 if it was not ours (expired, taken over).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS[1] lock; ARGV[1] token, ARGV[2] ttl ms. 1 if extended, 0 if no longer ours.
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

# KEYS[1] lease; ARGV[1] owner, ARGV[2] ttl ms. 1 if the caller holds the lease afterwards.
_CLAIM_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

# KEYS[1] a worker's claims; ARGV[1] lease. One row of the claim done; the claim goes at zero.
_FINISH = """
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if left <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return left
"""

# KEYS[1] counter; ARGV[1] window ms. The count in this window, this hit included.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
"""


class RedisState:
    """One Redis client and the namespace every key of this deployment lives under."""

    def __init__(self, url: str, namespace: str) -> None:
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30
        )
        self.prefix = f"lapor:{namespace}:"

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def ping(self) -> bool:
        try:
            return bool(await self.client.ping())
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return False

    async def aclose(self) -> None:
        await self.client.aclose()

    def script(self, source: str) -> Any:
        return self.client.register_script(source)


# -- conversation state -------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredState:
    """A conversation record: the latest state and the one it replaced."""

    version: int
    state: dict[str, Any] | None
    inbox_id: int | None  # the inbox row whose processing wrote `state`
    previous: dict[str, Any] | None
    previous_inbox_id: int | None


def _encode(state: dict[str, Any] | None) -> str:
    return "" if state is None else json.dumps(state, ensure_ascii=False, separators=(",", ":"))


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _decode(raw: bytes | str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    value = json.loads(raw)
    return value if isinstance(value, dict) else None


def _int(raw: bytes | str | None) -> int | None:
    return int(raw) if raw else None


class RedisConversations:
    def __init__(self, redis: RedisState) -> None:
        self.redis = redis
        self._save = redis.script(_SAVE_STATE)

    def _key(self, conversation: str) -> str:
        return self.redis.key("conv", conversation)

    async def load(self, conversation: str) -> StoredState | None:
        fields = await self.redis.client.hgetall(self._key(conversation))
        if not fields or b"v" not in fields:
            return None
        return StoredState(
            version=int(fields[b"v"]),
            state=_decode(fields.get(b"s")),
            inbox_id=_int(fields.get(b"i")),
            previous=_decode(fields.get(b"ps")),
            previous_inbox_id=_int(fields.get(b"pi")),
        )

    async def save(
        self,
        conversation: str,
        state: dict[str, Any],
        expected_version: int | None,
        *,
        inbox_id: int | None,
        previous: dict[str, Any] | None,
        previous_inbox_id: int | None,
        ttl_seconds: float,
    ) -> int:
        """Compare-and-set; the new version. Raises ConcurrentUpdate if the version moved."""
        version = await self._save(
            keys=[self._key(conversation)],
            args=[
                "" if expected_version is None else str(expected_version),
                _encode(state),
                "" if inbox_id is None else str(inbox_id),
                _encode(previous),
                "" if previous_inbox_id is None else str(previous_inbox_id),
                str(max(1000, int(ttl_seconds * 1000))),
            ],
        )
        if int(version) < 0:
            raise ConcurrentUpdate("conversation", conversation, expected_version)
        return int(version)

    async def delete(self, conversation: str) -> bool:
        return bool(await self.redis.client.delete(self._key(conversation)))


# -- inbound deduplication ----------------------------------------------------------------------

UNKNOWN, STORED, PROCESSED = 0, 1, 2
DEDUPE_TTL_SECONDS = 24 * 3600  # a fast path for redeliveries; the database remembers longer


class RedisDedupe:
    def __init__(self, redis: RedisState, ttl_seconds: int = DEDUPE_TTL_SECONDS) -> None:
        self.redis = redis
        self.ttl = ttl_seconds

    def _key(self, channel: str, external_id: str) -> str:
        return self.redis.key("seen", channel, external_id)

    async def stage(self, channel: str, external_id: str) -> int:
        raw = await self.redis.client.get(self._key(channel, external_id))
        return int(raw) if raw in (b"1", b"2") else UNKNOWN

    async def mark(self, channel: str, external_id: str, stage: int) -> None:
        # "stored" never overwrites "processed"; "processed" is final.
        await self.redis.client.set(
            self._key(channel, external_id), str(stage), ex=self.ttl, nx=stage == STORED
        )


# -- locks and leases ---------------------------------------------------------------------------


class LockTimeout(Exception):
    """The lock stayed taken for longer than the caller was willing to wait."""


class RedisLock:
    """Mutual exclusion by key, across processes. A holder that dies frees it after `ttl`."""

    def __init__(self, redis: RedisState, *, ttl: float = 5.0) -> None:
        self.redis = redis
        self.ttl = ttl
        self._release = redis.script(_RELEASE)
        self._extend = redis.script(_EXTEND)

    def _key(self, name: str) -> str:
        return self.redis.key("lock", name)

    async def acquire(self, name: str, *, wait: float = 30.0) -> str:
        """Take the lock (polling with back-off); its token. Raises LockTimeout."""
        token = secrets.token_hex(12)
        deadline = time.monotonic() + wait
        pause = 0.002
        while not await self.redis.client.set(
            self._key(name), token, nx=True, px=int(self.ttl * 1000)
        ):
            task = asyncio.current_task()  # redis-py may swallow a cancellation (#2028)
            if task is not None and task.cancelling():
                raise asyncio.CancelledError
            if time.monotonic() > deadline:
                raise LockTimeout(f"lock {name!r} still taken after {wait:g}s")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)
        return token

    async def extend(self, name: str, token: str) -> bool:
        return bool(await self._extend(keys=[self._key(name)], args=[token, int(self.ttl * 1000)]))

    async def release(self, name: str, token: str) -> bool:
        return bool(await self._release(keys=[self._key(name)], args=[token]))


class RedisLease:
    """A named lease held by one owner at a time (e.g. the worker that polls Telegram)."""

    def __init__(self, redis: RedisState, name: str, owner: str, *, ttl: float = 5.0) -> None:
        self.redis = redis
        self.key = redis.key("lease", name)
        self.owner = owner
        self.ttl = ttl
        self._claim = redis.script(_CLAIM_LEASE)
        self._release = redis.script(_RELEASE)

    async def claim(self) -> bool:
        """Take the lease if free, or extend it if ours; True when we hold it afterwards."""
        return bool(await self._claim(keys=[self.key], args=[self.owner, int(self.ttl * 1000)]))

    async def release(self) -> None:
        await self._release(keys=[self.key], args=[self.owner])

    async def holder(self) -> str | None:
        raw = await self.redis.client.get(self.key)
        return _text(raw) if raw else None


# -- rate limit ---------------------------------------------------------------------------------


class RedisRateLimit:
    """At most `limit` messages per sender per `window` seconds (fixed windows)."""

    def __init__(self, redis: RedisState, *, limit: int, window: float) -> None:
        self.redis = redis
        self.limit = limit
        self.window = window
        self._hit = redis.script(_HIT)

    async def hit(self, channel: str, sender: str) -> int:
        """Count one message; how many this sender sent in the current window, this one too."""
        window = int(time.time() // self.window)
        key = self.redis.key("rate", channel, sender, str(window))
        return int(await self._hit(keys=[key], args=[int(self.window * 1000) + 1000]))


# -- outbox wake-ups ----------------------------------------------------------------------------


class RedisWakeups:
    """Tell every worker that the outbox has something new."""

    def __init__(self, redis: RedisState, origin: str) -> None:
        self.redis = redis
        self.channel = redis.key("outbox-wake")
        self.origin = origin.encode()

    async def publish(self) -> None:
        await self.redis.client.publish(self.channel, self.origin)

    async def listen(self) -> AsyncIterator[bool]:
        """Yields for each wake-up from another worker (True) until cancelled."""
        pubsub = self.redis.client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            while True:
                message = await pubsub.get_message(timeout=30.0)
                task = asyncio.current_task()  # redis-py may swallow a cancellation (#2028)
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError
                if message is not None and message.get("data") != self.origin:
                    yield True
        finally:
            await pubsub.aclose()


# -- workers and their in-flight outbox rows ----------------------------------------------------


class RedisWorkers:
    """Heartbeats, and the outbox claims each worker holds: for each claim, the lease end its
    rows got and how many of them are still being sent. A claim is recorded *before* it is made,
    so a worker dying at any moment leaves nothing unrecorded."""

    def __init__(self, redis: RedisState, worker_id: str, *, ttl: float = 3.0) -> None:
        self.redis = redis
        self.worker_id = worker_id
        self.ttl = ttl
        self._finish = redis.script(_FINISH)

    def _alive(self, worker_id: str) -> str:
        return self.redis.key("alive", worker_id)

    def _claims(self, worker_id: str) -> str:
        return self.redis.key("claims", worker_id)

    def _registry(self) -> str:
        return self.redis.key("workers")

    async def heartbeat(self) -> None:
        async with self.redis.client.pipeline(transaction=False) as pipe:
            pipe.set(self._alive(self.worker_id), b"1", px=int(self.ttl * 1000))
            pipe.sadd(self._registry(), self.worker_id)
            await pipe.execute()

    async def claiming(self, lease: str) -> None:
        """About to claim rows with this lease end (their count is not known yet)."""
        async with self.redis.client.pipeline(transaction=False) as pipe:
            pipe.hset(self._claims(self.worker_id), lease, "-1")
            pipe.sadd(self._registry(), self.worker_id)
            await pipe.execute()

    async def claimed(self, lease: str, count: int) -> None:
        if count:
            await self.redis.client.hset(self._claims(self.worker_id), lease, str(count))
        else:
            await self.redis.client.hdel(self._claims(self.worker_id), lease)

    async def finished(self, lease: str) -> None:
        """One row of that claim is done with (sent, retried later or dead)."""
        await self._finish(keys=[self._claims(self.worker_id)], args=[lease])

    async def orphaned(self) -> dict[str, list[str]]:
        """Claims of workers whose heartbeat stopped: worker -> lease ends. A stopped worker
        with nothing left to hand back leaves the registry."""
        found: dict[str, list[str]] = {}
        for raw in await self.redis.client.smembers(self._registry()):
            worker = _text(raw)
            if worker == self.worker_id or await self.redis.client.exists(self._alive(worker)):
                continue
            leases = [_text(lease) for lease in await self.redis.client.hkeys(self._claims(worker))]
            if leases:
                found[worker] = leases
            else:
                await self.redis.client.srem(self._registry(), worker)
        return found

    async def forget(self, worker_id: str, leases: list[str]) -> None:
        if leases:
            await self.redis.client.hdel(self._claims(worker_id), *leases)
