"""The read-only dashboard at /dashboard: server-rendered HTML with inline SVG charts.

No JavaScript, no front-end build: the page is HTML and SVG with the figures of `lapor stats`
(`bot.analytics.stats`) plus reports per week by channel and per kelurahan. Charts: reports per
week by channel, the conversation funnel per channel, agency response times, and a map of reports
by kelurahan drawn from the boundaries GeoJSON of the configuration (dots at the areas'
coordinates when there is none).

The HTML is in Jinja2 templates (bot/web/templates/, autoescaped); the charts are drawn here as
markupsafe.Markup built only with `Markup.format`, which escapes every value put into them
(names of channels, agencies, kelurahan, categories...), so the template inserts them as they are.

Access: one of `service.api_tokens`, given as `Authorization: Bearer <token>` (scripts) or as
`?token=<token>` (a browser: the link an admin opens). A valid `?token=` is answered with a
redirect to the same page without it and an HttpOnly, SameSite=Strict cookie scoped to
/dashboard, so the token leaves the address bar and the browser history; the cookie holds its
issue time and an HMAC of it under the token (not the token), is refused by the server
COOKIE_MAX_AGE after it was issued, and is no key to the REST API.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from bot.analytics.stats import StatsQuery, compute_stats, parse_moment, stats_reader
from bot.core.deadletters import describe
from bot.core.ports import Clock
from bot.settings import Settings
from bot.web.citymap import city_map
from intake.summary import channel_name, format_hours, format_number, format_percent
from storage import Database, Store
from storage.analytics import Window

if TYPE_CHECKING:
    from jinja2 import Environment

COOKIE = "lapor_dashboard"
COOKIE_MAX_AGE = 12 * 3600  # seconds; checked by the server, not only by the browser
COOKIE_CLOCK_SKEW = 60  # seconds a cookie's issue time may lie ahead of our clock
DEFAULT_WEEKS = 12
DEAD_LETTERS_SHOWN = 5  # the newest dead letters listed on the page (all: GET /api/outbox)
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


@functools.cache
def _templates() -> Environment:
    """The page templates, loaded (with jinja2) at the first page shown, not at start-up."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("bot.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


# -- access ---------------------------------------------------------------------------------


def _tokens(settings: Settings) -> list[bytes]:
    return [t.get_secret_value().encode() for t in settings.service.api_tokens]


def _cookie_value(token: bytes, issued: int) -> str:
    """`<issued>.<HMAC of the issue time under the token>`: a browser's cookie, worth
    COOKIE_MAX_AGE seconds from `issued` (Unix seconds) whatever the browser keeps."""
    mac = hmac.new(token, f"lapor-dashboard-cookie:{issued}".encode(), hashlib.sha256)
    return f"{issued}.{mac.hexdigest()}"


def _valid_token(given: str, settings: Settings) -> bool:
    raw = given.strip().encode()
    return bool(raw) and any(hmac.compare_digest(raw, t) for t in _tokens(settings))


def _valid_cookie(given: str, settings: Settings, now: datetime) -> bool:
    """Signed by one of the tokens, issued at most COOKIE_MAX_AGE seconds ago (and not in the
    future beyond a little clock skew)."""
    issued_text, dot, _ = given.partition(".")
    if not dot or not issued_text.isdigit() or len(issued_text) > 12:
        return False
    issued = int(issued_text)
    age = now.timestamp() - issued
    if not -COOKIE_CLOCK_SKEW <= age <= COOKIE_MAX_AGE:
        return False
    return any(
        hmac.compare_digest(given.encode(), _cookie_value(t, issued).encode())
        for t in _tokens(settings)
    )


def _authorised(request: Request, settings: Settings, now: datetime) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and _valid_token(token, settings):
        return True
    return _valid_cookie(request.cookies.get(COOKIE, ""), settings, now)


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
            _cookie_value(token.strip().encode(), int(source.clock().timestamp())),
            max_age=COOKIE_MAX_AGE,
            path="/dashboard",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return redirect
    now: datetime = source.clock()
    if not _authorised(request, settings, now):
        return _page_401()
    tz = ZoneInfo(settings.service.timezone)
    try:
        since = parse_moment(request.query_params.get("since"), tz, name="since")
        until = parse_moment(request.query_params.get("until"), tz, name="until")
    except ValueError as exc:
        page = _render("error.html", message=str(exc))
        return HTMLResponse(page, status_code=422, headers=HEADERS)
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
    outbox = Store(source.db)
    dead_count = (await outbox.outbox_counts()).get("dead", 0)
    dead = await outbox.outbox_listing(["dead"], limit=DEAD_LETTERS_SHOWN) if dead_count else []
    page = render_page(
        stats,
        settings,
        weekly=weekly,
        by_kelurahan={k: n for k, n in by_kelurahan.items() if k},
        since=since.astimezone(tz).date(),
        until=(until.astimezone(tz) - timedelta(microseconds=1)).date() if until else None,
        dead_letters=(dead_count, [describe(row) for row in dead]),
    )
    return HTMLResponse(page, headers=HEADERS)


def _page_401() -> HTMLResponse:
    return HTMLResponse(
        _render("token_needed.html"),
        status_code=401,
        headers={**HEADERS, "WWW-Authenticate": "Bearer"},
    )


def _render(template: str, **context: Any) -> str:
    return _templates().get_template(template).render(**context)


# -- the page ---------------------------------------------------------------------------------


def render_page(
    stats: Mapping[str, Any],
    settings: Settings,
    *,
    weekly: Sequence[tuple[int, str, int]],
    by_kelurahan: Mapping[str, int],
    since: date | None,
    until: date | None,
    dead_letters: tuple[int, Sequence[Mapping[str, Any]]] = (0, ()),
) -> str:
    """The page; `dead_letters` is (how many replies are dead, the newest few described)."""
    reports, hours, sla = stats["reports"], stats["hours"], stats["sla"]
    satisfaction = stats["satisfaction"]
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
    top = stats["top_topics"]
    channels = stats["channels"]
    return _render(
        "dashboard.html",
        city=settings.places.city_name or "Dashboard",
        period=_period_text(since, until),
        since=_date_value(since),
        until=_date_value(until),
        tiles=tiles,
        summary=stats["summary"],
        weekly_chart=weekly_chart(weekly, since, until),
        funnel_charts=funnel_charts(channels),
        abandoned=abandoned_rows(channels),
        campaigns=campaign_rows(stats.get("campaigns", [])),
        verify_days=sla["verify_days"],
        respond_days=sla["respond_days"],
        agency_chart=agency_chart(stats.get("groups", [])),
        kelurahan_map=kelurahan_map(settings, by_kelurahan),
        dead_count=format_number(dead_letters[0], "id"),
        dead_letters=dead_letters[1],
        topics=[
            (
                "Kategori",
                [(c["name"], format_number(c["reports"], "id")) for c in top["categories"]],
            ),
            (
                "Kata dalam uraian",
                [(w["word"], format_number(w["reports"], "id")) for w in top["words"]],
            ),
        ],
    )


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


def _svg(template: str, **values: Any) -> Markup:
    """SVG markup: `template` (text written here, never data) with every value HTML-escaped
    after formatting, as `Markup.format` does; format specs such as `{x:.1f}` apply."""
    return Markup(template).format(**values)


def _joined(parts: Iterable[Markup]) -> Markup:
    return Markup("").join(parts)


def _legend(items: Iterable[tuple[str, str]], x: float, y: float) -> Markup:
    parts = []
    for name, colour in items:
        parts.append(
            _svg(
                '<rect x="{x:.0f}" y="{top:.0f}" width="10" height="10" fill="{colour}"/>'
                '<text x="{text_x:.0f}" y="{y:.0f}" font-size="12">{name}</text>',
                x=x,
                top=y - 9,
                colour=colour,
                text_x=x + 14,
                y=y,
                name=name,
            )
        )
        x += 24 + 7 * len(name)
    return _joined(parts)


# -- charts -------------------------------------------------------------------------------------


def weekly_chart(
    weekly: Sequence[tuple[int, str, int]], since: date | None, until: date | None
) -> Markup | None:
    """Stacked bars: reports per week (Monday to Sunday, local time), one colour per channel.

    None when there are no reports."""
    if not weekly:
        return None
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
    ticks = axis_ticks(max(totals.values()), integer=True)  # whole reports, from zero
    top = ticks[-1]
    width, height, left, bottom, top_pad = 900, 256, 52, 50, 28
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    step = plot_w / len(span)
    bar = max(step * 0.72, 1.0)
    parts = [
        _svg(
            '<svg class="chart weekly" viewBox="0 0 {width} {height}" role="img" '
            'aria-label="Laporan per minggu menurut kanal" width="100%">',
            width=width,
            height=height,
        )
    ]
    for tick in ticks:
        y = top_pad + plot_h - plot_h * tick / top
        parts.append(
            _svg(
                '<line class="grid" x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" '
                'stroke="#e3e8ee"/>'
                '<text class="tick" x="{text_x}" y="{text_y:.1f}" font-size="11" '
                'text-anchor="end">{value}</text>',
                left=left,
                right=width - 10,
                y=y,
                text_x=left - 6,
                text_y=y + 4,
                value=format_number(tick, "id"),
            )
        )
    parts.append(
        _svg(
            '<text class="axis-title" x="12" y="{y:.1f}" font-size="11" text-anchor="middle" '
            'transform="rotate(-90 12 {y:.1f})">laporan</text>'
            '<text class="axis-title" x="{x:.1f}" y="{bottom_y}" font-size="11" '
            'text-anchor="middle">minggu (mulai Senin)</text>',
            y=top_pad + plot_h / 2,
            x=left + plot_w / 2,
            bottom_y=height - 6,
        )
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
                _svg(
                    '<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                    'height="{h:.1f}" fill="{colour}"><title>{week}: {channel} {n}</title></rect>',
                    x=x,
                    y=y,
                    bar=bar,
                    h=h,
                    colour=colours[channel],
                    week=_week_label(week),
                    channel=channel_name(channel),
                    n=n,
                )
            )
        if i % label_every == 0:
            parts.append(
                _svg(
                    '<text x="{x:.1f}" y="{y}" font-size="11" text-anchor="middle">{week}</text>',
                    x=x + bar / 2,
                    y=height - bottom + 16,
                    week=_week_label(week),
                )
            )
    parts.append(  # the zero baseline, over the bars' feet
        _svg(
            '<line class="baseline" x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#55606d"/>',
            left=left,
            right=width - 10,
            y=top_pad + plot_h,
        )
    )
    parts.append(_legend(((channel_name(c), colours[c]) for c in channels), left, 16))
    parts.append(Markup("</svg>"))
    return _joined(parts)


def _week_of(day: date) -> int:
    """Week number as storage.analytics.weekly counts them (Monday-based, from 1970)."""
    return (day.toordinal() - date(1970, 1, 1).toordinal() + 3) // 7


def _week_label(week: int) -> str:
    monday = date.fromordinal(date(1970, 1, 1).toordinal() + 7 * week - 3)
    return monday.strftime("%d/%m")


def axis_ticks(value: float, *, integer: bool = False, most: int = 5) -> list[float]:
    """An axis from zero: 0 and evenly spaced round values (steps of 1, 2, 2.5 or 5 times a
    power of ten; whole numbers when `integer`) up to the first at or above `value`, at most
    `most` steps."""
    value = max(value, 1.0 if integer else 1e-9)
    power = 10.0 ** math.floor(math.log10(value / most))
    step = 10 * power
    for m in (1, 2, 2.5, 5, 10):
        candidate = m * power
        if integer and (candidate < 1 or candidate != int(candidate)):
            continue
        if candidate * most >= value:
            step = candidate
            break
    steps = max(1, math.ceil(value / step - 1e-9))
    return [i * step for i in range(steps + 1)]


def funnel_charts(channels: Sequence[Mapping[str, Any]]) -> list[Markup]:
    """One small chart per channel: conversations reaching each stage, then filed."""
    charts = []
    for i, channel in enumerate(c for c in channels if c["conversations"]):
        started = channel["conversations"]
        rows = [("dimulai", started)]
        rows += [(STAGE_NAMES.get(f["stage"], f["stage"]), f["reached"]) for f in channel["funnel"]]
        rows.append(("laporan masuk", channel["filed"]))
        colour = channel_colour(channel["channel"], i)
        width, row_h, label_w = 330, 20, 110
        height = 30 + row_h * len(rows)
        parts = [
            _svg(
                '<svg class="chart funnel" viewBox="0 0 {width} {height}" width="{width}" '
                'height="{height}" role="img" aria-label="Corong {name}">'
                '<text x="0" y="16" font-size="14" font-weight="600">{name}'
                " · selesai {completion}</text>",
                width=width,
                height=height,
                name=channel["name"],
                completion=format_percent(channel["completion_rate"], "id"),
            )
        ]
        for j, (name, n) in enumerate(rows):
            y = 26 + j * row_h
            w = (width - label_w - 70) * (n / started if started else 0)
            parts.append(
                _svg(
                    '<text x="{label_x}" y="{text_y}" font-size="12" text-anchor="end">'
                    "{name}</text>"
                    '<rect class="bar" x="{label_w}" y="{bar_y}" width="{w:.1f}" '
                    'height="{bar_h}" fill="{colour}" opacity="{opacity:.2f}">'
                    "<title>{name}: {n}</title></rect>"
                    '<text x="{n_x:.1f}" y="{text_y}" font-size="11">{count}</text>',
                    label_x=label_w - 6,
                    text_y=y + 13,
                    name=name,
                    label_w=label_w,
                    bar_y=y + 2,
                    w=max(w, 0.5),
                    bar_h=row_h - 5,
                    colour=colour,
                    opacity=1 - 0.05 * j,
                    n=n,
                    n_x=label_w + w + 6,
                    count=format_number(n, "id"),
                )
            )
        parts.append(Markup("</svg>"))
        charts.append(_joined(parts))
    return charts


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


def abandoned_rows(channels: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Where conversations stopped, the four most common steps per channel, for the table."""
    return [
        {
            "channel": channel["name"],
            "stage": STAGE_NAMES.get(a["stage"], a["stage"]),
            "step": a["step"],
            "reason": REASON_NAMES.get(a["reason"], a["reason"]),
            "conversations": format_number(a["conversations"], "id"),
        }
        for channel in channels
        for a in channel["abandoned"]["by_step"][:4]
    ]


def campaign_rows(campaigns: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The by-campaign table: conversations started, filed, completion, reports."""
    return [
        {
            "id": c["id"],
            "name": c["name"],
            "state": "berjalan" if c["running"] else "tidak berjalan",
            "conversations": format_number(c["conversations"], "id"),
            "filed": format_number(c["filed"], "id"),
            "completion": format_percent(c["completion_rate"], "id"),
            "reports": format_number(c["reports"], "id"),
        }
        for c in campaigns
    ]


def agency_chart(groups: Sequence[Mapping[str, Any]]) -> Markup | None:
    """Horizontal bars: median hours to the first officer response, a line to the 90th
    percentile; the agencies with reports, slowest first. None when no agency has reports."""
    rows = [g for g in groups if g["reports"]["total"]]
    if not rows:
        return None
    rows.sort(key=lambda g: -(g["hours"]["first_response"]["median"] or -1))
    longest = max(
        max(g["hours"]["first_response"]["p90"] or 0, g["hours"]["first_response"]["median"] or 0)
        for g in rows
    )
    # One unit for the whole axis: hours, or days once the longest is over three days.
    per_unit, unit = (24.0, "hari") if longest > 72 else (1.0, "jam")
    ticks = axis_ticks(longest / per_unit)
    top = ticks[-1] * per_unit  # hours at the right end of the axis
    decimals = 0 if all(t == int(t) for t in ticks) else 1
    width, row_h, label_w, right = 900, 24, 300, 200
    height = 34 + row_h * len(rows)
    plot_w = width - label_w - right
    parts = [
        _svg(
            '<svg class="chart agencies" viewBox="0 0 {width} {height}" width="100%" role="img" '
            'aria-label="Waktu tanggapan per dinas">',
            width=width,
            height=height,
        )
    ]
    for tick in ticks:
        x = label_w + plot_w * tick * per_unit / top
        parts.append(
            _svg(
                '<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="18" y2="{bottom}" '
                'stroke="{stroke}"/>'
                '<text class="tick" x="{x:.1f}" y="12" font-size="11" text-anchor="middle">'
                "{label}</text>",
                x=x,
                bottom=height - 4,
                stroke="#55606d" if tick == 0 else "#e3e8ee",  # the zero baseline
                label=format_number(tick, "id", decimals),
            )
        )
    parts.append(
        _svg(
            '<text class="axis-title" x="{x:.1f}" y="12" font-size="11">{unit}</text>',
            x=label_w + plot_w + 14,
            unit=unit,
        )
    )
    for j, g in enumerate(rows):
        y = 22 + j * row_h
        median = g["hours"]["first_response"]["median"]
        p90 = g["hours"]["first_response"]["p90"]
        name = g["name"] if len(g["name"]) <= 42 else g["name"][:41] + "…"
        parts.append(
            _svg(
                '<text x="{x}" y="{y}" font-size="12" text-anchor="end">'
                "<title>{full_name}</title>{name}</text>",
                x=label_w - 8,
                y=y + 15,
                full_name=g["name"],
                name=name,
            )
        )
        if median is not None:
            parts.append(
                _svg(
                    '<rect class="bar" x="{x}" y="{y}" width="{w:.1f}" height="{h}" '
                    'fill="#3182bd"><title>median {median}</title></rect>',
                    x=label_w,
                    y=y + 4,
                    w=max(plot_w * median / top, 0.5),
                    h=row_h - 9,
                    median=format_hours(median, "id"),
                )
            )
        if p90 is not None:
            parts.append(
                _svg(
                    '<line x1="{left}" x2="{x:.1f}" y1="{mid}" y2="{mid}" stroke="#08306b" '
                    'stroke-width="1.5"/><line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" '
                    'y2="{bottom}" stroke="#08306b" stroke-width="1.5"/>',
                    left=label_w,
                    x=label_w + plot_w * p90 / top,
                    mid=y + 11,
                    top=y + 5,
                    bottom=y + 17,
                )
            )
        parts.append(
            _svg(
                '<text x="{x}" y="{y}" font-size="11">{reports} laporan · {breaches} lewat batas'
                "</text>",
                x=width - right + 8,
                y=y + 15,
                reports=format_number(g["reports"]["total"], "id"),
                breaches=format_number(g["sla"]["breaches"], "id"),
            )
        )
    parts.append(Markup("</svg>"))
    return _joined(parts)


# -- map ----------------------------------------------------------------------------------------


def kelurahan_map(settings: Settings, counts: Mapping[str, int]) -> Markup | None:
    """Kelurahan shaded by their number of reports; None when no areas are configured."""
    city = city_map(settings)
    if not city.shapes:
        return None
    bins = _quantile_bins([counts.get(shape.code, 0) for shape in city.shapes])
    top = max(counts.values(), default=0)
    parts = [
        _svg(
            '<svg class="chart map" viewBox="0 0 {view_w:.0f} {height:.0f}" width="{width:.0f}" '
            'role="img" aria-label="Peta laporan per kelurahan">',
            view_w=city.width + LEGEND_W,
            height=city.height,
            width=min(city.width + LEGEND_W, 760),
        )
    ]
    for shape in city.shapes:
        n = counts.get(shape.code, 0)
        level = _level(n, bins)
        title = _svg("<title>{name}: {n} laporan</title>", name=shape.name, n=n)
        if shape.path:
            parts.append(
                _svg(
                    '<path class="area" d="{d}" fill="{fill}" stroke="#ffffff" '
                    'stroke-width="1.2">{title}</path>',
                    d=shape.path,
                    fill=MAP_SCALE[level],
                    title=title,
                )
            )
        else:
            parts.append(
                _svg(
                    '<circle class="area" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fill}" '
                    'stroke="#3182bd">{title}</circle>',
                    x=shape.x,
                    y=shape.y,
                    r=6 + 14 * math.sqrt(n / top) if top else 6,
                    fill=MAP_SCALE[level],
                    title=title,
                )
            )
    for shape in city.shapes:
        n = counts.get(shape.code, 0)
        parts.append(
            _svg(
                '<text x="{x:.1f}" y="{y:.1f}" font-size="10" text-anchor="middle" '
                'fill="{fill}">{n}</text>',
                x=shape.x,
                y=shape.y + 3,
                fill="#ffffff" if _level(n, bins) >= 4 else "#1d2733",
                n=format_number(n, "id"),
            )
        )
    labels = ["0", *(f"≥ {format_number(b, 'id')}" for b in bins)]
    parts.append(
        _svg(
            '<text x="{x:.0f}" y="24" font-size="12" font-weight="600">Laporan</text>',
            x=city.width + 20,
        )
    )
    for i, label in enumerate(labels):
        y = 36 + i * 20
        parts.append(
            _svg(
                '<rect x="{x:.0f}" y="{y}" width="16" height="12" fill="{fill}" stroke="#c8d1db"/>'
                '<text x="{text_x:.0f}" y="{text_y}" font-size="11">{label}</text>',
                x=city.width + 20,
                y=y,
                fill=MAP_SCALE[i],
                text_x=city.width + 42,
                text_y=y + 10,
                label=label,
            )
        )
    parts.append(Markup("</svg>"))
    return _joined(parts)


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
