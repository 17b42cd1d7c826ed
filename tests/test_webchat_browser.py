"""The web chat in a real browser: Debian's Chromium driven by playwright (nothing downloaded:
the browser is /usr/bin/chromium), against the app served on loopback with a real database.
A citizen files a report with the browser's location and an uploaded photo, sees the ticket,
and then sees an officer's status update arrive on the open page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from app_server import api, service_on, web_env
from helpers import jpeg_with_gps
from playwright.async_api import Locator, Page, async_playwright, expect

CHROMIUM = Path("/usr/bin/chromium")
KEJURON = {"latitude": -7.6298, "longitude": 111.5239}  # Kel. Kejuron, Kec. Taman
WAIT_MS = 15_000

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)",
)


def latest_bot(page: Page) -> Locator:
    return page.locator(".msg.bot").last


async def say(page: Page, text: str) -> None:
    await page.locator("#text").fill(text)
    await page.locator("#text").press("Enter")


async def click_choice(page: Page, label: str) -> None:
    buttons = page.locator(".choices").last.get_by_role("button", name=re.compile(label, re.I))
    await buttons.first.click()


async def test_a_citizen_files_a_report_with_a_photo_and_location_in_chromium(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with (
        service_on(sqlite_url, tmp_path, web_env()) as (_, client),
        async_playwright() as playwright,
    ):
        base_url = str(client.base_url).rstrip("/")
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            context = await browser.new_context(
                geolocation=KEJURON, permissions=["geolocation"], locale="id-ID"
            )
            page = await context.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "requestfailed",
                lambda request: problems.append(f"{request.url}: {request.failure}"),
            )
            await page.goto(f"{base_url}/chat")
            await expect(page.locator("h1")).to_contain_text("Kota Madiun")

            await say(page, "halo")
            await expect(latest_bot(page)).to_contain_text("setuju", timeout=WAIT_MS)
            await click_choice(page, "setuju")
            await expect(latest_bot(page)).to_contain_text("Ceritakan", timeout=WAIT_MS)
            await say(page, "Sampah numpuk udh 3 hari gk diangkut di pinggir jalan, bau bgt")
            await expect(latest_bot(page)).to_contain_text("Benar?", timeout=WAIT_MS)
            await click_choice(page, "ya")
            share = latest_bot(page).locator("button.location")  # the question's own button
            await expect(share).to_be_visible(timeout=WAIT_MS)
            await share.click()
            await expect(page.locator(".msg.bot", has_text="Kejuron")).to_be_visible(
                timeout=WAIT_MS
            )
            await expect(latest_bot(page)).to_contain_text("foto", timeout=WAIT_MS)
            await page.locator("#photo").set_input_files(
                files=[{"name": "sampah.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}]
            )
            await expect(page.locator(".msg.me img")).to_be_visible()
            await expect(page.locator(".choices").last).to_contain_text("Anonim", timeout=WAIT_MS)
            await click_choice(page, "anonim")
            await expect(latest_bot(page)).to_contain_text("Kirim", timeout=WAIT_MS)
            await say(page, "kirim")
            filed = page.locator(".msg.bot", has_text=re.compile(r"MDN-\d{5}"))
            await expect(filed).to_be_visible(timeout=WAIT_MS)
            match = re.search(r"MDN-\d{5}", await filed.inner_text())
            assert match is not None
            ticket = match.group()

            async with api(base_url) as officers:
                report = (await officers.get(f"/api/reports/{ticket}")).json()
                assert report["channel"] == "web" and report["photos"] == 1
                assert report["location"]["kelurahan"] == "Kejuron"
                assert report["location"]["lat"] == pytest.approx(KEJURON["latitude"])
                assert report["anonymous"] is True
                moved = await officers.post(
                    f"/api/reports/{ticket}/status", json={"status": "verified"}
                )
                assert moved.status_code == 200, moved.text
            update = page.locator(f'.msg.bot[data-ticket="{ticket}"]')
            await expect(update).to_be_visible(timeout=WAIT_MS)  # the open page hears it
            await expect(page.locator("#problem")).to_be_hidden()
            assert problems == []
        finally:
            await browser.close()
