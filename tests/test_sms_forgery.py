"""Requests an attacker can forge from genuine ones, over real HTTP into the app.

- Twilio signs names and values run together, so a captured request can be re-split
  (``MessageSid=SM...&NumMedia=0`` -> ``MessageSid=SM...NumMedia0``) and still verify: a new
  "message id" that would pass the inbox's duplicate check. Only a well-formed SID (SM/MM and
  32 hex digits), equal to SmsSid when that is given, is taken.
- The Android gateway's freshness check took ``X-Timestamp: nan`` (every comparison with NaN is
  false, so it was never "too old").
- A ``Retry-After`` of ``"²"`` (``str.isdigit`` says yes, ``float`` says no) raised.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest
from app_server import ANDROID_SIGNING_KEY as SIGNING_KEY
from app_server import android_env, twilio_env
from app_server import service_on as sms_service
from fake_sms import GATEWAY_PASSWORD, GATEWAY_USER, FakeGateway, FakeTwilio
from helpers import eventually
from sqlalchemy import func, select
from test_sms import AndroidPhone, TwilioPhone

from channels.base import SendError, SendFailure
from channels.sms import android as sms_android
from storage.models import InboxMessage


async def inbox_rows(service: Any) -> int:
    async with service.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(InboxMessage)) or 0)


async def test_a_resplit_twilio_request_is_not_a_new_message(
    sqlite_url: str, tmp_path: Path, fake_twilio: FakeTwilio
) -> None:
    async with sms_service(sqlite_url, tmp_path, twilio_env(fake_twilio)) as (service, client):
        phone = TwilioPhone(client, fake_twilio, service)
        genuine = phone.inbound("halo")
        signature = phone.sign(genuine)
        await phone.text("halo", expect="")  # a first message of its own, answered
        assert (await phone.post(genuine, signature)).status_code == 200
        assert await inbox_rows(service) == 2

        # The same signed string, re-split: NumMedia's name and value moved into MessageSid.
        resplit = {k: v for k, v in genuine.items() if k != "NumMedia"}
        resplit["MessageSid"] = genuine["MessageSid"] + "NumMedia0"
        assert phone.sign(resplit) == signature  # Twilio's own validator agrees: it verifies
        response = await phone.post(resplit, signature)
        assert response.status_code == 200 and response.text == "<Response/>"

        # SmsSid re-split into, or simply differing from, MessageSid.
        other = {**phone.inbound("halo lagi"), "SmsSid": "SM" + "e" * 32}
        assert (await phone.post(other)).status_code == 200
        lowercase_only = {**phone.inbound("halo"), "MessageSid": "SM" + "E" * 32}
        lowercase_only.pop("SmsSid")
        assert (await phone.post(lowercase_only)).status_code == 200
        assert await inbox_rows(service) == 2  # none of them became a message


@pytest.mark.parametrize("stamp", ["nan", "NaN", "inf", "-inf", "1e9", "-1", "\u00b2", "0x10"])
async def test_android_timestamps_that_are_no_time_are_refused(
    sqlite_url: str, tmp_path: Path, fake_gateway: FakeGateway, stamp: str
) -> None:
    async with sms_service(sqlite_url, tmp_path, android_env(fake_gateway)) as (service, client):
        phone = AndroidPhone(client, fake_gateway, service)
        body = json.dumps(phone.received("jalan rusak")).encode()
        signature = hmac.new(
            SIGNING_KEY.encode(), body + stamp.encode(), hashlib.sha256
        ).hexdigest()
        headers = {"X-Signature": signature, "X-Timestamp": stamp.encode("latin-1")}
        response = await client.post("/webhooks/sms/android", content=body, headers=headers)
        assert response.status_code == 403, response.text
        assert "Unix time" in response.json()["detail"]
        fresh = await phone.post_event(phone.received("jalan rusak"), timestamp=int(time.time()))
        assert fresh.status_code == 200, fresh.text
        assert await inbox_rows(service) == 1


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("\u00b2", None), ("nan", None), ("-5", None), ("1e3", None), ("7", 7.0), ("2.5", 2.5)],
)
async def test_a_gateway_retry_after_that_is_no_number(
    fake_gateway: FakeGateway, header: str, seconds: float | None
) -> None:
    provider = sms_android.AndroidGatewayProvider(
        fake_gateway.gateway_url, GATEWAY_USER, GATEWAY_PASSWORD
    )
    fake_gateway.fail_next(429, {"message": "slow down"}, headers={"Retry-After": header})
    try:
        with pytest.raises(SendError) as error:
            await provider.submit("+6281234567890", "halo")
    finally:
        await provider.aclose()
    assert error.value.failure is SendFailure.RETRY
    assert error.value.retry_after == seconds


@pytest.mark.parametrize(
    "received_at", ["0001-01-01T00:00:00+07:00", "9999-12-31T23:59:59-05:00", "1900-01-01T00:00Z"]
)
async def test_an_sms_from_a_phone_with_a_wild_clock_is_processed(
    database_url: str, tmp_path: Path, fake_gateway: FakeGateway, received_at: str
) -> None:
    async with sms_service(database_url, tmp_path, android_env(fake_gateway)) as (service, client):
        phone = AndroidPhone(client, fake_gateway, service)
        event = phone.received("halo")
        event["payload"]["receivedAt"] = received_at
        before = len(phone.texts())
        response = await phone.post_event(event)
        assert response.status_code == 200, response.text
        await eventually(lambda: len(phone.texts()) > before)  # stored, processed, answered
        assert await inbox_rows(service) == 1
