"""The read-only dashboard: who may open it, what it shows, and that a real browser draws it.

The browser test runs Debian's Chromium headless against the real app on a loopback port and
keeps its screenshot in test-artifacts/ (git-ignored). Without /usr/bin/chromium it skips, or
fails when LAPOR_TEST_REQUIRE_SERVICES=1 (.ci/run installs the package).
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import analytics_data
import httpx
import pytest
from app_server import API_TOKEN, ROOT, make_service, serve
from browser import CHROMIUM, headless_flags, run_chromium
from conftest import service_unavailable
from PIL import Image

from bot.compose import Service, create_app
from bot.web.dashboard import COOKIE

ARTIFACTS = ROOT / "test-artifacts"
END = datetime(2026, 3, 30, 5, 0, tzinfo=UTC)  # Monday 12:00 WIB
REPORTS = 600


@pytest.fixture
async def dashboard(
    database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[str, analytics_data.Generated]]:
    data = analytics_data.generate(REPORTS, end=END, days=80, seed=11)
    analytics_data.write(database_url, data)
    service: Service = make_service(database_url, tmp_path)
    service.clock = lambda: END
    async with serve(create_app(service, workers=False)) as base_url:
        yield base_url, data


def client(base_url: str, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30)


async def test_the_dashboard_needs_a_token(
    dashboard: tuple[str, analytics_data.Generated],
) -> None:
    base_url, _ = dashboard
    async with client(base_url) as anonymous:
        refused = await anonymous.get("/dashboard")
        assert refused.status_code == 401 and "token" in refused.text
        wrong = await anonymous.get("/dashboard", params={"token": "nope"})
        assert wrong.status_code == 401 and COOKIE not in wrong.headers.get("set-cookie", "")

        # A browser opens the link with ?token=: it is swapped for a cookie at once.
        opened = await anonymous.get(
            "/dashboard", params={"token": API_TOKEN, "since": "2026-03-02"}
        )
        assert opened.status_code == 303
        assert opened.headers["location"] == "/dashboard?since=2026-03-02"
        cookie = opened.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie
        assert API_TOKEN not in cookie
    async with client(base_url) as browser:
        browser.cookies = opened.cookies
        page = await browser.get(opened.headers["location"])
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert "script-src" not in page.headers["content-security-policy"]
        assert "default-src 'none'" in page.headers["content-security-policy"]
        # the cookie opens the dashboard only, not the API
        assert (await browser.get("/api/stats")).status_code == 401
    async with client(base_url, Authorization=f"Bearer {API_TOKEN}") as script:
        assert (await script.get("/dashboard")).status_code == 200
        bad = await script.get("/dashboard", params={"since": "kemarin"})
        assert bad.status_code == 422 and "since" in bad.text


async def test_the_dashboard_shows_the_figures(
    dashboard: tuple[str, analytics_data.Generated],
) -> None:
    base_url, data = dashboard
    async with client(base_url, Authorization=f"Bearer {API_TOKEN}") as script:
        page = (await script.get("/dashboard")).text
        stats = (await script.get("/api/stats", params={"since": "2026-01-12"})).json()
    # The default period: this week and the 11 before, from Monday 12 January 2026 (WIB).
    assert "Sejak 12-01-2026" in page
    reports = data.rows["reports"]
    start = datetime(2026, 1, 11, 17, 0, tzinfo=UTC)
    assert min(r[17] for r in reports) < start  # the generated year starts before that
    shown = [r for r in reports if r[17] >= start]
    total = f"{len(shown):,}".replace(",", ".")
    assert f'<div class="value">{total}</div><div class="label">Total laporan</div>' in page
    assert stats["reports"]["total"] == len(shown)
    assert stats["summary"]["id"] in page.replace("&amp;", "&")
    in_window = {r[0] for r in shown}
    ratings = [row[1] for row in data.rows["report_desk"] if row[0] in in_window]
    assert stats["satisfaction"] == {
        "average": round(sum(ratings) / len(ratings), 2),
        "ratings": len(ratings),
    }
    average = f"{sum(ratings) / len(ratings):.1f}".replace(".", ",")
    assert f'<div class="value">{average} / 5</div>' in page

    # Reports per week by channel: one bar per week and channel, adding up to every report.
    weekly = re.search(r'<svg class="chart weekly".*?</svg>', page, re.S)
    assert weekly is not None
    bars = re.findall(r"<title>\d\d/\d\d: (\w+) (\d+)</title>", weekly.group(0))
    by_channel: Counter[str] = Counter()
    for name, n in bars:
        by_channel[name] += int(n)
    channel_names = {"whatsapp": "WhatsApp", "telegram": "Telegram", "sms": "SMS"}
    expected = Counter(channel_names.get(r[14], "Console") for r in shown)
    assert by_channel == expected

    # The funnel of each channel, and agency response times for each agency with reports.
    assert len(re.findall(r'<svg class="chart funnel"', page)) == 4
    agencies = {r[4] for r in shown}
    agency_chart = re.search(r'<svg class="chart agencies".*?</svg>', page, re.S)
    assert agency_chart is not None
    assert agency_chart.group(0).count('text-anchor="end"><title>') == len(agencies)

    # The map: every kelurahan of the boundaries file, with its number of reports.
    kelurahan_map = re.search(r'<svg class="chart map".*?</svg>', page, re.S)
    assert kelurahan_map is not None
    assert kelurahan_map.group(0).count('<path class="area"') == 27
    per_place = Counter(r[8] for r in shown)
    for name in ("Kejuron", "Pangongangan", "Nambangan Lor"):
        assert f"<title>{name}: {per_place[name]} laporan</title>" in kelurahan_map.group(0)


@pytest.fixture
def chromium() -> Path:
    """Debian's chromium; skips (or fails, when services are required) without it."""
    if not CHROMIUM.exists():
        service_unavailable(f"{CHROMIUM} not found: install Debian's chromium package")
    return CHROMIUM


@pytest.fixture
def screenshot(database_url: str) -> Path:
    """Where the test keeps its screenshot (test-artifacts/, git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    shot = ARTIFACTS / f"dashboard-{kind}.png"
    shot.unlink(missing_ok=True)
    return shot


async def test_chromium_draws_the_dashboard(
    chromium: Path, dashboard: tuple[str, analytics_data.Generated], screenshot: Path
) -> None:
    base_url, _ = dashboard
    shot = screenshot
    url = f"{base_url}/dashboard?token={API_TOKEN}"
    with tempfile.TemporaryDirectory() as profile:
        flags = headless_flags(profile, "--hide-scrollbars", "--window-size=1280,3600")
        dom = await run_chromium(chromium, *flags, "--dump-dom", url)
        await run_chromium(chromium, *flags, f"--screenshot={shot}", url)
    # The browser followed the token link to the page (cookie and all) and parsed the charts.
    assert "Pengaduan warga Kota Madiun" in dom
    assert dom.count("<svg") >= 7 and dom.count('<path class="area"') == 27
    with Image.open(shot) as image:
        assert image.size == (1280, 3600)
        colours = {c: n for n, c in image.convert("RGB").getcolors(1280 * 3600) or []}
    # WhatsApp's bars, Telegram's bars and the map's darkest kelurahan are on the screen.
    for colour in ((0x1F, 0x9D, 0x55), (0x2A, 0x8B, 0xD4), (0x08, 0x51, 0x9C)):
        assert colours.get(colour, 0) > 200, f"no {colour} in {shot}"


def test_the_artifacts_folder_is_ignored_by_git() -> None:
    ignored = (ROOT / ".gitignore").read_text().split()
    assert "test-artifacts/" in ignored


async def test_a_new_city_without_reports_gets_an_empty_dashboard(
    sqlite_url: str, tmp_path: Path
) -> None:
    service: Service = make_service(sqlite_url, tmp_path)
    service.clock = lambda: END
    async with (
        serve(create_app(service, workers=False)) as base_url,
        client(base_url, Authorization=f"Bearer {API_TOKEN}") as script,
    ):
        page = await script.get("/dashboard", params={"since": "2026-03-01", "until": "2026-03-08"})
    assert page.status_code == 200
    assert "Periode 1 Maret 2026 s.d. 7 Maret 2026: Belum ada laporan." in page.text
    assert "01-03-2026 s.d. 07-03-2026" in page.text
    assert page.text.count('<path class="area"') == 27  # the map, all kelurahan at zero


HOSTILE = '<script>alert("x")</script> & "<b>"'


class PageParser(HTMLParser):
    """The tags, attribute names and text (entities decoded) of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: set[str] = set()
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.update(name for name, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.texts.append(data)


async def test_names_from_the_configuration_are_escaped(sqlite_url: str, tmp_path: Path) -> None:
    # A city, category, agency and kelurahan named with markup, in the page template (title,
    # heading, summary, topics) and in the SVG charts (agency chart, map).
    names = {
        "LAPOR_PLACES__CITY_NAME": HOSTILE,
        "LAPOR_CATEGORIES__0__NAME": HOSTILE,  # "jalan", the most reported category
        "LAPOR_AGENCIES__0__NAME": HOSTILE,  # "dpupr", the agency of "jalan"
        "LAPOR_AREAS__0__KELURAHAN": HOSTILE,  # Oro-oro Ombo
    }
    service: Service = make_service(sqlite_url, tmp_path, **names)
    analytics_data.write(sqlite_url, analytics_data.generate(120, end=END, days=30, seed=3))
    service.clock = lambda: END
    async with (
        serve(create_app(service, workers=False)) as base_url,
        client(base_url, Authorization=f"Bearer {API_TOKEN}") as script,
    ):
        page = await script.get("/dashboard")
    assert page.status_code == 200
    assert "<script" not in page.text and '"<b>"' not in page.text
    parsed = PageParser()
    parsed.feed(page.text)
    assert "script" not in parsed.tags and "b" in parsed.tags  # only the topics' own <b>
    assert not [a for a in parsed.attributes if a.startswith("on")]
    texts = parsed.texts
    assert texts.count(HOSTILE) >= 2  # <title> of the page and of the agency chart
    assert f"Pengaduan warga {HOSTILE}" in texts
    assert f"{HOSTILE} " in texts  # the category among the topics, before its <b>count</b>
    assert any(t.startswith(f"{HOSTILE}: ") and t.endswith(" laporan") for t in texts)  # map
    assert any(HOSTILE in t for t in texts if t.startswith("Periode "))  # the summary


class MovableClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_the_dashboard_cookie_expires_on_the_server(sqlite_url: str, tmp_path: Path) -> None:
    clock = MovableClock(END)
    service: Service = make_service(sqlite_url, tmp_path)
    service.clock = clock
    async with serve(create_app(service, workers=False)) as base_url:
        async with client(base_url) as anonymous:
            opened = await anonymous.get("/dashboard", params={"token": API_TOKEN})
        assert opened.status_code == 303
        cookie = opened.cookies[COOKIE]
        issued, _, signature = cookie.partition(".")
        assert issued == str(int(END.timestamp())) and signature

        async def page(value: str) -> int:
            async with client(base_url) as browser:
                browser.cookies.set(COOKIE, value, path="/dashboard")
                return (await browser.get("/dashboard")).status_code

        clock.now = END + timedelta(hours=11, minutes=59)
        assert await page(cookie) == 200
        # A browser that keeps the cookie longer than it was told gets nothing for it.
        clock.now = END + timedelta(hours=12, seconds=1)
        assert await page(cookie) == 401
        # Nor can the issue time be moved forward without the token: the HMAC covers it.
        assert await page(f"{int(clock.now.timestamp())}.{signature}") == 401
        # A cookie of the old, timeless form opens nothing either; nor does rubbish.
        assert await page(signature) == 401
        assert await page("9" * 40 + "." + signature) == 401
        # A new link gives a new cookie, good from now on.
        async with client(base_url) as anonymous:
            again = await anonymous.get("/dashboard", params={"token": API_TOKEN})
        assert await page(again.cookies[COOKIE]) == 200
