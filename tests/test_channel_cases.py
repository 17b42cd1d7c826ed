"""The shared channel cases (tests/channel_cases.py), each run against every channel through
the app's real webhook route, the platform's fake API answering over loopback HTTP."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from app_server import service_on
from channel_cases import (
    CASES,
    CHANNELS,
    AndroidChannel,
    Case,
    Channel,
    TelegramChannel,
    TwilioChannel,
    WhatsAppChannel,
    per,
)
from helpers import eventually
from sqlmodel import select

from storage.models import InboxMessage

SETTLE = 0.3  # how long to wait for a reply that must not come


@pytest.fixture(params=CHANNELS)
def channel(request: pytest.FixtureRequest) -> Channel:
    name = request.param
    if name == "telegram":
        return TelegramChannel(request.getfixturevalue("fake_telegram"))
    if name == "whatsapp":
        return WhatsAppChannel(request.getfixturevalue("graph"))
    if name == "sms-twilio":
        return TwilioChannel(request.getfixturevalue("fake_twilio"))
    return AndroidChannel(request.getfixturevalue("fake_gateway"))


def test_every_per_channel_value_names_every_channel() -> None:
    for case in CASES:
        for step in case.steps:
            for value in (step.status, step.reply, step.replies, step.stored):
                if isinstance(value, dict):
                    assert sorted(value) == sorted(CHANNELS), (case.label, value)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_channel_case(case: Case, channel: Channel, sqlite_url: str, tmp_path: Path) -> None:
    async with service_on(sqlite_url, tmp_path, channel.env()) as (service, client):
        stored = 0
        for number, step in enumerate(case.steps, 1):
            where = f"{case.label}, step {number} ({step.send}) on {channel.name}"
            request = channel.payload(step.send.kind, step.send.text)
            headers = channel.headers(request, step.send.signature)
            before = len(channel.replies())
            for _ in range(step.send.times):
                response = await client.post(channel.path, content=request.body, headers=headers)
                assert response.status_code != 500, where
                assert response.status_code == per(step.status, channel.name), (
                    where,
                    response.text,
                )
            fragment: str | None = per(step.reply, channel.name)
            if fragment is not None:  # every expected reply has arrived (then: no more come)
                expected = per(step.replies, channel.name)
                with contextlib.suppress(AssertionError):  # too few: the asserts below say so
                    await eventually(lambda: len(channel.replies()) - before >= expected)  # noqa: B023
            await asyncio.sleep(SETTLE)
            new = channel.replies()[before:]
            if fragment is None:
                assert new == [], where
            else:
                assert new, f"no reply: {where}"
                assert fragment.lower() in new[0].lower(), (where, new)
                assert len(new) == per(step.replies, channel.name), (where, new)
            stored += bool(per(step.stored, channel.name))

        async with service.store.unit_of_work() as uow:
            inbox = list((await uow.session.exec(select(InboxMessage))).all())
            conversation = await uow.conversations.load(channel.conversation)
        assert len(inbox) == stored, (case.label, [row.payload for row in inbox])
        assert await service.store.unprocessed_inbox() == []
        if stored == 0:  # nothing stored: no conversation, and not a word to the platform
            assert conversation is None
            assert channel.calls() == []
