"""Several `lapor serve` processes sharing PostgreSQL and Redis (issue 8, acceptance).

The services run as real subprocesses; the test process plays Telegram twice over: it posts
webhooks like Telegram does (retrying whatever was not answered 200) and serves the fake Bot API
the services send replies to.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import telegram_updates as tg
from app_server import API_TOKEN, telegram_env
from app_server import TELEGRAM_SECRET as SECRET
from fake_telegram import FakeTelegram
from helpers import jpeg_with_gps
from procs import (
    ServiceProcess,
    citizen,
    expected_replies,
    forget_redis_keys,
    service_env,
    text_script,
)
from sqlmodel import col, select

from storage import Database, Store
from storage.migrate import upgrade
from storage.models import (
    OUTBOX_INFLIGHT,
    OUTBOX_PENDING,
    OUTBOX_SENT,
    Attachment,
    InboxMessage,
    OutboxMessage,
    Report,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def shared_redis(postgres_url: str, redis_url: str) -> Iterator[str]:
    """Redis for the deployment on `postgres_url`; its keys are deleted afterwards."""
    yield redis_url
    forget_redis_keys(postgres_url, redis_url)


def scale_env(
    database_url: str, redis_url: str, tmp_path: Path, fake: FakeTelegram, mode: str = "webhook"
) -> dict[str, str]:
    upgrade(database_url)  # `lapor migrate`: PostgreSQL is never migrated by `serve`
    return service_env(
        database_url, tmp_path, **telegram_env(fake, mode), LAPOR_STORAGE__REDIS_URL=redis_url
    )


def start_all(*processes: ServiceProcess) -> None:
    """Start several processes at once (each takes a second or two to import and start)."""
    for process in processes:
        process.start(wait=False)
    for process in processes:
        process.wait_ready()


async def post(client: httpx.AsyncClient, base_url: str, update: dict[str, Any]) -> httpx.Response:
    return await client.post(
        f"{base_url}/webhooks/telegram",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )


async def deliver(
    client: httpx.AsyncClient, base_urls: Callable[[], str], update: dict[str, Any]
) -> None:
    """Post `update` the way Telegram does: again (maybe elsewhere) until it is answered 200."""
    deadline = time.monotonic() + 60
    while True:
        try:
            response = await post(client, base_urls(), update)
            if response.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"update {update['update_id']} never acknowledged"
        await asyncio.sleep(0.1)


async def until(condition: Callable[[], Any], within: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        await asyncio.sleep(0.1)


class Records:
    """What the shared database says was received and sent."""

    def __init__(self, database_url: str) -> None:
        self.store = Store(Database(database_url))

    async def outbox(self) -> dict[str, list[OutboxMessage]]:
        async with self.store.unit_of_work() as uow:
            rows = await uow.session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))
            by_chat: dict[str, list[OutboxMessage]] = defaultdict(list)
            for row in rows.all():
                by_chat[row.chat_id].append(row)
        return by_chat

    async def all_sent(self) -> bool:
        return all(r.status == OUTBOX_SENT for rows in (await self.outbox()).values() for r in rows)

    async def inbox(self) -> list[InboxMessage]:
        async with self.store.unit_of_work() as uow:
            stmt = select(InboxMessage).order_by(col(InboxMessage.id))
            return list((await uow.session.exec(stmt)).all())

    async def reports(self) -> list[Report]:
        async with self.store.unit_of_work() as uow:
            return list((await uow.session.exec(select(Report))).all())

    async def attachments(self, report_id: int) -> list[Attachment]:
        async with self.store.unit_of_work() as uow:
            return await uow.reports.attachments(report_id)

    async def close(self) -> None:
        await self.store.dispose()


def sent_texts(fake: FakeTelegram, chat_id: str) -> list[str]:
    return [c.params["text"] for c in fake.calls_to("sendMessage") if c.chat_id == chat_id]


def assert_in_order(texts: Sequence[str], fragments: Sequence[str]) -> None:
    """Each fragment appears in its own text, in this order."""
    position = 0
    for fragment in fragments:
        while position < len(texts) and fragment not in texts[position]:
            position += 1
        assert position < len(texts), f"{fragment!r} missing or out of order in {texts}"
        position += 1


def delivered(fake: FakeTelegram, chat_id: str) -> list[Any]:
    """Successful Bot API calls that put a message into `chat_id`, in the order received."""
    with fake._lock:
        return [c for c in fake.calls if c.status == 200 and c.chat_id == chat_id]


async def assert_replies_delivered_in_order(
    records: Records, fake: FakeTelegram, *, exactly_once: bool = True
) -> None:
    """Every outbox row was sent, its (last) message reached the chat, and in outbox order.
    `exactly_once`: besides, no message was sent twice (a reply that failed half-way through
    is sent again whole, so only runs without platform failures can promise that)."""
    outbox = await records.outbox()
    assert outbox
    for chat_id, rows in outbox.items():
        assert [r.status for r in rows] == [OUTBOX_SENT] * len(rows), chat_id
        calls = delivered(fake, chat_id)
        message_ids = [str(c.message_id) for c in calls]
        positions = [message_ids.index(r.external_id) for r in rows]
        assert positions == sorted(positions), f"replies to {chat_id} out of order"
        if exactly_once:
            texts = [c.params.get("text") for c in calls]
            assert len(texts) == len(set(texts)), f"a reply to {chat_id} was sent twice: {texts}"


async def test_two_processes_take_turns_on_the_same_conversations(
    postgres_url: str, shared_redis: str, fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    env = scale_env(postgres_url, shared_redis, tmp_path, fake_telegram)
    fake_telegram.add_file("photo-a", jpeg_with_gps())
    fake_telegram.add_file("photo-b", jpeg_with_gps())
    a, b = ServiceProcess(env), ServiceProcess(env)
    records = Records(postgres_url)
    try:
        start_all(a, b)
        urls = [a.base_url, b.base_url]
        async with httpx.AsyncClient(timeout=30) as client:

            async def photo_reporter() -> None:
                """One citizen; every other update goes to the other process, and an album's
                two photos arrive at both processes at the same moment."""
                updates = [
                    tg.command("/start"),
                    tg.callback_query("agree"),
                    tg.text("Jalan depan pasar bolong gede, motor sering jatuh"),
                    tg.callback_query("yes"),
                    tg.location(-7.6298, 111.5239),
                ]
                for i, update in enumerate(updates):
                    assert (await post(client, urls[i % 2], update)).status_code == 200
                album = await asyncio.gather(
                    post(client, a.base_url, tg.photo("photo-a", media_group_id="alb-1")),
                    post(client, b.base_url, tg.photo("photo-b", media_group_id="alb-1")),
                )
                assert [r.status_code for r in album] == [200, 200]
                for i, data in enumerate(("done", "priv:anonymous", "send")):
                    response = await post(client, urls[i % 2], tg.callback_query(data))
                    assert response.status_code == 200

            async def text_reporter(n: int) -> None:
                user = citizen(n)
                for i, (line, _) in enumerate(text_script(n)):
                    response = await post(client, urls[(i + n) % 2], tg.text(line, user=user))
                    assert response.status_code == 200

            await asyncio.gather(photo_reporter(), *(text_reporter(n) for n in range(1, 7)))
            await until(records.all_sent, what="every reply sent")

        chat = str(tg.CITIZEN_ID)
        texts = sent_texts(fake_telegram, chat)
        assert_in_order(
            texts,
            ["Apakah Anda setuju?", "Ceritakan masalahnya", "Benar?", "Di mana lokasinya?"]
            + ["Kirim foto", "Foto diterima", "privasi", "Periksa laporan", "MDN-"],
        )
        assert sum("Foto diterima" in t for t in texts) == 1, texts  # one album, one answer
        for n in range(1, 7):
            assert_in_order(sent_texts(fake_telegram, str(citizen(n)["id"])), expected_replies(n))
        await assert_replies_delivered_in_order(records, fake_telegram)

        reports = {r.chat_id: r for r in await records.reports()}
        assert len(reports) == 7 and len({r.ticket for r in reports.values()}) == 7
        photo_report = reports[chat]
        assert photo_report.category_id == "jalan" and photo_report.kelurahan == "Kejuron"
        assert photo_report.anonymous and photo_report.id is not None
        photos = await records.attachments(photo_report.id)
        assert sorted(p.platform_ref for p in photos) == ["photo-a", "photo-b"]
        assert all(row.processed_at and not row.error for row in await records.inbox())
        secrets = {fake_telegram.token.split(":")[1], SECRET, API_TOKEN}
        for process in (a, b):
            log = process.log_text()
            assert "POST /webhooks/telegram" in log and not [s for s in secrets if s in log]
    finally:
        a.stop()
        b.stop()
        await records.close()


@dataclass(frozen=True)
class AtTheKill:
    """What the database and the fake Bot API held right after the SIGKILL."""

    unsent: list[OutboxMessage]  # rows pending or in flight
    unknown: set[tuple[str, str]]  # (chat, text) of rows in flight that the fake had got


SLOW_SEND = 0.3  # seconds the fake Bot API takes per message: sends are under way at the kill


async def snapshot_at_kill(records: Records, fake: FakeTelegram) -> AtTheKill:
    await asyncio.sleep(SLOW_SEND + 0.3)  # what the fake was doing when its caller died is done
    got = {(c.chat_id, c.params.get("text")) for c in fake.calls_to("sendMessage")}
    rows = [r for rows in (await records.outbox()).values() for r in rows]
    unsent = [r for r in rows if r.status in (OUTBOX_PENDING, OUTBOX_INFLIGHT)]
    unknown = {
        (r.chat_id, r.payload["text"])
        for r in unsent
        if r.status == OUTBOX_INFLIGHT and (r.chat_id, r.payload["text"]) in got
    }
    return AtTheKill(unsent, unknown)


async def kill_mid_burst_and_restart(
    env: dict[str, str], records: Records, fake: FakeTelegram, citizens: range
) -> None:
    """Citizens file reports while the service is SIGKILLed (after 30 acknowledged webhooks)
    and started again; then: every acknowledged message processed once, every reply delivered
    in order, a reply sent twice only if it was in flight and had reached Telegram at the kill
    (its outcome unknown), and every reply unsent at the kill delivered within 5 s of the
    restart (no chat waits for the 60-second lease). The fake Bot API is slow, so that sends
    are under way when the process dies."""
    service = ServiceProcess(env)
    fake.slow_down(SLOW_SEND)
    acknowledged = 0
    at_kill: AtTheKill | None = None
    restarted = 0.0
    try:
        service.start()
        async with httpx.AsyncClient(timeout=30) as client:

            async def reporter(n: int) -> None:
                nonlocal acknowledged
                for line, _ in text_script(n):
                    await deliver(client, lambda: service.base_url, tg.text(line, user=citizen(n)))
                    acknowledged += 1

            async def crash() -> None:
                nonlocal at_kill, restarted
                await until(lambda: asyncio.sleep(0, acknowledged >= 30), what="30 acks")
                service.kill()  # mid-burst: a dozen webhooks are being handled right now
                at_kill = await snapshot_at_kill(records, fake)
                await asyncio.to_thread(service.start)
                restarted = time.monotonic()

            await asyncio.gather(crash(), *(reporter(n) for n in citizens))
            await until(records.all_sent, what="every reply sent")

        # Every acknowledged webhook was processed once: each citizen's conversation advanced
        # exactly one step per message (a repeat would have answered twice or skipped a step).
        inbox = await records.inbox()
        assert len(inbox) == 8 * len(citizens)
        assert all(row.processed_at and not row.error for row in inbox)
        outbox = await records.outbox()
        for n in citizens:
            rows = outbox[str(citizen(n)["id"])]
            expected = expected_replies(n)
            assert len(rows) == len(expected), [r.payload["text"][:40] for r in rows]
            for row, fragment in zip(rows, expected, strict=True):
                assert fragment in row.payload["text"]
        # Every reply was delivered, in order; only a send whose outcome was unknown went twice.
        await assert_replies_delivered_in_order(records, fake, exactly_once=False)
        assert at_kill is not None
        sent = Counter((c.chat_id, c.params.get("text")) for c in fake.calls_to("sendMessage"))
        twice = {key for key, count in sent.items() if count > 1}
        assert twice <= at_kill.unknown, twice - at_kill.unknown
        assert all(count <= 2 for count in sent.values())
        # No chat stalled: what was unsent at the kill went out soon after the restart.
        calls = {str(c.message_id): c.at for c in fake.calls_to("sendMessage")}
        final = {r.id: r for rows in outbox.values() for r in rows}
        waits = [calls[str(final[r.id].external_id)] - restarted for r in at_kill.unsent]
        print(
            f"at the kill: {len(at_kill.unsent)} replies unsent, "
            f"{sum(r.status == OUTBOX_INFLIGHT for r in at_kill.unsent)} in flight, "
            f"{len(at_kill.unknown)} of them already at Telegram; sent twice: {len(twice)}; "
            f"longest wait after the restart: {max(waits, default=0):.2f} s"
        )
        assert max(waits, default=0) <= 5.0, sorted(waits)
        assert len({r.ticket for r in await records.reports()}) == len(citizens)
    finally:
        service.stop()


async def test_a_process_killed_mid_burst_loses_and_repeats_nothing(
    postgres_url: str, shared_redis: str, fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    env = scale_env(postgres_url, shared_redis, tmp_path, fake_telegram)
    records = Records(postgres_url)
    try:
        await kill_mid_burst_and_restart(env, records, fake_telegram, range(12))
    finally:
        await records.close()


async def test_a_single_process_on_sqlite_killed_mid_burst_goes_on_at_once(
    sqlite_url: str, fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    """`make run` killed: no Redis, one process; its restart hands back the dead process's
    rows at once instead of after their lease."""
    env = service_env(sqlite_url, tmp_path, **telegram_env(fake_telegram))
    records = Records(sqlite_url)
    try:
        await kill_mid_burst_and_restart(env, records, fake_telegram, range(12))
    finally:
        await records.close()


async def test_polling_runs_on_one_process_and_moves_when_that_process_dies(
    postgres_url: str, shared_redis: str, fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    env = scale_env(postgres_url, shared_redis, tmp_path, fake_telegram, mode="polling")
    processes = [ServiceProcess(env), ServiceProcess(env)]
    records = Records(postgres_url)
    users = [citizen(n) for n in range(4)]
    try:
        start_all(*processes)
        for user in users:
            fake_telegram.push_update(tg.text("halo", user=user))
        for user in users:
            chat = str(user["id"])
            await until(
                lambda chat=chat: asyncio.sleep(0, sent_texts(fake_telegram, chat)), what="greeting"
            )
        pollers = [p for p in processes if "runs telegram-polling" in p.log_text()]
        assert len(pollers) == 1, "exactly one process polls"
        pollers[0].kill()
        (survivor,) = [p for p in processes if p is not pollers[0]]
        for user in users:
            fake_telegram.push_update(tg.text("ya", user=user))
        for user in users:
            chat = str(user["id"])
            await until(
                lambda chat=chat: asyncio.sleep(0, len(sent_texts(fake_telegram, chat)) >= 2),
                what="the survivor to take over polling",
            )
        assert "runs telegram-polling" in survivor.log_text()
        await until(records.all_sent, what="every reply sent")
        for user in users:
            texts = sent_texts(fake_telegram, str(user["id"]))
            assert len(texts) == 2 and "setuju" in texts[0] and "Ceritakan" in texts[1], texts
    finally:
        for process in processes:
            process.stop()
        await records.close()


async def test_serve_with_two_workers_survives_losing_one(
    postgres_url: str, shared_redis: str, fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    """`lapor serve --workers 2`: one port, two processes; one killed is replaced."""
    env = scale_env(postgres_url, shared_redis, tmp_path, fake_telegram)
    service = ServiceProcess(env, workers=2)
    records = Records(postgres_url)
    try:
        service.start()
        await until(lambda: asyncio.sleep(0, len(service.children()) == 2), what="two workers")
        async with httpx.AsyncClient(timeout=30) as client:

            async def reporter(n: int) -> None:
                for line, _ in text_script(n):
                    update = tg.text(line, user=citizen(n))
                    await deliver(client, lambda: service.base_url, update)

            await asyncio.gather(*(reporter(n) for n in range(3)))
            first, _ = service.children()
            os.kill(first, signal.SIGKILL)
            await until(
                lambda: asyncio.sleep(0, first not in service.children()), what="worker gone"
            )
            await asyncio.gather(*(reporter(n) for n in range(3, 6)))
            await until(lambda: asyncio.sleep(0, len(service.children()) == 2), what="a new worker")
        await until(records.all_sent, what="every reply sent")
        for n in range(6):
            assert_in_order(sent_texts(fake_telegram, str(citizen(n)["id"])), expected_replies(n))
        await assert_replies_delivered_in_order(records, fake_telegram, exactly_once=False)
        assert len(await records.reports()) == 6
    finally:
        service.stop()
        await records.close()


async def test_two_workers_on_sqlite_without_redis_take_turns_writing(
    sqlite_url: str, fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    env = service_env(sqlite_url, tmp_path, **telegram_env(fake_telegram))
    service = ServiceProcess(env, workers=2)
    records = Records(sqlite_url)
    try:
        service.start()
        async with httpx.AsyncClient(timeout=30) as client:

            async def reporter(n: int) -> None:
                for line, _ in text_script(n):
                    update = tg.text(line, user=citizen(n))
                    assert (await post(client, service.base_url, update)).status_code == 200

            await asyncio.gather(*(reporter(n) for n in range(3)))
        await until(records.all_sent, what="every reply sent")
        for n in range(3):
            assert_in_order(sent_texts(fake_telegram, str(citizen(n)["id"])), expected_replies(n))
        await assert_replies_delivered_in_order(records, fake_telegram)
    finally:
        service.stop()
        await records.close()


def test_polling_with_several_workers_needs_redis(
    fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    for key, value in telegram_env(fake_telegram, "polling").items():
        monkeypatch.setenv(key, value)
    assert main(["serve", "--workers", "2"]) == 2
    assert "storage.redis_url" in capsys.readouterr().err
