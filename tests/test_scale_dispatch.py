"""Several outbox dispatchers on one PostgreSQL database, and a platform that fails a lot."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import telegram_updates as tg
from app_server import make_service, serve, telegram_env
from fake_telegram import FakeTelegram
from procs import citizen, expected_replies, forget_redis_keys, text_script
from test_scale_processes import (
    Records,
    assert_in_order,
    assert_replies_delivered_in_order,
    post,
    sent_texts,
    until,
)

from bot.compose import create_app
from bot.core.dispatcher import Dispatcher
from channels.telegram import TelegramSender
from intake.types import Reply
from storage import Database, Store
from storage.migrate import upgrade

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def dispatch_redis(postgres_url: str, redis_url: str) -> Iterator[str]:
    yield redis_url
    forget_redis_keys(postgres_url, redis_url)


async def test_four_dispatchers_send_each_row_once_in_order(
    postgres_url: str, fake_telegram: FakeTelegram
) -> None:
    upgrade(postgres_url)
    records = Records(postgres_url)
    now = datetime.now(UTC)
    async with records.store.unit_of_work() as uow:
        for i in range(12):
            for chat in range(20):
                text = f"reply {i} to chat {chat}"
                await uow.outbox.add(
                    f"telegram:{chat}", "telegram", str(chat), Reply(text).to_dict(), now
                )
    stores = [Store(Database(postgres_url)) for _ in range(4)]
    senders = [TelegramSender(fake_telegram.token, fake_telegram.api_base) for _ in stores]
    dispatchers = [
        Dispatcher(store, {"telegram": sender}, batch=7)
        for store, sender in zip(stores, senders, strict=True)
    ]
    tasks = [asyncio.create_task(d.run(idle_wait=0.05)) for d in dispatchers]
    try:
        await until(records.all_sent, what="every row sent")
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for store, sender in zip(stores, senders, strict=True):
            await sender.aclose()
            await store.dispose()
    for chat in range(20):
        assert sent_texts(fake_telegram, str(chat)) == [
            f"reply {i} to chat {chat}" for i in range(12)
        ]
    await assert_replies_delivered_in_order(records, fake_telegram)
    await records.close()


async def test_every_reply_arrives_in_order_when_the_platform_fails_30_percent(
    postgres_url: str, dispatch_redis: str, fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    """Two services (as two workers) share PostgreSQL and Redis; the Bot API answers 30% of
    sends with 500, 429 (retry after 1 s) or not at all within the client's timeout."""
    upgrade(postgres_url)
    env = {**telegram_env(fake_telegram), "LAPOR_STORAGE__REDIS_URL": dispatch_redis}
    services = [make_service(postgres_url, tmp_path, **env) for _ in range(2)]
    for service in services:
        service.add_sender(
            TelegramSender(fake_telegram.token, fake_telegram.api_base, request_timeout=0.4)
        )
        service.dispatcher.base_delay = 0.05  # retry sooner than production would
    fake_telegram.fail_randomly(0.3, hang=1.0, seed=8)
    records = Records(postgres_url)
    citizens = range(8)
    async with (
        serve(create_app(services[0])) as url_a,
        serve(create_app(services[1])) as url_b,
        httpx.AsyncClient(timeout=30) as client,
    ):

        async def reporter(n: int) -> None:
            for i, (line, _) in enumerate(text_script(n)):
                response = await post(
                    client, (url_a, url_b)[(i + n) % 2], tg.text(line, user=citizen(n))
                )
                assert response.status_code == 200

        await asyncio.gather(*(reporter(n) for n in citizens))
        await until(records.all_sent, within=60, what="every reply sent")
    fake_telegram.fail_randomly(0)

    failures = [c.status for c in fake_telegram.calls_to("sendMessage", ok_only=False)]
    assert {500, 429, 504} <= set(failures), "every kind of failure happened"
    assert failures.count(200) / len(failures) < 0.8
    for n in citizens:
        assert_in_order(sent_texts(fake_telegram, str(citizen(n)["id"])), expected_replies(n))
    await assert_replies_delivered_in_order(records, fake_telegram, exactly_once=False)
    await records.close()
