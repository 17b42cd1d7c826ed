"""A running service with the fake Telegram API, a citizen in a private chat and officers in a
group, for the officer desk's end-to-end tests (tests/test_desk*.py)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import telegram_updates as tg
from app_server import API_TOKEN, running_app, settings_for, telegram_env
from fake_telegram import FakeTelegram
from helpers import eventually

from bot.compose import Service, prepare_database
from bot.settings import Settings

SECRET = "desk-webhook_secret"
GROUP = str(tg.GROUP_ID)
OTHER_GROUP_ID = -1009999999999
CITIZEN_CHAT = str(tg.CITIZEN_ID)
NEIGHBOUR = {"id": 555000222, "is_bot": False, "first_name": "Agus", "language_code": "id"}
STRANGER = {"id": 777000999, "is_bot": False, "first_name": "Tamu", "language_code": "id"}

_query_ids = itertools.count(9100000000000000001)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def desk_env(fake: FakeTelegram, **extra: str) -> dict[str, str]:
    return {**telegram_env(fake, secret=SECRET), "LAPOR_OFFICERS__DEFAULT_CHAT_ID": GROUP, **extra}


@dataclass
class Desk:
    """Speaks for the citizen(s) and the officers, and reads what the fake Bot API got."""

    client: httpx.AsyncClient
    fake: FakeTelegram
    service: Service

    async def post(self, update: dict[str, Any]) -> httpx.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        response = await self.client.post("/webhooks/telegram", json=update, headers=headers)
        assert response.status_code == 200, response.text
        return response

    # what the fake received

    def texts(self, chat: str = CITIZEN_CHAT) -> list[str]:
        return [c.params["text"] for c in self.fake.calls_to("sendMessage") if c.chat_id == chat]

    def messages(self, chat: str = CITIZEN_CHAT) -> list[dict[str, Any]]:
        return [c.params for c in self.fake.calls_to("sendMessage") if c.chat_id == chat]

    def edits(self, chat: str = GROUP) -> list[dict[str, Any]]:
        return [c.params for c in self.fake.calls_to("editMessageText") if c.chat_id == chat]

    def answers(self) -> list[str]:
        return [str(c.params.get("text", "")) for c in self.fake.calls_to("answerCallbackQuery")]

    async def expect(self, text: str, chat: str = CITIZEN_CHAT, since: int = 0) -> str:
        """Wait for a message to `chat` containing `text` (among those from index `since`)."""
        found = await eventually(lambda: [t for t in self.texts(chat)[since:] if text in t])
        return str(found[-1])

    async def say(self, update: dict[str, Any], expect: str, chat: str = CITIZEN_CHAT) -> str:
        before = len(self.texts(chat))
        await self.post(update)
        return await self.expect(expect, chat, since=before)

    # the citizen

    async def file_report(
        self,
        description: str = "Jalan depan pasar bolong gede, motor sering jatuh",
        *,
        user: dict[str, Any] = tg.CITIZEN,
        place: str = "Jl. Salak 5, kel. Taman",
        privacy: str = "biasa",
        expect: str = "Nomor tiket",
        send: bool = True,
    ) -> str:
        """Walk a citizen through a report by typing; returns the last answer. With `send`
        False it stops at the summary (and whatever comes with it, such as a similar report)."""
        chat = str(user["id"])
        if not any("Apakah Anda setuju?" in t for t in self.texts(chat)):  # a first contact
            await self.say(tg.text("halo", user=user), "setuju", chat)
            await self.say(tg.text("setuju", user=user), "Ceritakan", chat)
        await self.say(tg.text(description, user=user), "Benar?", chat)
        await self.say(tg.text("ya", user=user), "Di mana", chat)
        await self.say(tg.text(place, user=user), "Kirim foto", chat)
        await self.say(tg.text("lewati", user=user), "privasi", chat)
        before = len(self.texts(chat))
        if not send:  # the summary, or instead of it a similar report's offer (issue 13)
            await self.say(tg.text(privacy, user=user), expect, chat)
            return await self.expect(expect, chat, since=before)
        await self.say(tg.text(privacy, user=user), "Periksa", chat)
        return await self.say(tg.text("kirim", user=user), expect, chat)

    # the officers

    async def card_message_id(self, ticket: str, chat: str = GROUP) -> int:
        """The Telegram message id of the report's card in `chat`, once it was sent."""

        async def find() -> int | None:
            async with self.service.store.unit_of_work() as uow:
                report = await uow.reports.get(ticket)
                assert report is not None and report.id is not None
                for card in await uow.desk.cards(report.id, active_only=False):
                    if card.chat_id != chat or card.outbox_id is None:
                        continue
                    row = await uow.outbox.get(card.outbox_id)
                    if row is not None and row.external_id:
                        return int(row.external_id)
            return None

        deadline = time.monotonic() + 10
        while (found := await find()) is None:
            assert time.monotonic() < deadline, f"no card of {ticket} in {chat}"
            await asyncio.sleep(0.03)
        return found

    async def press(
        self,
        data: str,
        message_id: int,
        *,
        user: dict[str, Any] = tg.OFFICER,
        chat_id: int = tg.GROUP_ID,
    ) -> tuple[str, str]:
        """An officer presses a button on a group message; (outcome, the callback answer)."""
        query_id = str(next(_query_ids))
        message = {
            "message_id": message_id,
            "from": tg.BOT,
            "chat": tg.group_chat(chat_id),
            "date": tg.DATE,
            "text": "card",
        }
        update = tg.update(
            "callback_query",
            {
                "id": query_id,
                "from": user,
                "chat_instance": "-1234",
                "message": message,
                "data": data,
            },
        )
        outcome = (await self.post(update)).json()["outcome"]
        answer = await eventually(
            lambda: [
                c
                for c in self.fake.calls_to("answerCallbackQuery")
                if c.params.get("callback_query_id") == query_id
            ]
        )
        return outcome, str(answer[0].params.get("text", ""))

    async def command(
        self,
        text: str,
        expect: str | None = None,
        *,
        user: dict[str, Any] = tg.OFFICER,
        chat_id: int = tg.GROUP_ID,
        reply_to: int | None = None,
        reply_text: str = "card",
    ) -> str:
        """An officer writes in a group; waits for the group's answer containing `expect`."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            name = text.split()[0]
            content["entities"] = [{"offset": 0, "length": len(name), "type": "bot_command"}]
        if reply_to is not None:
            content["reply_to_message"] = {
                "message_id": reply_to,
                "from": tg.BOT,
                "chat": tg.group_chat(chat_id),
                "date": tg.DATE,
                "text": reply_text,
            }
        chat = str(chat_id)
        before = len(self.texts(chat))
        response = await self.post(
            tg.message_update(content, user=user, chat=tg.group_chat(chat_id))
        )
        if expect is None:
            return str(response.json()["outcome"])
        return await self.expect(expect, chat, since=before)

    async def status(self, ticket: str) -> str:
        async with self.service.store.unit_of_work() as uow:
            report = await uow.reports.get(ticket)
        assert report is not None
        return report.status

    def api(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=str(self.client.base_url),
            headers={"Authorization": f"Bearer {API_TOKEN}"},
            timeout=10,
        )


def desk_settings(database_url: str, tmp_path: Path, fake: FakeTelegram, **env: str) -> Settings:
    return settings_for(database_url, tmp_path, **desk_env(fake, **env))


@asynccontextmanager
async def desk_service(
    database_url: str,
    tmp_path: Path,
    fake: FakeTelegram,
    *,
    clock: Clock | None = None,
    settings: Settings | None = None,
    **env: str,
) -> AsyncIterator[Desk]:
    settings = settings or desk_settings(database_url, tmp_path, fake, **env)
    prepare_database(settings)
    service = Service(settings, clock=clock or (lambda: datetime.now(UTC)))
    async with running_app(service) as client:
        yield Desk(client, fake, service)


def buttons(params: dict[str, Any]) -> list[str]:
    """The callback_data of an inline keyboard in a sendMessage/editMessageText call."""
    markup = params.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]
