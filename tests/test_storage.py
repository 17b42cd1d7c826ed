"""Storage on a real database: every test that takes `store` runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.exc import StatementError
from sqlmodel import SQLModel

from intake.tickets import format_ticket, parse_ticket
from intake.types import GeoPoint, MediaRef, PlaceMatch, ReportDraft, ReportStatus
from storage import ConcurrentUpdate, Database, Store
from storage.migrate import current, head, sync_url, upgrade
from storage.models import Report

T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
WIB = timezone(timedelta(hours=7))


def draft(description: str = "Jalan berlubang", **changes: object) -> ReportDraft:
    d = ReportDraft(
        description=description,
        category_id="jalan",
        place=PlaceMatch(
            kelurahan="Taman",
            kecamatan="Taman",
            code="3577030001",
            point=GeoPoint(-7.6298, 111.5239),
            address="Jl. Pahlawan 12",
        ),
    )
    for name, value in changes.items():
        setattr(d, name, value)
    return d


async def file_report(
    store: Store,
    d: ReportDraft | None = None,
    *,
    channel: str = "telegram",
    chat_id: str = "100",
    agency_id: str | None = "dpupr",
    now: datetime = T0,
) -> Report:
    async with store.unit_of_work() as uow:
        return await uow.reports.file(
            d or draft(),
            ticket_prefix="MDN",
            channel=channel,
            chat_id=chat_id,
            contact_id=None,
            agency_id=agency_id,
            now=now,
        )


async def add_outbox(store: Store, key: str, message: str, due_at: datetime = T0) -> int:
    channel, chat_id = key.split(":")
    async with store.unit_of_work() as uow:
        return await uow.outbox.add(key, channel, chat_id, {"text": message}, due_at)


async def claimed_texts(store: Store, now: datetime = T0) -> list[str]:
    return [row.payload["text"] for row in await store.claim_outbox(now)]


# -- tickets ---------------------------------------------------------------------------------


def test_format_ticket() -> None:
    assert format_ticket("MDN", 42) == "MDN-00042"
    assert format_ticket("MDN", 1) == "MDN-00001"
    assert format_ticket("MDN", 123456) == "MDN-123456"
    with pytest.raises(ValueError):
        format_ticket("MDN", 0)


@pytest.mark.parametrize(
    "typed",
    ["MDN-00042", "mdn-00042", "MDN00042", "mdn 42", "Mdn-42", " mdn - 42 ", "#42", "42", "00042"],
)
def test_parse_ticket_accepts_loose_forms(typed: str) -> None:
    assert parse_ticket(typed, "MDN") == "MDN-00042"


@pytest.mark.parametrize("typed", ["", "MDN", "MDN-", "SBY-00042", "MDN-0", "MDN-42a", "ticket 42"])
def test_parse_ticket_rejects_other_text(typed: str) -> None:
    assert parse_ticket(typed, "MDN") is None


# -- database and migrations ----------------------------------------------------------------


def test_migrations_produce_exactly_the_models(database_url: str) -> None:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
    finally:
        engine.dispose()


def test_current_revision(sqlite_url: str) -> None:
    assert current(sqlite_url) is None
    upgrade(sqlite_url)
    assert current(sqlite_url) == head() is not None
    upgrade(sqlite_url)  # idempotent
    assert current(sqlite_url) == head()


async def test_cursor_is_kept_and_moved(store: Store) -> None:
    now = datetime.now(UTC)
    assert await store.get_cursor("telegram:offset") is None
    await store.set_cursor("telegram:offset", "101", now)
    await store.set_cursor("telegram:offset", "102", now)
    assert await store.get_cursor("telegram:offset") == "102"


async def test_ping(store: Store) -> None:
    assert await store.db.ping()


async def test_ping_unreachable_database() -> None:
    db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        assert not await db.ping()
    finally:
        await db.dispose()


async def test_sqlite_connection_settings(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        assert db.is_sqlite
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await db.dispose()


async def test_timestamps_come_back_timezone_aware_utc(store: Store) -> None:
    local = datetime(2025, 1, 6, 15, 30, 15, 123456, tzinfo=WIB)
    filed = await file_report(store, now=local)
    async with store.unit_of_work() as uow:
        report = await uow.reports.get(filed.ticket)
    assert report is not None
    assert report.created_at == local
    assert report.created_at.tzinfo is UTC
    assert report.created_at == datetime(2025, 1, 6, 8, 30, 15, 123456, tzinfo=UTC)


async def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        await add_outbox(store, "telegram:1", "hi", due_at=datetime(2025, 1, 6, 8, 0))


async def test_unit_of_work_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.unit_of_work() as uow:
            await uow.conversations.save("telegram:1", "telegram", "1", {"step": "x"}, None, None)
            raise RuntimeError("boom")
    async with store.unit_of_work() as uow:
        assert await uow.conversations.load("telegram:1") is None


# -- inbox ---------------------------------------------------------------------------------


async def test_inbox_drops_duplicates(store: Store) -> None:
    first = await store.accept_inbound("telegram", "u1", {"update_id": 1, "text": "Halo"}, T0)
    again = await store.accept_inbound("telegram", "u1", {"update_id": 1, "text": "Halo"}, T0)
    other_channel = await store.accept_inbound("whatsapp", "u1", {}, T0)
    assert first is not None and other_channel is not None
    assert again is None
    rows = await store.unprocessed_inbox()
    assert [(r.channel, r.external_id) for r in rows] == [("telegram", "u1"), ("whatsapp", "u1")]
    assert rows[0].payload == {"update_id": 1, "text": "Halo"}


async def test_unprocessed_inbox_oldest_first_until_marked(store: Store) -> None:
    ids = [await store.accept_inbound("sms", f"m{i}", {"i": i}, T0) for i in range(3)]
    assert [r.id for r in await store.unprocessed_inbox()] == ids
    assert [r.id for r in await store.unprocessed_inbox(limit=2)] == ids[:2]

    async with store.unit_of_work() as uow:
        assert ids[0] is not None and ids[2] is not None
        await uow.inbox.mark_processed(ids[0], T0)
        await uow.inbox.mark_processed(ids[2], T0, error="unsupported payload")

    rows = await store.unprocessed_inbox()
    assert [r.id for r in rows] == [ids[1]]
    async with store.unit_of_work() as uow:
        done = await uow.inbox.get(ids[2])
    assert done is not None
    assert (done.processed_at, done.attempts, done.error) == (T0, 1, "unsupported payload")


async def test_inbox_failure_keeps_message_unprocessed(store: Store) -> None:
    inbox_id = await store.accept_inbound("sms", "m1", {}, T0)
    assert inbox_id is not None
    assert await store.record_inbox_failure(inbox_id, "database hiccup") == 1
    assert await store.record_inbox_failure(inbox_id, "database hiccup") == 2
    [row] = await store.unprocessed_inbox()
    assert (row.attempts, row.error) == (2, "database hiccup")


# -- contacts and conversations ---------------------------------------------------------------


async def test_contact_upsert_updates_given_fields(store: Store) -> None:
    async with store.unit_of_work() as uow:
        created = await uow.contacts.upsert("whatsapp", "628123", "628123", display_name="Sari")
        assert created.reachable and created.id is not None
        await uow.contacts.set_reachable("whatsapp", "628123", False)
    async with store.unit_of_work() as uow:
        contact = await uow.contacts.get("whatsapp", "628123")
        assert contact is not None and not contact.reachable
        updated = await uow.contacts.upsert(
            "whatsapp", "628123", "628123", language="id", inbound_at=T0
        )
    assert updated.id == created.id
    assert (updated.display_name, updated.language, updated.reachable) == ("Sari", "id", True)
    assert updated.last_inbound_at == T0
    async with store.unit_of_work() as uow:
        by_chat = await uow.contacts.by_chat("whatsapp", "628123")
        assert by_chat is not None and by_chat.id == created.id
        assert await uow.contacts.get("telegram", "628123") is None


async def test_conversation_versions_guard_against_lost_updates(store: Store) -> None:
    key = "telegram:42"
    async with store.unit_of_work() as uow:
        assert await uow.conversations.load(key) is None
        v1 = await uow.conversations.save(key, "telegram", "42", {"step": "describe"}, None, T0)
    assert v1 == 1
    async with store.unit_of_work() as uow:
        assert await uow.conversations.load(key) == ({"step": "describe"}, 1)
        state = {"step": "category", "text": "Lampu jalan mati 💡"}
        v2 = await uow.conversations.save(key, "telegram", "42", state, v1, T0)
    assert v2 == 2
    async with store.unit_of_work() as uow:
        assert await uow.conversations.load(key) == (state, 2)

    with pytest.raises(ConcurrentUpdate):  # a writer that still holds version 1
        async with store.unit_of_work() as uow:
            await uow.conversations.save(key, "telegram", "42", {"step": "stale"}, v1, T0)
    with pytest.raises(ConcurrentUpdate):  # a second "first" save
        async with store.unit_of_work() as uow:
            await uow.conversations.save(key, "telegram", "42", {"step": "new"}, None, T0)

    async with store.unit_of_work() as uow:
        assert await uow.conversations.load(key) == (state, 2)
        assert await uow.conversations.delete(key)
        assert await uow.conversations.load(key) is None


async def test_expired_conversations_are_purged(store: Store) -> None:
    async with store.unit_of_work() as uow:
        await uow.conversations.save("sms:1", "sms", "1", {}, None, T0)
        await uow.conversations.save("sms:2", "sms", "2", {}, None, T0 + timedelta(hours=1))
    async with store.unit_of_work() as uow:
        assert await uow.conversations.purge_expired(T0 + timedelta(minutes=1)) == 1
        assert await uow.conversations.load("sms:1") is None
        assert await uow.conversations.load("sms:2") is not None


# -- reports -----------------------------------------------------------------------------------


async def test_filing_allocates_consecutive_tickets(store: Store) -> None:
    assert (await file_report(store)).ticket == "MDN-00001"
    assert (await file_report(store)).ticket == "MDN-00002"
    async with store.unit_of_work() as uow:
        other = await uow.reports.file(
            draft(),
            ticket_prefix="SBY",
            channel="sms",
            chat_id="1",
            contact_id=None,
            agency_id=None,
            now=T0,
        )
    assert other.ticket == "SBY-00001"
    assert (await file_report(store)).ticket == "MDN-00003"


async def test_a_rolled_back_filing_leaves_no_gap(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.unit_of_work() as uow:
            await uow.reports.file(
                draft(),
                ticket_prefix="MDN",
                channel="sms",
                chat_id="1",
                contact_id=None,
                agency_id=None,
                now=T0,
            )
            raise RuntimeError("crash before commit")
    assert (await file_report(store)).ticket == "MDN-00001"


async def test_concurrent_filings_get_unique_tickets(store: Store) -> None:
    reports = await asyncio.gather(
        *(file_report(store, draft(f"laporan {i}"), chat_id=str(i)) for i in range(20))
    )
    assert sorted(r.ticket for r in reports) == [format_ticket("MDN", n) for n in range(1, 21)]


async def test_filed_report_keeps_draft_photos_and_received_event(store: Store) -> None:
    photos = [
        MediaRef("telegram", "file-a", "image/jpeg", 1200),
        MediaRef("telegram", "file-b", "image/png"),
    ]
    async with store.unit_of_work() as uow:
        contact = await uow.contacts.upsert("telegram", "7", "7", inbound_at=T0)
        filed = await uow.reports.file(
            draft(photos=photos, anonymous=True),
            ticket_prefix="MDN",
            channel="telegram",
            chat_id="7",
            contact_id=contact.id,
            agency_id="dpupr",
            now=T0,
        )
    async with store.unit_of_work() as uow:
        report = await uow.reports.get(filed.ticket)
        assert report is not None and report.id is not None
        attachments = await uow.reports.attachments(report.id)
        timeline = await uow.reports.timeline(report.id)

    assert report.status == ReportStatus.RECEIVED == "received"
    assert (report.category_id, report.agency_id, report.contact_id) == (
        "jalan",
        "dpupr",
        contact.id,
    )
    assert (report.lat, report.lon) == (-7.6298, 111.5239)
    assert (report.kelurahan, report.kecamatan, report.kelurahan_code) == (
        "Taman",
        "Taman",
        "3577030001",
    )
    assert report.address == "Jl. Pahlawan 12"
    assert (report.anonymous, report.confidential) == (True, False)
    assert [(a.platform_ref, a.mime, a.size, a.fetch_status) for a in attachments] == [
        ("file-a", "image/jpeg", 1200, "pending"),
        ("file-b", "image/png", None, "pending"),
    ]
    assert [(e.status, e.actor, e.created_at) for e in timeline] == [("received", "citizen", T0)]


async def test_report_without_place(store: Store) -> None:
    filed = await file_report(store, ReportDraft(description="Pungli di kantor"))
    assert (filed.lat, filed.kelurahan, filed.address, filed.category_id) == (
        None,
        None,
        None,
        None,
    )


async def test_status_changes_and_events(store: Store) -> None:
    filed = await file_report(store)
    later = T0 + timedelta(days=1)
    async with store.unit_of_work() as uow:
        report = await uow.reports.get(filed.ticket)
        assert report is not None and report.id is not None
        await uow.reports.set_status(report, ReportStatus.VERIFIED, later)
        await uow.reports.add_event(report.id, ReportStatus.VERIFIED, "officer:55", "ok", later)
    assert (report.status, report.updated_at) == ("verified", later)
    async with store.unit_of_work() as uow:
        again = await uow.reports.get(filed.ticket)
        assert again is not None and again.id is not None
        events = await uow.reports.timeline(again.id)
    assert (again.status, again.updated_at, again.created_at) == ("verified", later, T0)
    assert [(e.status, e.actor, e.note) for e in events] == [
        ("received", "citizen", None),
        ("verified", "officer:55", "ok"),
    ]


async def test_report_list_filters_newest_first(store: Store) -> None:
    a = await file_report(store, draft("a"), channel="telegram", now=T0)
    b = await file_report(
        store, draft("b", category_id="sampah"), channel="whatsapp", now=T0 + timedelta(hours=1)
    )
    c = await file_report(
        store, draft("c"), channel="sms", agency_id="dlh", now=T0 + timedelta(hours=2)
    )
    async with store.unit_of_work() as uow:
        assert c.id is not None
        await uow.reports.set_status(c, "rejected", T0 + timedelta(hours=3))

        async def tickets(**filters: object) -> list[str]:
            return [r.ticket for r in await uow.reports.list(**filters)]  # type: ignore[arg-type]

        assert await tickets() == [c.ticket, b.ticket, a.ticket]
        assert await tickets(status="received") == [b.ticket, a.ticket]
        assert await tickets(status=ReportStatus.REJECTED) == [c.ticket]
        assert await tickets(category="sampah") == [b.ticket]
        assert await tickets(agency="dlh") == [c.ticket]
        assert await tickets(channel="telegram") == [a.ticket]
        assert await tickets(since=T0 + timedelta(hours=1)) == [c.ticket, b.ticket]
        assert await tickets(until=T0 + timedelta(hours=1)) == [a.ticket]
        assert await tickets(limit=1, offset=1) == [b.ticket]
        assert await tickets(status="received", channel="sms") == []
        assert await uow.reports.count() == 3
        assert await uow.reports.count(status="received") == 2


# -- outbox ------------------------------------------------------------------------------------


async def test_outbox_claims_only_the_first_row_of_each_conversation(store: Store) -> None:
    for message in ("a1", "a2", "a3"):
        await add_outbox(store, "telegram:1", message)
    await add_outbox(store, "whatsapp:2", "b1")

    claimed = await store.claim_outbox(T0, lease_seconds=30)
    assert [r.payload["text"] for r in claimed] == ["a1", "b1"]
    assert {r.status for r in claimed} == {"inflight"}
    assert {r.lease_until for r in claimed} == {T0 + timedelta(seconds=30)}
    assert await claimed_texts(store) == []  # a2 waits for a1, which is in flight
    assert await store.outbox_pending_count() == 2


async def test_outbox_sent_lets_the_next_row_go(store: Store) -> None:
    for message in ("a1", "a2"):
        await add_outbox(store, "telegram:1", message)
    [first] = await store.claim_outbox(T0)
    assert first.id is not None
    await store.outbox_sent(first.id, "tg-msg-9", T0)
    assert await claimed_texts(store) == ["a2"]
    async with store.unit_of_work() as uow:
        sent = await uow.outbox.get(first.id)
    assert sent is not None
    assert (sent.status, sent.external_id, sent.sent_at, sent.attempts) == (
        "sent",
        "tg-msg-9",
        T0,
        1,
    )


async def test_outbox_retry_holds_its_conversation_only(store: Store) -> None:
    for message in ("a1", "a2"):
        await add_outbox(store, "telegram:1", message)
    [a1] = await store.claim_outbox(T0)
    assert a1.id is not None
    retry_at = T0 + timedelta(seconds=30)
    await store.outbox_retry(a1.id, retry_at, "429 retry_after=30")
    await add_outbox(store, "telegram:2", "b1")

    assert await claimed_texts(store, T0 + timedelta(seconds=10)) == ["b1"]
    [again] = await store.claim_outbox(retry_at)
    assert (again.payload["text"], again.attempts, again.last_error) == (
        "a1",
        1,
        "429 retry_after=30",
    )


async def test_a_future_row_holds_later_rows_of_its_conversation(store: Store) -> None:
    await add_outbox(store, "telegram:1", "later", due_at=T0 + timedelta(minutes=5))
    await add_outbox(store, "telegram:1", "now")
    assert await claimed_texts(store) == []
    assert await claimed_texts(store, T0 + timedelta(minutes=5)) == ["later"]


async def test_outbox_dead_rows_do_not_block(store: Store) -> None:
    for message in ("a1", "a2"):
        await add_outbox(store, "telegram:1", message)
    [a1] = await store.claim_outbox(T0)
    assert a1.id is not None
    await store.outbox_dead(a1.id, "403 bot was blocked by the user")
    assert await claimed_texts(store) == ["a2"]


async def test_expired_leases_are_released(store: Store) -> None:
    await add_outbox(store, "telegram:1", "a1")
    await add_outbox(store, "telegram:2", "b1")
    await store.claim_outbox(T0, lease_seconds=60)
    assert await store.release_expired_leases(T0 + timedelta(seconds=30)) == 0
    assert await store.release_expired_leases(T0 + timedelta(seconds=61)) == 2
    assert await store.outbox_pending_count() == 2
    assert await claimed_texts(store, T0 + timedelta(seconds=61)) == ["a1", "b1"]


async def test_outbox_compares_times_across_timezones(store: Store) -> None:
    await add_outbox(store, "sms:1", "x", due_at=T0)
    assert await claimed_texts(store, T0.astimezone(WIB) - timedelta(seconds=1)) == []
    assert await claimed_texts(store, T0.astimezone(WIB)) == ["x"]


async def test_claims_respect_the_limit(store: Store) -> None:
    for i in range(5):
        await add_outbox(store, f"telegram:{i}", f"m{i}")
    first = await store.claim_outbox(T0, limit=3)
    rest = await store.claim_outbox(T0, limit=3)
    assert [r.payload["text"] for r in first + rest] == [f"m{i}" for i in range(5)]


async def test_concurrent_claims_never_share_rows(store: Store) -> None:
    for n in range(3):
        for chat in range(10):
            await add_outbox(store, f"telegram:{chat}", f"{chat}-{n}")
    claims = await asyncio.gather(*(store.claim_outbox(T0, limit=4) for _ in range(4)))
    texts = [row.payload["text"] for rows in claims for row in rows]
    assert sorted(texts) == sorted(f"{chat}-0" for chat in range(10))


# -- attachments -----------------------------------------------------------------------------


async def test_attachment_fetch_bookkeeping(store: Store) -> None:
    photos = [MediaRef("telegram", "f1", "image/jpeg"), MediaRef("telegram", "f2", "image/jpeg")]
    await file_report(store, draft(photos=photos))
    first, second = await store.pending_attachments()
    assert first.id is not None and second.id is not None
    await store.attachment_stored(
        first.id, stored_path="ab/abcd.jpg", sha256="ab" * 32, size=900, mime="image/jpeg"
    )
    await store.attachment_failed(second.id, "timeout", final=False)
    assert [a.id for a in await store.pending_attachments()] == [second.id]
    await store.attachment_failed(second.id, "404", final=True)
    assert await store.pending_attachments() == []
    async with store.unit_of_work() as uow:
        stored, failed = await uow.reports.attachments(first.report_id)
    assert (stored.fetch_status, stored.stored_path, stored.size) == ("stored", "ab/abcd.jpg", 900)
    assert (failed.fetch_status, failed.attempts, failed.last_error) == ("failed", 2, "404")
