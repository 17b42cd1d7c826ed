"""The conversation funnel, recorded by the pipeline's observer as citizens chat, on SQLite and
PostgreSQL: sessions started per channel, steps reached, where and why they stopped, how long
and how many messages filing took, and the topic words of filed reports."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from app_server import settings_for
from sqlalchemy import text
from sqlmodel import col, select

from bot.analytics.stats import StatsQuery, compute_stats, stats_reader
from bot.compose import Service, prepare_database
from intake.types import GeoPoint, InboundMessage, MessageKind
from storage.models import FunnelSession, ReportTerm

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 08:00 WIB
INSIDE = GeoPoint(-7.6298, 111.5239)  # Kel. Kejuron
_ids = itertools.count()


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Citizen:
    service: Service
    clock: Clock
    channel: str
    chat: str

    async def say(
        self, at_minute: float, kind: MessageKind = MessageKind.TEXT, **fields: Any
    ) -> None:
        self.clock.now = T0 + timedelta(minutes=at_minute)
        message = InboundMessage(
            channel=self.channel,
            external_id=f"m{next(_ids)}",
            sender_id=self.chat,
            chat_id=self.chat,
            kind=kind,
            received_at=self.clock.now,
            **fields,
        )
        accepted = await self.service.pipeline.accept(message)
        assert accepted.processed

    async def text(self, at_minute: float, text: str) -> None:
        await self.say(at_minute, MessageKind.TEXT, text=text)

    async def choose(self, at_minute: float, value: str) -> None:
        await self.say(at_minute, MessageKind.CHOICE, choice=value)


@pytest.fixture
async def service(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Service, Clock]]:
    settings = settings_for(database_url, tmp_path)
    prepare_database(settings)
    clock = Clock()
    service = Service(settings, clock=clock)
    try:
        yield service, clock
    finally:
        await service.stop()


async def file_a_report(
    citizen: Citizen, start: float, description: str, *, extra: int = 0
) -> None:
    """Eight messages over seven minutes (plus `extra` misunderstood ones at the location)."""
    await citizen.text(start, "halo")
    await citizen.choose(start + 1, "agree")
    await citizen.text(start + 2, description)
    await citizen.choose(start + 3, "yes")
    for i in range(extra):
        await citizen.text(start + 3 + (i + 1) / (extra + 1), "??")
    await citizen.say(start + 4, MessageKind.LOCATION, location=INSIDE)
    await citizen.choose(start + 5 + extra, "skip")
    await citizen.choose(start + 6 + extra, "priv:normal")
    await citizen.choose(start + 7 + extra, "send")


async def sessions(service: Service) -> list[FunnelSession]:
    async with service.store.unit_of_work() as uow:
        rows = await uow.session.exec(select(FunnelSession).order_by(col(FunnelSession.id)))
        return list(rows.all())


async def test_the_funnel_of_each_channel(service: tuple[Service, Clock]) -> None:
    svc, clock = service

    def citizen(channel: str, chat: str) -> Citizen:
        return Citizen(svc, clock, channel, chat)

    # WhatsApp: two filed (7 and 9 minutes, 8 and 10 messages), one cancelled while the
    # category was being confirmed.
    await file_a_report(
        citizen("whatsapp", "a"), 0, "Sampah numpuk di pinggir jalan dekat pasar Kejuron"
    )
    await file_a_report(
        citizen("whatsapp", "g"), 10, "Lampu jalan mati total sejak kemarin malam", extra=2
    )
    b = citizen("whatsapp", "b")
    await b.text(1, "halo")
    await b.choose(2, "agree")
    await b.text(3, "Jalan berlubang besar sekali di depan sekolah")
    await b.text(4, "batal")
    # Telegram: one greeting never answered, one privacy notice declined, one restart.
    await citizen("telegram", "c").text(0, "halo")
    d = citizen("telegram", "d")
    await d.text(5, "halo")
    await d.choose(6, "disagree")
    f = citizen("telegram", "f")
    await f.text(100, "halo")
    await f.choose(101, "agree")
    await f.text(102, "Got mampet air meluap ke jalan kampung")
    await f.text(103, "ulang")  # starts again: a new session, at the description
    # SMS: a report begun inline, left for three hours, then a greeting.
    e = citizen("sms", "e")
    await e.text(0, "Lampu penerangan jalan mati di gang mawar")
    await e.choose(1, "agree")
    await e.text(181, "halo")

    rows = await sessions(svc)
    by_chat = {}
    for row in rows:
        by_chat.setdefault(row.conversation_key, []).append(row)
    a = by_chat["whatsapp:a"][0]
    assert (a.outcome, a.end_step, a.messages, a.duration_s) == ("filed", "confirm", 8, 420)
    assert a.report_id is not None
    g = by_chat["whatsapp:g"][0]
    assert (g.outcome, g.messages, g.duration_s) == ("filed", 10, 540)
    assert [(s.outcome, s.end_step, s.messages) for s in by_chat["whatsapp:b"]] == [
        ("cancelled", "confirm_category", 4)
    ]
    assert [(s.outcome, s.last_step) for s in by_chat["telegram:c"]] == [(None, "consent")]
    assert [(s.outcome, s.end_step) for s in by_chat["telegram:d"]] == [("declined", "consent")]
    assert [(s.outcome, s.end_step, s.last_step) for s in by_chat["telegram:f"]] == [
        ("restarted", "confirm_category", "confirm_category"),
        (None, None, "description"),
    ]
    sms = by_chat["sms:e"]
    assert len(sms) == 1 and sms[0].outcome == "expired"
    expired_at = sms[0].end_step

    async with svc.store.unit_of_work() as uow:
        terms = await uow.session.exec(
            select(ReportTerm.term).where(ReportTerm.report_id == a.report_id)
        )
        words = set(terms.all())
    assert words == {"sampah", "numpuk", "pinggir", "jalan", "pasar"}  # not "Kejuron", "dekat"

    now = T0 + timedelta(minutes=200)  # c's greeting is long stale; f's restart is not
    stats = await compute_stats(stats_reader(svc.db), svc.settings, StatsQuery(), now=now)
    channels = {c["channel"]: c for c in stats["channels"]}
    whatsapp = channels["whatsapp"]
    assert (whatsapp["reports"], whatsapp["conversations"], whatsapp["filed"]) == (2, 3, 2)
    assert whatsapp["completion_rate"] == 0.6667
    assert whatsapp["minutes_to_file"] == {"median": 8.0, "p90": 8.8}
    assert whatsapp["messages_to_file"] == {"median": 9.0, "p90": 9.8}
    assert whatsapp["funnel"] == [
        {"stage": "consent", "reached": 3},
        {"stage": "description", "reached": 3},
        {"stage": "category", "reached": 3},
        {"stage": "location", "reached": 2},
        {"stage": "photos", "reached": 2},
        {"stage": "privacy", "reached": 2},
        {"stage": "confirm", "reached": 2},
    ]
    assert whatsapp["abandoned"] == {
        "total": 1,
        "by_reason": {"cancelled": 1},
        "by_step": [
            {
                "step": "confirm_category",
                "stage": "category",
                "reason": "cancelled",
                "conversations": 1,
            }
        ],
    }
    telegram = channels["telegram"]
    assert (telegram["reports"], telegram["conversations"], telegram["filed"]) == (0, 4, 0)
    assert telegram["in_progress"] == 1 and telegram["completion_rate"] == 0.0
    assert telegram["minutes_to_file"] == {"median": None, "p90": None}
    assert telegram["abandoned"]["by_reason"] == {"expired": 1, "declined": 1, "restarted": 1}
    assert {(a["step"], a["reason"]) for a in telegram["abandoned"]["by_step"]} == {
        ("consent", "expired"),
        ("consent", "declined"),
        ("confirm_category", "restarted"),
    }
    assert [f["reached"] for f in telegram["funnel"]] == [4, 2, 1, 0, 0, 0, 0]
    assert channels["sms"]["abandoned"]["by_step"] == [
        {"step": expired_at, "stage": "category", "reason": "expired", "conversations": 1}
    ]
    assert stats["reports"]["total"] == 2
    assert stats["top_topics"]["words"][0] == {"word": "jalan", "reports": 2}

    # The same, for conversations started in the first half hour only
    early = await compute_stats(
        stats_reader(svc.db),
        svc.settings,
        StatsQuery(since=T0, until=T0 + timedelta(minutes=30)),
        now=now,
    )
    assert {c["channel"]: c["conversations"] for c in early["channels"]} == {
        "whatsapp": 3,
        "telegram": 2,
        "sms": 1,
    }


async def test_a_broken_funnel_never_costs_the_citizen_s_message(
    service: tuple[Service, Clock],
) -> None:
    svc, clock = service
    async with svc.store.unit_of_work() as uow:
        await uow.session.exec(text("DROP TABLE funnel_sessions"))  # type: ignore[call-overload]
    await file_a_report(Citizen(svc, clock, "whatsapp", "z"), 0, "Sampah numpuk di jalan raya")
    async with svc.store.unit_of_work() as uow:
        report = await uow.reports.get("MDN-00001")
        assert report is not None and report.channel == "whatsapp"


async def test_backing_a_similar_open_report_is_not_giving_up(
    service: tuple[Service, Clock],
) -> None:
    svc, clock = service
    description = "Sampah numpuk di pinggir jalan dekat pasar, bau sekali"
    await file_a_report(Citizen(svc, clock, "whatsapp", "a"), 0, description)
    h = Citizen(svc, clock, "whatsapp", "h")
    await h.text(20, "halo")
    await h.choose(21, "agree")
    await h.text(22, description)
    await h.choose(23, "yes")
    await h.say(24, MessageKind.LOCATION, location=INSIDE)
    await h.choose(25, "skip")
    await h.choose(26, "priv:normal")  # a similar open report exists: offered for support
    await h.text(27, "dukung")
    [session] = [s for s in await sessions(svc) if s.conversation_key == "whatsapp:h"]
    assert (session.outcome, session.end_step, session.messages) == ("supported", "duplicate", 8)
    stats = await compute_stats(
        stats_reader(svc.db), svc.settings, StatsQuery(), now=T0 + timedelta(minutes=30)
    )
    [whatsapp] = stats["channels"]
    assert (whatsapp["conversations"], whatsapp["filed"], whatsapp["supported"]) == (2, 1, 1)
    assert whatsapp["abandoned"]["total"] == 0
    assert whatsapp["funnel"][-1] == {"stage": "confirm", "reached": 2}
