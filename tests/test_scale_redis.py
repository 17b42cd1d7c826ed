"""What workers share through Redis: state, locks, leases, rate limits, wake-ups, hand-backs.

Each test uses its own key namespace (the database URL names it), on the real Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import telegram_updates as tg
from app_server import TELEGRAM_SECRET as SECRET
from app_server import make_service, running_app, telegram_env
from fake_telegram import FakeTelegram
from helpers import eventually
from procs import forget_redis_keys
from sqlmodel import select

from bot.compose import Service
from bot.scaling.adapters import DistributedLocks, RedisConversationStore
from bot.scaling.cluster import RATE_LIMIT, Scaling, namespace_for
from channels.telegram import parse_update
from intake.types import Reply, message_to_dict
from storage import ConcurrentUpdate, Database, Store, UnitOfWork
from storage.migrate import upgrade
from storage.models import OUTBOX_INFLIGHT, OUTBOX_PENDING, InboxMessage, OutboxMessage
from storage.redis_state import (
    LockTimeout,
    RedisConversations,
    RedisLease,
    RedisLock,
    RedisState,
    RedisWakeups,
    RedisWorkers,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CHAT = str(tg.CITIZEN_ID)


@pytest.fixture
async def redis_state(sqlite_url: str, redis_url: str) -> AsyncIterator[RedisState]:
    state = RedisState(redis_url, namespace_for(sqlite_url))
    try:
        yield state
    finally:
        await state.aclose()
        forget_redis_keys(sqlite_url, redis_url)


@pytest.fixture
async def store(sqlite_url: str) -> AsyncIterator[Store]:
    upgrade(sqlite_url)
    store = Store(Database(sqlite_url))
    try:
        yield store
    finally:
        await store.dispose()


async def test_conversation_state_is_saved_by_compare_and_set(redis_state: RedisState) -> None:
    conversations = RedisConversations(redis_state)
    assert await conversations.load("telegram:1") is None
    common = {"inbox_id": 1, "previous": None, "previous_inbox_id": None, "ttl_seconds": 60}
    assert await conversations.save("telegram:1", {"step": "a"}, None, **common) == 1
    with pytest.raises(ConcurrentUpdate):
        await conversations.save("telegram:1", {"step": "b"}, None, **common)  # exists now
    assert await conversations.save("telegram:1", {"step": "b"}, 1, **common) == 2
    with pytest.raises(ConcurrentUpdate):
        await conversations.save("telegram:1", {"step": "stale"}, 1, **common)
    record = await conversations.load("telegram:1")
    assert record is not None and record.version == 2 and record.state == {"step": "b"}
    ttl = await redis_state.client.pttl(redis_state.key("conv", "telegram:1"))
    assert 0 < ttl <= 60_000


async def test_state_whose_transaction_never_committed_is_rolled_back_by_the_next_reader(
    redis_state: RedisState, store: Store
) -> None:
    """A worker wrote the new state to Redis and died before its database commit: the inbox
    row that produced the state is unprocessed, so the next step starts from the state before."""
    now = datetime.now(UTC)
    first = await store.accept_inbound("telegram", "m1", {}, now)
    second = await store.accept_inbound("telegram", "m2", {}, now)
    assert first is not None and second is not None
    async with store.unit_of_work() as uow:
        await uow.inbox.mark_processed(first, now)  # the first step committed, the second not
    conversations = RedisConversationStore(RedisConversations(redis_state))
    expires = now + timedelta(hours=2)
    async with store.unit_of_work() as uow:
        state, version = await conversations.load(uow, "telegram:7")
        assert state is None
        await conversations.save(
            uow, "telegram:7", "telegram", "7", {"n": 1}, version, expires, now=now, inbox_id=first
        )
        state, version = await conversations.load(uow, "telegram:7")
        assert state == {"n": 1}
        await conversations.save(
            uow, "telegram:7", "telegram", "7", {"n": 2}, version, expires, now=now, inbox_id=second
        )
        state, version = await conversations.load(uow, "telegram:7")
        assert state == {"n": 1}, "the uncommitted step is undone"
        await conversations.save(  # the retry of the second message, from the right state
            uow, "telegram:7", "telegram", "7", {"n": 2}, version, expires, now=now, inbox_id=second
        )
        await uow.inbox.mark_processed(second, now)
    async with store.unit_of_work() as uow:
        state, _ = await conversations.load(uow, "telegram:7")
        assert state == {"n": 2}


async def test_a_conversation_lock_excludes_other_holders_until_released_or_expired(
    redis_state: RedisState,
) -> None:
    one, other = RedisLock(redis_state, ttl=0.5), RedisLock(redis_state, ttl=0.5)
    token = await one.acquire("telegram:1")
    with pytest.raises(LockTimeout):
        await other.acquire("telegram:1", wait=0.1)
    assert not await other.release("telegram:1", "not-the-token")
    assert await one.extend("telegram:1", token)
    assert await one.release("telegram:1", token)
    again = await other.acquire("telegram:1", wait=0.1)
    started = time.monotonic()  # the holder "dies": the lock frees itself after its ttl
    await one.acquire("telegram:1", wait=2)
    assert 0.2 < time.monotonic() - started < 1.5
    assert not await other.release("telegram:1", again)


async def test_the_polling_lease_moves_when_its_holder_stops_renewing(
    redis_state: RedisState,
) -> None:
    first = RedisLease(redis_state, "telegram-polling", "worker-a", ttl=0.3)
    second = RedisLease(redis_state, "telegram-polling", "worker-b", ttl=0.3)
    assert await first.claim() and not await second.claim()
    assert await first.claim()  # renewing
    await asyncio.sleep(0.4)  # worker-a died
    assert await second.claim() and not await first.claim()
    assert await second.holder() == "worker-b"
    await second.release()
    assert await first.claim()


async def test_exclusive_work_runs_on_one_worker_and_moves_on_shutdown(
    sqlite_url: str, redis_url: str, redis_state: RedisState, tmp_path: Path
) -> None:
    service = make_service(sqlite_url, tmp_path, LAPOR_STORAGE__REDIS_URL=redis_url)
    workers = [Scaling(*_storage_urls(service), worker_id=f"w{i}") for i in range(2)]
    running: list[str] = []

    def job(name: str) -> Callable[[], Coroutine[Any, Any, None]]:
        async def work() -> None:
            running.append(name)
            await asyncio.Event().wait()

        return work

    tasks = [asyncio.create_task(w.exclusive("poll", job(w.worker_id))) for w in workers]
    await eventually(lambda: running)
    await asyncio.sleep(0.5)
    assert len(running) == 1
    holder = 0 if running == ["w0"] else 1
    tasks[holder].cancel()  # a clean shutdown gives the lease back at once
    with contextlib.suppress(asyncio.CancelledError):
        await tasks[holder]
    await eventually(lambda: len(running) == 2, within=5)
    assert running[1] == f"w{1 - holder}"
    tasks[1 - holder].cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await tasks[1 - holder]
    for w in workers:
        await w.close()
    await service.db.dispose()


async def test_wake_ups_reach_the_other_workers_only(redis_state: RedisState) -> None:
    mine, theirs = RedisWakeups(redis_state, "w1"), RedisWakeups(redis_state, "w2")
    heard: list[str] = []

    async def listen(wakeups: RedisWakeups, name: str) -> None:
        async for _ in wakeups.listen():
            heard.append(name)

    listeners = [asyncio.create_task(listen(mine, "w1")), asyncio.create_task(listen(theirs, "w2"))]
    await asyncio.sleep(0.2)  # subscribed
    await mine.publish()
    await eventually(lambda: heard)
    await asyncio.sleep(0.1)
    assert heard == ["w2"]
    for task in listeners:
        task.cancel()
    await asyncio.gather(*listeners, return_exceptions=True)


async def test_rows_claimed_by_a_dead_worker_are_handed_back_and_no_others(
    sqlite_url: str, redis_url: str, redis_state: RedisState, tmp_path: Path
) -> None:
    service = make_service(sqlite_url, tmp_path, LAPOR_STORAGE__REDIS_URL=redis_url)
    store, now = service.store, datetime.now(UTC)
    async with store.unit_of_work() as uow:
        for chat in ("1", "2"):
            await uow.outbox.add(f"telegram:{chat}", "telegram", chat, Reply("hi").to_dict(), now)
    dead = RedisWorkers(redis_state, "dead-worker")
    lease = now + timedelta(seconds=60)
    await dead.claiming(lease.isoformat())  # recorded before the claim, as the dispatcher does
    claimed = await store.claim_outbox(now, 60, limit=1)
    await dead.claimed(lease.isoformat(), len(claimed))
    later = now + timedelta(seconds=1)  # a living worker claims the other row
    alive = RedisWorkers(redis_state, "alive-worker")
    await alive.heartbeat()
    await alive.claiming((later + timedelta(seconds=60)).isoformat())
    assert len(await store.claim_outbox(later, 60, limit=5)) == 1

    scaling = Scaling(*_storage_urls(service), worker_id="sweeper")
    assert await scaling._sweep(service.store, RedisWorkers(redis_state, "sweeper")) == 1
    async with store.unit_of_work() as uow:
        rows = {r.chat_id: r.status for r in await _outbox(uow)}
    other = "2" if claimed[0].chat_id == "1" else "1"
    assert rows == {claimed[0].chat_id: OUTBOX_PENDING, other: OUTBOX_INFLIGHT}
    assert await dead.orphaned() == {}  # forgotten once handed back
    await scaling.close()
    await service.db.dispose()


async def _outbox(uow: UnitOfWork) -> list[OutboxMessage]:
    return list((await uow.session.exec(select(OutboxMessage))).all())


@pytest.fixture
async def redis_telegram(
    sqlite_url: str, redis_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> AsyncIterator[tuple[Service, httpx.AsyncClient]]:
    env = {**telegram_env(fake_telegram), "LAPOR_STORAGE__REDIS_URL": redis_url}
    service = make_service(sqlite_url, tmp_path, **env)
    async with running_app(service, {"X-Telegram-Bot-Api-Secret-Token": SECRET}) as client:
        yield service, client
    forget_redis_keys(sqlite_url, redis_url)


def texts(fake: FakeTelegram) -> list[str]:
    return [c.params["text"] for c in fake.calls_to("sendMessage") if c.chat_id == CHAT]


async def test_a_flood_gets_one_notice_and_the_excess_is_stored_not_processed(
    redis_telegram: tuple[Service, httpx.AsyncClient], fake_telegram: FakeTelegram
) -> None:
    service, client = redis_telegram
    flood = RATE_LIMIT + 5
    answers = await asyncio.gather(
        *(client.post("/webhooks/telegram", json=tg.text(f"spam {i}")) for i in range(flood))
    )
    assert [a.status_code for a in answers] == [200] * flood  # acknowledged, so stored
    await eventually(lambda: any("terlalu banyak" in t for t in texts(fake_telegram)))
    await asyncio.sleep(0.3)
    assert sum("terlalu banyak" in t for t in texts(fake_telegram)) == 1
    async with service.store.unit_of_work() as uow:
        rows = list((await uow.session.exec(select(InboxMessage))).all())
    assert len(rows) == flood and all(r.processed_at for r in rows)
    assert sum(r.error == "rate limited: not processed" for r in rows) == 5


async def test_a_redelivered_message_that_was_stored_but_never_processed_is_processed(
    redis_telegram: tuple[Service, httpx.AsyncClient], fake_telegram: FakeTelegram
) -> None:
    """A worker stored an update and died before processing it; Telegram sends it again, to
    another worker: that one processes the stored copy at once (not at the next resume sweep)."""
    service, client = redis_telegram
    update = tg.text("halo")
    (message,) = parse_update(update, now=datetime.now(UTC)).messages
    payload = {"message": message_to_dict(message), "raw": update}
    stored = await service.store.accept_inbound(
        "telegram", message.external_id, payload, datetime.now(UTC)
    )
    assert stored is not None
    assert (await client.post("/webhooks/telegram", json=update)).status_code == 200
    await eventually(lambda: texts(fake_telegram))
    assert (await client.post("/webhooks/telegram", json=update)).status_code == 200
    await asyncio.sleep(0.3)
    assert len(texts(fake_telegram)) == 1 and "setuju" in texts(fake_telegram)[0]
    assert await service.store.unprocessed_inbox() == []


async def test_the_same_update_twice_takes_the_fast_path(
    redis_telegram: tuple[Service, httpx.AsyncClient], fake_telegram: FakeTelegram
) -> None:
    service, client = redis_telegram
    update = tg.text("halo")
    assert (await client.post("/webhooks/telegram", json=update)).status_code == 200
    key = f"m{CHAT}:{update['message']['message_id']}"
    redis = service.scaling.redis
    assert redis is not None
    assert await redis.client.get(redis.key("seen", "telegram", key)) == b"2"  # processed
    assert (await client.post("/webhooks/telegram", json=update)).status_code == 200
    await eventually(lambda: texts(fake_telegram))
    await asyncio.sleep(0.3)
    assert len(texts(fake_telegram)) == 1
    ready = await client.get("/readyz")
    assert ready.json()["checks"] == {"database": True, "redis": True}


async def test_a_held_lock_is_always_let_go(redis_state: RedisState) -> None:
    """The lock's keeper extends it every ttl/3 while held; leaving the lock must never wait on
    a keeper stuck in a Redis command (redis-py can swallow a cancellation mid-command)."""
    locks = DistributedLocks(RedisLock(redis_state, ttl=0.03))  # extended every 10 ms
    rng = random.Random(5)

    async def hold(i: int) -> None:
        async with locks.hold(f"telegram:{i % 7}"):
            await asyncio.sleep(rng.uniform(0, 0.03))

    async with asyncio.timeout(20):
        await asyncio.gather(*(hold(i) for i in range(150)))
    assert len(locks.local) == 0


def _storage_urls(service: Service) -> tuple[str, str]:
    return service.settings.storage.redis_url, service.settings.storage.database_url
