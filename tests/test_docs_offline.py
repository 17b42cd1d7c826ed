"""/docs and /redoc work without the internet (issue 15, operations): their pages name only
the service's own addresses, those answer, and Debian's Chromium, with every name but loopback
unresolvable, draws the REST API's operations."""

from __future__ import annotations

import re
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from app_server import service_on
from browser import headless_flags, run_chromium
from test_dashboard import chromium  # noqa: F401  (Debian's chromium, as a fixture)


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "spec-url") and value:
                self.urls.append(value)


def referenced(page: str) -> list[str]:
    parser = Links()
    parser.feed(page)
    scripted = re.findall(r"""url:\s*['"]([^'"]+)['"]""", page)  # Swagger UI's openapi.json
    return parser.urls + scripted


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_pages_name_only_local_addresses(
    sqlite_url: str, tmp_path: Path, page: str
) -> None:
    async with service_on(sqlite_url, tmp_path, {}) as (_, client):
        response = await client.get(page)
        assert response.status_code == 200
        assert "http://" not in response.text and "https://" not in response.text
        urls = referenced(response.text)
        assert any(u.endswith(".js") for u in urls) and "/openapi.json" in urls, urls
        for url in urls:
            assert url.startswith("/") and not url.startswith("//"), url
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 1000, url
        if page == "/docs":
            css = next(u for u in urls if u.endswith(".css"))
            assert (await client.get(css)).headers["content-type"].startswith("text/css")
            assert '"validatorUrl": null' in response.text  # no validator badge from swagger.io


async def test_chromium_draws_the_api_docs_offline(
    chromium: Path,  # noqa: F811
    sqlite_url: str,
    tmp_path: Path,
) -> None:
    async with service_on(sqlite_url, tmp_path, {}) as (_, client):
        url = f"{client.base_url}/docs"
        assert httpx.URL(url).host == "127.0.0.1"
        with tempfile.TemporaryDirectory() as profile:
            dom = await run_chromium(
                chromium,
                *headless_flags(
                    profile,
                    # no name resolves but loopback: a CDN could not be reached
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                    "--proxy-server=http://127.0.0.1:9",
                    "--proxy-bypass-list=127.0.0.1",
                    "--virtual-time-budget=15000",
                ),
                "--dump-dom",
                url,
            )
    # Swagger UI ran: the operations of the REST API are drawn from /openapi.json.
    assert 'class="swagger-ui"' in dom
    assert "/api/reports/{ticket}/status" in dom
    assert "opblock-summary-method" in dom
