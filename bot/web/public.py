"""The public follow-up page: GET /public (HTML, `?lang=id|en`) and GET /public.json, no login.

Per agency and month: reports received, followed up, median first response, resolved and the
reporters' satisfaction (`bot.analytics.public`), and an inline SVG map of the resolved reports
that are not confidential, drawn on the configured kelurahan boundaries (`bot.web.citymap`):
nothing is loaded from elsewhere, so the page works offline and behind any firewall. The figures
are computed at most once per `public.cache_seconds`, for both routes and languages, and
recomputed in the background once older: only the first visitor after a start waits.

Nothing identifies anyone: no ticket, description, photo, name or number is on the page, and
the dots are rounded to about 100 m. Texts: `intake/public_texts.py` (overridable per key).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse
from markupsafe import Markup

from bot.analytics.public import public_figures
from bot.analytics.stats import stats_reader
from bot.core.ports import Clock
from bot.settings import Settings
from bot.web.citymap import CityMap, city_map
from bot.web.dashboard import _joined, _svg, _templates
from intake.summary import MONTHS, format_day, format_hours, format_number
from intake.texts import Texts
from storage import Database

HEADERS = {
    # Nothing runs and nothing loads from elsewhere: inline styles and the page itself only.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
log = logging.getLogger(__name__)
DOT_COLOUR = "#1f9d55"
DOT_RADIUS = 4.0
SPREAD = 2.6  # how far apart dots at the same place are drawn (a golden-angle spiral)
GOLDEN_ANGLE = math.pi * (3 - math.sqrt(5))


class PublicPage:
    """The two routes, on the statistics database, with the figures kept briefly."""

    def __init__(self, settings: Settings, db: Database, clock: Clock) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.texts = Texts(settings.texts)
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()
        self._refresh: asyncio.Task[dict[str, Any]] | None = None

    def router(self) -> APIRouter:
        router = APIRouter()
        if self.settings.public.enabled:
            router.add_api_route("/public", self.page, methods=["GET"], response_class=HTMLResponse)
            router.add_api_route("/public.json", self.json, methods=["GET"])
        return router

    async def figures(self) -> dict[str, Any]:
        """The figures, at most `public.cache_seconds` old, or the last ones while newer are
        computed in the background (so only the very first visitor waits for them);
        `cache_seconds = 0` computes them for every request."""
        keep = self.settings.public.cache_seconds
        cached = self._cached
        if cached is not None and keep > 0:
            if time.monotonic() - cached[0] >= keep and (
                self._refresh is None or self._refresh.done()
            ):
                self._refresh = asyncio.create_task(self._compute())
                self._refresh.add_done_callback(_log_failure)
            return cached[1]
        async with self._lock:  # the first visitors wait for one computation together
            if self._cached is not None and keep > 0:
                return self._cached[1]
            return await self._compute()

    async def _compute(self) -> dict[str, Any]:
        figures = await public_figures(stats_reader(self.db), self.settings, now=self.clock())
        self._cached = (time.monotonic(), figures)
        return figures

    def _cache_control(self) -> str:
        return f"public, max-age={min(self.settings.public.cache_seconds, 300)}"

    async def json(self) -> JSONResponse:
        """The figures of the page as JSON (the same numbers, names from the configuration)."""
        figures = await self.figures()
        return JSONResponse(figures, headers={**HEADERS, "Cache-Control": self._cache_control()})

    async def page(self, lang: Literal["id", "en"] | None = None) -> HTMLResponse:
        language = lang or self.settings.service.default_language
        figures = await self.figures()
        html = render_public(figures, self.settings, self.texts, language)
        return HTMLResponse(html, headers={**HEADERS, "Cache-Control": self._cache_control()})


def _log_failure(task: asyncio.Task[dict[str, Any]]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("public page: the figures could not be recomputed: %s", task.exception())


# -- the page -----------------------------------------------------------------------------------


def render_public(figures: Mapping[str, Any], settings: Settings, texts: Texts, lang: str) -> str:
    def t(key: str, **values: object) -> str:
        return texts.public(key, lang, **values)

    period = figures["period"]
    first = date.fromisoformat(period["since"])
    last = date.fromordinal(date.fromisoformat(period["until"]).toordinal() - 1)
    city = settings.places.city_name
    generated = datetime.fromisoformat(period["generated_at"])
    return (
        _templates()
        .get_template("public.html")
        .render(
            lang=lang,
            other_lang="en" if lang == "id" else "id",
            t=t,
            title=t("title", city=city).strip().rstrip(","),
            period=t("period", first=format_day(first, lang), last=format_day(last, lang)),
            updated=t("updated", time=f"{format_day(generated.date(), lang)} {generated:%H:%M}"),
            overall=_table_rows(figures["agencies"], lang),
            months=[
                {"name": _month_name(m["month"], lang), **_table_rows(m, lang)}
                for m in figures["months"]
            ],
            resolved_map=resolved_map(city_map(settings), figures["resolved_places"], t, lang),
            map_legend=t("map_legend", count=format_number(len(figures["resolved_places"]), lang)),
        )
    )


def _table_rows(block: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """{"total": cells of all agencies, "rows": [(agency name, cells)]}; cells are display
    strings in the order of the table's columns."""
    return {
        "total": _cells(block["total"], lang),
        "rows": [(row["name"], _cells(row, lang)) for row in block["agencies"]],
    }


def _cells(f: Mapping[str, Any], lang: str) -> list[str]:
    def share(part: int) -> str:
        if not f["received"]:
            return format_number(part, lang)
        percent = format_number(100 * part / f["received"], lang, 0)
        return f"{format_number(part, lang)} ({percent}%)"

    return [
        format_number(f["received"], lang),
        share(f["followed_up"]),
        format_hours(f["median_first_response_hours"], lang),
        share(f["resolved"]),
        (
            f"{format_number(f['satisfaction'], lang, 1)} ({f['ratings']})"
            if f["satisfaction"] is not None
            else "-"
        ),
    ]


def _month_name(key: str, lang: str) -> str:
    year, month = key.split("-")
    return f"{MONTHS['en' if lang == 'en' else 'id'][int(month) - 1]} {year}"


def resolved_map(
    city: CityMap, places: Sequence[Mapping[str, Any]], t: Any, lang: str
) -> Markup | None:
    """The kelurahan in grey and one green dot per resolved report; None without areas.

    A report without a GPS point is drawn at its kelurahan's label point; reports at the same
    place are spread on a small spiral so that each stays visible."""
    if not city.shapes:
        return None
    parts = [
        _svg(
            '<svg class="chart public-map" viewBox="0 0 {w:.0f} {h:.0f}" width="{width:.0f}" '
            'role="img" aria-label="{label}">',
            w=city.width,
            h=city.height,
            width=min(city.width, 720),
            label=t("map"),
        )
    ]
    for shape in city.shapes:
        title = _svg("<title>{name}</title>", name=shape.name)
        if shape.path:
            parts.append(
                _svg(
                    '<path class="area" d="{d}" fill="#eef1f4" stroke="#9aa5b1" '
                    'stroke-width="1">{title}</path>',
                    d=shape.path,
                    title=title,
                )
            )
        else:
            parts.append(
                _svg(
                    '<circle class="area" cx="{x:.1f}" cy="{y:.1f}" r="10" fill="#eef1f4" '
                    'stroke="#9aa5b1">{title}</circle>',
                    x=shape.x,
                    y=shape.y,
                    title=title,
                )
            )
    seen: dict[tuple[int, int], int] = {}
    for place in places:
        point = _point(city, place)
        if point is None:
            continue
        spot = (round(point[0]), round(point[1]))
        k = seen.get(spot, 0)
        seen[spot] = k + 1
        x = point[0] + SPREAD * math.sqrt(k) * math.cos(k * GOLDEN_ANGLE)
        y = point[1] + SPREAD * math.sqrt(k) * math.sin(k * GOLDEN_ANGLE)
        parts.append(
            _svg(
                '<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{fill}" '
                'fill-opacity="0.8" stroke="#ffffff" stroke-width="0.8"><title>{title}</title>'
                "</circle>",
                x=x,
                y=y,
                r=DOT_RADIUS,
                fill=DOT_COLOUR,
                title=t(
                    "dot",
                    category=place["category_name"]["en" if lang == "en" else "id"],
                    month=_month_name(place["month"], lang),
                ),
            )
        )
    parts.append(Markup("</svg>"))
    return _joined(parts)


def _point(city: CityMap, place: Mapping[str, Any]) -> tuple[float, float] | None:
    if place["lat"] is not None and place["lon"] is not None:
        return city.project(place["lon"], place["lat"])
    shape = city.shape(place["kelurahan"])
    return (shape.x, shape.y) if shape is not None else None
