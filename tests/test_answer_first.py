"""`service.answer_before_processing`: webhooks answered once their messages are stored (group
commit), the background processor handling them in order, nothing answered lost or repeated."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import telegram_updates as tg
from app_server import TELEGRAM_SECRET, make_service, running_app, service_on, telegram_env
from fake_telegram import FakeTelegram
from helpers import eventually

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
ANSWER_FIRST = {"LAPOR_SERVICE__ANSWER_BEFORE_PROCESSING": "true"}


def _user(n: int) -> dict[str, Any]:
    return {"id": 880_000 + n, "is_bot": False, "first_name": f"Warga {n}"}


def _texts(fake: FakeTelegram, chat: str) -> list[str]:
    return [c.params["text"] for c in fake.calls_to("sendMessage") if c.chat_id == chat]


async def _post(client: httpx.AsyncClient, update: dict[str, Any]) -> None:
    response = await client.post("/webhooks/telegram", json=update, headers=HEADERS)
    assert response.status_code == 200, response.text


async def test_messages_posted_back_to_back_are_answered_in_order(
    database_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    env = {**telegram_env(fake_telegram), **ANSWER_FIRST}
    async with service_on(database_url, tmp_path, env) as (_, client):
        citizens = [_user(n) for n in range(5)]
        for user in citizens:  # each citizen's three messages without waiting for an answer
            await _post(client, tg.text("halo", user=user))
            await _post(client, tg.callback_query("agree", user=user))
            await _post(client, tg.text("lampu jalan di gang 3 mati sudah seminggu", user=user))
        for user in citizens:
            chat = str(user["id"])
            await eventually(lambda chat=chat: len(_texts(fake_telegram, chat)) >= 3)
            consent, description, category = _texts(fake_telegram, chat)
            assert "setuju" in consent
            assert "Ceritakan masalahnya" in description
            assert "Benar?" in category


async def test_a_repeated_update_is_answered_once(
    database_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    env = {**telegram_env(fake_telegram), **ANSWER_FIRST}
    async with service_on(database_url, tmp_path, env) as (_, client):
        update = tg.text("halo", user=_user(50))
        await asyncio.gather(*(_post(client, update) for _ in range(3)))
        await _post(client, update)
        chat = str(_user(50)["id"])
        await eventually(lambda: len(_texts(fake_telegram, chat)) >= 1)
        await asyncio.sleep(0.5)
        assert len(_texts(fake_telegram, chat)) == 1


async def test_what_was_answered_before_a_stop_is_processed_after_the_restart_once(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    env = {**telegram_env(fake_telegram), **ANSWER_FIRST}
    citizens = [_user(100 + n) for n in range(40)]
    service = make_service(sqlite_url, tmp_path, **env)
    async with running_app(service) as client:
        await asyncio.gather(*(_post(client, tg.text("halo", user=u)) for u in citizens))
    # stopped right after the answers: some messages may not have been processed yet
    restarted = make_service(sqlite_url, tmp_path, **env)
    async with running_app(restarted):
        for user in citizens:
            chat = str(user["id"])
            await eventually(lambda chat=chat: len(_texts(fake_telegram, chat)) >= 1)
        await asyncio.sleep(0.5)
    for user in citizens:
        assert len(_texts(fake_telegram, str(user["id"]))) == 1
    async with restarted.store.unit_of_work() as uow:
        assert await uow.inbox.unprocessed(limit=100) == []
