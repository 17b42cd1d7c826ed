"""SMS end to end: signed webhooks posted to the app, replies read from fake providers.

Twilio requests are signed with the `twilio` package's own RequestValidator, so every accepted
request here also cross-checks our validator against Twilio's.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from app_server import (
    ANDROID_SIGNING_KEY,
    TWILIO_SHARED_KEY,
    TWILIO_WEBHOOK_URL,
    android_env,
    service_on,
    twilio_env,
)
from fake_sms import TWILIO_NUMBER, FakeGateway, FakeTwilio, android_signature, twilio_signature
from helpers import eventually, until_unreachable
from sqlmodel import select

from bot.compose import Service
from channels.sms import gsm
from storage.models import OutboxMessage
from storage.sms_delivery import SmsDeliveryRepository

CITIZEN = "+6281234567890"


_sids = itertools.count(1)


@dataclass
class TwilioPhone:
    """A citizen's phone texting our Twilio number."""

    client: httpx.AsyncClient
    fake: FakeTwilio
    service: Service
    number: str = CITIZEN

    def sign(self, params: dict[str, str], url: str = TWILIO_WEBHOOK_URL) -> str:
        return twilio_signature(self.fake.auth_token, url, params)

    async def post(
        self, params: dict[str, str], signature: str | None = "sign", **headers: str
    ) -> httpx.Response:
        if signature == "sign":
            signature = self.sign(params)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        return await self.client.post("/webhooks/sms/twilio", data=params, headers=headers)

    def inbound(self, body: str) -> dict[str, str]:
        sid = f"SM{next(_sids):032x}"
        return {
            "ToCountry": "ID",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "SmsStatus": "received",
            "Body": body,
            "To": TWILIO_NUMBER,
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": self.fake.account_sid,
            "From": self.number,
            "ApiVersion": "2010-04-01",
        }

    def texts(self) -> list[str]:
        return self.fake.texts_to(self.number)

    async def text(self, body: str, expect: str) -> str:
        """Text the bot and wait for a reply containing `expect`; return the new replies."""
        before = len(self.texts())
        response = await self.post(self.inbound(body))
        assert response.status_code == 200, response.text
        assert response.text == "<Response/>"
        assert response.headers["content-type"].startswith("text/xml")
        await eventually(lambda: any(expect in t for t in self.texts()[before:]))
        return "\n".join(self.texts()[before:])

    async def status(self, sid: str, status: str, **extra: str) -> httpx.Response:
        params = {
            "AccountSid": self.fake.account_sid,
            "From": TWILIO_NUMBER,
            "To": self.number,
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "ApiVersion": "2010-04-01",
            **extra,
        }
        return await self.post(params)


_event_ids = itertools.count(1)


@dataclass
class AndroidPhone:
    """A citizen texting the Android phone that runs the gateway app."""

    client: httpx.AsyncClient
    fake: FakeGateway
    service: Service
    sender: str = "081234567890"  # as the phone shows it: national format
    number: str = CITIZEN
    posted: list[bytes] = field(default_factory=list)

    async def post_event(
        self,
        event: dict[str, Any],
        *,
        key: str = ANDROID_SIGNING_KEY,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> httpx.Response:
        body = json.dumps(event).encode()
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        if signature is None:
            signature = android_signature(key, body, stamp)
        headers = {"X-Signature": signature, "X-Timestamp": stamp}
        headers["Content-Type"] = "application/json"
        return await self.client.post("/webhooks/sms/android", content=body, headers=headers)

    def received(self, text: str, event_id: str | None = None) -> dict[str, Any]:
        return {
            "deviceId": "ffffffffceb0b1db0000018e937c815b",
            "event": "sms:received",
            "id": event_id or f"evt{next(_event_ids):08d}",
            "payload": {
                "messageId": "abc123",
                "message": text,
                "phoneNumber": self.sender,
                "simNumber": 1,
                "receivedAt": "2026-11-27T08:46:11.000+07:00",
            },
            "webhookId": "wh-1",
        }

    def texts(self) -> list[str]:
        return self.fake.texts_to(self.number)

    async def text(self, body: str, expect: str) -> str:
        before = len(self.texts())
        response = await self.post_event(self.received(body))
        assert response.status_code == 200, response.text
        await eventually(lambda: any(expect in t for t in self.texts()[before:]))
        return "\n".join(self.texts()[before:])


def assert_cheap(texts: list[str]) -> None:
    """What citizens received: GSM-7, no emoji, at most two segments each."""
    for text in texts:
        assert gsm.is_gsm7(text) and gsm.segments(text) <= 2, text


async def delivery_events(service: Service, external_id: str) -> list[Any]:
    async with service.store.unit_of_work() as uow:
        return await SmsDeliveryRepository(uow.session, service.db.dialect).for_message(external_id)


async def outbox_row(service: Service, external_id: str) -> OutboxMessage | None:
    async with service.store.unit_of_work() as uow:
        stmt = select(OutboxMessage).where(OutboxMessage.external_id == external_id)
        return (await uow.session.exec(stmt)).first()


# --------------------------------------------------------------------------------------------
# Twilio


async def test_full_report_over_twilio_with_a_typed_kelurahan(
    database_url: str, tmp_path: Path, fake_twilio: FakeTwilio
) -> None:
    async with service_on(database_url, tmp_path, twilio_env(fake_twilio)) as (service, client):
        phone = TwilioPhone(client, fake_twilio, service)
        greeting = await phone.text("halo", "Setuju?")
        assert greeting.endswith("1. Setuju\n2. Tidak setuju\n3. English\nBalas 1, 2 atau 3")
        await phone.text("1", "Ceritakan masalahnya")
        asked = await phone.text("PDAM mati dari kemarin, air gak ngalir", "Benar?")
        assert "Air Bersih / PDAM" in asked and asked.endswith("Balas 1 atau 2")
        where = await phone.text("1", "Di mana lokasinya?")
        assert "Kirim lokasi" not in where  # no GPS over SMS
        privacy = await phone.text("Jl. Salak 5, kel. Taman", "Privasi laporan?")
        assert "Lokasi: Kel. Taman, Kec. Taman." in privacy and "foto" not in privacy.lower()
        summary = await phone.text("2", "Periksa laporan")
        assert "Privasi: Anonim" in summary and "Foto" not in summary
        filed = await phone.text("1", "MDN-00001")
        assert "Perumda Air Minum" in filed and "WhatsApp/Telegram" in filed
        status = await phone.text("cek mdn-00001", "Diterima, menunggu verifikasi")
        assert "MDN-00001" in status
        assert_cheap(phone.texts())

        async with service.store.unit_of_work() as uow:
            report = await uow.reports.get("MDN-00001")
            contact = await uow.contacts.get("sms", CITIZEN)
        assert report is not None and report.channel == "sms" and report.chat_id == CITIZEN
        assert report.kelurahan == "Taman" and report.address == "Jl. Salak 5, kel. Taman"
        assert report.anonymous and report.agency_id == "pdam" and report.lat is None
        assert contact is not None and contact.phone == CITIZEN

        sends = fake_twilio.sent()
        assert all(c.authorized for c in fake_twilio.calls)
        assert {c.params["From"] for c in sends} == {TWILIO_NUMBER}
        assert {c.params["StatusCallback"] for c in sends} == {TWILIO_WEBHOOK_URL}

        # Twilio reports on the "filed" message; the report is tied to its outbox row.
        sid = fake_twilio.sid_of("MDN-00001. Diverifikasi")
        for state in ("sent", "delivered", "delivered"):  # Twilio may repeat itself
            answer = await phone.status(sid, state)
            assert answer.status_code == 200 and answer.text == "<Response/>"
        events = await delivery_events(service, sid)
        row = await outbox_row(service, sid)
        assert row is not None and [e.status for e in events] == ["sent", "delivered"]
        assert {e.outbox_id for e in events} == {row.id}


async def test_one_shot_lapor_and_batal_over_twilio(
    sqlite_url: str, tmp_path: Path, fake_twilio: FakeTwilio
) -> None:
    async with service_on(sqlite_url, tmp_path, twilio_env(fake_twilio)) as (service, client):
        phone = TwilioPhone(client, fake_twilio, service)
        await phone.text("LAPOR lampu jalan di gang 3 mati sudah seminggu, gelap", "Setuju?")
        asked = await phone.text("1", "Benar?")  # consent given: straight to the category
        assert "Penerangan Jalan Umum" in asked
        await phone.text("BATAL", "dibatalkan")
        async with service.store.unit_of_work() as uow:
            assert await uow.reports.list() == []
        await phone.text("CEK MDN-00009", "tidak ditemukan")
        await phone.text("LAPOR sampah menumpuk di pinggir jalan belum diangkut", "Benar?")
        await phone.text("ya", "Di mana")
        await phone.text("kelurahan Kanigoro", "Privasi")
        await phone.text("biasa", "Periksa")
        await phone.text("kirim", "MDN-00001")
        async with service.store.unit_of_work() as uow:
            report = await uow.reports.get("MDN-00001")
        assert report is not None and report.description.startswith("sampah menumpuk")
        assert report.kelurahan == "Kanigoro" and not report.anonymous
        assert_cheap(phone.texts())


async def test_english_over_sms(sqlite_url: str, tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    async with service_on(sqlite_url, tmp_path, twilio_env(fake_twilio)) as (service, client):
        phone = TwilioPhone(client, fake_twilio, service)
        await phone.text("halo", "Setuju?")
        greeting = await phone.text("3", "Agree?")
        assert greeting.endswith(
            "1. I agree\n2. I do not agree\n3. Bahasa Indonesia\nReply 1, 2 or 3"
        )
        assert_cheap(phone.texts())


async def test_wrong_twilio_signatures_change_nothing(
    sqlite_url: str, tmp_path: Path, fake_twilio: FakeTwilio
) -> None:
    async with service_on(sqlite_url, tmp_path, twilio_env(fake_twilio)) as (service, client):
        phone = TwilioPhone(client, fake_twilio, service)
        params = phone.inbound("halo")
        assert (await phone.post(params, signature=None)).status_code == 401
        assert (await phone.post(params, signature="bm90IGl0")).status_code == 403
        other_url = phone.sign(params, "https://attacker.example/webhooks/sms/twilio")
        assert (await phone.post(params, signature=other_url)).status_code == 403
        tampered = {**params, "Body": "LAPOR palsu"}
        assert (await phone.post(tampered, signature=phone.sign(params))).status_code == 403
        wrong_token = twilio_signature("not-the-token", TWILIO_WEBHOOK_URL, params)
        assert (await phone.post(params, signature=wrong_token)).status_code == 403
        # The SHA-256 variant: signed with the Webhooks SharedKey, as the header says.
        settings = {"X-Twilio-Webhooks-Signature-Settings": "key=wk_1,algorithm=HMAC_SHA256"}
        sha1 = phone.sign(params)
        assert (await phone.post(params, signature=sha1, **settings)).status_code == 403
        odd = {"X-Twilio-Webhooks-Signature-Settings": "key=wk_1,algorithm=HMAC_MD5"}
        assert (await phone.post(params, signature=sha1, **odd)).status_code == 403

        assert await service.store.unprocessed_inbox() == []
        async with service.store.unit_of_work() as uow:
            assert await uow.conversations.load(f"sms:{CITIZEN}") is None
            assert await uow.inbox.get(1) is None
        await asyncio.sleep(0.2)
        assert fake_twilio.calls == []

        sha256 = twilio_signature(TWILIO_SHARED_KEY, TWILIO_WEBHOOK_URL, params, "HMAC_SHA256")
        accepted = await phone.post(params, signature=sha256, **settings)
        assert accepted.status_code == 200
        await eventually(lambda: phone.texts())


async def test_odd_twilio_payloads_are_acknowledged_never_a_500(
    sqlite_url: str, tmp_path: Path, fake_twilio: FakeTwilio
) -> None:
    async with service_on(sqlite_url, tmp_path, twilio_env(fake_twilio)) as (service, client):
        phone = TwilioPhone(client, fake_twilio, service)
        for params in (
            {},
            {"MessageSid": "SMx"},
            {"MessageSid": "SMx", "From": "TELKOMSEL", "Body": "Promo paket data"},
            {"MessageSid": "SMy", "From": CITIZEN, "Body": "   "},
            {"MessageSid": "SMz", "MessageStatus": "queued"},
            {"MessageSid": "SMz", "MessageStatus": "delivered"},  # not one of ours
        ):
            response = await phone.post(params)
            assert response.status_code == 200, (params, response.text)
        garbage = b"\xff\xfe%%%&&&=="
        signature = twilio_signature(fake_twilio.auth_token, TWILIO_WEBHOOK_URL, {})
        response = await client.post(
            "/webhooks/sms/twilio",
            content=garbage,
            headers={"X-Twilio-Signature": signature, "Content-Type": "text/plain"},
        )
        assert response.status_code == 403  # signed over nothing, but it parses to something
        # An MMS with no text: told that only text can be read.
        mms = {**phone.inbound(""), "NumMedia": "1", "MediaUrl0": "https://api.twilio.com/x"}
        assert (await phone.post(mms)).status_code == 200
        await eventually(lambda: any("hanya bisa membaca teks" in t for t in phone.texts()))
        assert await service.store.unprocessed_inbox() == []


async def test_twilio_send_errors_retry_or_stop(
    sqlite_url: str, tmp_path: Path, fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with service_on(sqlite_url, tmp_path, twilio_env(fake_twilio)) as (service, client):
        phone = TwilioPhone(client, fake_twilio, service)
        fake_twilio.fail_next(429, {"code": 20429, "message": "Too Many Requests"},
                              headers={"Retry-After": "1"})  # fmt: skip
        fake_twilio.fail_next(503, {"code": 20500, "message": "Service Unavailable"})
        await phone.text("halo", "Setuju?")
        assert [c.status for c in fake_twilio.calls] == [429, 503, 201]

        # The citizen replied STOP at the carrier: Twilio refuses, we stop trying.
        other = TwilioPhone(client, fake_twilio, service, number="+6285712345678")
        fake_twilio.fail_next(400, {"code": 21610, "message": "Attempt to send to unsubscribed"})
        assert (await other.post(other.inbound("halo"))).status_code == 200

        await until_unreachable(service.store, "sms", other.number)
        await asyncio.sleep(0.3)
        assert len([c for c in fake_twilio.calls if c.params.get("To") == other.number]) == 1
    assert fake_twilio.auth_token not in caplog.text


async def test_an_undelivered_status_marks_a_dead_number(
    sqlite_url: str, tmp_path: Path, fake_twilio: FakeTwilio
) -> None:
    async with service_on(sqlite_url, tmp_path, twilio_env(fake_twilio)) as (service, client):
        phone = TwilioPhone(client, fake_twilio, service)
        await phone.text("halo", "Setuju?")
        sid = fake_twilio.sid_of("Setuju?")
        answer = await phone.status(sid, "undelivered", ErrorCode="30005")
        assert answer.status_code == 200
        events = await delivery_events(service, sid)
        assert [(e.status, e.error) for e in events] == [("failed", "twilio 30005")]
        async with service.store.unit_of_work() as uow:
            contact = await uow.contacts.get("sms", CITIZEN)
        assert contact is not None and not contact.reachable
        await phone.text("1", "Ceritakan")  # writing again makes the number reachable
        async with service.store.unit_of_work() as uow:
            contact = await uow.contacts.get("sms", CITIZEN)
        assert contact is not None and contact.reachable


# --------------------------------------------------------------------------------------------
# SMS Gateway for Android


async def test_full_report_over_the_android_gateway(
    database_url: str, tmp_path: Path, fake_gateway: FakeGateway
) -> None:
    async with service_on(database_url, tmp_path, android_env(fake_gateway)) as (service, client):
        phone = AndroidPhone(client, fake_gateway, service)
        await phone.text("LAPOR got mampet, banjir tiap hujan di gang 3", "Setuju?")
        await phone.text("1", "Benar?")
        await phone.text("1", "Di mana")
        await phone.text("Jl. Merpati 7 kel. Nambangan Lor", "Privasi")
        await phone.text("3", "Periksa")
        filed = await phone.text("1", "MDN-00001")
        assert "WhatsApp/Telegram" in filed
        await phone.text("CEK MDN-00001", "Diterima")
        assert_cheap(phone.texts())
        sends = fake_gateway.sent()
        assert {c.path for c in sends} == {"/message"}  # the phone's local server
        assert all(c.params["phoneNumbers"] == [CITIZEN] for c in sends)
        assert all(c.authorized for c in fake_gateway.calls)
        async with service.store.unit_of_work() as uow:
            report = await uow.reports.get("MDN-00001")
        assert report is not None and report.kelurahan == "Nambangan Lor"
        assert report.confidential and report.channel == "sms"

        message_id = fake_gateway.id_of("MDN-00001. Diverifikasi")
        for event, at in (("sms:sent", "sentAt"), ("sms:delivered", "deliveredAt")):
            payload = {"messageId": message_id, "phoneNumber": CITIZEN, at: "2026-11-27T09:00:00Z"}
            status_event = {"event": event, "id": f"st-{event}", "payload": payload}
            for _ in range(2):  # the device retries
                assert (await phone.post_event(status_event)).status_code == 200
        events = await delivery_events(service, message_id)
        row = await outbox_row(service, message_id)
        assert row is not None and [e.status for e in events] == ["sent", "delivered"]
        assert {e.outbox_id for e in events} == {row.id}


async def test_a_replayed_gateway_event_is_answered_once(
    sqlite_url: str, tmp_path: Path, fake_gateway: FakeGateway
) -> None:
    async with service_on(sqlite_url, tmp_path, android_env(fake_gateway)) as (service, client):
        phone = AndroidPhone(client, fake_gateway, service)
        event = phone.received("halo", event_id="Ey6ECgOkVVFjz3CL48B8C")
        first = await phone.post_event(event)
        assert first.status_code == 200 and first.json()["outcome"] == "message"
        await eventually(lambda: phone.texts())
        for delay in (10, 20):  # the device retries with the same id, a new timestamp
            again = await phone.post_event(event, timestamp=int(time.time()) + delay)
            assert again.status_code == 200
        # The same text in a new event is a new message (payload.messageId is content-based).
        await phone.text("halo", "Setuju?")
        await asyncio.sleep(0.3)
        assert len(phone.texts()) == 2
        async with service.store.unit_of_work() as uow:
            contact = await uow.contacts.get("sms", CITIZEN)
        assert contact is not None and contact.chat_id == CITIZEN


async def test_wrong_gateway_signatures_change_nothing(
    sqlite_url: str, tmp_path: Path, fake_gateway: FakeGateway
) -> None:
    async with service_on(sqlite_url, tmp_path, android_env(fake_gateway)) as (service, client):
        phone = AndroidPhone(client, fake_gateway, service)
        event = phone.received("LAPOR jalan rusak parah depan balai kota")
        assert (await phone.post_event(event, key="another-key")).status_code == 403
        assert (await phone.post_event(event, signature="00" * 32)).status_code == 403
        stale = int(time.time()) - 6 * 60
        assert (await phone.post_event(event, timestamp=stale)).status_code == 403
        future = int(time.time()) + 6 * 60
        assert (await phone.post_event(event, timestamp=future)).status_code == 403
        body = json.dumps(event).encode()
        missing = await client.post("/webhooks/sms/android", content=body)
        assert missing.status_code == 401
        only_signature = await client.post(
            "/webhooks/sms/android", content=body, headers={"X-Signature": "ab"}
        )
        assert only_signature.status_code == 401
        assert await service.store.unprocessed_inbox() == []
        async with service.store.unit_of_work() as uow:
            assert await uow.conversations.load(f"sms:{CITIZEN}") is None
            assert await uow.inbox.get(1) is None
        await asyncio.sleep(0.2)
        assert fake_gateway.calls == []
        # The wrong provider's route is not there at all.
        twilio = await client.post("/webhooks/sms/twilio", data={"Body": "x"})
        assert twilio.status_code == 404


async def test_odd_gateway_payloads_are_acknowledged_never_a_500(
    sqlite_url: str, tmp_path: Path, fake_gateway: FakeGateway
) -> None:
    async with service_on(sqlite_url, tmp_path, android_env(fake_gateway)) as (service, client):
        phone = AndroidPhone(client, fake_gateway, service)
        for event in (
            [],
            {},
            {"event": "sms:received"},
            {"event": "sms:received", "id": "e1", "payload": {"message": 5}},
            {"event": "sms:received", "id": "e2", "payload": {"message": "x", "phoneNumber": "1"}},
            {"event": "sms:failed", "id": "e3", "payload": {"messageId": "unknown", "reason": "x"}},
            {"event": "system:ping", "id": "e4", "payload": {"health": {"status": "pass"}}},
            {"event": "mms:received", "id": "e5", "payload": {}},
        ):  # fmt: skip
            response = await phone.post_event(event)  # type: ignore[arg-type]
            assert response.status_code == 200, (event, response.text)
        body, stamp = b"{not json", str(int(time.time()))
        signature = android_signature(ANDROID_SIGNING_KEY, body, stamp)
        headers = {"X-Signature": signature, "X-Timestamp": stamp}
        not_json = await client.post("/webhooks/sms/android", content=body, headers=headers)
        assert not_json.status_code == 400
        bad_stamp = await phone.post_event({}, timestamp=None, signature=None)
        assert bad_stamp.status_code == 200
        assert await service.store.unprocessed_inbox() == []
        await asyncio.sleep(0.2)
        assert fake_gateway.calls == []


async def test_cloud_mode_sends_through_the_3rdparty_api(
    sqlite_url: str, tmp_path: Path, fake_gateway: FakeGateway
) -> None:
    env = android_env(fake_gateway, base=fake_gateway.gateway_url + "/3rdparty/v1")
    async with service_on(sqlite_url, tmp_path, env) as (service, client):
        phone = AndroidPhone(client, fake_gateway, service, sender="+62 812-3456-7890")
        await phone.text("halo", "Setuju?")
        assert {c.path for c in fake_gateway.sent()} == {"/3rdparty/v1/messages"}
        body = fake_gateway.sent()[0].params
        assert body["textMessage"]["text"].startswith("Layanan pengaduan")
        assert body["phoneNumbers"] == [CITIZEN]
