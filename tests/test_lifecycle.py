"""The pure parts of the officer desk: lifecycle moves, working-day arithmetic, duplicate
matching, report cards and their buttons, and the citizen's follow-up steps in the flow."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import madiun
import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake import flow
from intake.cards import (
    MAX_CALLBACK_BYTES,
    MENU_AGENCY,
    MENU_REJECT,
    CardEvent,
    CardView,
    callback_value,
    parse_callback,
    render_card,
)
from intake.catalog import Catalog
from intake.desk_texts import DESK_CATALOGUE
from intake.duplicates import ReportSketch, distance_m, find_duplicates, similarity
from intake.flow import FlowContext, Step
from intake.lifecycle import (
    Refusal,
    Reminder,
    SlaPolicy,
    add_working_days,
    allowed_moves,
    check_move,
    parse_status,
    working_days_between,
)
from intake.texts import CATALOGUE, DESK_PREFIX, MESSAGES
from intake.types import GeoPoint, InboundMessage, MediaRef, MessageKind, ReportStatus

WIB = ZoneInfo("Asia/Jakarta")
S = ReportStatus


def catalog() -> Catalog:
    return madiun.catalog(WIB)


# --- moves ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.RECEIVED, S.VERIFIED),
        (S.RECEIVED, S.REJECTED),
        (S.VERIFIED, S.IN_PROGRESS),
        (S.VERIFIED, S.RESOLVED),
        (S.VERIFIED, S.REJECTED),
        (S.IN_PROGRESS, S.RESOLVED),
        (S.IN_PROGRESS, S.REJECTED),
        (S.RESOLVED, S.IN_PROGRESS),
    ],
)
def test_allowed_moves(current: S, target: S) -> None:
    assert check_move(current, target, note="alasan") is None
    assert target in allowed_moves(current)


@pytest.mark.parametrize(
    ("current", "target", "refusal"),
    [
        (S.RECEIVED, S.RESOLVED, Refusal.NOT_ALLOWED),
        (S.RECEIVED, S.IN_PROGRESS, Refusal.NOT_ALLOWED),
        (S.IN_PROGRESS, S.VERIFIED, Refusal.NOT_ALLOWED),
        (S.RESOLVED, S.REJECTED, Refusal.NOT_ALLOWED),
        (S.VERIFIED, S.VERIFIED, Refusal.SAME),
        (S.REJECTED, S.VERIFIED, Refusal.FINAL),
        (S.RECEIVED, "maybe", Refusal.UNKNOWN_STATUS),
    ],
)
def test_refused_moves_say_why(current: S, target: str, refusal: Refusal) -> None:
    assert check_move(current, target, note="x") is refusal


def test_rejecting_needs_a_reason_and_closed_reports_stay_closed() -> None:
    assert check_move(S.RECEIVED, S.REJECTED) is Refusal.REASON_REQUIRED
    assert check_move(S.RECEIVED, S.REJECTED, note="  ") is Refusal.REASON_REQUIRED
    assert check_move(S.RESOLVED, S.IN_PROGRESS, closed=True) is Refusal.CLOSED
    assert allowed_moves(S.RESOLVED, closed=True) == ()
    assert allowed_moves(S.REJECTED) == ()


@pytest.mark.parametrize(
    ("typed", "status"),
    [
        ("verifikasi", S.VERIFIED),
        ("Terverifikasi", S.VERIFIED),
        ("in_progress", S.IN_PROGRESS),
        ("in progress", S.IN_PROGRESS),
        ("proses", S.IN_PROGRESS),
        ("tindak lanjut", S.IN_PROGRESS),
        ("SELESAI", S.RESOLVED),
        ("tolak", S.REJECTED),
        ("beres-beres", None),
    ],
)
def test_officers_type_statuses_in_their_words(typed: str, status: S | None) -> None:
    assert parse_status(typed) is status


# --- working days --------------------------------------------------------------------------


def wib(*args: int) -> datetime:
    return datetime(*args, tzinfo=WIB)


def test_working_days_skip_weekends_and_holidays() -> None:
    thursday = wib(2026, 1, 8, 9, 0)
    assert add_working_days(thursday, 1, (), WIB) == wib(2026, 1, 9, 9, 0)
    assert add_working_days(thursday, 2, (), WIB) == wib(2026, 1, 12, 9, 0)  # over the weekend
    holiday = {date(2026, 1, 12)}
    assert add_working_days(thursday, 2, holiday, WIB) == wib(2026, 1, 13, 9, 0)
    assert add_working_days(thursday, 3, holiday, WIB) == wib(2026, 1, 14, 9, 0)


def test_a_report_filed_on_a_day_off_counts_from_the_next_working_morning() -> None:
    saturday = wib(2026, 1, 10, 20, 0)
    assert add_working_days(saturday, 1, (), WIB) == wib(2026, 1, 13, 0, 0)
    assert add_working_days(wib(2026, 1, 12, 0, 0), 1, (), WIB) == wib(2026, 1, 13, 0, 0)


def test_working_days_are_counted_in_the_citys_time_zone() -> None:
    # Friday 23:30 in Madiun is still Friday 16:30 UTC: one working day later is Monday.
    friday_night = datetime(2026, 1, 9, 16, 30, tzinfo=UTC)
    due = add_working_days(friday_night, 1, (), WIB)
    assert due.astimezone(WIB) == wib(2026, 1, 12, 23, 30)
    assert due.tzinfo is UTC


@given(
    start=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(WIB)
    ),
    days=st.integers(min_value=0, max_value=40),
)
def test_working_days_between_undoes_adding_them(start: datetime, days: int) -> None:
    holidays = {date(2026, 1, 1), date(2026, 3, 20), date(2026, 8, 17)}
    due = add_working_days(start, days, holidays, WIB)
    assert due >= start
    assert due.astimezone(WIB).weekday() < 5 or days == 0
    assert working_days_between(start, due, holidays, WIB) == days


def test_sla_policy_reminders_and_autoclose() -> None:
    policy = SlaPolicy.of(verify_days=3, respond_days=5, autoclose_days=10, tz=WIB)
    filed = wib(2026, 1, 8, 9, 0)  # Thursday
    due = policy.verify_due(filed)
    assert due == wib(2026, 1, 13, 9, 0)

    def reminder(status: S, now: datetime, **kw: object) -> Reminder | None:
        return policy.reminder_due(
            status,
            filed_at=filed,
            verified_at=kw.get("verified_at"),  # type: ignore[arg-type]
            now=now,
            already=kw.get("already", ()),  # type: ignore[arg-type]
        )

    assert reminder(S.RECEIVED, due - timedelta(minutes=1)) is None
    assert reminder(S.RECEIVED, due) is Reminder.VERIFY
    assert reminder(S.RECEIVED, due, already={Reminder.VERIFY}) is None
    verified = wib(2026, 1, 9, 10, 0)
    assert reminder(S.VERIFIED, wib(2026, 1, 15, 10, 0), verified_at=verified) is None
    assert reminder(S.VERIFIED, wib(2026, 1, 16, 10, 0), verified_at=verified) is Reminder.RESPOND
    assert reminder(S.IN_PROGRESS, wib(2026, 3, 1, 0, 0)) is None

    resolved = wib(2026, 2, 2, 12, 0)
    assert not policy.should_autoclose(
        S.RESOLVED, resolved_at=resolved, closed=False, now=resolved + timedelta(days=9)
    )
    assert policy.should_autoclose(
        S.RESOLVED, resolved_at=resolved, closed=False, now=resolved + timedelta(days=10)
    )
    later = resolved + timedelta(days=30)
    assert not policy.should_autoclose(S.RESOLVED, resolved_at=resolved, closed=True, now=later)
    assert not policy.should_autoclose(S.IN_PROGRESS, resolved_at=resolved, closed=False, now=later)


# --- duplicates ----------------------------------------------------------------------------

PASAR = GeoPoint(-7.6298, 111.5239)


def sketch(ticket: str, text: str, **kw: object) -> ReportSketch:
    fields: dict[str, object] = {"category_id": "jalan", "kelurahan_code": "35.77.02.1001"}
    fields.update(kw)
    return ReportSketch(ticket, description=text, **fields)  # type: ignore[arg-type]


def test_distance() -> None:
    north = GeoPoint(PASAR.lat + 0.002, PASAR.lon)  # about 222 m
    assert 200 < distance_m(PASAR, north) < 240


def test_duplicates_need_the_category_the_place_and_similar_words() -> None:
    new = sketch("", "jalan depan pasar bolong gede motor jatuh", point=PASAR)
    same = sketch("MDN-00001", "Jalan depan pasar berlubang gede, motor sering jatuh")
    assert [m.ticket for m in find_duplicates(new, [same])] == ["MDN-00001"]
    near = sketch(
        "MDN-00002",
        "jalan depan pasar bolong, motor jatuh",
        kelurahan_code="other",
        point=GeoPoint(PASAR.lat + 0.001, PASAR.lon),
    )
    assert [m.ticket for m in find_duplicates(new, [near])] == ["MDN-00002"]
    far = sketch(
        "MDN-00003",
        "jalan depan pasar bolong gede motor jatuh",
        kelurahan_code="other",
        point=GeoPoint(PASAR.lat + 0.01, PASAR.lon),
    )
    other_category = sketch("MDN-00004", new.description, category_id="pju")
    unlike = sketch("MDN-00005", "trotoar dipakai parkir mobil setiap malam")
    assert find_duplicates(new, [far, other_category, unlike]) == []


def test_similarity_ignores_chat_spelling_and_word_order() -> None:
    assert similarity("lampu2 jln mati", "jalan lampu lampu mati") > 80
    assert similarity("sampah numpuk", "air PDAM tidak mengalir") < 40
    assert similarity("", "apa saja") == 0


# --- cards ---------------------------------------------------------------------------------

FILED = datetime(2026, 1, 8, 2, 0, tzinfo=UTC)


def view(**kw: object) -> CardView:
    fields: dict[str, object] = {
        "ticket": "MDN-00007",
        "status": "received",
        "category_id": "jalan",
        "agency_id": "dpupr",
        "description": "Jalan depan pasar berlubang",
        "created_at": FILED,
        "channel": "whatsapp",
        "anonymous": False,
        "confidential": False,
        "kelurahan": "Taman",
        "kecamatan": "Taman",
        "address": "Jl. Salak 5",
        "reporter": "Siti · +6281234567890",
        "photos": 2,
    }
    fields.update(kw)
    return CardView(**fields)  # type: ignore[arg-type]


def test_the_card_shows_what_officers_need() -> None:
    text, choices = render_card(view(), catalog(), "id")
    lines = text.splitlines()
    assert lines[0] == "🆕 MDN-00007 · Diterima"
    for part in (
        "Kategori: Infrastruktur Jalan",
        "Dinas: Dinas Pekerjaan Umum dan Tata Ruang",
        "Lokasi: Jl. Salak 5 — Kel. Taman, Kec. Taman",
        "Masuk: 08-01-2026 09:00",
        "Kanal: WhatsApp",
        "Pelapor: Siti · +6281234567890",
        "(2 foto dari WhatsApp tidak bisa diambil)",
        "Jalan depan pasar berlubang",
    ):
        assert part in text, part
    assert [c.value for c in choices] == [
        "d:mv:MDN-00007:verified",
        "d:rj:MDN-00007",
        "d:al:MDN-00007",
    ]


def test_an_anonymous_reporter_is_never_on_the_card() -> None:
    text, _ = render_card(view(anonymous=True), catalog(), "id")
    assert "Pelapor: anonim" in text and "Siti" not in text and "+62" not in text


@pytest.mark.parametrize(
    ("status", "closed", "moves"),
    [
        ("verified", False, ["mv:in_progress", "mv:resolved", "rj", "al"]),
        ("in_progress", False, ["mv:resolved", "rj", "al"]),
        ("resolved", False, ["mv:in_progress"]),
        ("resolved", True, []),
        ("rejected", False, []),
    ],
)
def test_buttons_follow_the_lifecycle(status: str, closed: bool, moves: list[str]) -> None:
    _, choices = render_card(view(status=status, closed=closed), catalog(), "id")
    assert [c.value.removeprefix("d:").replace(":MDN-00007", "") for c in choices] == moves
    if status == "resolved" and not closed:
        assert choices[0].label == "🔁 Buka kembali"


def test_menus_for_rejecting_and_reassigning() -> None:
    reject = render_card(
        view(duplicate_candidates=("MDN-00003",)), catalog(), "id", menu=MENU_REJECT
    )
    values = [c.value for c in reject[1]]
    assert values[:3] == ["d:rr:MDN-00007:luar", "d:rr:MDN-00007:spam", "d:rr:MDN-00007:kabur"]
    assert values[3:] == ["d:dp:MDN-00007:MDN-00003", "d:bk:MDN-00007"]
    agencies = [c.value for c in render_card(view(), catalog(), "id", menu=MENU_AGENCY)[1]]
    assert "d:ag:MDN-00007:dlh" in agencies and "d:ag:MDN-00007:dpupr" not in agencies
    moved = render_card(view(moved_to="dlh"), catalog(), "id")
    assert "Dialihkan ke Dinas Lingkungan Hidup" in moved[0] and moved[1] == ()


def test_history_and_rating_on_the_card() -> None:
    events = [
        CardEvent(FILED, "received", "pelapor"),
        CardEvent(FILED + timedelta(hours=1), "verified", "Budi", "lokasi dicek"),
    ]
    text, _ = render_card(
        view(events=events, status="resolved", rating=4, closed=True, close_reason="rated"),
        catalog(),
        "id",
    )
    assert "08-01 10:00 Terverifikasi (Budi): lokasi dicek" in text
    assert "Nilai pelapor: 4/5" in text and "Ditutup (sudah dinilai)" in text


@given(
    prefix=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=10),
    number=st.integers(min_value=1, max_value=10**12 - 1),
    agency=st.from_regex(r"[a-z0-9][a-z0-9_-]{0,31}", fullmatch=True),
)
def test_every_button_fits_telegrams_64_bytes(prefix: str, number: int, agency: str) -> None:
    ticket = f"{prefix}-{number:05d}"
    for action, argument in (
        ("mv", "in_progress"),
        ("rj", ""),
        ("rr", "kabur"),
        ("dp", ticket),
        ("al", ""),
        ("ag", agency),
        ("bk", ""),
    ):
        value = callback_value(action, ticket, argument)
        assert len(value.encode()) <= MAX_CALLBACK_BYTES
        parsed = parse_callback(value)
        assert parsed is not None
        assert (parsed.action, parsed.ticket, parsed.argument) == (action, ticket, argument)


def test_foreign_callback_data_is_not_ours() -> None:
    for data in ("cat:jalan", "d:", "d:zz:MDN-1", "d:mv:MDN-1", "d:rj:MDN-1:extra", "d:mv::x"):
        assert parse_callback(data) is None


# --- the citizen's follow-ups in the flow --------------------------------------------------

T0 = datetime(2026, 1, 8, 2, 0, tzinfo=UTC)
_ids = itertools.count()


def message(kind: MessageKind = MessageKind.TEXT, **fields: object) -> InboundMessage:
    return InboundMessage(
        channel="test",
        external_id=str(next(_ids)),
        sender_id="42",
        chat_id="42",
        kind=kind,
        received_at=T0,
        **fields,  # type: ignore[arg-type]
    )


def ctx() -> FlowContext:
    return FlowContext(T0, catalog())


def idle() -> flow.ConversationState:
    return flow.ConversationState(consented=True, last_ticket="MDN-00001", updated_at=T0)


@pytest.mark.parametrize(
    ("typed", "effect"),
    [
        ("5", flow.RateReport(None, 5)),
        ("4/5", flow.RateReport(None, 4)),
        ("nilai 3", flow.RateReport(None, 3)),
        ("belum beres", flow.ReopenReport(None, "")),
        ("Belum beres, lubangnya masih ada", flow.ReopenReport(None, "lubangnya masih ada")),
        ("masih belum diperbaiki", flow.ReopenReport(None, "")),
        ("tambah", flow.AddInfo("MDN-00001")),
        ("tambah mdn 7", flow.AddInfo("MDN-00007")),
        ("tambah MDN-00007 sudah makin parah", flow.AddInfo("MDN-00007", "sudah makin parah")),
        ("tambah info lubangnya makin besar", flow.AddInfo("MDN-00001", "lubangnya makin besar")),
    ],
)
def test_typed_follow_ups_when_idle(typed: str, effect: flow.Effect) -> None:
    outcome = flow.step(idle(), message(text=typed), ctx())
    assert outcome.effects == [effect]
    assert outcome.state.step is Step.IDLE


def test_sentences_that_merely_start_alike_are_not_follow_ups() -> None:
    outcome = flow.step(idle(), message(text="tambah parah jalan depan pasar berlubang"), ctx())
    assert outcome.effects == [] and outcome.state.step is Step.CONFIRM_CATEGORY
    outcome = flow.step(idle(), message(text="6"), ctx())
    assert outcome.effects == []


def test_rating_buttons_work_in_any_step() -> None:
    choices = flow.rating_choices("MDN-00001", "id", catalog())
    assert [c.label for c in choices] == ["1", "2", "3", "4", "5", "Belum beres"]
    writing = flow.step(idle(), message(text="lampu jalan di gang tiga mati semua"), ctx()).state
    pressed = flow.step(writing, message(MessageKind.CHOICE, choice="rate:MDN-00001:2"), ctx())
    assert pressed.effects == [flow.RateReport("MDN-00001", 2)]
    assert pressed.state.step is writing.step and pressed.state.draft == writing.draft
    reopen = flow.step(writing, message(MessageKind.CHOICE, choice="reopen:MDN-00001"), ctx())
    assert reopen.effects == [flow.ReopenReport("MDN-00001")]


def test_adding_information_step_by_step() -> None:
    state = flow.add_info_ready(idle(), "MDN-00001", ctx()).state
    assert state.step is Step.ADD_INFO and state.adding_to == "MDN-00001"
    text = flow.step(state, message(text="lubangnya makin lebar"), ctx())
    assert text.effects == [flow.AddInfo("MDN-00001", "lubangnya makin lebar")]
    photo = MediaRef("test", "p1", "image/jpeg")
    first = flow.step(state, message(MessageKind.PHOTO, media=photo, media_group="a1"), ctx())
    assert first.effects == [flow.AddInfo("MDN-00001", "", photo)]
    second = flow.step(
        first.state,
        message(MessageKind.PHOTO, media=MediaRef("test", "p2"), media_group="a1"),
        ctx(),
    )
    assert second.effects[0].acknowledge is False  # type: ignore[union-attr]
    done = flow.step(state, message(text="selesai"), ctx())
    assert done.state.step is Step.IDLE and "MDN-00001" in done.replies[0].text
    assert done.effects == []  # adding is not abandoning a report
    expired = flow.step(
        state, message(text="halo"), FlowContext(T0 + timedelta(hours=5), catalog())
    )
    assert expired.state.step is Step.IDLE and expired.effects == []


def test_a_duplicate_offer_and_its_answers() -> None:
    # The draft is complete: the flow asks the pipeline to look before showing the summary.
    writing = flow.ConversationState(
        consented=True,
        step=Step.PRIVACY,
        photos_done=True,
        updated_at=T0,
        draft=flow.ReportDraft(
            description="jalan berlubang",
            category_id="jalan",
            place=flow.PlaceMatch("Taman", "Taman", "35.77.02.1001"),
        ),
    )
    looked = flow.step(writing, message(text="biasa"), ctx())
    assert looked.effects == [flow.FindDuplicates(looked.state.draft)]
    assert looked.state.step is Step.CONFIRM and looked.state.duplicates_checked
    assert "Kirim laporan ini?" in looked.replies[0].text
    editing = flow.step(looked.state, message(text="ubah"), ctx()).state
    privacy = flow.step(editing, message(MessageKind.CHOICE, choice="edit:privacy"), ctx()).state
    edited = flow.step(privacy, message(text="anonim"), ctx())
    assert edited.state.step is Step.CONFIRM and edited.effects == []  # looked once is enough

    offered = flow.duplicate_found(
        looked.state,
        ctx(),
        ticket="MDN-00003",
        category_id="jalan",
        kelurahan="Taman",
        status="Sedang ditindaklanjuti",
        description="jalan depan pasar berlubang",
    )
    state = offered.state
    assert state.step is Step.DUPLICATE
    assert [c.value for c in offered.replies[0].choices] == ["support:MDN-00003", "file_anyway"]
    assert "MDN-00003 - Infrastruktur Jalan" in offered.replies[0].text
    assert flow.ConversationState.from_dict(state.to_dict()) == state

    support = flow.step(state, message(text="dukung"), ctx())
    assert support.effects == [
        flow.ConversationEnded("duplicate", "supported"),
        flow.SupportReport("MDN-00003"),
    ]
    assert support.state.step is Step.IDLE
    anyway = flow.step(state, message(MessageKind.CHOICE, choice="file_anyway"), ctx())
    assert anyway.effects == [flow.FileReport(writing.draft)]
    # The summary's buttons, shown just before the offer, still mean what they say.
    sent = flow.step(state, message(MessageKind.CHOICE, choice="send"), ctx())
    assert sent.effects == [flow.FileReport(writing.draft)]
    edit = flow.step(state, message(MessageKind.CHOICE, choice="edit"), ctx())
    assert edit.state.step is Step.EDIT
    cancelled = flow.step(state, message(text="batal"), ctx())
    assert cancelled.effects == [flow.ConversationEnded("duplicate", "cancelled")]
    stale = flow.step(idle(), message(MessageKind.CHOICE, choice="support:MDN-00003"), ctx())
    assert stale.effects == [] and stale.state.step is Step.IDLE


def test_officer_texts_are_in_both_languages_under_keys_of_their_own() -> None:
    assert not [key for key in CATALOGUE if key.startswith(DESK_PREFIX)]
    for key, entry in DESK_CATALOGUE.items():
        assert set(entry) == {"id", "en"}, key
        assert MESSAGES[DESK_PREFIX + key] is entry
