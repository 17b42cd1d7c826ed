"""The public follow-up page (/public, /public.json): no login, the figures of a seeded city,
nothing of a confidential report, nobody's identity, and a real browser drawing it.

The figures are checked against the seeded rows themselves (tests/analytics_data.py), counted
here independently of the service's queries.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import tempfile
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import analytics_data
import httpx
import pytest
from app_server import ROOT, make_service, serve
from browser import CHROMIUM, headless_flags, run_chromium
from helpers import eventually_async
from PIL import Image
from test_dashboard import chromium  # noqa: F401  (fixture: Debian's Chromium)

from bot.compose import Service, create_app
from bot.web.citymap import city_map

END = datetime(2026, 3, 30, 5, 0, tzinfo=UTC)  # Monday 12:00 WIB
WIB = timedelta(hours=7)
REPORTS = 400
SECRET_TEXT = "RAHASIA-jangan-tampil lampu mati depan rumah pak lurah"
SECRET_POINT = (-7.6111, 111.5111)  # (lat, lon): nowhere else in the seeded data
OPEN_POINT = (-7.64987, 111.53012)  # a resolved, ordinary report's GPS point


@dataclass
class Seeded:
    base_url: str
    data: analytics_data.Generated
    service: Service
    secret_ticket: str


def _seed() -> tuple[analytics_data.Generated, str]:
    """The generated city, with one resolved confidential report at SECRET_POINT (and a
    description nobody may read) and one resolved ordinary report at OPEN_POINT."""
    data = analytics_data.generate(REPORTS, end=END, days=80, seed=5)
    rows = data.rows["reports"]
    resolved = [i for i, r in enumerate(rows) if r[2] == "resolved"]
    secret, ordinary = resolved[0], resolved[1]
    r = list(rows[secret])
    r[5], r[6], r[7], r[13] = SECRET_TEXT, *SECRET_POINT, True
    rows[secret] = tuple(r)
    o = list(rows[ordinary])
    o[6], o[7], o[13] = *OPEN_POINT, False
    rows[ordinary] = tuple(o)
    return data, str(rows[secret][1])


@pytest.fixture
async def seeded(database_url: str, tmp_path: Path) -> AsyncIterator[Seeded]:
    data, secret_ticket = _seed()
    analytics_data.write(database_url, data)
    service: Service = make_service(database_url, tmp_path)
    service.clock = lambda: END
    async with serve(create_app(service, workers=False)) as base_url:
        yield Seeded(base_url, data, service, secret_ticket)


def _month(at: datetime) -> str:
    local = at.astimezone(UTC) + WIB
    return f"{local.year:04d}-{local.month:02d}"


def expected_figures(
    data: analytics_data.Generated,
) -> dict[tuple[str, str | None], dict[str, Any]]:
    """(month or "all", agency or None for all agencies) -> the figures, from the rows."""
    first_officer: dict[int, datetime] = {}
    for _, rid, _, actor, _, at in sorted(data.rows["status_events"], key=lambda e: e[5]):
        if actor not in ("citizen", "system"):
            first_officer.setdefault(rid, at)
    ratings = {row[0]: row[1] for row in data.rows["report_desk"]}
    groups: dict[tuple[str, str | None], list[tuple[Any, ...]]] = defaultdict(list)
    for r in data.rows["reports"]:
        for month in ("all", _month(r[17])):
            groups[(month, r[4])].append(r)
            groups[(month, None)].append(r)
    out = {}
    for key, reports in groups.items():
        # whole seconds, as the service keeps them
        waits = [
            float(int(first_officer[r[0]].timestamp()) - int(r[17].timestamp()))
            for r in reports
            if r[0] in first_officer
        ]
        rated = [ratings[r[0]] for r in reports if r[0] in ratings]
        out[key] = {
            "received": len(reports),
            "followed_up": sum(1 for r in reports if r[0] in first_officer),
            "median_first_response_hours": (
                round(statistics.median(waits) / 3600, 2) if waits else None
            ),
            "resolved": sum(1 for r in reports if r[2] == "resolved"),
            "satisfaction": round(sum(rated) / len(rated), 2) if rated else None,
            "ratings": len(rated),
        }
    return out


def _strip(block: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in block.items() if k not in ("agency", "name")}


async def test_the_public_page_shows_each_agencys_figures_per_month(seeded: Seeded) -> None:
    async with httpx.AsyncClient(base_url=seeded.base_url, timeout=30) as anyone:
        body = (await anyone.get("/public.json")).json()
        page = await anyone.get("/public")
    assert page.status_code == 200  # no token, no cookie: it is public
    expected = expected_figures(seeded.data)
    # The whole period (the last 12 months) per agency, every configured agency listed.
    assert body["period"]["since"] == "2025-04-01" and body["period"]["until"] == "2026-04-01"
    overall = {row["agency"]: _strip(row) for row in body["agencies"]["agencies"]}
    agencies = {a.id for a in seeded.service.settings.agencies}
    assert set(overall) == agencies
    for agency in agencies:
        want = expected.get(("all", agency))
        if want is None:  # an agency without reports is shown at zero
            assert overall[agency]["received"] == 0 and overall[agency]["satisfaction"] is None
        else:
            assert overall[agency] == want, agency
    assert body["agencies"]["total"] == expected[("all", None)]
    # Each month, newest first: only the agencies with reports in it.
    months = [m["month"] for m in body["months"]]
    assert months[0] == "2026-03" and months[-1] == "2025-04" and len(months) == 12
    seeded_months = {m for m, a in expected if m != "all" and a is None}
    assert seeded_months == {"2026-01", "2026-02", "2026-03"}
    for month in body["months"]:
        key = month["month"]
        got = {row["agency"]: _strip(row) for row in month["agencies"]}
        want = {a: f for (m, a), f in expected.items() if m == key and a is not None}
        assert got == want, key
        if key in seeded_months:
            assert month["total"] == expected[(key, None)]
        else:
            assert month["total"]["received"] == 0

    # The HTML says the same: the row of the busiest agency in March 2026, in Indonesian.
    march = expected[("2026-03", "dpupr")]
    html = page.text
    section = html[html.index("<summary>Maret 2026</summary>") :]
    section = section[: section.index("</details>")]
    name = "Dinas Pekerjaan Umum dan Tata Ruang"
    row = re.search(rf"<tr class=\"agency\"><td>{name}</td>(.*?)</tr>", section)
    assert row is not None
    cells = re.findall(r'<td class="n">(.*?)</td>', row.group(1))
    received = march["received"]
    followed_percent = round(100 * march["followed_up"] / received)
    assert cells[0] == str(received)
    assert cells[1] == f"{march['followed_up']} ({followed_percent}%)"
    assert cells[2].endswith(" jam") or cells[2].endswith(" hari")
    assert cells[4] == f"{march['satisfaction']:.1f} ({march['ratings']})".replace(".", ",")
    assert "Tindak lanjut pengaduan warga Kota Madiun" in html
    assert "1 April 2025 s.d. 31 Maret 2026" in html


async def test_a_confidential_report_never_appears(seeded: Seeded) -> None:
    async with httpx.AsyncClient(base_url=seeded.base_url, timeout=30) as anyone:
        page = (await anyone.get("/public")).text
        english = (await anyone.get("/public", params={"lang": "en"})).text
        raw = (await anyone.get("/public.json")).text
    rows = seeded.data.rows["reports"]
    secret = next(r for r in rows if r[1] == seeded.secret_ticket)
    assert secret[13] is True and secret[2] == "resolved"
    city = city_map(seeded.service.settings)
    hidden_x, hidden_y = city.project(SECRET_POINT[1], SECRET_POINT[0])
    shown_x, shown_y = city.project(111.53, -7.65)  # rounded to 3 decimals
    for text in (page, english, raw):
        assert "RAHASIA-jangan-tampil" not in text and "pak lurah" not in text
        assert seeded.secret_ticket not in text and "MDN-" not in text  # no ticket at all
    # One dot per resolved report that is not confidential; none at the secret's place.
    dots = re.findall(r'<circle class="dot" cx="([\d.]+)" cy="([\d.]+)"', page)
    visible = [r for r in rows if r[2] == "resolved" and not r[13]]
    assert len(dots) == len(visible) and len(visible) < sum(1 for r in rows if r[2] == "resolved")
    assert f'cx="{shown_x:.1f}" cy="{shown_y:.1f}"' in page
    assert all(abs(float(x) - hidden_x) > 3 or abs(float(y) - hidden_y) > 3 for x, y in dots)
    places = [(p["lat"], p["lon"]) for p in json.loads(raw)["resolved_places"]]
    assert (round(SECRET_POINT[0], 3), round(SECRET_POINT[1], 3)) not in places
    # The ordinary report's point is public only rounded to about 100 m.
    assert (-7.65, 111.53) in places and OPEN_POINT not in places
    # ... while the confidential report is still counted (its content is what stays private).
    body = json.loads(raw)
    assert body["agencies"]["total"]["received"] == len(rows)
    # No description of any report is on the page.
    for r in rows[:50]:
        assert r[5] not in page


async def test_the_page_speaks_english_and_can_be_switched_off(
    seeded: Seeded, sqlite_url: str, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=seeded.base_url, timeout=30) as anyone:
        english = await anyone.get("/public", params={"lang": "en"})
        wrong = await anyone.get("/public", params={"lang": "jv"})
    assert english.status_code == 200 and '<html lang="en">' in english.text
    assert "Follow-up of citizens&#39; complaints, Kota Madiun" in english.text
    assert "<summary>March 2026</summary>" in english.text
    assert "1 April 2025 to 31 March 2026" in english.text
    assert "resolved, filed March 2026</title>" in english.text
    assert english.headers["content-security-policy"].startswith("default-src 'none'")
    assert wrong.status_code == 422 and "lang" in wrong.text

    off: Service = make_service(sqlite_url, tmp_path / "off", LAPOR_PUBLIC__ENABLED="false")
    async with (
        serve(create_app(off, workers=False)) as base_url,
        httpx.AsyncClient(base_url=base_url) as anyone,
    ):
        assert (await anyone.get("/public")).status_code == 404
        assert (await anyone.get("/public.json")).status_code == 404


async def test_chromium_draws_the_public_page(
    chromium: Path,  # noqa: F811
    seeded: Seeded,
) -> None:
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shot = artifacts / "public.png"
    shot.unlink(missing_ok=True)
    url = f"{seeded.base_url}/public?lang=en"
    with tempfile.TemporaryDirectory() as profile:
        flags = headless_flags(profile, "--hide-scrollbars", "--window-size=1200,2600")
        dom = await run_chromium(chromium, *flags, "--dump-dom", url)
        await run_chromium(chromium, *flags, f"--screenshot={shot}", url)
    rows = seeded.data.rows["reports"]
    visible = sum(1 for r in rows if r[2] == "resolved" and not r[13])
    assert "Follow-up of citizens' complaints, Kota Madiun" in dom.replace("&#39;", "'")
    assert dom.count('<circle class="dot"') == visible
    assert dom.count('<path class="area"') == 27
    assert "RAHASIA" not in dom
    with Image.open(shot) as image:
        assert image.size == (1200, 2600)
        pixels = image.convert("RGB").getcolors(1200 * 2600) or []
    # The map's green dots are on the screen (blended with the grey kelurahan under them).
    green = sum(n for n, (r, g, b) in pixels if g > r + 50 and g > b + 20)
    assert green > 500, f"no dots drawn in {shot}"
    assert CHROMIUM.exists()


async def test_the_figures_are_kept_for_cache_seconds(sqlite_url: str, tmp_path: Path) -> None:
    async def received(service: Service, url: str) -> tuple[int, int]:
        async with (
            serve(create_app(service, workers=False)) as base_url,
            httpx.AsyncClient(base_url=base_url) as anyone,
        ):
            before = (await anyone.get("/public.json")).json()["agencies"]["total"]["received"]
            analytics_data.write(url, analytics_data.generate(20, end=END, days=20, seed=2))
            after = (await anyone.get("/public.json")).json()["agencies"]["total"]["received"]
        return before, after

    cached = make_service(sqlite_url, tmp_path)
    cached.clock = lambda: END
    assert await received(cached, sqlite_url) == (0, 0)  # the figures of a minute ago
    other = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    fresh = make_service(other, tmp_path / "fresh", LAPOR_PUBLIC__CACHE_SECONDS="0")
    fresh.clock = lambda: END
    assert await received(fresh, other) == (0, 20)


async def test_stale_figures_are_served_while_newer_ones_are_computed(
    sqlite_url: str, tmp_path: Path
) -> None:
    service = make_service(sqlite_url, tmp_path, LAPOR_PUBLIC__CACHE_SECONDS="1")
    service.clock = lambda: END
    async with (
        serve(create_app(service, workers=False)) as base_url,
        httpx.AsyncClient(base_url=base_url) as anyone,
    ):

        async def received() -> int:
            body = (await anyone.get("/public.json")).json()
            return int(body["agencies"]["total"]["received"])

        assert await received() == 0
        analytics_data.write(sqlite_url, analytics_data.generate(20, end=END, days=20, seed=2))
        assert await received() == 0  # within the second: the figures kept
        await asyncio.sleep(1.1)
        # Older than that: answered at once with the kept figures, the new ones follow.
        assert await eventually_async(lambda: _is(received(), 20), within=10)


async def _is(value: Any, expected: int) -> bool:
    return bool(await value == expected)


HOSTILE = '<script>alert("x")</script>'


async def test_names_and_texts_from_the_configuration(sqlite_url: str, tmp_path: Path) -> None:
    service: Service = make_service(
        sqlite_url,
        tmp_path,
        LAPOR_AGENCIES__0__NAME=HOSTILE,  # dpupr, the agency of "jalan"
        LAPOR_CATEGORIES__0__NAME=HOSTILE,  # "jalan", drawn in the dots' titles
        LAPOR_AREAS__0__KELURAHAN=HOSTILE,
        LAPOR_TEXTS__ID__PUBLIC_TITLE="Laporan warga {city} dan tindak lanjutnya",
    )
    analytics_data.write(sqlite_url, analytics_data.generate(120, end=END, days=30, seed=3))
    service.clock = lambda: END
    async with (
        serve(create_app(service, workers=False)) as base_url,
        httpx.AsyncClient(base_url=base_url) as anyone,
    ):
        page = (await anyone.get("/public")).text
    assert "<script" not in page
    assert "&lt;script&gt;" in page  # the agency's row and the dots' titles, escaped
    assert "<h1>Laporan warga Kota Madiun dan tindak lanjutnya</h1>" in page
