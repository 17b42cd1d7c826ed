"""The pure parts of analytics: the ministry-style summary, numbers in Indonesian and English,
working-day time limits, funnel stages, percentiles and topic words."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import madiun
import pytest

from intake.analytics import (
    FUNNEL_STAGES,
    STEP_BITS,
    TimeLimit,
    day_from_number,
    day_number,
    place_words,
    stage_masks,
    stage_of,
    step_bit,
    topic_terms,
)
from intake.flow import Step
from intake.lifecycle import add_working_days
from intake.summary import (
    SummaryFigures,
    format_hours,
    format_number,
    format_percent,
    summary,
)
from storage.analytics import interpolate

FIGURES = SummaryFigures(
    total=213,
    in_process=11,
    followed_up_share=0.98122,
    resolved_share=0.7042,
    top_topics=[("Sampah & Kebersihan", 54), ("Infrastruktur Jalan", 40)],
    channels=[("whatsapp", 120), ("telegram", 60), ("sms", 33)],
    median_response_hours=36.0,
    sla_breaches=4,
    satisfaction=4.25,
    ratings=1234,
    first_day=date(2026, 1, 1),
    last_day=date(2026, 3, 31),
)


def test_the_summary_in_indonesian_reads_like_the_ministry_s() -> None:
    assert summary(FIGURES, "id") == (
        "Periode 1 Januari 2026 s.d. 31 Maret 2026: Total 213 laporan, 11 masih dalam proses, "
        "98,1% sudah ditindaklanjuti dan 70,4% selesai. Topik terbanyak: Sampah & Kebersihan "
        "(54), Infrastruktur Jalan (40). Kanal: WhatsApp 120, Telegram 60, SMS 33. Median "
        "waktu tanggapan pertama petugas 36 jam; 4 laporan melewati batas waktu. Kepuasan "
        "pelapor 4,2 dari 5 (1.234 penilaian)."
    )


def test_the_summary_in_english() -> None:
    assert summary(FIGURES, "en") == (
        "1 January 2026 to 31 March 2026: Total 213 reports, 11 still in process, 98.1% "
        "followed up and 70.4% resolved. Top topics: Sampah & Kebersihan (54), Infrastruktur "
        "Jalan (40). Channels: WhatsApp 120, Telegram 60, SMS 33. Median time to the first "
        "officer response 36 h; 4 reports past their time limit. Reporter satisfaction 4.2 out "
        "of 5 (1,234 ratings)."
    )


def test_a_summary_without_reports_or_answers() -> None:
    empty = SummaryFigures(0, 0, None, None)
    assert summary(empty, "id") == "Belum ada laporan."
    assert summary(empty, "en") == "No reports."
    quiet = SummaryFigures(3, 3, 0.0, 0.0, first_day=date(2026, 5, 4))
    assert summary(quiet, "id") == (
        "Sejak 4 Mei 2026: Total 3 laporan, 3 masih dalam proses, 0,0% sudah ditindaklanjuti "
        "dan 0,0% selesai."
    )


@pytest.mark.parametrize(
    ("value", "decimals", "indonesian", "english"),
    [
        (100000, 0, "100.000", "100,000"),
        (1234567.891, 2, "1.234.567,89", "1,234,567.89"),
        (98.16, 1, "98,2", "98.2"),
        (0, 0, "0", "0"),
    ],
)
def test_numbers(value: float, decimals: int, indonesian: str, english: str) -> None:
    assert format_number(value, "id", decimals) == indonesian
    assert format_number(value, "en", decimals) == english


def test_shares_and_durations() -> None:
    assert format_percent(0.981, "id") == "98,1%" and format_percent(1, "en") == "100.0%"
    assert format_percent(None, "id") == "-"
    assert format_hours(0.25, "id") == "15 menit" and format_hours(0.25, "en") == "15 min"
    assert format_hours(2.5, "id") == "2,5 jam" and format_hours(20.1, "en") == "20 h"
    assert format_hours(60, "id") == "2,5 hari" and format_hours(60, "en") == "2.5 days"
    assert format_hours(None, "en") == "-"


# -- working days -------------------------------------------------------------------------------


MONDAY = date(2026, 3, 2)


def days(d: date) -> int:
    return day_number(d)


def test_day_numbers_are_days_since_1970() -> None:
    assert day_number(date(1970, 1, 1)) == 0
    assert day_from_number(days(MONDAY)) == MONDAY


@pytest.mark.parametrize(
    ("start", "end", "later", "late"),
    [
        (MONDAY, MONDAY + timedelta(days=3), False, False),  # Thursday, earlier in the day
        (MONDAY, MONDAY + timedelta(days=3), True, True),  # Thursday, at or after the hour
        (MONDAY, MONDAY + timedelta(days=2), True, False),
        (MONDAY + timedelta(days=3), MONDAY + timedelta(days=8), False, False),  # Thu -> Tue
        (MONDAY + timedelta(days=3), MONDAY + timedelta(days=9), False, True),  # Thu -> Wed
        (MONDAY + timedelta(days=5), MONDAY + timedelta(days=10), False, True),  # Sat -> Thu
        (MONDAY + timedelta(days=5), MONDAY + timedelta(days=9), True, False),  # Sat -> Wed
    ],
)
def test_a_three_day_limit(start: date, end: date, later: bool, late: bool) -> None:
    assert TimeLimit(3).late(days(start), days(end), later) is late


def test_holidays_extend_the_limit() -> None:
    holiday = MONDAY + timedelta(days=2)  # Wednesday
    limit = TimeLimit(3, [holiday])
    assert day_from_number(limit.due_day(days(MONDAY))) == MONDAY + timedelta(days=4)
    assert not limit.late(days(MONDAY), days(MONDAY + timedelta(days=3)), True)
    # the same dates as the officer desk's reminders (intake.lifecycle)
    for offset in range(14):
        start = MONDAY + timedelta(days=offset)
        moment = datetime.combine(start, time(10, 0), tzinfo=UTC)
        due = add_working_days(moment, 3, [holiday], UTC).date()
        assert day_from_number(limit.due_day(days(start))) == due


# -- funnel, percentiles, topic words -----------------------------------------------------------


def test_every_step_has_its_own_bit_and_one_stage() -> None:
    report_steps = [s for s in Step if s not in (Step.IDLE, Step.ADD_INFO)]  # see in_report
    bits = [step_bit(step.value) for step in report_steps]
    assert len(set(bits)) == len(bits) and all(bit.bit_count() == 1 for bit in bits)
    staged = [s for _, steps in FUNNEL_STAGES for s in steps]
    assert sorted(staged) == sorted(STEP_BITS)
    assert stage_of("choose_kelurahan") == "location" and stage_of("idle") == "other"


def test_a_stage_counts_as_reached_when_any_later_one_was() -> None:
    masks = dict(stage_masks())
    description_given_inline = step_bit("consent") | step_bit("confirm_category")
    assert masks["description"] & description_given_inline
    assert not masks["location"] & description_given_inline
    assert masks["consent"] & step_bit("confirm")


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([0.5, 1.5, 2, 101, 120], (1, 2), 2.0),
        ([0.5, 1.5, 2, 101, 120], (9, 10), 112.4),
        ([48, 96], (1, 2), 72.0),
        ([5], (9, 10), 5.0),
    ],
)
def test_percentiles_interpolate_between_ranks(
    values: list[float], fraction: tuple[int, int], expected: float
) -> None:
    n = len(values)
    k = fraction[0] * (n - 1) // fraction[1]
    assert interpolate(values[k : k + 2], n, fraction) == pytest.approx(expected)


def test_topic_words_leave_out_stop_words_places_and_repeats() -> None:
    places = place_words(madiun.areas(), "Kota Madiun")
    assert {"kejuron", "nambangan", "lor", "madiun"} <= places
    text = "Tolong!! Jalan2 di depan SDN Nambangan Lor rusak, udh 3 hari gk diperbaiki, jalan licin"
    assert topic_terms(text, places) == ["jalan", "sdn", "rusak", "licin"]
    assert topic_terms("") == []
