"""Hostile but well-formed input at the edge, on SQLite and real PostgreSQL, over real HTTP.

PostgreSQL refuses NUL characters in text and JSON, no driver encodes a lone surrogate, and
Python turns a 5,000-digit integer or a deeply nested body into exceptions: each used to be a
500, or worse, a 200 for a message that was then never processed. Now a message with such text
is cleaned and answered like any other, an unusable body gets a 400 and nothing is stored,
and REST filters out of range get a 422.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import telegram_updates as tg
from app_server import api
from fake_telegram import FakeTelegram
from sqlalchemy import func, select
from test_telegram import SECRET, eventually, telegram_service

from storage.models import Contact, InboxMessage

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}


async def inbox(service: Any) -> tuple[int, int]:
    """(rows, rows not yet processed) in the inbox."""
    async with service.db.session() as session:
        total = await session.scalar(select(func.count()).select_from(InboxMessage))
        pending = await session.scalar(
            select(func.count())
            .select_from(InboxMessage)
            .where(InboxMessage.processed_at.is_(None))  # type: ignore[union-attr]
        )
    return int(total or 0), int(pending or 0)


async def test_nul_and_lone_surrogates_are_cleaned_and_answered(
    database_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    user = {**tg.CITIZEN, "first_name": "Bu\u0000di\ud800"}
    async with telegram_service(database_url, tmp_path, fake_telegram) as citizen:
        for body in ("halo\u0000", "jalan rusak\ud83d di depan"):
            update = tg.text(body, user=user)
            raw = json.dumps(update)  # \u0000 and \ud83d escaped, as a client may send them
            before = len(citizen.texts())
            response = await citizen.client.post("/webhooks/telegram", content=raw, headers=HEADERS)
            assert response.status_code == 200, response.text
            await eventually(lambda before=before: len(citizen.texts()) > before)
        total, pending = await inbox(citizen.service)
        assert (total, pending) == (2, 0)  # both stored and processed
        async with citizen.service.db.session() as session:
            names = list((await session.exec(select(Contact.display_name))).all())
        assert names and all("\x00" not in (n or "") for n in names)


UNUSABLE = {
    "deep": "[" * 5000 + "]" * 5000,
    "deep but parseable": '{"update_id": 1, "x": ' + "[" * 200 + "]" * 200 + "}",
    "5,000-digit integer": '{"update_id": ' + "9" * 5000 + "}",
    "NaN": '{"update_id": NaN}',
    "1e999": '{"update_id": 1e999}',
}


@pytest.mark.parametrize("body", list(UNUSABLE.values()), ids=list(UNUSABLE))
async def test_unusable_bodies_are_refused_and_nothing_is_stored(
    database_url: str, tmp_path: Path, fake_telegram: FakeTelegram, body: str
) -> None:
    async with telegram_service(database_url, tmp_path, fake_telegram) as citizen:
        response = await citizen.client.post("/webhooks/telegram", content=body, headers=HEADERS)
        assert response.status_code == 400, response.text
        assert "unusable update" in response.json()["detail"]
        assert await inbox(citizen.service) == (0, 0)


OUT_OF_RANGE = [
    "/api/reports?offset=99999999999999999999",
    "/api/reports?offset=9223372036854775807",
    "/api/reports?limit=100000",
    "/api/reports?since=0001-01-01T00:00:00%2B07:00",
    "/api/reports?until=9999-12-31T23:59:59-05:00",
    "/api/reports?since=0001-01-01",
    "/api/stats?since=0001-01-01",
    "/api/stats?until=9999-12-31",
    "/api/stats?since=0001-01-01T00:00:00%2B07:00",
]


async def test_rest_filters_out_of_range_get_422(
    database_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with (
        telegram_service(database_url, tmp_path, fake_telegram) as citizen,
        api(str(citizen.client.base_url)) as client,
    ):
        for path in OUT_OF_RANGE:
            response = await client.get(path)
            assert response.status_code == 422, (path, response.text)
            where = response.json()["errors"][0]["where"]
            assert where.startswith("query."), (path, where)
        ok = await client.get("/api/reports?since=2026-01-01&offset=10000000")
        assert ok.status_code == 200, ok.text
        assert ok.json()["reports"] == []


async def file_a_report(citizen: Any) -> str:
    await citizen.say(tg.text("halo"), "Apakah Anda setuju?")
    await citizen.say(tg.text("ya"), "Ceritakan")
    await citizen.say(tg.text("PDAM mati dari kemarin, air gak ngalir"), "Air Bersih")
    await citizen.say(tg.text("ya"), "Di mana")
    await citizen.say(tg.text("Jl. Salak 5, kel. Taman"), "Kirim foto")
    await citizen.say(tg.text("lewati"), "privasi")
    await citizen.say(tg.text("biasa"), "Periksa")
    await citizen.say(tg.text("kirim"), "MDN-00001")
    return "MDN-00001"


async def test_rest_bodies_and_addresses_with_nul_surrogates_or_depth(
    database_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with (
        telegram_service(database_url, tmp_path, fake_telegram) as citizen,
        api(str(citizen.client.base_url)) as client,
    ):
        ticket = await file_a_report(citizen)
        for path in (
            "/api/reports?status=%00",
            "/api/reports?channel=tele%00gram",
            f"/api/reports/{ticket}%00",
            "/dashboard?since=%00",
        ):
            response = await client.get(path)
            assert response.status_code == 400, (path, response.text)
            assert "NUL" in response.json()["detail"]
        json_headers = {"Content-Type": "application/json"}
        replies = f"/api/reports/{ticket}/replies"
        for body in (
            '{"text": ' + "[" * 5000 + "]" * 5000 + "}",
            '{"text": ' + "9" * 5000 + "}",
        ):
            response = await client.post(replies, content=body, headers=json_headers)
            assert response.status_code in (400, 422), (body[:40], response.text)
        nul = await client.post(
            replies, content='{"text": "Segera\\u0000 kami cek"}', headers=json_headers
        )
        assert nul.status_code == 201, nul.text
        surrogate = await client.post(
            replies, content='{"text": "Segera \\ud800kami cek"}', headers=json_headers
        )
        assert surrogate.status_code == 422, surrogate.text  # pydantic: not a valid string
        note = await client.post(
            f"/api/reports/{ticket}/status",
            content='{"status": "verified", "note": "ok\\u0000"}',
            headers=json_headers,
        )
        assert note.status_code == 200, note.text
        shown = (await client.get(f"/api/reports/{ticket}")).json()
        assert [m["text"] for m in shown["messages"]] == ["Segera kami cek"]
        assert shown["timeline"][-1]["note"] == "ok"
