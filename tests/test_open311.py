"""Open311 GeoReport v2 (/open311/v2): the specification's response shapes and field names, in
JSON and in XML parsed back, filing through the same path as a citizen's conversation (the
officers' card), the privacy rules, and bad input answered with the spec's error document."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import telegram_updates as tg
from app_server import API_TOKEN, make_service, running_app
from desk_helpers import GROUP, desk_service
from fake_telegram import FakeTelegram

from bot.compose import Service

KEY = "open311-app-key-0123456789"
ENV = {"LAPOR_OPEN311__ENABLED": "true", "LAPOR_OPEN311__API_KEYS": f'["{KEY}"]'}
BASE = "/open311/v2"
PASAR_BESAR = ("-7.6298", "111.5239")  # inside Kota Madiun
JAKARTA = ("-6.2000", "106.8166")

# The spec's field names (wiki.open311.org/GeoReport_v2), in its examples' order.
SERVICE_FIELDS = [
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
]
ATTRIBUTE_FIELDS = [
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
    "values",
]
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]


def form(**fields: Any) -> dict[str, Any]:
    """A POST requests body like the spec's example request, in Kota Madiun."""
    lat, lon = PASAR_BESAR
    body: dict[str, Any] = {
        "api_key": KEY,
        "service_code": "jalan",
        "lat": lat,
        "long": lon,
        "address_string": "Jl. Sudirman depan Pasar Besar",
        "description": "Jalan berlubang besar di depan pasar, motor sering jatuh",
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


async def post(
    client: httpx.AsyncClient, body: dict[str, Any], fmt: str = "json"
) -> httpx.Response:
    return await client.post(
        f"{BASE}/requests.{fmt}",
        content=urlencode(body, doseq=True),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )


def xml_items(response: httpx.Response, root: str, item: str) -> list[dict[str, str]]:
    """An XML list document parsed back: each item's child elements as text."""
    assert response.headers["content-type"].startswith("text/xml")
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    tree = ET.fromstring(response.content)
    assert tree.tag == root
    assert all(child.tag == item for child in tree)
    return [{field.tag: field.text or "" for field in child} for child in tree]


def error_of(response: httpx.Response, status: int) -> str:
    """The spec's error document (JSON or XML) with `status`; its description."""
    assert response.status_code == status, response.text
    if response.headers["content-type"].startswith("application/json"):
        errors = response.json()
        assert isinstance(errors, list) and list(errors[0]) == ["code", "description"]
        assert errors[0]["code"] == status
        return str(errors[0]["description"])
    [error] = xml_items(response, "errors", "error")
    assert list(error) == ["code", "description"] and error["code"] == str(status)
    return error["description"]


@asynccontextmanager
async def open311_app(
    url: str, tmp_path: Path, **env: str
) -> AsyncIterator[tuple[Service, httpx.AsyncClient]]:
    service = make_service(url, tmp_path, **{**ENV, **env})
    async with running_app(service) as client:
        yield service, client


async def report_count(service: Service) -> int:
    async with service.store.unit_of_work() as uow:
        return await uow.reports.count()


async def test_services_and_their_definition(sqlite_url: str, tmp_path: Path) -> None:
    async with open311_app(sqlite_url, tmp_path) as (service, client):
        listed = await client.get(f"{BASE}/services.json")
        assert listed.status_code == 200
        assert listed.headers["content-type"] == "application/json; charset=utf-8"
        services = listed.json()
        categories = service.settings.categories
        assert [s["service_code"] for s in services] == [c.id for c in categories]
        road = services[0]
        assert list(road) == SERVICE_FIELDS
        assert road["service_name"] == "Infrastruktur Jalan, Jembatan & Trotoar"
        assert road["metadata"] is True and road["type"] == "realtime"
        assert "jalan rusak" in road["keywords"].split(", ")
        assert road["group"].startswith("Dinas Pekerjaan Umum")

        in_english = await client.get(
            f"{BASE}/services.json", headers={"Accept-Language": "en-US,en;q=0.9"}
        )
        assert in_english.json()[0]["service_name"] == "Roads, bridges & sidewalks"

        as_xml = xml_items(await client.get(f"{BASE}/services.xml"), "services", "service")
        assert [s["service_code"] for s in as_xml] == [c.id for c in categories]
        assert list(as_xml[0]) == SERVICE_FIELDS and as_xml[0]["metadata"] == "true"

        definition = (await client.get(f"{BASE}/services/jalan.json")).json()
        assert list(definition) == ["service_code", "attributes"]
        assert definition["service_code"] == "jalan"
        [privacy] = definition["attributes"]
        assert list(privacy) == ATTRIBUTE_FIELDS
        assert privacy["code"] == "privacy" and privacy["datatype"] == "multivaluelist"
        assert privacy["required"] is False and privacy["variable"] is True
        assert [v["key"] for v in privacy["values"]] == ["anonim", "rahasia"]

        tree = ET.fromstring((await client.get(f"{BASE}/services/jalan.xml")).content)
        assert tree.tag == "service_definition"
        assert tree.findtext("service_code") == "jalan"
        keys = [v.findtext("key") for v in tree.findall("attributes/attribute/values/value")]
        assert keys == ["anonim", "rahasia"]
        assert tree.findtext("attributes/attribute/required") == "false"

        unknown = await client.get(f"{BASE}/services/jalan_tol.json")
        assert "jalan_tol" in error_of(unknown, 404)
        assert "jalan_tol" in error_of(await client.get(f"{BASE}/services/jalan_tol.xml"), 404)
        assert ".json" in error_of(await client.get(f"{BASE}/services.csv"), 400)

        found = (await client.get("/open311/discovery.json")).json()
        assert list(found) == ["changeset", "contact", "key_service", "endpoints"]
        [endpoint] = found["endpoints"]
        assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
        assert endpoint["url"] == str(client.base_url).rstrip("/") + BASE  # no public_url set
        assert (await client.get(f"{endpoint['url']}/services.json")).status_code == 200
        tree = ET.fromstring((await client.get("/open311/discovery.xml")).content)
        assert tree.tag == "discovery"
        formats = [f.text for f in tree.findall("endpoints/endpoint/formats/format")]
        assert formats == ["text/xml", "application/json"]


async def test_a_report_filed_over_open311_reaches_the_officers(
    database_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with desk_service(database_url, tmp_path, fake_telegram, **ENV) as desk:
        client = desk.client
        photo = "https://foto.example.org/lubang-pasar.jpg"
        filed = await post(
            client,
            form(
                email="warga@example.org",
                first_name="Siti",
                last_name="Aminah",
                phone="+6281234567890",
                media_url=photo,
                device_id="tt222111",
                account_id="acc-77",
            ),
        )
        assert filed.status_code == 201, filed.text
        [answer] = filed.json()
        assert list(answer) == ["service_request_id", "service_notice", "account_id"]
        assert answer["service_request_id"] == "MDN-00001"
        assert answer["account_id"] == "acc-77"
        assert "MDN-00001" in answer["service_notice"]
        assert "Dinas Pekerjaan Umum" in answer["service_notice"]

        # The officers' group gets the card, as for a citizen's chat, and the media link.
        card = await desk.expect("MDN-00001", GROUP)
        assert "Kanal: Open311" in card and "Pelapor: Siti Aminah" in card
        assert "Jalan berlubang besar di depan pasar" in card
        assert "Foto: 0" in card  # the link is not a photo stored here
        await desk.expect(photo, GROUP)

        # The code in the notice lets the reporter check from any chat.
        code = answer["service_notice"].split("CEK MDN-00001 ")[1].rstrip(").")
        status = await desk.say(tg.text(f"cek MDN-00001 {code}"), "MDN-00001")
        assert "Diterima" in status

        one = await client.get(f"{BASE}/requests/MDN-00001.json")
        assert one.status_code == 200
        [request] = one.json()
        assert list(request) == REQUEST_FIELDS
        assert request["status"] == "open" and request["service_code"] == "jalan"
        assert request["status_notes"] == "Diterima, menunggu verifikasi"
        assert request["lat"] == float(PASAR_BESAR[0]) and request["long"] == float(PASAR_BESAR[1])
        assert request["media_url"] == photo
        assert request["address"].startswith("Jl. Sudirman depan Pasar Besar, Kel. ")
        assert request["address"].endswith("Kota Madiun")
        assert request["requested_datetime"].endswith("+07:00")
        for identity in ("warga@example.org", "Siti", "Aminah", "81234567890", "tt222111"):
            assert identity not in one.text

        [as_xml] = xml_items(
            await client.get(f"{BASE}/requests/mdn-1.xml"), "service_requests", "request"
        )
        assert list(as_xml) == REQUEST_FIELDS
        assert as_xml["service_request_id"] == "MDN-00001" and as_xml["media_url"] == photo
        assert as_xml["expected_datetime"] == "" and as_xml["status"] == "open"

        # Officers move it through the REST API: Open311 shows open/closed and the reason.
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        for move in ({"status": "verified"}, {"status": "rejected", "note": "bukan wewenang kota"}):
            moved = await client.post("/api/reports/MDN-00001/status", json=move, headers=auth)
            assert moved.status_code == 200, moved.text
        [closed] = (await client.get(f"{BASE}/requests/MDN-00001.json")).json()
        assert closed["status"] == "closed"
        assert closed["status_notes"] == "Ditolak: bukan wewenang kota"

        # Nobody to message back: no citizen notice is queued for the Open311 report.
        rows = await desk.service.store.outbox_listing(["pending", "waiting", "dead", "sent"])
        assert [r for r in rows if r.channel == "open311"] == []
        stats = await client.get("/api/stats", params={"by": "channel"}, headers=auth)
        assert stats.status_code == 200

        # An anonymous one: officers never see who filed it.
        anonymous = await post(
            client,
            form(
                first_name="Joko",
                email="joko@example.org",
                **{"attribute[privacy][]": ["anonim"]},
            ),
        )
        assert anonymous.json()[0]["service_request_id"] == "MDN-00002"
        card = await desk.expect("MDN-00002", GROUP)
        assert "Pelapor: anonim" in card and "Joko" not in card


async def test_confidential_reports_are_never_listed(sqlite_url: str, tmp_path: Path) -> None:
    async with open311_app(sqlite_url, tmp_path) as (_, client):
        secret = await post(
            client,
            form(description="Pungli di kantor kelurahan", **{"attribute[privacy]": "rahasia"}),
        )
        assert secret.status_code == 201
        ticket = secret.json()[0]["service_request_id"]
        shown = await post(client, form(service_code="sampah", description="Sampah menumpuk"))
        other = shown.json()[0]["service_request_id"]

        listed = (await client.get(f"{BASE}/requests.json")).json()
        assert [r["service_request_id"] for r in listed] == [other]
        by_id = await client.get(f"{BASE}/requests.json", params={"service_request_id": ticket})
        assert by_id.json() == []
        hidden = error_of(await client.get(f"{BASE}/requests/{ticket}.json"), 404)
        missing = error_of(await client.get(f"{BASE}/requests/MDN-00999.json"), 404)
        assert hidden.replace(ticket, "?") == missing.replace("MDN-00999", "?")
        assert "Pungli" not in (await client.get(f"{BASE}/requests.xml")).text


async def test_listing_filters(sqlite_url: str, tmp_path: Path) -> None:
    async with open311_app(sqlite_url, tmp_path) as (_, client):
        for code, text in (
            ("jalan", "Jalan retak"),
            ("sampah", "Sampah tidak diangkut"),
            ("pju", "Lampu jalan mati \x07 sejak kemarin"),  # a control character XML cannot carry
        ):
            assert (
                await post(client, form(service_code=code, description=text))
            ).status_code == 201
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        for move in ({"status": "verified"}, {"status": "resolved"}):
            await client.post("/api/reports/MDN-00002/status", json=move, headers=auth)

        async def ids(**params: str) -> list[str]:
            response = await client.get(f"{BASE}/requests.json", params=params)
            assert response.status_code == 200, response.text
            return [r["service_request_id"] for r in response.json()]

        assert await ids() == ["MDN-00003", "MDN-00002", "MDN-00001"]  # newest first
        assert await ids(status="open") == ["MDN-00003", "MDN-00001"]
        assert await ids(status="closed") == ["MDN-00002"]
        assert await ids(status="open,closed", service_code="jalan,pju") == [
            "MDN-00003",
            "MDN-00001",
        ]
        # service_request_id overrides every other argument
        assert await ids(service_request_id="MDN-00001,mdn-2", status="closed") == [
            "MDN-00002",
            "MDN-00001",
        ]
        assert await ids(page_size="1", page="2") == ["MDN-00002"]
        assert await ids(page_size="2", page="3") == []
        now = datetime.now(UTC)
        tomorrow = (now + timedelta(days=1)).isoformat()
        assert await ids(start_date=tomorrow) == []
        assert len(await ids(end_date=tomorrow)) == 3
        week_ago = (now - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert len(await ids(start_date=week_ago, end_date=tomorrow)) == 3
        assert await ids(end_date=(now - timedelta(days=1)).isoformat()) == []

        listed = xml_items(
            await client.get(f"{BASE}/requests.xml", params={"service_code": "pju"}),
            "service_requests",
            "request",
        )
        assert [r["service_request_id"] for r in listed] == ["MDN-00003"]
        assert listed[0]["description"] == "Lampu jalan mati \ufffd sejak kemarin"
        assert float(listed[0]["lat"]) == float(PASAR_BESAR[0])
        closed = json.loads((await client.get(f"{BASE}/requests/MDN-00002.json")).text)[0]
        assert closed["status"] == "closed" and closed["status_notes"] == "Selesai"


async def test_bad_requests_get_the_spec_errors_and_file_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    env = {"LAPOR_OPEN311__JURISDICTION_ID": "madiunkota.go.id"}
    async with open311_app(sqlite_url, tmp_path, **env) as (service, client):
        assert "api_key" in error_of(await post(client, form(api_key=None)), 403)
        assert "api_key" in error_of(await post(client, form(api_key="guess"), "xml"), 403)
        assert "api_key" in error_of(await post(client, form(api_key=API_TOKEN)), 403)
        lat, lon = JAKARTA
        outside = error_of(await post(client, form(lat=lat, long=lon)), 400)
        assert "Kota Madiun" in outside and "lapor.go.id" in outside
        refused = {
            "service_code": (form(service_code=None), 400),
            "jalan_tol": (form(service_code="jalan_tol"), 404),
            "lat dan long": (form(long=None), 400),
            "WGS84": (form(lat="utara", long="111.5"), 400),
            "Lokasi wajib": (form(lat=None, long=None, address_string=None), 400),
            "address_id": (
                form(lat=None, long=None, address_string=None, address_id="545483"),
                400,
            ),
            "description wajib": (form(description="   "), 400),
            "terlalu panjang": (form(description="x" * 2001), 400),
            "email": (form(email="bukan-email"), 400),
            "phone": (form(phone="telepon saya"), 400),
            "media_url": (form(media_url="javascript:alert(1)"), 400),
            "attribute[warna]": (form(**{"attribute[warna]": "merah"}), 400),
            "rahasiaa": (form(**{"attribute[privacy][]": ["anonim", "rahasiaa"]}), 400),
            "jurisdiction_id": (form(jurisdiction_id="sfgov.org"), 404),
        }
        for expected, (body, status) in refused.items():
            for fmt in ("json", "xml"):
                assert expected in error_of(await post(client, body, fmt), status), expected
        not_utf8 = await client.post(
            f"{BASE}/requests.json",
            content=b"api_key=" + KEY.encode() + b"&description=\xff\xfe",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert "UTF-8" in error_of(not_utf8, 400)
        assert "csv" in error_of(await post(client, form(), "csv"), 400)
        assert await report_count(service) == 0

        bad_queries = {
            "start_date": {"start_date": "kemarin"},
            "end_date": {"end_date": "2026-13-45T00:00:00Z"},
            "90": {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
            "sebelum": {"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
            "pending": {"status": "open,pending"},
            "page_size": {"page_size": "5000"},
            "page": {"page": "0"},
            "tahun": {"start_date": "0001-01-01T00:00:00+07:00"},
        }
        for expected, params in bad_queries.items():
            response = await client.get(f"{BASE}/requests.json", params=params)
            assert expected in error_of(response, 400), expected
        unknown = await client.get(f"{BASE}/requests.json", params={"service_code": "nope"})
        assert "nope" in error_of(unknown, 404)
        wrong_city = await client.get(f"{BASE}/services.xml", params={"jurisdiction_id": "x.org"})
        assert "madiunkota.go.id" in error_of(wrong_city, 404)
        ours = await client.get(
            f"{BASE}/services.json", params={"jurisdiction_id": "madiunkota.go.id"}
        )
        assert ours.status_code == 200

        english = await client.post(
            f"{BASE}/requests.json",
            content=urlencode(form(api_key="")),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept-Language": "en",
            },
        )
        assert error_of(english, 403) == "Missing or unknown api_key: no report was filed."

        # And then a good one goes through, its location read from address_string alone.
        filed = await post(
            client, form(lat=None, long=None, address_string="Jl. Salak 5, kel. Taman")
        )
        assert filed.status_code == 201, filed.text
        [request] = (await client.get(f"{BASE}/requests/MDN-00001.json")).json()
        assert request["address"] == "Jl. Salak 5, kel. Taman, Kel. Taman, Kec. Taman, Kota Madiun"
        assert request["lat"] is None


async def test_disabled_open311_serves_nothing(sqlite_url: str, tmp_path: Path) -> None:
    async with open311_app(sqlite_url, tmp_path, LAPOR_OPEN311__ENABLED="false") as (_, client):
        assert (await client.get(f"{BASE}/services.json")).status_code == 404
        assert (await post(client, form())).status_code == 404
