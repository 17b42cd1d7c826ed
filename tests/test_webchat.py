"""The web chat (issue 15) through its real routes: the app served on loopback, an HTTP client
behaving like the page (cookie, Origin, polling with a cursor), a real database."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from app_server import api, make_service, running_app, serve, service_on, settings_for, web_env
from helpers import eventually_async, jpeg_with_gps
from PIL import Image
from sqlmodel import select
from web_citizen import WebCitizen

from bot.compose import Service, create_app, prepare_database
from storage.models import Attachment, Contact, InboxMessage

KEJURON = (-7.6298, 111.5239)  # a point in Kel. Kejuron, Kec. Taman


async def file_report(citizen: WebCitizen, photo: bytes) -> str:
    """The whole report from the page: buttons, the browser's location, an uploaded photo."""
    assert "setuju" in (await citizen.say("halo")).lower()
    await citizen.choose("setuju")
    answer = await citizen.say("Sampah numpuk udh 3 hari gk diangkut di pinggir jalan, bau bgt")
    assert "sampah" in answer.lower(), answer
    await citizen.choose("ya")
    assert citizen.replies[-1]["request_location"] is True  # the page offers its button
    assert "Kejuron" in await citizen.locate(*KEJURON)
    uploaded = await citizen.upload(photo)
    assert uploaded.status_code == 200, uploaded.text
    await citizen.new_replies()
    await citizen.choose("anonim")
    answer = await citizen.say("kirim")
    tickets = re.findall(r"MDN-\d{5}", answer)
    assert tickets, answer
    return tickets[0]


async def test_a_citizen_files_a_report_with_a_photo_and_hears_the_officers(
    database_url: str, tmp_path: Path
) -> None:
    async with service_on(database_url, tmp_path, web_env()) as (service, client):
        base_url = str(client.base_url).rstrip("/")
        citizen = await WebCitizen.open(base_url)
        try:
            ticket = await file_report(citizen, jpeg_with_gps())
            async with api(base_url) as officers:
                report = (await officers.get(f"/api/reports/{ticket}")).json()
                assert report["channel"] == "web"
                assert report["location"]["kelurahan"] == "Kejuron"
                assert report["photos"] == 1 and report["anonymous"] is True

                async def stored() -> list[Attachment]:
                    async with service.store.unit_of_work() as uow:
                        rows = (await uow.session.exec(select(Attachment))).all()
                        return [a for a in rows if a.fetch_status == "stored"]

                [attachment] = await eventually_async(stored)
                media = tmp_path / "media"
                files = [p for p in media.rglob("*") if p.is_file()]
                assert files == [media / attachment.stored_path]  # stored once, not twice
                with Image.open(files[0]) as image:
                    assert image.getexif() == {}  # GPS and camera maker gone

                moved = await officers.post(
                    f"/api/reports/{ticket}/status",
                    json={"status": "verified", "note": "petugas menuju lokasi"},
                )
                assert moved.status_code == 200, moved.text
            update = await citizen.new_replies()  # the open page hears it on its next poll
            assert update[0].get("ticket") == ticket
            assert "petugas menuju lokasi" in update[0]["text"]

            history = (await citizen.client.get("/chat/messages")).json()["messages"]
            assert [m["id"] for m in history] == [m["id"] for m in citizen.replies]  # a reload
        finally:
            await citizen.aclose()


async def inbox_rows(service: Service) -> list[InboxMessage]:
    async with service.store.unit_of_work() as uow:
        return list((await uow.session.exec(select(InboxMessage))).all())


async def test_the_session_is_a_random_httponly_cookie_the_database_never_holds(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with service_on(sqlite_url, tmp_path, web_env(session_days="7")) as (service, client):
        base_url = str(client.base_url).rstrip("/")
        page = await client.get("/chat")
        cookie = page.headers["set-cookie"]
        token = page.cookies["lapor_chat"]
        assert len(token) >= 43
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/chat" in cookie
        assert f"Max-Age={7 * 86400}" in cookie
        again = await client.get("/chat")  # the same browser keeps its conversation
        assert "set-cookie" not in again.headers

        other = await WebCitizen.open(base_url)
        try:
            assert other.client.cookies["lapor_chat"] != token
            assert (
                await client.post(
                    "/chat/messages",
                    json={"id": "m-000001", "text": "halo"},
                    headers={"Origin": base_url},
                )
            ).status_code == 200
            assert "setuju" in (await other.say("halo")).lower()
            mine = (await client.get("/chat/messages")).json()["messages"]
            theirs = other.replies
            assert mine and theirs and {m["id"] for m in mine}.isdisjoint(m["id"] for m in theirs)
        finally:
            await other.aclose()
        async with service.store.unit_of_work() as uow:
            contacts = list((await uow.session.exec(select(Contact))).all())
        assert len(contacts) == 2
        assert all(token not in (c.user_id, c.chat_id) for c in contacts)
        dumped = str([row.payload for row in await inbox_rows(service)])
        assert token not in dumped


async def test_an_expired_session_is_refused_and_the_page_starts_a_new_one(
    sqlite_url: str, tmp_path: Path
) -> None:
    now = [datetime(2026, 12, 4, 8, 0, tzinfo=UTC)]
    settings = settings_for(sqlite_url, tmp_path, **web_env(session_days="1"))
    prepare_database(settings)
    service = Service(settings, clock=lambda: now[0])
    async with running_app(service) as client:
        base_url = str(client.base_url).rstrip("/")
        client.headers["Origin"] = base_url
        await client.get("/chat")
        first = client.cookies["lapor_chat"]
        said = await client.post("/chat/messages", json={"id": "m-000001", "text": "halo"})
        assert said.status_code == 200
        now[0] += timedelta(days=1, minutes=1)
        late = await client.post("/chat/messages", json={"id": "m-000002", "text": "halo"})
        assert late.status_code == 401 and "open the chat page again" in late.json()["detail"]
        assert (await client.get("/chat/messages")).status_code == 401
        await client.get("/chat")
        assert client.cookies["lapor_chat"] != first
        fresh = await client.post("/chat/messages", json={"id": "m-000003", "text": "halo"})
        assert fresh.status_code == 200


async def test_requests_not_from_the_page_are_refused_and_nothing_is_stored(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with service_on(sqlite_url, tmp_path, web_env()) as (service, client):
        base_url = str(client.base_url).rstrip("/")
        await client.get("/chat")  # the cookie, in this client's jar
        message = {"id": "m-000001", "text": "halo"}
        refused = {
            "another site": {"Origin": "https://evil.example"},
            "no origin": {},
            "a cross-site fetch": {"Origin": base_url, "Sec-Fetch-Site": "cross-site"},
        }
        for why, headers in refused.items():
            answer = await client.post("/chat/messages", json=message, headers=headers)
            assert answer.status_code == 403, why
            upload = await client.post(
                "/chat/photos",
                data={"id": "p-000001"},
                files={"photo": ("a.jpg", jpeg_with_gps(), "image/jpeg")},
                headers=headers,
            )
            assert upload.status_code == 403, why
        async with httpx.AsyncClient(base_url=base_url, headers={"Origin": base_url}) as stranger:
            assert (await stranger.post("/chat/messages", json=message)).status_code == 401
            assert (await stranger.get("/chat/messages")).status_code == 401
            stranger.cookies.set("lapor_chat", "x" * 43, path="/chat")  # not one we issued
            assert (await stranger.post("/chat/messages", json=message)).status_code == 401
        assert await inbox_rows(service) == []
        assert (tmp_path / "media").exists() is False or not any((tmp_path / "media").rglob("*.*"))


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{oops", "not JSON"),
        (b"[]", "JSON object"),
        (b'{"text": "halo"}', "id"),
        (b'{"id": "bad id!", "text": "halo"}', "id"),
        (b'{"id": "m-000001"}', "exactly one"),
        (b'{"id": "m-000001", "text": "halo", "choice": "ya"}', "exactly one"),
        (b'{"id": "m-000001", "text": "   "}', "non-empty"),
        (b'{"id": "m-000001", "text": 5}', "non-empty"),
        (b'{"id": "m-000001", "choice": ""}', "choice"),
        (b'{"id": "m-000001", "location": {"lat": 91, "lon": 0}}', "location"),
        (b'{"id": "m-000001", "location": {"lat": "x", "lon": 0}}', "location"),
        (b'{"id": "m-000001", "location": [1, 2]}', "location"),
        (
            b'{"id": "m-000001", "text": "a\\u0000b", "nested": ' + b"[" * 40 + b"]" * 40 + b"}",
            "nested",
        ),
    ],
)
async def test_a_malformed_message_gets_a_400_that_says_why(
    body: bytes, problem: str, sqlite_url: str, tmp_path: Path
) -> None:
    async with service_on(sqlite_url, tmp_path, web_env()) as (service, client):
        base_url = str(client.base_url).rstrip("/")
        await client.get("/chat")
        answer = await client.post(
            "/chat/messages",
            content=body,
            headers={"Origin": base_url, "Content-Type": "application/json"},
        )
        assert answer.status_code == 400, answer.text
        assert problem in answer.json()["detail"]
        assert await inbox_rows(service) == []


async def test_a_text_longer_than_the_page_allows_is_refused(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with service_on(sqlite_url, tmp_path, web_env()) as (service, client):
        citizen = await WebCitizen.open(str(client.base_url).rstrip("/"))
        try:
            answer = await citizen.post(text="a" * 4001)
            assert answer.status_code == 400 and "4000" in answer.json()["detail"]
            assert (await citizen.post(text="a" * 4000)).status_code == 200
        finally:
            await citizen.aclose()


def png(size: tuple[int, int] = (32, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(out, "PNG")
    return out.getvalue()


async def test_photo_uploads_are_checked_before_anything_is_stored(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with service_on(sqlite_url, tmp_path, web_env(max_photo_mb="1")) as (service, client):
        citizen = await WebCitizen.open(str(client.base_url).rstrip("/"))
        try:
            not_image = await citizen.upload(b"%PDF-1.7 a document", "application/pdf", "a.pdf")
            assert not_image.status_code == 415 and not_image.json()["error"] == "photo_type"
            disguised = await citizen.upload(b"%PDF-1.7 a document", "image/jpeg")
            assert disguised.status_code == 415
            damaged = await citizen.upload(b"\xff\xd8\xff\xe0 not really a jpeg")
            assert damaged.status_code == 422
            assert damaged.json()["error"] == "photo_unreadable"
            noise = Image.effect_noise((700, 700), 100).convert("RGB")
            big = io.BytesIO()
            noise.save(big, "PNG")
            assert big.tell() > 1024 * 1024  # over the 1 MB limit (within the form overhead)
            too_big = await citizen.upload(big.getvalue(), "image/png", "big.png")
            assert too_big.status_code == 413 and too_big.json()["error"] == "photo_too_large"
            no_file = await citizen.client.post(
                "/chat/photos", data={"id": "p-000001"}, files={"other": ("a", b"x", "text/plain")}
            )
            assert no_file.status_code == 400 and "photo" in no_file.json()["detail"]
            no_id = await citizen.client.post(
                "/chat/photos", files={"photo": ("a.png", png(), "image/png")}
            )
            assert no_id.status_code == 400 and "id" in no_id.json()["detail"]
            not_form = await citizen.client.post(
                "/chat/photos", content=b"--x\r\n", headers={"Content-Type": "multipart/form-data"}
            )
            assert not_form.status_code == 400
            assert await inbox_rows(service) == []
            assert not any((tmp_path / "media").rglob("*.*"))

            fine = await citizen.upload(png(), "image/png", "ok.png")
            assert fine.status_code == 200
            [row] = await inbox_rows(service)
            assert row.payload["message"]["kind"] == "photo"
            assert len([p for p in (tmp_path / "media").rglob("*.png")]) == 1
        finally:
            await citizen.aclose()


async def test_a_message_the_browser_repeats_is_handled_once(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with service_on(sqlite_url, tmp_path, web_env()) as (service, client):
        citizen = await WebCitizen.open(str(client.base_url).rstrip("/"))
        try:
            body = {"id": "retry-0001", "text": "halo"}
            first = await citizen.client.post("/chat/messages", json=body)
            again = await citizen.client.post("/chat/messages", json=body)
            assert first.json()["duplicate"] is False and again.json()["duplicate"] is True
            assert len(await citizen.new_replies()) == 1  # one greeting
            assert len(await inbox_rows(service)) == 1
        finally:
            await citizen.aclose()


async def test_the_page_is_self_contained_in_indonesian_and_english(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with service_on(sqlite_url, tmp_path, web_env()) as (_, client):
        page = await client.get("/chat")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        html = page.text
        assert '<html lang="id">' in html and "Bagikan lokasi saya" in html
        assert "Kota Madiun" in html  # the city's name comes from configuration
        for asset in ("/chat/static/chat.js", "/chat/static/chat.css"):
            served = await client.get(asset)
            assert served.status_code == 200
            assert "http://" not in served.text and "https://" not in served.text
        assert "http://" not in html and "https://" not in html  # nothing from elsewhere
        assert (await client.get("/chat/static/page.py")).status_code == 404
        assert (await client.get("/chat/static/..%2Fpage.py")).status_code == 404

        english = await client.get("/chat", params={"lang": "en"})
        assert '<html lang="en">' in english.text and "Share my location" in english.text
        asked = await client.get("/chat", headers={"Accept-Language": "en-GB,en;q=0.9"})
        assert "Share my location" in asked.text

        citizen = await WebCitizen.open(str(client.base_url).rstrip("/"), lang="en")
        try:
            answered = await citizen.post(text="halo", lang="en")
            assert answered.status_code == 200
            assert "Do you agree?" in (await citizen.new_replies())[0]["text"]
        finally:
            await citizen.aclose()


async def test_new_sessions_per_address_are_limited(sqlite_url: str, tmp_path: Path) -> None:
    async with service_on(sqlite_url, tmp_path, web_env()) as (_, client):
        for _ in range(30):
            client.cookies.clear()
            assert (await client.get("/chat")).status_code == 200
        client.cookies.clear()
        refused = await client.get("/chat")
        assert refused.status_code == 429 and "Terlalu banyak" in refused.text


async def test_the_web_chat_is_off_unless_enabled(sqlite_url: str, tmp_path: Path) -> None:
    service = make_service(sqlite_url, tmp_path, LAPOR_CHANNELS__WEB__ENABLED="false")
    assert "web" not in service.senders
    async with serve(create_app(service)) as base_url, httpx.AsyncClient(base_url=base_url) as c:
        for method, path in [
            ("GET", "/chat"),
            ("GET", "/chat/static/chat.js"),
            ("GET", "/chat/messages"),
            ("POST", "/chat/messages"),
            ("POST", "/chat/photos"),
        ]:
            answer = await c.request(method, path, headers={"Origin": base_url})
            assert answer.status_code == 404, (method, path)
