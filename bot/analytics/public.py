"""The figures of the public follow-up page (/public, /public.json): per agency and month,
reports received, followed up, median first response, resolved and satisfaction, and the
places of resolved reports.

The same queries and definitions as `lapor stats` (storage/analytics.py): one read snapshot,
`report_counts`, `duration_percentiles` and `satisfaction` grouped by agency, per calendar month
in the city's time zone. What may be public:

- every report is counted (a confidential one too: a count shows nothing of its content);
- a place is given only for a resolved report that is not confidential, rounded to
  PLACE_DECIMALS decimals of a degree (about 100 m), with its category and filing month, and
  nothing else of it: no ticket, no text, no photo, no reporter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.analytics.stats import MEDIAN, Names
from bot.settings import Settings
from storage.analytics import AnalyticsQueries, ReportCounts, StatsReader, Window

PLACE_DECIMALS = 3  # about 110 m of latitude: a dot never points at a house
MAX_PLACES = 5_000  # the newest resolved reports drawn on the map
RESPONSE = ("first_response",)  # the one duration the page shows


@dataclass(frozen=True)
class Month:
    key: str  # "2026-03"
    since: datetime  # local midnight of the first day
    until: datetime  # local midnight of the next month's first day


def months_until(now: datetime, tz: ZoneInfo, count: int) -> list[Month]:
    """The `count` calendar months up to and including the current one, oldest first."""
    local = now.astimezone(tz)
    year, month = local.year, local.month
    firsts = []
    for _ in range(count):
        firsts.append(datetime(year, month, 1, tzinfo=tz))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    firsts.reverse()
    last = firsts[-1]
    after = datetime(last.year + (last.month == 12), last.month % 12 + 1, 1, tzinfo=tz)
    bounds = [*firsts, after]
    return [
        Month(f"{a.year:04d}-{a.month:02d}", a, b) for a, b in zip(bounds, bounds[1:], strict=False)
    ]


async def public_figures(
    reader: StatsReader, settings: Settings, *, now: datetime
) -> dict[str, Any]:
    """Everything the public page shows, JSON-ready and in no language (names come from the
    configuration; category names are given in both languages)."""
    tz = ZoneInfo(settings.service.timezone)
    months = months_until(now, tz, settings.public.months)
    period = Window(months[0].since, months[-1].until)
    names = Names(settings)
    async with reader.queries() as q:
        overall = await _by_agency(q, period, names, every_agency=[a.id for a in settings.agencies])
        per_month = [(m, await _by_agency(q, Window(m.since, m.until), names)) for m in months]
        places = await q.resolved_places(period, MAX_PLACES)
    return {
        "period": {
            "since": months[0].since.date().isoformat(),
            "until": months[-1].until.date().isoformat(),  # not included
            "months": [m.key for m in months],
            "time_zone": settings.service.timezone,
            "generated_at": now.astimezone(tz).isoformat(timespec="seconds"),
        },
        "agencies": overall,
        "months": [
            {"month": m.key, **figures}
            for m, figures in reversed(per_month)  # newest first
        ],
        "resolved_places": [
            {
                "lat": None if lat is None else round(lat, PLACE_DECIMALS),
                "lon": None if lon is None else round(lon, PLACE_DECIMALS),
                "kelurahan": code,
                "category": category,
                "category_name": {
                    "id": names.category(category),
                    "en": names.category(category, "en"),
                },
                "month": _month_of(filed, tz),
            }
            for lat, lon, code, category, filed in places
        ],
        "resolved_places_capped": len(places) >= MAX_PLACES,
    }


async def _by_agency(
    q: AnalyticsQueries,
    window: Window,
    names: Names,
    every_agency: list[str] | None = None,
) -> dict[str, Any]:
    """{"total": figures of all reports, "agencies": [figures per agency]}; with `every_agency`
    the agencies without reports are listed too (at zero)."""
    counts = await q.report_counts(window, "agency")
    durations = await q.duration_percentiles(window, "agency", counts, (MEDIAN,), RESPONSE)
    ratings = await q.satisfaction(window, "agency")
    total = _sum(counts.values())
    total_durations = await q.duration_percentiles(window, None, {None: total}, (MEDIAN,), RESPONSE)
    total_rating = (await q.satisfaction(window, None)).get(None)
    keys: list[str | None] = list(counts)
    for agency in every_agency or []:
        if agency not in counts:
            keys.append(agency)
    rows = [
        {
            "agency": key,
            "name": names.of("agency", key),
            **_figures(
                counts.get(key, ReportCounts()),
                durations.get((key, "first_response"), {}).get(MEDIAN),
                ratings.get(key),
            ),
        }
        for key in keys
    ]
    rows.sort(key=lambda r: (-r["received"], r["name"]))
    return {
        "total": _figures(
            total, total_durations.get((None, "first_response"), {}).get(MEDIAN), total_rating
        ),
        "agencies": rows,
    }


def _figures(
    counts: ReportCounts, response_s: float | None, rating: tuple[float, int] | None
) -> dict[str, Any]:
    return {
        "received": counts.total,
        "followed_up": counts.followed_up,
        "median_first_response_hours": None if response_s is None else round(response_s / 3600, 2),
        "resolved": counts.resolved,
        "satisfaction": round(rating[0], 2) if rating else None,
        "ratings": rating[1] if rating else 0,
    }


def _sum(groups: Any) -> ReportCounts:
    total = ReportCounts()
    for c in groups:
        total.total += c.total
        total.in_process += c.in_process
        total.followed_up += c.followed_up
        total.resolved += c.resolved
        for name, n in c.timed.items():
            total.timed[name] = total.timed.get(name, 0) + n
    return total


def _month_of(filed_s: int, tz: ZoneInfo) -> str:
    local = datetime.fromtimestamp(filed_s, tz)
    return f"{local.year:04d}-{local.month:02d}"
