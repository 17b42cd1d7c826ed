"""WhatsApp end to end: real webhook JSON posted (signed) to the app, replies read from a fake
Graph API served over loopback HTTP, state read back from a real database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import whatsapp_payloads as wa
from app_server import service_on, whatsapp_env
from fake_whatsapp import APP_SECRET, STATUS_TEMPLATE, VERIFY_TOKEN, Call, FakeGraph
from helpers import eventually, eventually_async, jpeg_with_gps
from PIL import Image
from sqlmodel import col, select

from bot.compose import Service
from intake.types import Reply, StatusNotice
from storage.models import Attachment, InboxMessage, OutboxMessage

CITIZEN = wa.CITIZEN["wa_id"]
NEIGHBOUR = wa.NEIGHBOUR["wa_id"]


@dataclass
class WhatsApp:
    """The app under test, a client that posts as Meta does, and the fake Graph API."""

    client: httpx.AsyncClient
    fake: FakeGraph
    service: Service

    async def post(
        self, payload: Any, *, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> httpx.Response:
        raw, signed = wa.signed(payload)
        return await self.client.post(
            "/webhooks/whatsapp",
            content=body if body is not None else raw,
            headers=headers or signed,
        )

    async def say(
        self, message: dict[str, Any], expect: str, *, person: dict[str, str] = wa.CITIZEN
    ) -> Call:
        """Post one message from `person`; wait for (and return) the reply containing `expect`."""
        before = len(self.fake.messages(person["wa_id"]))
        response = await self.post(wa.incoming(message, person=person))
        assert response.status_code == 200, response.text
        assert response.json()["messages"] == 1, response.json()

        def found() -> Call | None:
            new = self.fake.messages(person["wa_id"])[before:]
            return next((c for c in new if expect in c.text), None)

        call: Call = await eventually(found)
        await eventually_async(lambda: self._recorded(call.wamid, person["wa_id"]))
        return call

    async def _recorded(self, wamid: str | None, chat_id: str) -> bool:
        """The dispatcher has stored the id WhatsApp gave the reply (statuses can match it)."""
        return any(row.external_id == wamid for row in await self.outbox(chat_id))

    async def outbox(self, chat_id: str = CITIZEN) -> list[OutboxMessage]:
        stmt = (
            select(OutboxMessage)
            .where(OutboxMessage.channel == "whatsapp", OutboxMessage.chat_id == chat_id)
            .order_by(col(OutboxMessage.id))
        )
        async with self.service.store.unit_of_work() as uow:
            return list((await uow.session.exec(stmt)).all())

    async def queue_notice(
        self, chat_id: str = CITIZEN, ticket: str = "MDN-00007", status: str = "Selesai"
    ) -> int:
        """What the officer desk does when a report's status changes."""
        now = self.service.clock()
        reply = Reply(f"Laporan {ticket}: {status}.", notice=StatusNotice(ticket, status))
        async with self.service.store.unit_of_work() as uow:
            outbox_id = await uow.outbox.add(
                f"whatsapp:{chat_id}", "whatsapp", chat_id, reply.to_dict(), now, now=now
            )
        self.service.dispatcher.wake()
        return outbox_id

    async def row(self, outbox_id: int) -> OutboxMessage:
        async with self.service.store.unit_of_work() as uow:
            row = await uow.outbox.get(outbox_id)
        assert row is not None
        return row

    async def last_wrote(self, ago: timedelta, wa_id: str = CITIZEN) -> None:
        """Pretend the citizen's last message was `ago` ago."""
        async with self.service.store.unit_of_work() as uow:
            contact = await uow.contacts.by_chat("whatsapp", wa_id)
            assert contact is not None
            contact.last_inbound_at = self.service.clock() - ago
            uow.session.add(contact)


@asynccontextmanager
async def whatsapp_app(
    url: str, tmp_path: Path, fake: FakeGraph, **options: Any
) -> AsyncIterator[WhatsApp]:
    async with service_on(url, tmp_path, whatsapp_env(fake, **options)) as (service, client):
        yield WhatsApp(client, fake, service)


def buttons(call: Call) -> list[tuple[str, str]]:
    assert call.body["type"] == "interactive" and call.body["interactive"]["type"] == "button"
    return [
        (b["reply"]["id"], b["reply"]["title"])
        for b in call.body["interactive"]["action"]["buttons"]
    ]


def rows(call: Call) -> list[dict[str, str]]:
    assert call.body["type"] == "interactive" and call.body["interactive"]["type"] == "list"
    return [r for s in call.body["interactive"]["action"]["sections"] for r in s["rows"]]


# --------------------------------------------------------------------------------------------


async def test_full_report_with_a_photo_a_location_and_a_list_choice(
    database_url: str, tmp_path: Path, graph: FakeGraph
) -> None:
    graph.add_media("1049270452618423", jpeg_with_gps((40, 120, 200)))
    async with whatsapp_app(database_url, tmp_path, graph) as app:
        greeting = await app.say(wa.text("halo"), "Apakah Anda setuju?")
        assert [value for value, _ in buttons(greeting)] == ["agree", "disagree", "lang:en"]
        assert all(len(title) <= 20 for _, title in buttons(greeting))

        await app.say(wa.button_reply("agree", "Setuju", answering=greeting.wamid), "Ceritakan")
        await app.say(wa.text("Jalan depan pasar bolong gede, motor sering jatuh"), "Benar?")
        asked = await app.say(wa.button_reply("yes", "Ya"), "Di mana lokasinya?")
        assert asked.body["interactive"]["type"] == "location_request_message"
        assert asked.body["interactive"]["action"] == {"name": "send_location"}

        await app.say(wa.location(-7.6298, 111.5239, "Pasar Sleko"), "Kirim foto")
        await app.say(wa.image("1049270452618423", caption="ini lubangnya"), "Foto diterima")
        privacy = await app.say(wa.button_reply("done", "Selesai"), "privasi")
        choices = rows(privacy)
        assert [r["id"] for r in choices] == [
            "priv:normal",
            "priv:anonymous",
            "priv:confidential",
            "priv:both",
        ]
        assert all(len(r["title"]) <= 24 and len(r.get("description", "")) <= 72 for r in choices)
        summary = await app.say(wa.list_reply("priv:anonymous", choices[1]["title"]), "Periksa")
        assert "Foto: 1" in summary.text and "Kejuron" in summary.text
        await app.say(wa.button_reply("send", "Kirim"), "MDN-00001")

        store = app.service.store
        async with store.unit_of_work() as uow:
            report = await uow.reports.get("MDN-00001")
            contact = await uow.contacts.get("whatsapp", wa.CITIZEN["user_id"])
        assert report is not None and report.id is not None
        assert (report.channel, report.chat_id, report.category_id) == (
            "whatsapp",
            CITIZEN,
            "jalan",
        )
        assert report.kelurahan == "Kejuron" and report.anonymous and not report.confidential
        assert contact is not None and contact.id == report.contact_id
        assert (contact.chat_id, contact.display_name) == (CITIZEN, "Siti Rahayu")
        assert contact.phone == "+6281234567890"

        async def stored() -> list[Attachment]:
            async with store.unit_of_work() as uow:
                found = await uow.reports.attachments(report.id)  # type: ignore[arg-type]
            return found if found and all(a.fetch_status == "stored" for a in found) else []

        (photo,) = await eventually_async(stored)
        assert photo.platform_ref == "1049270452618423" and photo.stored_path
        with Image.open(Path(app.service.settings.storage.media_dir) / photo.stored_path) as image:
            assert not image.getexif(), "EXIF (with GPS) must be stripped"
        downloads = [c for c in graph.calls if c.kind == "download"]
        assert downloads and downloads[0].status == 200

        # Every message was marked read (with a typing indicator), in the background.
        reads = await eventually(lambda: len(graph.reads()) >= 9 and graph.reads())
        assert reads[0].body["typing_indicator"] == {"type": "text"}


async def test_a_batch_of_two_citizens_and_a_status(
    database_url: str, tmp_path: Path, graph: FakeGraph
) -> None:
    async with whatsapp_app(database_url, tmp_path, graph) as app:
        greeting = await app.say(wa.text("halo"), "Apakah Anda setuju?")
        batch = wa.notification(
            wa.value(
                [wa.button_reply("agree", "Setuju"), wa.text("halo", person=wa.NEIGHBOUR)],
                contacts=[wa.contact(wa.CITIZEN), wa.contact(wa.NEIGHBOUR)],
            ),
            wa.value(statuses=[wa.status(greeting.wamid or "", "delivered")]),
            entries=2,
        )
        assert len(batch["entry"]) == 2
        response = await app.post(batch)
        assert response.status_code == 200
        assert response.json() | {"ignored": []} == {
            "ok": True,
            "messages": 2,
            "duplicates": 0,
            "statuses": 1,
            "ignored": [],
        }
        await eventually(lambda: any("Ceritakan" in t for t in graph.texts(CITIZEN)))
        await eventually(lambda: any("Apakah Anda setuju?" in t for t in graph.texts(NEIGHBOUR)))

        (first, *_) = await app.outbox(CITIZEN)
        assert first.external_id == greeting.wamid
        assert first.id is not None
        delivered = await app.service.store.whatsapp_deliveries(first.id)
        assert [(d.status, d.outbox_id) for d in delivered] == [("delivered", first.id)]
        async with app.service.store.unit_of_work() as uow:
            neighbour = await uow.contacts.get("whatsapp", wa.NEIGHBOUR["user_id"])
        assert neighbour is not None and neighbour.display_name == "Budi Santoso"


async def test_a_bad_or_missing_signature_changes_nothing(
    sqlite_url: str, tmp_path: Path, graph: FakeGraph
) -> None:
    async with whatsapp_app(sqlite_url, tmp_path, graph) as app:
        payload = wa.incoming(wa.text("halo"))
        body, _ = wa.signed(payload)
        wrong = {"X-Hub-Signature-256": wa.sign("not-the-app-secret", body)}
        assert (await app.post(payload, headers=wrong)).status_code == 403
        assert (
            await app.post(payload, headers={"X-Hub-Signature-256": "sha1=abc"})
        ).status_code == 403
        assert (
            await app.post(payload, headers={"Content-Type": "application/json"})
        ).status_code == 401
        _, good = wa.signed(payload)
        tampered = body.replace(b"halo", b"hola")
        assert (await app.post(payload, headers=good, body=tampered)).status_code == 403

        # Over the size cap (Meta documents up to 3 MB): refused before anything is parsed.
        huge = wa.incoming(wa.text("x" * (3 * 1024 * 1024)))
        assert (await app.post(huge)).status_code == 413

        # Signed, but nothing we can use: still 200, so Meta does not send it again.
        odd = await app.post({"object": "page", "entry": [{"id": "1"}]})
        assert odd.status_code == 200 and odd.json()["messages"] == 0
        assert (await app.post([1, 2, 3])).status_code == 200
        junk = b"{not json"
        junk_headers = {"X-Hub-Signature-256": wa.sign(APP_SECRET, junk)}
        assert (await app.post(None, headers=junk_headers, body=junk)).status_code == 200
        malformed = wa.incoming({"id": "", "type": "text"}, {"from": {"x": 1}, "id": ["?"]})
        assert (await app.post(malformed)).status_code == 200

        assert await app.service.store.unprocessed_inbox() == []
        async with app.service.store.unit_of_work() as uow:
            assert await uow.conversations.load(f"whatsapp:{CITIZEN}") is None
            assert await uow.inbox.unprocessed() == []
        await asyncio.sleep(0.2)
        assert graph.calls == []

        big = wa.incoming(wa.text("halo"))  # a 2 MB batch is fine (the general cap is 1 MiB)
        big["entry"].append({"id": "2", "changes": [{"field": "x", "value": {"pad": "p" * 2**21}}]})
        big_answer = await app.post(big)
        assert big_answer.status_code == 200 and big_answer.json()["messages"] == 1

        # The subscription handshake.
        query = {
            "hub.mode": "subscribe",
            "hub.challenge": "1158201444",
            "hub.verify_token": VERIFY_TOKEN,
        }
        ok = await app.client.get("/webhooks/whatsapp", params=query)
        assert (ok.status_code, ok.text) == (200, "1158201444")
        assert ok.headers["content-type"].startswith("text/plain")
        bad = await app.client.get("/webhooks/whatsapp", params={**query, "hub.verify_token": "x"})
        assert bad.status_code == 403
        assert (await app.client.get("/webhooks/whatsapp")).status_code == 400


async def test_the_same_message_twice_is_answered_once(
    database_url: str, tmp_path: Path, graph: FakeGraph
) -> None:
    async with whatsapp_app(database_url, tmp_path, graph) as app:
        message = wa.text("halo")
        await app.say(message, "Apakah Anda setuju?")
        again = await app.post(wa.incoming(message))
        assert again.status_code == 200 and again.json()["duplicates"] == 1
        await asyncio.sleep(0.3)
        assert len(graph.messages(CITIZEN)) == 1
        assert len(graph.reads()) == 1  # the repeat is not marked read again


async def test_status_callbacks_update_delivery_state(
    database_url: str, tmp_path: Path, graph: FakeGraph
) -> None:
    async with whatsapp_app(database_url, tmp_path, graph) as app:
        greeting = await app.say(wa.text("halo"), "Apakah Anda setuju?")
        wamid = greeting.wamid or ""
        (row,) = await app.outbox()
        assert row.id is not None and row.external_id == wamid and row.status == "sent"

        for state in ("sent", "delivered", "read"):
            response = await app.post(wa.statuses(wa.status(wamid, state)))
            assert response.json()["statuses"] == 1
        repeat = await app.post(wa.statuses(wa.status(wamid, "read")))
        assert repeat.status_code == 200 and repeat.json()["statuses"] == 0
        events = await app.service.store.whatsapp_deliveries(row.id)
        assert [e.status for e in events] == ["sent", "delivered", "read"]
        assert all(e.chat_id == CITIZEN and e.outbox_id == row.id for e in events)

        # A status for a message we do not know is kept, matched to nothing.
        unknown = await app.post(wa.statuses(wa.status("wamid.unknown", "delivered")))
        assert unknown.json()["statuses"] == 1

        # An undeliverable message: recorded with its error, and the citizen marked unreachable.
        reply = await app.say(wa.button_reply("agree", "Setuju"), "Ceritakan")
        undeliverable = wa.failed(reply.wamid or "", 131026, "Message undeliverable")
        assert (await app.post(wa.statuses(undeliverable))).json()["statuses"] == 1
        second = (await app.outbox())[1]
        assert second.id is not None
        (failure,) = await app.service.store.whatsapp_deliveries(second.id)
        assert (failure.status, failure.error_code) == ("failed", 131026)
        assert failure.error == "131026 Message undeliverable"
        async with app.service.store.unit_of_work() as uow:
            contact = await uow.contacts.by_chat("whatsapp", CITIZEN)
        assert contact is not None and contact.reachable is False


async def test_a_notification_after_the_window_closed_goes_as_the_template(
    database_url: str, tmp_path: Path, graph: FakeGraph
) -> None:
    async with whatsapp_app(database_url, tmp_path, graph) as app:
        await app.say(wa.text("halo"), "Apakah Anda setuju?")
        await app.last_wrote(timedelta(hours=25))
        outbox_id = await app.queue_notice(ticket="MDN-00007", status="Sedang ditindaklanjuti")

        template = await eventually(
            lambda: [c for c in graph.messages(CITIZEN) if "template" in c.body]
        )
        body = template[0].body["template"]
        assert body["name"] == STATUS_TEMPLATE and body["language"] == {"code": "id"}
        parameters = [p["text"] for p in body["components"][0]["parameters"]]
        assert parameters == ["MDN-00007", "Sedang ditindaklanjuti"]
        # No free-form attempt was wasted on a closed window.
        assert len(graph.messages(CITIZEN, ok_only=False)) == 2

        row = await eventually_async(lambda: _sent(app, outbox_id))
        assert row.external_id == template[0].wamid

        # Within the window the same notification goes as ordinary text.
        await app.last_wrote(timedelta(hours=1))
        await app.queue_notice(ticket="MDN-00008", status="Selesai")
        await eventually(lambda: "Laporan MDN-00008: Selesai." in graph.texts(CITIZEN))


async def _sent(app: WhatsApp, outbox_id: int) -> OutboxMessage | None:
    row = await app.row(outbox_id)
    return row if row.status == "sent" else None


async def test_a_send_refused_with_131047_falls_back_to_the_template(
    database_url: str, tmp_path: Path, graph: FakeGraph
) -> None:
    async with whatsapp_app(database_url, tmp_path, graph) as app:
        await app.say(wa.text("halo"), "Apakah Anda setuju?")
        # Our records say the window is open, WhatsApp says otherwise (answering the send).
        graph.close_window(CITIZEN)
        outbox_id = await app.queue_notice(ticket="MDN-00007", status="Selesai")
        row = await eventually_async(lambda: _sent(app, outbox_id))
        refused, template = graph.messages(CITIZEN, ok_only=False)[-2:]
        assert (refused.status, refused.body["type"]) == (400, "text")
        assert refused.answer["error"]["code"] == 131047
        assert template.status == 200 and template.body["type"] == "template"
        assert row.external_id == template.wamid

        # Accepted first, refused later (a failed status): sent again, as the template.
        graph.open_window(CITIZEN)
        second = await app.queue_notice(ticket="MDN-00009", status="Ditolak: duplikat")
        accepted = await eventually_async(lambda: _sent(app, second))
        assert graph.messages(CITIZEN)[-1].body["type"] == "text"
        failure = wa.failed(
            accepted.external_id or "", 131047, "Re-engagement message", wa.REENGAGEMENT_DETAILS
        )
        assert (await app.post(wa.statuses(failure))).json()["statuses"] == 1

        def templates() -> list[Call]:
            return [c for c in graph.messages(CITIZEN) if c.body["type"] == "template"]

        again = await eventually(lambda: len(templates()) == 2 and templates()[-1])
        parameters = [p["text"] for p in again.body["template"]["components"][0]["parameters"]]
        assert parameters == ["MDN-00009", "Ditolak: duplikat"]
        # The same failure reported twice does not send it a third time.
        assert (await app.post(wa.statuses(failure))).json()["statuses"] == 0
        await asyncio.sleep(0.3)
        assert len(templates()) == 2


async def test_without_a_template_a_notification_waits_for_the_citizen(
    database_url: str, tmp_path: Path, graph: FakeGraph
) -> None:
    async with whatsapp_app(database_url, tmp_path, graph, template=False) as app:
        await app.say(wa.text("halo"), "Apakah Anda setuju?")
        await app.last_wrote(timedelta(days=3))
        outbox_id = await app.queue_notice(ticket="MDN-00007", status="Selesai")

        async def waiting() -> OutboxMessage | None:
            row = await app.row(outbox_id)
            return row if row.status == "waiting" else None

        held = await eventually_async(waiting)
        assert "24-hour window" in (held.last_error or "")
        assert "status_template" in (held.last_error or "")
        assert len(graph.messages(CITIZEN, ok_only=False)) == 1  # nothing was attempted
        (notification,) = await app.service.store.notifications("whatsapp", CITIZEN, "MDN-00007")
        assert notification.pending and notification.outbox_status == "waiting"
        assert notification.delivery is None and "24-hour window" in (notification.error or "")

        # The citizen writes again: the notification goes first, then the answer.
        before = len(graph.messages(CITIZEN))
        await app.say(wa.text("halo lagi"), "Apakah Anda setuju?")
        texts = graph.texts(CITIZEN)[before:]
        assert texts[0] == "Laporan MDN-00007: Selesai."
        sent = await app.row(outbox_id)
        assert sent.status == "sent"
        await app.post(wa.statuses(wa.status(sent.external_id or "", "delivered")))
        (notification,) = await app.service.store.notifications("whatsapp", CITIZEN, "MDN-00007")
        assert not notification.pending and notification.delivery == "delivered"


async def test_throttling_is_retried_and_a_voice_note_stands_as_the_description(
    sqlite_url: str, tmp_path: Path, graph: FakeGraph
) -> None:
    async with whatsapp_app(sqlite_url, tmp_path, graph) as app:
        graph.fail_next(130429, "Rate limit hit", retry_after="0", count=2)
        await app.say(wa.text("halo"), "Apakah Anda setuju?")
        refused = [c for c in graph.messages(CITIZEN, ok_only=False) if c.status != 200]
        assert [c.answer["error"]["code"] for c in refused] == [130429, 130429]

        await app.say(wa.button_reply("agree", "Setuju"), "Ceritakan")
        # (was: "please type"; issue 13: the voice note is attached and heard by officers)
        await app.say(wa.voice_note("2216485301939857"), "Pesan suara diterima")
        async with app.service.store.unit_of_work() as uow:
            (inbox,) = [
                row for row in await _inbox_rows(uow) if row.payload["message"]["kind"] == "voice"
            ]
        assert inbox.payload["message"]["media"]["ref"] == "2216485301939857"


async def _inbox_rows(uow: Any) -> list[InboxMessage]:
    return list((await uow.session.exec(select(InboxMessage))).all())


async def test_a_citizen_with_a_username_and_no_phone_number(
    sqlite_url: str, tmp_path: Path, graph: FakeGraph
) -> None:
    async with whatsapp_app(sqlite_url, tmp_path, graph) as app:
        bsuid = wa.CITIZEN["user_id"]
        response = await app.post(wa.incoming(wa.text("halo", phone=False), phone=False))
        assert response.json()["messages"] == 1
        reply = await eventually(lambda: graph.messages(bsuid))
        assert reply[0].body["recipient"] == bsuid and "to" not in reply[0].body
        async with app.service.store.unit_of_work() as uow:
            contact = await uow.contacts.get("whatsapp", bsuid)
        assert contact is not None and contact.chat_id == bsuid and contact.phone is None
