"""The short summary of the figures in the ministry's style, in Indonesian and English.

"Total 213 laporan, 11 masih dalam proses, 98,1% sudah ditindaklanjuti dan 70,4% selesai.
Topik terbanyak: ..." Pure: it formats figures the caller computed. Indonesian writes numbers
with a decimal comma and a thousands point (98,1%; 100.000), English the other way round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

CHANNEL_NAMES = {
    "whatsapp": "WhatsApp",
    "telegram": "Telegram",
    "sms": "SMS",
    "console": "Console",
}

MONTHS = {
    "id": (
        "Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
        "Oktober", "November", "Desember",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class SummaryFigures:
    total: int
    in_process: int
    followed_up_share: float | None  # 0..1, None without reports
    resolved_share: float | None
    top_topics: Sequence[tuple[str, int]] = ()  # (name in the summary's language, reports)
    channels: Sequence[tuple[str, int]] = ()  # (channel id, reports), most first
    median_response_hours: float | None = None  # filing to first officer response
    sla_breaches: int = 0
    satisfaction: float | None = None  # average rating 1..5
    ratings: int = 0
    first_day: date | None = None  # the period, both days included
    last_day: date | None = None


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel)


def format_number(value: float, lang: str, decimals: int = 0) -> str:
    """12345.6 -> "12.345,6" (id) or "12,345.6" (en)."""
    text = f"{value:,.{decimals}f}"
    if lang == "id":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def format_percent(share: float | None, lang: str) -> str:
    """0.981 -> "98,1%" (id) or "98.1%" (en); "-" when there is nothing to divide."""
    if share is None:
        return "-"
    return format_number(share * 100, lang, 1) + "%"


def format_hours(hours: float | None, lang: str) -> str:
    """A duration in the unit people use for it: minutes, hours or days."""
    if hours is None:
        return "-"
    if hours < 1:
        minutes = round(hours * 60)
        return f"{minutes} menit" if lang == "id" else f"{minutes} min"
    if hours < 48:
        value = format_number(hours, lang, 1 if hours < 10 else 0)
        return f"{value} jam" if lang == "id" else f"{value} h"
    value = format_number(hours / 24, lang, 1)
    return f"{value} hari" if lang == "id" else f"{value} days"


def format_day(day: date, lang: str) -> str:
    return f"{day.day} {MONTHS['en' if lang == 'en' else 'id'][day.month - 1]} {day.year}"


def summary(figures: SummaryFigures, lang: str) -> str:
    """A few sentences a city can put in its report to the ministry."""
    en = lang == "en"
    parts: list[str] = []
    period = _period(figures, lang)
    if figures.total == 0:
        nothing = "No reports." if en else "Belum ada laporan."
        return f"{period}{nothing}"
    n = format_number
    if en:
        parts.append(
            f"{period}Total {n(figures.total, lang)} reports, {n(figures.in_process, lang)} "
            f"still in process, {format_percent(figures.followed_up_share, lang)} followed up "
            f"and {format_percent(figures.resolved_share, lang)} resolved."
        )
    else:
        parts.append(
            f"{period}Total {n(figures.total, lang)} laporan, {n(figures.in_process, lang)} "
            f"masih dalam proses, {format_percent(figures.followed_up_share, lang)} sudah "
            f"ditindaklanjuti dan {format_percent(figures.resolved_share, lang)} selesai."
        )
    if figures.top_topics:
        topics = ", ".join(f"{name} ({n(k, lang)})" for name, k in figures.top_topics)
        parts.append(f"Top topics: {topics}." if en else f"Topik terbanyak: {topics}.")
    if figures.channels:
        channels = ", ".join(f"{channel_name(c)} {n(k, lang)}" for c, k in figures.channels)
        parts.append(f"Channels: {channels}." if en else f"Kanal: {channels}.")
    if figures.median_response_hours is not None:
        took = format_hours(figures.median_response_hours, lang)
        late = n(figures.sla_breaches, lang)
        if en:
            parts.append(
                f"Median time to the first officer response {took}; {late} reports past "
                "their time limit."
            )
        else:
            parts.append(
                f"Median waktu tanggapan pertama petugas {took}; {late} laporan melewati "
                "batas waktu."
            )
    if figures.ratings and figures.satisfaction is not None:
        score = n(figures.satisfaction, lang, 1)
        k = n(figures.ratings, lang)
        parts.append(
            f"Reporter satisfaction {score} out of 5 ({k} ratings)."
            if en
            else f"Kepuasan pelapor {score} dari 5 ({k} penilaian)."
        )
    return " ".join(parts)


def _period(figures: SummaryFigures, lang: str) -> str:
    first, last = figures.first_day, figures.last_day
    en = lang == "en"
    if first and last:
        if en:
            return f"{format_day(first, lang)} to {format_day(last, lang)}: "
        return f"Periode {format_day(first, lang)} s.d. {format_day(last, lang)}: "
    if first:
        return f"Since {format_day(first, lang)}: " if en else f"Sejak {format_day(first, lang)}: "
    if last:
        return f"Until {format_day(last, lang)}: " if en else f"Sampai {format_day(last, lang)}: "
    return ""
