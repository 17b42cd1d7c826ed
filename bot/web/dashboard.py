"""The read-only dashboard at /dashboard: server-rendered HTML with inline SVG charts.

No JavaScript, no front-end build: the page is HTML and SVG written here, with the figures of
`lapor stats` (`bot.analytics.stats`) plus reports per week by channel and per kelurahan.
Charts: reports per week by channel, the conversation funnel per channel, agency response
times, and a map of reports by kelurahan drawn from the boundaries GeoJSON of the configuration
(dots at the areas' coordinates when there is none).

Access: one of `service.api_tokens`, given as `Authorization: Bearer <token>` (scripts) or as
`?token=<token>` (a browser: the link an admin opens). A valid `?token=` is answered with a
redirect to the same page without it and an HttpOnly, SameSite=Strict cookie scoped to
/dashboard, so the token leaves the address bar and the browser history; the cookie holds an
HMAC of the token, not the token, and is no key to the REST API.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.analytics.stats import StatsQuery, compute_stats, parse_moment, stats_reader
from bot.core.ports import Clock
from bot.settings import Settings, load_boundaries
from intake.summary import channel_name, format_hours, format_number, format_percent
from storage import Database
from storage.analytics import Window

COOKIE = "lapor_dashboard"
COOKIE_MAX_AGE = 12 * 3600
DEFAULT_WEEKS = 12
HEADERS = {
    # Nothing runs and nothing loads: inline styles and the page itself only.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
CHANNEL_COLOURS = {
    "whatsapp": "#1f9d55",
    "telegram": "#2a8bd4",
    "sms": "#e07b1f",
    "console": "#7a7f87",
}
OTHER_COLOURS = ("#8e44ad", "#c0392b", "#16a085", "#d4a017")
LEGEND_W = 130  # room right of the map for its legend
MAP_SCALE = ("#eef4fb", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")


# -- access ---------------------------------------------------------------------------------


def _tokens(settings: Settings) -> list[bytes]:
    return [t.get_secret_value().encode() for t in settings.service.api_tokens]


def _cookie_value(token: bytes) -> str:
    return hmac.new(token, b"lapor-dashboard-cookie", hashlib.sha256).hexdigest()


def _valid_token(given: str, settings: Settings) -> bool:
    raw = given.strip().encode()
    return bool(raw) and any(hmac.compare_digest(raw, t) for t in _tokens(settings))


def _valid_cookie(given: str, settings: Settings) -> bool:
    return bool(given) and any(
        hmac.compare_digest(given.encode(), _cookie_value(t).encode()) for t in _tokens(settings)
    )


def _authorised(request: Request, settings: Settings) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and _valid_token(token, settings):
        return True
    return _valid_cookie(request.cookies.get(COOKIE, ""), settings)


@dataclass(frozen=True)
class DashboardSource:
    """What the page is drawn from."""

    settings: Settings
    db: Database
    clock: Clock

    def router(self) -> APIRouter:
        router = APIRouter()

        async def page(request: Request) -> Response:
            return await dashboard(request, self)

        router.add_api_route("/dashboard", page, methods=["GET"], response_class=HTMLResponse)
        return router


async def dashboard(request: Request, source: DashboardSource) -> Response:
    settings = source.settings
    token = request.query_params.get("token")
    if token is not None:
        if not _valid_token(token, settings):
            return _page_401()
        rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        target = "/dashboard" + (f"?{urlencode(rest)}" if rest else "")
        redirect = RedirectResponse(target, status_code=303, headers=HEADERS)
        redirect.set_cookie(
            COOKIE,
            _cookie_value(token.strip().encode()),
            max_age=COOKIE_MAX_AGE,
            path="/dashboard",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return redirect
    if not _authorised(request, settings):
        return _page_401()
    tz = ZoneInfo(settings.service.timezone)
    now: datetime = source.clock()
    try:
        since = parse_moment(request.query_params.get("since"), tz, name="since")
        until = parse_moment(request.query_params.get("until"), tz, name="until")
    except ValueError as exc:
        return HTMLResponse(_error_page(str(exc)), status_code=422, headers=HEADERS)
    if since is None:
        today = now.astimezone(tz).date()
        monday = today - timedelta(days=today.weekday() + 7 * (DEFAULT_WEEKS - 1))
        since = datetime.combine(monday, datetime.min.time(), tzinfo=tz)
    query = StatsQuery(since, until, "agency")
    reader = stats_reader(source.db)
    stats = await compute_stats(reader, settings, query, now=now)
    offset = int((now.astimezone(tz).utcoffset() or timedelta()).total_seconds())
    window = Window(since, until)
    async with reader.queries() as q:
        weekly = await q.weekly(window, offset)
        by_kelurahan = await q.count_by(window, "kelurahan")
    page = render_page(
        stats,
        settings,
        weekly=weekly,
        by_kelurahan={k: n for k, n in by_kelurahan.items() if k},
        since=since.astimezone(tz).date(),
        until=(until.astimezone(tz) - timedelta(microseconds=1)).date() if until else None,
    )
    return HTMLResponse(page, headers=HEADERS)


def _page_401() -> HTMLResponse:
    body = (
        "<h1>Dashboard</h1><p>Open this page with an API token: "
        "<code>/dashboard?token=&lt;token&gt;</code> (or send "
        "<code>Authorization: Bearer &lt;token&gt;</code>).</p>"
    )
    return HTMLResponse(
        _document("Dashboard: token needed", body),
        status_code=401,
        headers={**HEADERS, "WWW-Authenticate": "Bearer"},
    )


def _error_page(message: str) -> str:
    return _document("Dashboard", f"<h1>Dashboard</h1><p>{escape(message)}</p>")


# -- the page ---------------------------------------------------------------------------------


def render_page(
    stats: Mapping[str, Any],
    settings: Settings,
    *,
    weekly: Sequence[tuple[int, str, int]],
    by_kelurahan: Mapping[str, int],
    since: date | None,
    until: date | None,
) -> str:
    city = settings.places.city_name or "Dashboard"
    reports, hours, sla = stats["reports"], stats["hours"], stats["sla"]
    satisfaction = stats["satisfaction"]
    period = _period_text(since, until)
    tiles = [
        ("Total laporan", format_number(reports["total"], "id")),
        ("Masih dalam proses", format_number(reports["in_process"], "id")),
        ("Sudah ditindaklanjuti", format_percent(reports["followed_up_share"], "id")),
        ("Selesai", format_percent(reports["resolved_share"], "id")),
        ("Median tanggapan pertama", format_hours(hours["first_response"]["median"], "id")),
        ("Melewati batas waktu", format_number(sla["breaches"], "id")),
        (
            "Kepuasan pelapor",
            f"{format_number(satisfaction['average'], 'id', 1)} / 5"
            if satisfaction["average"] is not None
            else "-",
        ),
    ]
    tile_html = "".join(
        f'<div class="tile"><div class="value">{escape(v)}</div>'
        f'<div class="label">{escape(k)}</div></div>'
        for k, v in tiles
    )
    form = (
        '<form method="get" action="/dashboard" class="period">'
        f'<label>Dari <input type="date" name="since" value="{_date_value(since)}"></label> '
        f'<label>Sampai <input type="date" name="until" value="{_date_value(until)}"></label> '
        '<button type="submit">Tampilkan</button></form>'
    )
    channels = stats["channels"]
    body = f"""
<header><h1>Pengaduan warga {escape(city)}</h1><p class="period">{escape(period)}</p>{form}
</header>
<section class="tiles">{tile_html}</section>
<section class="summary"><p lang="id">{escape(stats["summary"]["id"])}</p>
<p lang="en" class="en">{escape(stats["summary"]["en"])}</p></section>
<section><h2>Laporan per minggu menurut kanal</h2>{weekly_chart(weekly, since, until)}</section>
<section><h2>Corong percakapan per kanal</h2>
<p class="note">Dari percakapan yang dimulai: berapa yang mencapai tiap langkah, dan berapa
yang menjadi laporan.</p>{funnel_charts(channels)}{abandon_table(channels)}</section>
<section><h2>Waktu tanggapan per dinas</h2>
<p class="note">Median (batang) dan persentil ke-90 (garis) jam sejak laporan masuk sampai
tindakan pertama petugas; batas verifikasi {sla["verify_days"]} hari kerja, tindak lanjut
{sla["respond_days"]} hari kerja.</p>{agency_chart(stats.get("groups", []))}</section>
<section><h2>Peta laporan per kelurahan</h2>{kelurahan_map(settings, by_kelurahan)}</section>
<section><h2>Topik terbanyak</h2>{topics(stats["top_topics"])}</section>
"""
    return _document(f"Dashboard {city}", body)


def _document(title: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="id"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{STYLE}</style></head>
<body>{body}</body></html>
"""


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
  padding: 16px 28px; color: #1d2733; background: #f6f8fa; }
h1 { font-size: 24px; margin: 4px 0; } h2 { font-size: 17px; margin: 0 0 8px; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 16px; }
p.period { color: #55606d; margin: 0; }
form.period { margin-left: auto; font-size: 14px; }
section { background: #fff; border: 1px solid #dde3ea; border-radius: 8px; padding: 14px 18px;
  margin: 14px 0; }
section.tiles { display: flex; flex-wrap: wrap; gap: 12px; background: none; border: none;
  padding: 0; }
.tile { background: #fff; border: 1px solid #dde3ea; border-radius: 8px; padding: 10px 14px;
  min-width: 110px; flex: 1; }
.tile .value { font-size: 24px; font-weight: 600; }
.tile .label { color: #55606d; font-size: 13px; }
.summary p { margin: 4px 0; line-height: 1.45; } .summary .en { color: #55606d; font-size: 14px; }
.note { color: #55606d; font-size: 13px; margin: 0 0 8px; }
.funnels { display: flex; flex-wrap: wrap; gap: 18px; }
table { border-collapse: collapse; font-size: 13px; margin-top: 10px; }
th, td { text-align: left; padding: 3px 10px 3px 0; border-bottom: 1px solid #eef1f4; }
td.n { text-align: right; }
svg text { font-family: system-ui, sans-serif; }
.topics { display: flex; gap: 40px; flex-wrap: wrap; } .topics ol { margin: 0; padding-left: 20px; }
"""


def _period_text(since: date | None, until: date | None) -> str:
    if since and until:
        return f"{_day(since)} s.d. {_day(until)}"
    if since:
        return f"Sejak {_day(since)}"
    if until:
        return f"Sampai {_day(until)}"
    return "Semua waktu"


def _day(value: date) -> str:
    return value.strftime("%d-%m-%Y")


def _date_value(value: date | None) -> str:
    return value.isoformat() if value else ""


def channel_colour(channel: str, index: int = 0) -> str:
    return CHANNEL_COLOURS.get(channel, OTHER_COLOURS[index % len(OTHER_COLOURS)])


def _legend(items: Iterable[tuple[str, str]], x: float, y: float) -> str:
    parts = []
    for name, colour in items:
        parts.append(
            f'<rect x="{x:.0f}" y="{y - 9:.0f}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14:.0f}" y="{y:.0f}" font-size="12">{escape(name)}</text>'
        )
        x += 24 + 7 * len(name)
    return "".join(parts)


# -- charts -------------------------------------------------------------------------------------


def weekly_chart(
    weekly: Sequence[tuple[int, str, int]], since: date | None, until: date | None
) -> str:
    """Stacked bars: reports per week (Monday to Sunday, local time), one colour per channel."""
    if not weekly:
        return '<p class="note">Belum ada laporan pada periode ini.</p>'
    weeks = sorted({w for w, _, _ in weekly})
    first, last = weeks[0], weeks[-1]
    if since is not None:
        first = min(first, _week_of(since))
    if until is not None:
        last = max(last, _week_of(until))
    span = list(range(first, last + 1))
    channels = sorted({c for _, c, _ in weekly}, key=lambda c: (c not in CHANNEL_COLOURS, c))
    colours = {c: channel_colour(c, i) for i, c in enumerate(channels)}
    counts: dict[tuple[int, str], int] = {(w, c): n for w, c, n in weekly}
    totals = {w: sum(counts.get((w, c), 0) for c in channels) for w in span}
    top = _nice_ceiling(max(totals.values()) or 1)
    width, height, left, bottom, top_pad = 900, 240, 46, 36, 28
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    step = plot_w / len(span)
    bar = max(step * 0.72, 1.0)
    parts = [f'<svg class="chart weekly" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Laporan per minggu menurut kanal" width="100%">']  # fmt: skip
    for i in range(5):
        value = top * i / 4
        y = top_pad + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e8ee"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">'
            f"{format_number(value, 'id')}</text>"
        )
    label_every = max(1, math.ceil(len(span) / 12))
    for i, week in enumerate(span):
        x = left + i * step + (step - bar) / 2
        y = top_pad + plot_h
        for channel in channels:
            n = counts.get((week, channel), 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colours[channel]}"><title>{escape(_week_label(week))}: '
                f"{escape(channel_name(channel))} {n}</title></rect>"
            )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" font-size="11" '
                f'text-anchor="middle">{escape(_week_label(week))}</text>'
            )
    parts.append(_legend(((channel_name(c), colours[c]) for c in channels), left, 16))
    parts.append("</svg>")
    return "".join(parts)


def _week_of(day: date) -> int:
    """Week number as storage.analytics.weekly counts them (Monday-based, from 1970)."""
    return (day.toordinal() - date(1970, 1, 1).toordinal() + 3) // 7


def _week_label(week: int) -> str:
    monday = date.fromordinal(date(1970, 1, 1).toordinal() + 7 * week - 3)
    return monday.strftime("%d/%m")


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `value`."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= value:
            return m * power
    return 10 * power


def funnel_charts(channels: Sequence[Mapping[str, Any]]) -> str:
    """One small chart per channel: conversations reaching each stage, then filed."""
    shown = [c for c in channels if c["conversations"]]
    if not shown:
        return '<p class="note">Belum ada percakapan pada periode ini.</p>'
    charts = []
    for i, channel in enumerate(shown):
        started = channel["conversations"]
        rows = [("dimulai", started)]
        rows += [(STAGE_NAMES.get(f["stage"], f["stage"]), f["reached"]) for f in channel["funnel"]]
        rows.append(("laporan masuk", channel["filed"]))
        colour = channel_colour(channel["channel"], i)
        width, row_h, label_w = 330, 20, 110
        height = 30 + row_h * len(rows)
        parts = [
            f'<svg class="chart funnel" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="Corong {escape(channel["name"])}">',
            f'<text x="0" y="16" font-size="14" font-weight="600">{escape(channel["name"])}'
            f" · selesai {escape(format_percent(channel['completion_rate'], 'id'))}</text>",
        ]
        for j, (name, n) in enumerate(rows):
            y = 26 + j * row_h
            w = (width - label_w - 70) * (n / started if started else 0)
            parts.append(
                f'<text x="{label_w - 6}" y="{y + 13}" font-size="12" text-anchor="end">'
                f"{escape(name)}</text>"
                f'<rect class="bar" x="{label_w}" y="{y + 2}" width="{max(w, 0.5):.1f}" '
                f'height="{row_h - 5}" fill="{colour}" opacity="{1 - 0.05 * j:.2f}">'
                f"<title>{escape(name)}: {n}</title></rect>"
                f'<text x="{label_w + w + 6:.1f}" y="{y + 13}" font-size="11">'
                f"{format_number(n, 'id')}</text>"
            )
        parts.append("</svg>")
        charts.append("".join(parts))
    return f'<div class="funnels">{"".join(charts)}</div>'


STAGE_NAMES = {
    "consent": "persetujuan",
    "description": "uraian",
    "category": "kategori",
    "location": "lokasi",
    "photos": "foto",
    "privacy": "privasi",
    "confirm": "konfirmasi",
}
REASON_NAMES = {
    "cancelled": "dibatalkan",
    "expired": "ditinggalkan",
    "restarted": "diulang",
    "declined": "tidak setuju",
}


def abandon_table(channels: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for channel in channels:
        for a in channel["abandoned"]["by_step"][:4]:
            rows.append(
                f"<tr><td>{escape(channel['name'])}</td>"
                f"<td>{escape(STAGE_NAMES.get(a['stage'], a['stage']))} ({escape(a['step'])})</td>"
                f"<td>{escape(REASON_NAMES.get(a['reason'], a['reason']))}</td>"
                f'<td class="n">{format_number(a["conversations"], "id")}</td></tr>'
            )
    if not rows:
        return ""
    head = "<tr><th>Kanal</th><th>Berhenti di</th><th>Sebab</th><th>Percakapan</th></tr>"
    return f'<table class="abandoned">{head}{"".join(rows)}</table>'


def agency_chart(groups: Sequence[Mapping[str, Any]]) -> str:
    """Horizontal bars: median hours to the first officer response, a line to the 90th
    percentile; the agencies with reports, slowest first."""
    rows = [g for g in groups if g["reports"]["total"]]
    if not rows:
        return '<p class="note">Belum ada laporan pada periode ini.</p>'
    rows.sort(key=lambda g: -(g["hours"]["first_response"]["median"] or -1))
    top = _nice_ceiling(max((g["hours"]["first_response"]["p90"] or 0) for g in rows) or 1)
    width, row_h, label_w, right = 900, 24, 300, 200
    height = 34 + row_h * len(rows)
    plot_w = width - label_w - right
    parts = [
        f'<svg class="chart agencies" viewBox="0 0 {width} {height}" width="100%" role="img" '
        'aria-label="Waktu tanggapan per dinas">'
    ]
    for i in range(5):
        x = label_w + plot_w * i / 4
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="18" y2="{height - 4}" stroke="#e3e8ee"/>'
            f'<text x="{x:.1f}" y="12" font-size="11" text-anchor="middle">'
            f"{escape(format_hours(top * i / 4, 'id') if i else '0')}</text>"
        )
    for j, g in enumerate(rows):
        y = 22 + j * row_h
        median = g["hours"]["first_response"]["median"]
        p90 = g["hours"]["first_response"]["p90"]
        name = g["name"] if len(g["name"]) <= 42 else g["name"][:41] + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" font-size="12" text-anchor="end">'
            f"<title>{escape(g['name'])}</title>{escape(name)}</text>"
        )
        if median is not None:
            w = plot_w * median / top
            parts.append(
                f'<rect class="bar" x="{label_w}" y="{y + 4}" width="{max(w, 0.5):.1f}" '
                f'height="{row_h - 9}" fill="#3182bd">'
                f"<title>median {escape(format_hours(median, 'id'))}</title></rect>"
            )
        if p90 is not None:
            x = label_w + plot_w * p90 / top
            parts.append(
                f'<line x1="{label_w}" x2="{x:.1f}" y1="{y + 11}" y2="{y + 11}" stroke="#08306b" '
                f'stroke-width="1.5"/><line x1="{x:.1f}" x2="{x:.1f}" y1="{y + 5}" '
                f'y2="{y + 17}" stroke="#08306b" stroke-width="1.5"/>'
            )
        note = (
            f"{format_number(g['reports']['total'], 'id')} laporan · "
            f"{format_number(g['sla']['breaches'], 'id')} lewat batas"
        )
        parts.append(
            f'<text x="{width - right + 8}" y="{y + 15}" font-size="11">{escape(note)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


# -- map ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapShape:
    code: str
    name: str
    path: str  # SVG path data ("" for a dot)
    x: float  # label point
    y: float


@dataclass(frozen=True)
class CityMap:
    width: float
    height: float
    shapes: tuple[MapShape, ...]


def kelurahan_map(settings: Settings, counts: Mapping[str, int]) -> str:
    city = city_map(settings)
    if not city.shapes:
        return '<p class="note">Belum ada wilayah yang dikonfigurasi.</p>'
    bins = _quantile_bins([counts.get(shape.code, 0) for shape in city.shapes])
    top = max(counts.values(), default=0)
    parts = [
        f'<svg class="chart map" viewBox="0 0 {city.width + LEGEND_W:.0f} {city.height:.0f}" '
        f'width="{min(city.width + LEGEND_W, 760):.0f}" role="img" '
        'aria-label="Peta laporan per kelurahan">'
    ]
    for shape in city.shapes:
        n = counts.get(shape.code, 0)
        level = _level(n, bins)
        title = f"<title>{escape(shape.name)}: {n} laporan</title>"
        if shape.path:
            parts.append(
                f'<path class="area" d="{shape.path}" fill="{MAP_SCALE[level]}" '
                f'stroke="#ffffff" stroke-width="1.2">{title}</path>'
            )
        else:
            radius = 6 + 14 * math.sqrt(n / top) if top else 6
            parts.append(
                f'<circle class="area" cx="{shape.x:.1f}" cy="{shape.y:.1f}" r="{radius:.1f}" '
                f'fill="{MAP_SCALE[level]}" stroke="#3182bd">{title}</circle>'
            )
    for shape in city.shapes:
        n = counts.get(shape.code, 0)
        fill = "#ffffff" if _level(n, bins) >= 4 else "#1d2733"
        parts.append(
            f'<text x="{shape.x:.1f}" y="{shape.y + 3:.1f}" font-size="10" text-anchor="middle" '
            f'fill="{fill}">{format_number(n, "id")}</text>'
        )
    labels = ["0", *(f"≥ {format_number(b, 'id')}" for b in bins)]
    parts.append(
        f'<text x="{city.width + 20:.0f}" y="24" font-size="12" font-weight="600">Laporan</text>'
    )
    for i, label in enumerate(labels):
        y = 36 + i * 20
        parts.append(
            f'<rect x="{city.width + 20:.0f}" y="{y}" width="16" height="12" '
            f'fill="{MAP_SCALE[i]}" stroke="#c8d1db"/>'
            f'<text x="{city.width + 42:.0f}" y="{y + 10}" font-size="11">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


_MAPS: dict[tuple[str, float], CityMap] = {}


def _quantile_bins(values: Sequence[int]) -> list[int]:
    """Lower bounds of the five colour levels above zero: the non-zero counts split into
    fifths, so the map shows differences even when every kelurahan has many reports."""
    positive = sorted(v for v in values if v > 0)
    if not positive:
        return []
    bounds = [positive[min(len(positive) - 1, len(positive) * i // 5)] for i in range(5)]
    return sorted(set(bounds))


def _level(n: int, bins: Sequence[int]) -> int:
    """0 for no reports, else 1 + the number of bin bounds above the lowest that n reaches."""
    if n <= 0 or not bins:
        return 0
    return min(len(MAP_SCALE) - 1, sum(1 for b in bins if n >= b))


def city_map(settings: Settings) -> CityMap:
    """Kelurahan outlines as SVG paths, cached per configuration and boundaries file."""
    path = settings.boundaries_path()
    stamp = path.stat().st_mtime if path is not None and path.exists() else 0.0
    key = (settings.model_dump_json(include={"areas", "places"}), stamp)
    if key not in _MAPS:
        if len(_MAPS) > 4:
            _MAPS.clear()
        _MAPS[key] = _build_map(settings)
    return _MAPS[key]


def _build_map(settings: Settings) -> CityMap:
    names = {a.code: a.kelurahan for a in settings.areas}
    boundaries = load_boundaries(settings)
    rings: list[tuple[str, list[list[tuple[float, float]]]]] = []
    if boundaries:
        for feature in boundaries.get("features", []):
            code = str(feature.get("properties", {}).get("code", ""))
            geometry = feature.get("geometry") or {}
            polygons = (
                [geometry.get("coordinates", [])]
                if geometry.get("type") == "Polygon"
                else geometry.get("coordinates", [])
            )
            outline = [
                [(float(p[0]), float(p[1])) for p in ring]
                for polygon in polygons
                for ring in polygon
            ]
            if code in names and outline:
                rings.append((code, outline))
    points = [p for _, outline in rings for ring in outline for p in ring] or [
        (a.lon, a.lat) for a in settings.areas
    ]
    if not points:
        return CityMap(0, 0, ())
    lat0 = sum(lat for _, lat in points) / len(points)
    kx = math.cos(math.radians(lat0))
    xs = [lon * kx for lon, _ in points]
    ys = [-lat for _, lat in points]
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)
    span = max(max_x - min_x, max_y - min_y) or 1e-3
    size, pad = 600.0, 12.0
    scale = (size - 2 * pad) / span

    def project(lon: float, lat: float) -> tuple[float, float]:
        return pad + (lon * kx - min_x) * scale, pad + (-lat - min_y) * scale

    width = 2 * pad + (max_x - min_x) * scale
    height = 2 * pad + (max_y - min_y) * scale
    shapes = []
    if rings:
        labels = {a.code: (a.lon, a.lat) for a in settings.areas}
        for feature in (boundaries or {}).get("features", []):
            props = feature.get("properties", {})
            code = str(props.get("code", ""))
            if "label_lon" in props and "label_lat" in props:
                labels[code] = (float(props["label_lon"]), float(props["label_lat"]))
        for code, outline in rings:
            d = " ".join(
                "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in (project(*p) for p in ring)) + " Z"
                for ring in outline
            )
            lx, ly = project(*labels.get(code, outline[0][0]))
            shapes.append(MapShape(code, names[code], d, lx, ly))
    else:
        for area in settings.areas:
            x, y = project(area.lon, area.lat)
            shapes.append(MapShape(area.code, area.kelurahan, "", x, y))
    return CityMap(width, height, tuple(shapes))


def topics(top: Mapping[str, Any]) -> str:
    categories = "".join(
        f"<li>{escape(c['name'])} <b>{format_number(c['reports'], 'id')}</b></li>"
        for c in top["categories"]
    )
    words = "".join(
        f"<li>{escape(w['word'])} <b>{format_number(w['reports'], 'id')}</b></li>"
        for w in top["words"]
    )
    return (
        f'<div class="topics"><div><h3>Kategori</h3><ol>{categories or "<li>-</li>"}</ol></div>'
        f"<div><h3>Kata dalam uraian</h3><ol>{words or '<li>-</li>'}</ol></div></div>"
    )
