"""The figures behind `lapor stats`, `GET /api/stats` and the dashboard, and their table, JSON
and CSV forms (the funnel they read is recorded by `bot.analytics.funnel`).

The figures (storage/analytics.py has the definitions) are computed in the database from one
read snapshot; this module names things (categories, agencies, kelurahan, channels), judges
the working-day time limits (intake.analytics.TimeLimit) and writes the summary
(intake.summary).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.settings import Settings
from intake.analytics import (
    TimeLimit,
    day_from_number,
    stage_masks,
    stage_of,
)
from intake.summary import SummaryFigures, channel_name, summary
from storage import Database
from storage.analytics import (
    DURATIONS,
    GROUPS,
    AnalyticsQueries,
    CampaignCounts,
    ChannelFunnel,
    ClockCount,
    Fraction,
    Percentiles,
    ReportCounts,
    StatsReader,
    Window,
)

log = logging.getLogger(__name__)

MEDIAN, P90 = (1, 2), (9, 10)
FRACTIONS: tuple[Fraction, ...] = (MEDIAN, P90)
TOP_CATEGORIES = 5
TOP_WORDS = 10
FORMATS = ("table", "json", "csv")


# -- computing the figures ------------------------------------------------------------------------


@dataclass(frozen=True)
class StatsQuery:
    since: datetime | None = None
    until: datetime | None = None
    by: str | None = None

    def __post_init__(self) -> None:
        if self.by is not None and self.by not in GROUPS:
            raise ValueError(f"by: choose one of {', '.join(GROUPS)}")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name}: a timezone-aware datetime is needed")


class Names:
    """Display names from the configuration."""

    def __init__(self, settings: Settings) -> None:
        self.categories = {c.id: c for c in settings.categories}
        self.agencies = {a.id: a.name for a in settings.agencies}
        self.areas = {a.code: a for a in settings.areas}

    def category(self, category_id: str | None, lang: str = "id") -> str:
        category = self.categories.get(category_id or "")
        if category is None:
            return category_id or "-"
        return category.name_en if lang == "en" and category.name_en else category.name

    def of(self, by: str, key: str | None) -> str:
        if key is None:
            return "-"
        match by:
            case "channel":
                return channel_name(key)
            case "category":
                return self.category(key)
            case "agency":
                return self.agencies.get(key, key)
            case "kelurahan":
                area = self.areas.get(key)
                return f"{area.kelurahan} ({area.kecamatan})" if area else key
        return key


async def compute_stats(
    reader: StatsReader, settings: Settings, query: StatsQuery, *, now: datetime
) -> dict[str, Any]:
    """Every figure of `lapor stats` as JSON-ready data (README, "Analytics")."""
    tz = ZoneInfo(settings.service.timezone)
    offset = _utc_offset(tz, now)
    window = Window(query.since, query.until)
    stale_before = now - timedelta(minutes=settings.flow.conversation_timeout_minutes)
    names = Names(settings)
    limits = (
        TimeLimit(settings.sla.verify_days, settings.sla.holidays),
        TimeLimit(settings.sla.respond_days, settings.sla.holidays),
    )
    today = (int(now.timestamp()) + offset) // 86_400
    async with reader.queries() as q:
        counts, reports_by_channel, categories = await q.overview(window)
        overall = await _report_figures(q, window, None, {None: counts}, offset, now, limits, today)
        words = await q.top_terms(window, TOP_WORDS)
        funnels = await q.funnel(window, stale_before, stage_masks())
        effort = await q.filing_effort(window, {c: f.filed for c, f in funnels.items()}, FRACTIONS)
        by_campaign = await q.campaigns(window, stale_before)
        groups = None
        if query.by is not None:
            by_group = await q.report_counts(window, query.by)
            groups = await _report_figures(
                q, window, query.by, by_group, offset, now, limits, today
            )
    figures = overall[None]
    top_categories = sorted(categories.items(), key=lambda kv: (-kv[1], kv[0] or ""))
    stats: dict[str, Any] = {
        "period": {
            "since": _iso(query.since),
            "until": _iso(query.until),
            "generated_at": _iso(now),
            "time_zone": settings.service.timezone,
        },
        "by": query.by,
        **figures,
        "sla": {
            "verify_days": settings.sla.verify_days,
            "respond_days": settings.sla.respond_days,
            **figures["sla"],
        },
        "top_topics": {
            "categories": [
                {"id": cid, "name": names.category(cid), "reports": n}
                for cid, n in top_categories[:TOP_CATEGORIES]
            ],
            "words": [{"word": w, "reports": n} for w, n in words],
        },
        "channels": _channels(reports_by_channel, funnels, effort),
        "campaigns": _campaigns(settings, by_campaign, now.astimezone(tz).date()),
    }
    if query.by is not None and groups is not None:
        stats["groups"] = [
            {"key": key, "name": names.of(query.by, key), **block}
            for key, block in sorted(
                groups.items(), key=lambda kv: (-kv[1]["reports"]["total"], kv[0] or "")
            )
        ]
    stats["summary"] = {
        lang: summary(_summary_figures(stats, names, lang, tz), lang) for lang in ("id", "en")
    }
    return stats


async def _report_figures(
    q: AnalyticsQueries,
    window: Window,
    by: str | None,
    counts: Mapping[str | None, ReportCounts],
    offset: int,
    now: datetime,
    limits: tuple[TimeLimit, TimeLimit],
    today: int,
) -> dict[str | None, dict[str, Any]]:
    """Report figures per group (`by` None: one group, the key None, for all reports)."""
    durations = await q.duration_percentiles(window, by, counts, FRACTIONS)
    verify, respond = await q.clocks(window, by, offset, now, (limits[0].days, limits[1].days))
    ratings = await q.satisfaction(window, by)
    sla = _sla(verify, respond, limits, today)
    return {
        key: _report_block(
            c,
            {d: durations.get((key, d), {}) for d in DURATIONS},
            sla.get(key, (0, 0, 0, 0)),
            ratings.get(key),
        )
        for key, c in counts.items()
    }


def _sla(
    verify: Sequence[ClockCount],
    respond: Sequence[ClockCount],
    limits: tuple[TimeLimit, TimeLimit],
    today: int,
) -> dict[str | None, tuple[int, int, int, int]]:
    """Per group: (verify late, verify overdue, respond late, respond overdue)."""
    out: dict[str | None, list[int]] = {}
    for i, (clocks, limit) in enumerate(zip((verify, respond), limits, strict=True)):
        for c in clocks:
            running = c.stop is None
            if limit.late(c.start, today if running else c.stop or 0, c.later):
                out.setdefault(c.group, [0, 0, 0, 0])[2 * i + running] += c.count
    return {k: (v[0], v[1], v[2], v[3]) for k, v in out.items()}


def _report_block(
    counts: ReportCounts,
    durations: Mapping[str, Percentiles],
    sla: tuple[int, int, int, int],
    rating: tuple[float, int] | None,
) -> dict[str, Any]:
    total = counts.total
    return {
        "reports": {
            "total": total,
            "in_process": counts.in_process,
            "followed_up": counts.followed_up,
            "followed_up_share": _share(counts.followed_up, total),
            "resolved": counts.resolved,
            "resolved_share": _share(counts.resolved, total),
            "by_status": counts.by_status,
        },
        "hours": {
            name: {
                "reports": counts.timed.get(name, 0),
                "median": _hours(durations.get(name, {}).get(MEDIAN)),
                "p90": _hours(durations.get(name, {}).get(P90)),
            }
            for name in DURATIONS
        },
        "sla": {
            "verify": {"late": sla[0], "overdue": sla[1]},
            "respond": {"late": sla[2], "overdue": sla[3]},
            "breaches": sum(sla),
        },
        "satisfaction": {
            "average": round(rating[0], 2) if rating else None,
            "ratings": rating[1] if rating else 0,
        },
    }


def _channels(
    reports: Mapping[str, int],
    funnels: Mapping[str, ChannelFunnel],
    effort: Mapping[tuple[str, str], Percentiles],
) -> list[dict[str, Any]]:
    channels = sorted(
        set(reports) | set(funnels),
        key=lambda c: (-reports.get(c, 0), c),
    )
    out = []
    for channel in channels:
        funnel = funnels.get(channel, ChannelFunnel(channel))
        seconds = effort.get((channel, "seconds"), {})
        messages = effort.get((channel, "messages"), {})
        abandoned = [
            {"step": step, "stage": stage_of(step), "reason": reason, "conversations": n}
            for (step, reason), n in sorted(
                funnel.abandoned.items(), key=lambda kv: (-kv[1], kv[0])
            )
        ]
        by_reason: dict[str, int] = {}
        for (_, reason), n in funnel.abandoned.items():
            by_reason[reason] = by_reason.get(reason, 0) + n
        out.append(
            {
                "channel": channel,
                "name": channel_name(channel),
                "reports": reports.get(channel, 0),
                "conversations": funnel.started,
                "filed": funnel.filed,
                "supported": funnel.supported,
                "in_progress": funnel.in_progress,
                "completion_rate": _share(funnel.filed, funnel.started),
                "minutes_to_file": {
                    "median": _minutes(seconds.get(MEDIAN)),
                    "p90": _minutes(seconds.get(P90)),
                },
                "messages_to_file": {"median": messages.get(MEDIAN), "p90": messages.get(P90)},
                "funnel": [{"stage": s, "reached": n} for s, n in funnel.reached.items()],
                "abandoned": {
                    "total": sum(by_reason.values()),
                    "by_reason": by_reason,
                    "by_step": abandoned,
                },
            }
        )
    return out


def _campaigns(
    settings: Settings, counts: Mapping[str, CampaignCounts], today: date
) -> list[dict[str, Any]]:
    """Every configured campaign (in the configuration's order, running or not), then any id
    the database has that the configuration no longer names."""
    configured = {c.id: c for c in settings.domain_campaigns()}
    ids = [*configured, *sorted(set(counts) - set(configured))]
    out = []
    for campaign_id in ids:
        campaign = configured.get(campaign_id)
        found = counts.get(campaign_id, CampaignCounts(campaign_id))
        out.append(
            {
                "id": campaign_id,
                "name": campaign.name if campaign else campaign_id,
                "configured": campaign is not None,
                "running": campaign.active_on(today) if campaign else False,
                "conversations": found.started,
                "filed": found.filed,
                "in_progress": found.in_progress,
                "completion_rate": _share(found.filed, found.started),
                "reports": found.reports,
            }
        )
    return out


def _summary_figures(
    stats: Mapping[str, Any], names: Names, lang: str, tz: ZoneInfo
) -> SummaryFigures:
    reports = stats["reports"]
    period = stats["period"]
    since, until = period["since"], period["until"]
    last_day = None
    if until:
        last_day = (datetime.fromisoformat(until).astimezone(tz) - timedelta(microseconds=1)).date()
    elif since:  # a period that is still running ends today
        last_day = datetime.fromisoformat(period["generated_at"]).astimezone(tz).date()
    return SummaryFigures(
        total=reports["total"],
        in_process=reports["in_process"],
        followed_up_share=reports["followed_up_share"],
        resolved_share=reports["resolved_share"],
        top_topics=[
            (names.category(c["id"], lang), c["reports"])
            for c in stats["top_topics"]["categories"][:3]
        ],
        channels=[(c["channel"], c["reports"]) for c in stats["channels"] if c["reports"]],
        median_response_hours=stats["hours"]["first_response"]["median"],
        sla_breaches=stats["sla"]["breaches"],
        satisfaction=stats["satisfaction"]["average"],
        ratings=stats["satisfaction"]["ratings"],
        first_day=datetime.fromisoformat(since).astimezone(tz).date() if since else None,
        last_day=last_day,
    )


def _utc_offset(tz: ZoneInfo, now: datetime) -> int:
    """The zone's offset now (WIB, WITA and WIT have no daylight saving time)."""
    delta = now.astimezone(tz).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _hours(seconds: float | None) -> float | None:
    return round(seconds / 3600, 2) if seconds is not None else None


def _minutes(seconds: float | None) -> float | None:
    return round(seconds / 60, 1) if seconds is not None else None


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def week_start(week: int) -> datetime:
    """The Monday (local date, as midnight UTC) that starts week number `week` (weekly())."""
    day = day_from_number(7 * week - 3)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


_READERS: weakref.WeakKeyDictionary[Database, StatsReader] = weakref.WeakKeyDictionary()


def stats_reader(db: Database) -> StatsReader:
    """The statistics reader of a service's database (one per database, made on first use)."""
    reader = _READERS.get(db)
    if reader is None:
        reader = _READERS[db] = StatsReader(db)
    return reader


# -- input and the command -----------------------------------------------------------------


def parse_moment(text: str | None, tz: ZoneInfo, *, name: str = "time") -> datetime | None:
    """A date ("2026-01-01": local midnight) or an ISO time; without an offset, local time."""
    if text is None or not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{name}: {text!r} is not a date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM)"
        ) from None
    value = value if value.tzinfo is not None else value.replace(tzinfo=tz)
    if not MOMENTS[0] <= value <= MOMENTS[1]:
        raise ValueError(f"{name}: {text!r} is not between the years 1900 and 9000")
    return value


# The times a filter may name: far enough out for any report, and with room to convert to UTC
# (0001-01-01T00:00+07:00 is before year 1 in UTC: an overflow in the database layer).
MOMENTS = (datetime(1900, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC))


def stats_command(
    settings: Settings, since: str | None, until: str | None, by: str | None, fmt: str
) -> int:
    """`lapor stats`: print the figures; 2 for bad arguments, 1 when the database cannot
    answer."""
    import asyncio
    import sys

    from sqlalchemy.exc import DBAPIError

    from storage import Database
    from storage.db import sqlite_file

    tz = ZoneInfo(settings.service.timezone)
    try:
        query = StatsQuery(
            parse_moment(since, tz, name="--since"), parse_moment(until, tz, name="--until"), by
        )
    except ValueError as exc:
        print(f"lapor stats: {exc}", file=sys.stderr)
        return 2
    db = Database(settings.storage.database_url)
    path = sqlite_file(db.url)
    if path is not None and not path.exists():
        print(f"lapor stats: no database at {path} yet (start the service once)", file=sys.stderr)
        return 1

    async def run() -> dict[str, Any]:
        try:
            return await compute_stats(StatsReader(db), settings, query, now=datetime.now(UTC))
        finally:
            await db.dispose()

    try:
        stats = asyncio.run(run())
    except DBAPIError as exc:
        reason = " ".join(str(exc.orig).split())
        print(
            f"lapor stats: the database cannot answer ({reason}); if the schema is old, run "
            "`lapor migrate`",
            file=sys.stderr,
        )
        return 1
    sys.stdout.write(render(stats, fmt))
    return 0


# -- output -----------------------------------------------------------------------------------


def render(stats: Mapping[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(stats, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return render_csv(stats)
    return render_table(stats)


CSV_COLUMNS = (
    "group", "key", "name", "reports", "in_process", "followed_up", "followed_up_share",
    "resolved", "resolved_share", "verification_median_h", "verification_p90_h",
    "first_response_median_h", "first_response_p90_h", "resolution_median_h",
    "resolution_p90_h", "verify_late", "verify_overdue", "respond_late", "respond_overdue",
    "satisfaction", "ratings", "conversations", "filed", "completion_share",
)  # fmt: skip
# The last three are a campaign row's (group "campaign"): conversations started, filed, share.


def _csv_row(group: str, key: str | None, name: str, block: Mapping[str, Any]) -> list[Any]:
    r, h, sla, sat = block["reports"], block["hours"], block["sla"], block["satisfaction"]
    return [
        group, key, name, r["total"], r["in_process"], r["followed_up"],
        r["followed_up_share"], r["resolved"], r["resolved_share"],
        *(h[d][p] for d in DURATIONS for p in ("median", "p90")),
        sla["verify"]["late"], sla["verify"]["overdue"], sla["respond"]["late"],
        sla["respond"]["overdue"], sat["average"], sat["ratings"], None, None, None,
    ]  # fmt: skip


def _csv_campaign_row(campaign: Mapping[str, Any]) -> list[Any]:
    row: list[Any] = [None] * len(CSV_COLUMNS)
    row[:4] = ["campaign", campaign["id"], campaign["name"], campaign["reports"]]
    row[-3:] = [campaign["conversations"], campaign["filed"], campaign["completion_rate"]]
    return row


def render_csv(stats: Mapping[str, Any]) -> str:
    """One row for all reports, then one per group (with --by), then one per campaign (group
    "campaign": reports, conversations, filed, completion_share). Empty cells: no value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerow(_csv_row("all", None, "all", stats))
    for group in stats.get("groups", []):
        writer.writerow(_csv_row(stats["by"], group["key"], group["name"], group))
    for campaign in stats.get("campaigns", []):
        writer.writerow(_csv_campaign_row(campaign))
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f}%"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    cells = [list(header), *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for j, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def render_table(stats: Mapping[str, Any]) -> str:
    r, h, sla, sat = stats["reports"], stats["hours"], stats["sla"], stats["satisfaction"]
    lines = [stats["summary"]["id"], "", stats["summary"]["en"], ""]
    lines.append(
        f"Reports {r['total']}, in process {r['in_process']}, followed up "
        f"{_percent(r['followed_up_share'])}, resolved {_percent(r['resolved_share'])}"
    )
    statuses = ", ".join(f"{s} {n}" for s, n in r["by_status"].items())
    lines += [f"By status: {statuses or '-'}", ""]
    lines += _table(
        ("hours from filing", "reports", "median", "p90"),
        [(d.replace("_", " "), h[d]["reports"], h[d]["median"], h[d]["p90"]) for d in DURATIONS],
    )
    lines += [
        "",
        f"Time limits ({sla['verify_days']} working days to verify, {sla['respond_days']} to "
        f"follow up): verified late {sla['verify']['late']}, unverified past the limit "
        f"{sla['verify']['overdue']}, followed up late {sla['respond']['late']}, waiting past "
        f"the limit {sla['respond']['overdue']}",
        f"Satisfaction: {_cell(sat['average'])} from {sat['ratings']} ratings",
        "",
    ]
    topics = stats["top_topics"]
    lines.append(
        "Top categories: "
        + (", ".join(f"{c['name']} {c['reports']}" for c in topics["categories"]) or "-")
    )
    lines.append(
        "Top words: " + (", ".join(f"{w['word']} {w['reports']}" for w in topics["words"]) or "-")
    )
    lines.append("")
    lines += _table(
        ("channel", "reports", "started", "filed", "completion", "median min", "median msgs"),
        [
            (
                c["name"],
                c["reports"],
                c["conversations"],
                c["filed"],
                _percent(c["completion_rate"]),
                c["minutes_to_file"]["median"],
                c["messages_to_file"]["median"],
            )
            for c in stats["channels"]
        ],
    )
    for c in stats["channels"]:
        if c["funnel"]:
            steps = " > ".join(f"{f['stage']} {f['reached']}" for f in c["funnel"])
            lines.append(f"{c['name']} funnel: {steps} > filed {c['filed']}")
        if c["abandoned"]["by_step"]:
            where = ", ".join(
                f"{a['step']}/{a['reason']} {a['conversations']}"
                for a in c["abandoned"]["by_step"][:6]
            )
            lines.append(f"{c['name']} abandoned ({c['abandoned']['total']}): {where}")
    if stats.get("campaigns"):
        lines.append("")
        lines += _table(
            ("campaign", "id", "started", "filed", "completion", "reports"),
            [
                (
                    c["name"] + ("" if c["running"] else " (not running)"),
                    c["id"],
                    c["conversations"],
                    c["filed"],
                    _percent(c["completion_rate"]),
                    c["reports"],
                )
                for c in stats["campaigns"]
            ],
        )
    if "groups" in stats:
        lines.append("")
        lines += _table(
            (
                f"by {stats['by']}", "reports", "in process", "followed up", "resolved",
                "response med h", "resolution med h", "sla breaches", "satisfaction",
            ),
            [
                (
                    g["name"], g["reports"]["total"], g["reports"]["in_process"],
                    _percent(g["reports"]["followed_up_share"]),
                    _percent(g["reports"]["resolved_share"]),
                    g["hours"]["first_response"]["median"], g["hours"]["resolution"]["median"],
                    g["sla"]["breaches"], g["satisfaction"]["average"],
                )
                for g in stats["groups"]
            ],
        )  # fmt: skip
    return "\n".join(lines) + "\n"
