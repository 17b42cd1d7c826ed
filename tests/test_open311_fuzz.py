"""Open311 requests made by hypothesis, past the api_key check: whatever a client sends, the
answer is a 201 with a ticket or the spec's error document (never a 5xx), and a refusal files
nothing. Bounded: 60 examples each, deterministic."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from app_server import settings_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from procs import ThreadedApp
from test_open311 import BASE, ENV, KEY, PASAR_BESAR

from bot.compose import Service, create_app, prepare_database

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
texts = st.text(max_size=60)
numbers = st.floats(allow_nan=True, allow_infinity=True).map(str) | st.integers().map(str)


def mostly(value: str, other: st.SearchStrategy[str] = texts) -> st.SearchStrategy[str]:
    """Usually a value that works (so requests get past one check to the next), else `other`."""
    return st.one_of(st.just(value), st.just(value), st.just(value), other)


# The fields a report needs, and the optional ones.
NEEDED = {
    "service_code": st.sampled_from(["jalan", "sampah", "pju"]) | texts,
    "lat": mostly(PASAR_BESAR[0], numbers | texts),
    "long": mostly(PASAR_BESAR[1], numbers | texts),
    "description": mostly("Lampu jalan mati"),
}
OPTIONAL = {
    "address_string": st.just("kel. Taman") | texts,
    "address_id": texts,
    "email": mostly("a@b.org"),
    "phone": mostly("+6281234567890"),
    "first_name": texts,
    "media_url": mostly("https://x.org/a.jpg"),
    "attribute[privacy][]": st.lists(st.sampled_from(["anonim", "rahasia"]) | texts, max_size=3),
    "jurisdiction_id": texts,
}
forms = st.fixed_dictionaries(NEEDED, optional=OPTIONAL)
QUERY = {
    "service_request_id": st.just("MDN-00001,2") | texts,
    "service_code": st.just("jalan,pju") | texts,
    "start_date": st.just("2026-01-01T00:00:00Z") | texts,
    "end_date": st.just("2026-02-01") | texts,
    "status": st.sampled_from(["open", "closed,open"]) | texts,
    "page_size": st.just("2") | numbers | texts,
    "page": st.just("1") | numbers | texts,
}
queries = st.fixed_dictionaries({}, optional=QUERY)


@dataclass
class Running:
    app: ThreadedApp
    service: Service

    def count(self) -> int:
        """How many reports are stored."""

        async def reports() -> int:
            async with self.service.store.unit_of_work() as uow:
                return await uow.reports.count()

        return int(self.app.run(reports()))


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp: Path = tmp_path_factory.mktemp("open311-fuzz")
    app_settings = settings_for(f"sqlite+aiosqlite:///{tmp / 'lapor.db'}", tmp, **ENV)
    prepare_database(app_settings)
    service = Service(app_settings)
    with ThreadedApp(create_app(service)) as app:
        yield Running(app, service)


def check_answer(response: httpx.Response, fmt: str) -> None:
    assert response.status_code < 500, response.text[:300]
    if fmt == "json":
        body = response.json()
        assert isinstance(body, list)
        if response.status_code >= 400:
            assert list(body[0]) == ["code", "description"]
    else:
        root = ET.fromstring(response.content)
        assert root.tag == ("errors" if response.status_code >= 400 else "service_requests")


@FUZZ
@given(body=forms, fmt=st.sampled_from(["json", "xml"]))
def test_any_post_request(running: Running, body: dict[str, object], fmt: str) -> None:
    before = running.count()
    with httpx.Client(base_url=running.app.base_url, timeout=10) as client:
        response = client.post(
            f"{BASE}/requests.{fmt}",
            content=urlencode({"api_key": KEY, **body}, doseq=True),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    check_answer(response, fmt)
    assert running.count() == before + (1 if response.status_code == 201 else 0)


@FUZZ
@given(params=queries, fmt=st.sampled_from(["json", "xml"]))
def test_any_listing_query(running: Running, params: dict[str, str], fmt: str) -> None:
    with httpx.Client(base_url=running.app.base_url, timeout=10) as client:
        response = client.get(f"{BASE}/requests.{fmt}", params=params)
    if any("\x00" in v for v in params.values()):  # every route refuses a NUL in the address
        assert response.status_code == 400
        return
    check_answer(response, fmt)
    if fmt == "json" and response.status_code == 200:
        assert all(r["status"] in ("open", "closed") for r in json.loads(response.text))
