"""`GET /metrics` (issue 15, operations): Prometheus scraped over real HTTP while citizens write
to the real Telegram webhook and replies go to the fake Bot API; one `serve --workers 2` run
shows that every worker answers with the figures of the whole deployment."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import telegram_updates as tg
from app_server import API_TOKEN, TELEGRAM_SECRET, service_on, telegram_env
from fake_telegram import FakeTelegram
from helpers import eventually, eventually_async
from procs import ServiceProcess, citizen, service_env, text_script
from prometheus_client.parser import text_string_to_metric_families

from storage.migrate import upgrade

CHAT = str(tg.CITIZEN_ID)
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def post(client: httpx.AsyncClient, update: dict[str, Any]) -> Any:
    return client.post(
        "/webhooks/telegram",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )


def texts_to(fake: FakeTelegram, chat: str) -> list[str]:
    return [c.params["text"] for c in fake.calls_to("sendMessage") if c.chat_id == chat]


async def test_metrics_count_messages_reports_send_errors_and_the_outbox(
    database_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with service_on(database_url, tmp_path, telegram_env(fake_telegram)) as (_, client):
        start = await scrape(client)
        assert value(start, "lapor_inbound_messages_total", channel="telegram") == 0

        # A citizen files a whole report through the webhook.
        update: dict[str, Any] = {}
        for line, (expected, *_) in text_script(0):
            before = len(texts_to(fake_telegram, CHAT))
            update = tg.text(line)
            assert (await post(client, update)).status_code == 200
            await eventually(
                lambda b=before, e=expected: any(e in t for t in texts_to(fake_telegram, CHAT)[b:])
            )
        filed = await scrape(client)
        steps = len(text_script(0))
        assert value(filed, "lapor_inbound_messages_total", channel="telegram") == steps
        assert value(filed, "lapor_processing_seconds_count", channel="telegram") == steps
        assert (
            value(filed, "lapor_processing_seconds_bucket", channel="telegram", le="+Inf") == steps
        )
        assert value(filed, "lapor_processing_seconds_sum", channel="telegram") > 0
        assert value(filed, "lapor_reports_filed_total", channel="telegram") == 1
        assert value(filed, "lapor_outbox_messages", channel="telegram", status="sent") >= steps

        # Telegram delivers the last update again: stored once, so counted once.
        assert (await post(client, update)).status_code == 200
        again = await scrape(client)
        assert value(again, "lapor_inbound_messages_total", channel="telegram") == steps

        # Another citizen has blocked the bot: the reply is a dead letter, counted by kind.
        other = citizen(7)
        fake_telegram.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
        blocked = tg.text("halo", user=other)
        assert (await post(client, blocked)).status_code == 200

        async def dead_counted() -> Samples | None:
            now = await scrape(client)
            return now if value(now, "lapor_dead_letters_total", channel="telegram") else None

        dead = await eventually_async(dead_counted)
        assert value(dead, "lapor_send_errors_total", channel="telegram", kind="unreachable") == 1
        assert value(dead, "lapor_dead_letters_total", channel="telegram") == 1
        assert value(dead, "lapor_outbox_messages", channel="telegram", status="dead") == 1
        assert value(dead, "lapor_inbound_messages_total", channel="telegram") == steps + 1


async def test_metrics_need_an_api_token(sqlite_url: str, tmp_path: Path) -> None:
    async with service_on(sqlite_url, tmp_path, {}) as (_, client):
        assert (await client.get("/metrics")).status_code == 401
        wrong = {"Authorization": "Bearer not-the-token"}
        assert (await client.get("/metrics", headers=wrong)).status_code == 401
        samples = await scrape(client)
        # no channel has spoken yet: the figures are there, and empty
        assert value(samples, "lapor_reports_filed_total", channel="telegram") == 0
        assert "/metrics" not in (await client.get("/openapi.json")).text


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_every_worker_of_serve_workers_answers_with_the_deployments_counts(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    counts = tmp_path / "metrics"
    env = service_env(
        sqlite_url, tmp_path, **telegram_env(fake_telegram), PROMETHEUS_MULTIPROC_DIR=str(counts)
    )
    people = 12
    upgrade(sqlite_url)  # migrated beforehand: the workers start sooner on a busy machine
    service = ServiceProcess(env, workers=2)
    try:
        service.start(timeout=90)
        # `lapor serve` says which channels run and where their platform calls
        assert "channel telegram: webhook POST https://lapor.example.go.id/webhooks/telegram" in (
            service.log_text()
        )
        limits = httpx.Limits(max_keepalive_connections=0)  # a new connection per request
        async with httpx.AsyncClient(base_url=service.base_url, limits=limits, timeout=30) as c:
            # Rounds of messages from new citizens, until both workers took some (each worker
            # counts into its own file); the kernel hands connections to whichever accepts.
            sent = 0
            for _ in range(10):
                updates = [tg.text("halo", user=citizen(sent + n)) for n in range(people)]
                answers = await asyncio.gather(*(post(c, update) for update in updates))
                assert [a.status_code for a in answers] == [200] * people
                sent += people
                if len(list(counts.glob("counter_*.db"))) == 2:
                    break
                await asyncio.sleep(0.5)
            files = sorted(p.name for p in counts.iterdir())
            assert len(list(counts.glob("counter_*.db"))) == 2, (files, service.log_text()[-3000:])
            # ...and whichever worker is asked, it tells them all
            for _ in range(8):
                samples = await scrape(c)
                assert value(samples, "lapor_inbound_messages_total", channel="telegram") == sent
                processed = value(samples, "lapor_processing_seconds_count", channel="telegram")
                assert processed == sent
    finally:
        service.stop()
