"""Pacing inside the platforms' limits (issue 14): a burst of cards to one officers' group goes
out at Telegram's 20 messages a minute, never dropped, while every other chat goes on.

The dispatcher sends through the real Telegram sender to the fake Bot API over loopback, on a
real database; the time is a clock the test moves by hand (pacing's and the outbox's alike), so
nothing sleeps for a minute. The end-to-end test runs the whole service with a short window
from the configuration.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import telegram_updates as tg
from desk_helpers import GROUP, desk_service
from fake_telegram import FakeTelegram
from helpers import eventually
from procs import KELURAHAN, citizen

from bot.core.dispatcher import Dispatcher
from bot.core.pacing import Pacer, configured
from bot.settings import DeliveryConfig
from channels.telegram import TelegramSender
from channels.telegram.limits import LIMITS
from intake.types import Choice, Reply, conversation_key
from storage import Store
from storage.models import OUTBOX_PENDING, OUTBOX_SENT

CITIZEN = str(tg.CITIZEN_ID)
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # PTB's retry_after


class Time:
    """One hand-moved time for the outbox (datetimes) and for pacing (seconds)."""

    def __init__(self) -> None:
        self.start = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
        self.elapsed = 0.0

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def seconds(self) -> float:
        return self.elapsed

    def advance(self, seconds: float) -> None:
        self.elapsed += seconds


@pytest.fixture
async def sender(fake_telegram: FakeTelegram) -> AsyncIterator[TelegramSender]:
    sender = TelegramSender(fake_telegram.token, fake_telegram.api_base)
    yield sender
    await sender.aclose()


def card(n: int) -> Reply:
    return Reply(
        f"📋 Laporan baru MDN-{n:05d}\nJalan berlubang, Kel. Taman",
        choices=(Choice(f"verify:{n}", "✅ Verifikasi"), Choice(f"reject:{n}", "❌ Tolak")),
    )


async def queue(store: Store, chat_id: str, reply: Reply, now: datetime) -> int:
    async with store.unit_of_work() as uow:
        key = conversation_key("telegram", chat_id)
        return await uow.outbox.add(key, "telegram", chat_id, reply.to_dict(), now, now=now)


def sent_to(fake: FakeTelegram, chat_id: str) -> list[str]:
    return [str(c.params.get("text")) for c in fake.calls_to("sendMessage") if c.chat_id == chat_id]


async def statuses(store: Store, ids: list[int]) -> list[tuple[str, int, str | None]]:
    async with store.unit_of_work() as uow:
        rows = [await uow.outbox.get(i) for i in ids]
    return [(r.status, r.attempts, r.last_error) for r in rows if r is not None]


async def test_thirty_cards_to_one_group_go_out_at_twenty_a_minute_and_hold_up_no_one(
    store: Store, fake_telegram: FakeTelegram, sender: TelegramSender
) -> None:
    clock = Time()
    pacer = Pacer({"telegram": LIMITS}, clock=clock.seconds)
    dispatcher = Dispatcher(store, {"telegram": sender}, clock=clock.now, pacer=pacer)
    cards = [await queue(store, GROUP, card(n), clock.now()) for n in range(1, 31)]
    answer = await queue(store, CITIZEN, Reply("Terima kasih, laporan diterima"), clock.now())

    await dispatcher.drain()
    assert len(sent_to(fake_telegram, GROUP)) == 20
    assert sent_to(fake_telegram, CITIZEN) == ["Terima kasih, laporan diterima"]  # at once
    waiting = await statuses(store, cards[20:])
    assert waiting == [(OUTBOX_PENDING, 0, None)] * 10  # held: pending, no attempt, no error
    assert (await statuses(store, [answer]))[0][0] == OUTBOX_SENT

    clock.advance(59.0)  # the minute is not over: the group waits, anyone else does not
    later = await queue(store, CITIZEN, Reply("Status laporan: diverifikasi"), clock.now())
    await dispatcher.drain()
    assert len(sent_to(fake_telegram, GROUP)) == 20
    assert sent_to(fake_telegram, CITIZEN)[-1] == "Status laporan: diverifikasi"

    clock.advance(1.5)
    await dispatcher.drain()
    texts = sent_to(fake_telegram, GROUP)
    assert texts == [card(n).text for n in range(1, 31)]  # every card, in order, once
    assert await statuses(store, [*cards, later]) == [(OUTBOX_SENT, 1, None)] * 31


async def test_an_album_counts_as_its_photos_and_a_429_is_still_obeyed(
    store: Store, fake_telegram: FakeTelegram, sender: TelegramSender
) -> None:
    clock = Time()
    pacer = Pacer({"telegram": LIMITS}, clock=clock.seconds)
    dispatcher = Dispatcher(store, {"telegram": sender}, clock=clock.now, pacer=pacer)
    photos = tuple(f"AgAC-photo-{i}" for i in range(5))
    for n in range(4):  # 4 albums of 5 photos: the group's 20 messages of this minute
        await queue(store, GROUP, Reply(f"Foto MDN-{n:05d}", photos=photos), clock.now())
    last = await queue(store, GROUP, card(99), clock.now())
    await dispatcher.drain()
    assert len(fake_telegram.calls_to("sendMediaGroup")) == 4
    assert sent_to(fake_telegram, GROUP) == []
    assert (await statuses(store, [last]))[0] == (OUTBOX_PENDING, 0, None)

    clock.advance(61)  # room again, but Telegram says wait
    fake_telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", 7)
    await dispatcher.drain()
    status, attempts, error = (await statuses(store, [last]))[0]
    assert (status, attempts) == (OUTBOX_PENDING, 1) and "retry after 7" in str(error)
    clock.advance(6)
    await dispatcher.drain()
    assert sent_to(fake_telegram, GROUP) == []  # Telegram's 7 seconds are not over
    clock.advance(1.5)
    await dispatcher.drain()
    assert sent_to(fake_telegram, GROUP) == [card(99).text]


async def test_the_service_paces_a_burst_of_reports_to_the_officers_group(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    """Real webhooks, the real filing path, the group's window from the configuration: four
    citizens send their reports at the same moment; their cards reach the officers' group at
    two per 1.5 s, every one of them, and each citizen gets their ticket number meanwhile."""
    window = '{"messages": 2, "seconds": 1.5}'
    async with desk_service(
        sqlite_url, tmp_path, fake_telegram, LAPOR_DELIVERY__TELEGRAM__GROUP=window
    ) as desk:
        citizens = [citizen(n) for n in range(4)]

        async def up_to_the_summary(n: int) -> None:
            await desk.file_report(
                f"Lampu jalan mati sudah {n + 2} malam, gelap sekali",
                user=citizens[n],
                place=f"Jl. Salak {n + 1}, kel. {KELURAHAN[n]}",
                send=False,
                expect="Periksa",
            )

        await asyncio.gather(*(up_to_the_summary(n) for n in range(4)))
        await asyncio.gather(*(desk.post(tg.text("kirim", user=u)) for u in citizens))
        answers = [await desk.expect("Nomor tiket", str(u["id"])) for u in citizens]
        tickets = [re.search(r"MDN-\d+", a).group(0) for a in answers]  # type: ignore[union-attr]

        def cards() -> list[str]:
            texts = desk.texts(GROUP)
            return [t for t in tickets if any(t in text for text in texts)]

        assert sorted(await eventually(lambda: len(cards()) == 4 and cards(), within=20)) == (
            sorted(tickets)
        )
        group = sorted(c.at for c in fake_telegram.calls if c.chat_id == GROUP and c.status == 200)
        assert len(group) >= 4
        for first, third in zip(group, group[2:], strict=False):  # never 3 within 1.5 s
            assert third - first >= 1.5 - 0.2, group
        assert not [c for c in fake_telegram.calls if c.status == 429]


async def test_private_chats_paced_when_configured_one_a_second(
    store: Store, fake_telegram: FakeTelegram, sender: TelegramSender
) -> None:
    delivery = DeliveryConfig.model_validate({"telegram": {"chat": {"messages": 1, "seconds": 1}}})
    clock = Time()
    pacer = Pacer(configured({"telegram": LIMITS}, delivery), clock=clock.seconds)
    dispatcher = Dispatcher(store, {"telegram": sender}, clock=clock.now, pacer=pacer)
    other = str(tg.CITIZEN_ID + 1)
    for text in ("satu", "dua"):
        await queue(store, CITIZEN, Reply(text), clock.now())
    await queue(store, other, Reply("tiga"), clock.now())
    await dispatcher.drain()
    assert (sent_to(fake_telegram, CITIZEN), sent_to(fake_telegram, other)) == (["satu"], ["tiga"])
    clock.advance(1.01)
    await dispatcher.drain()
    assert sent_to(fake_telegram, CITIZEN) == ["satu", "dua"]
