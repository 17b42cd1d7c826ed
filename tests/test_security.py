"""No one gets in where they do not belong, and nothing private gets out (issue 8).

- secrets never reach a log line (or the database), over whole conversations;
- secrets are compared in constant time, in every route;
- every route refuses an oversized body;
- every /api route needs the API token;
- an anonymous reporter's identity reaches neither officers nor the API;
- a confidential (rahasia) report's content is in no public output.
"""

from __future__ import annotations

import ast
import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import telegram_updates as tg
from app_server import API_TOKEN, ROOT, service_on, telegram_env
from app_server import TELEGRAM_SECRET as SECRET
from fake_telegram import FakeTelegram
from helpers import eventually, jpeg_with_gps

from bot.compose import Service, create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

OFFICERS = str(tg.GROUP_ID)
CITIZEN_TRACES = ("Siti", "Rahayu", "siti_r", str(tg.CITIZEN_ID), "6281234567890")

# Every secret kind the configuration has, each distinctive so a leak cannot hide.
SECRETS_ENV = {
    "LAPOR_SERVICE__API_TOKENS": f'["{API_TOKEN}", "second-api-token-Zq81"]',
    "LAPOR_CHANNELS__WHATSAPP__ACCESS_TOKEN": "EAAGwa-access-token-Qx7Lm",
    "LAPOR_CHANNELS__WHATSAPP__APP_SECRET": "wa-app-secret-Vb93Kd",
    "LAPOR_CHANNELS__WHATSAPP__VERIFY_TOKEN": "wa-verify-token-Hn25Pw",
    "LAPOR_CHANNELS__SMS__AUTH_TOKEN": "twilio-auth-token-Rt64Zs",
    "LAPOR_CHANNELS__SMS__PASSWORD": "gateway-password-Ul47Ce",
    "LAPOR_CHANNELS__SMS__WEBHOOK_SECRET": "sms-webhook-secret-Jk18Ya",
    # enabled (sending nowhere), so their routes read what they are sent
    "LAPOR_CHANNELS__WHATSAPP__ENABLED": "true",
    "LAPOR_CHANNELS__WHATSAPP__PHONE_NUMBER_ID": "106540352242922",
    "LAPOR_CHANNELS__WHATSAPP__GRAPH_BASE": "http://127.0.0.1:9",
    "LAPOR_CHANNELS__SMS__ENABLED": "true",
    "LAPOR_CHANNELS__SMS__PROVIDER": "android",
    "LAPOR_CHANNELS__SMS__GATEWAY_URL": "http://127.0.0.1:9",
    "LAPOR_CHANNELS__SMS__USERNAME": "gateway",
}


@dataclass
class Deployment:
    service: Service
    client: httpx.AsyncClient
    fake: FakeTelegram

    async def post(self, update: dict[str, Any]) -> None:
        response = await self.client.post(
            "/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
        assert response.status_code == 200, response.text

    async def say(self, update: dict[str, Any], expect: str) -> None:
        before = len(self.texts())
        await self.post(update)
        await eventually(lambda: any(expect in t for t in self.texts()[before:]))

    def texts(self, chat: str = str(tg.CITIZEN_ID)) -> list[str]:
        return [
            c.params.get("text", "") for c in self.fake.calls_to("sendMessage") if c.chat_id == chat
        ]

    def officer_output(self) -> str:
        """Everything the bot sent to chats other than the citizen's."""
        with self.fake._lock:
            calls = [c for c in self.fake.calls if c.chat_id and c.chat_id != str(tg.CITIZEN_ID)]
        return "\n".join(repr(c.params) for c in calls)

    async def file_report(self, privacy: str, description: str) -> str:
        """A whole report through the webhook; returns its ticket."""
        self.fake.add_file("photo-x", jpeg_with_gps())
        await self.say(tg.command("/start"), "setuju")
        await self.post(tg.contact())  # the phone number, shared without being asked
        await self.say(tg.callback_query("agree"), "Ceritakan")
        await self.say(tg.text(description), "Benar?")
        await self.say(tg.callback_query("yes"), "lokasi")
        await self.say(tg.location(-7.6298, 111.5239), "foto")
        await self.say(tg.photo("photo-x"), "Foto diterima")
        await self.say(tg.callback_query("done"), "privasi")
        await self.say(tg.callback_query(f"priv:{privacy}"), "Periksa")
        await self.say(tg.callback_query("send"), "MDN-")
        ticket = next(w for w in self.texts()[-1].split() if w.startswith("MDN-"))
        return ticket.strip(".,")


@asynccontextmanager
async def deployment(
    url: str, tmp_path: Path, fake: FakeTelegram, **env: str
) -> AsyncIterator[Deployment]:
    environ = {**telegram_env(fake), **SECRETS_ENV, "LAPOR_OFFICERS__DEFAULT_CHAT_ID": OFFICERS}
    async with service_on(url, tmp_path, {**environ, **env}) as (service, client):
        yield Deployment(service, client, fake)


# -- secrets in logs ----------------------------------------------------------------------------


def secret_forms(service: Service) -> set[str]:
    """Every configured secret, its URL-encoded form, and both halves of the bot token."""
    found = set(service.settings.secret_values())
    token = service.settings.channels.telegram.token.get_secret_value()
    found.add(token.split(":")[1])  # the part before ":" is the bot's public id
    found |= {quote(s, safe="") for s in found}
    return {s for s in found if len(s) >= 6}


def assert_no_secret_in(text: str, secrets: set[str], where: str) -> None:
    leaked = sorted(s for s in secrets if s.lower() in text.lower())
    assert not leaked, f"{len(leaked)} secret(s) in {where}: {[s[:4] + '...' for s in leaked]}"


async def test_whole_conversations_leave_no_secret_in_logs_or_storage(
    postgres_url: str, tmp_path: Path, fake_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    from storage.migrate import upgrade

    upgrade(postgres_url)
    # trust authentication ignores the password, so the URL can carry one to watch for
    with_password = postgres_url.replace("@127.0.0.1", ":db-password-Wm52Gh@127.0.0.1")
    caplog.set_level(logging.DEBUG)
    async with deployment(with_password, tmp_path, fake_telegram) as deploy:
        secrets = secret_forms(deploy.service)
        assert "db-password-Wm52Gh" in secrets and len(secrets) >= 10
        fake_telegram.fail_next("sendMessage", 500, "Internal Server Error")
        fake_telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", 1)
        fake_telegram.fail_next("getFile", 400, "Bad Request: wrong file_id")
        ticket = await deploy.file_report("normal", "Lampu jalan mati total di gang mawar")
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        for path in ("/api/reports", f"/api/reports/{ticket}", "/api/stats", "/readyz"):
            await deploy.client.get(path, headers=headers)
        await deploy.client.post(
            f"/api/reports/{ticket}/status", json={"status": "verified"}, headers=headers
        )
        await deploy.client.post(
            f"/api/reports/{ticket}/replies", json={"text": "Segera kami cek"}, headers=headers
        )
        await deploy.client.get("/api/reports", headers={"Authorization": "Bearer wrong-token"})
        await deploy.client.post(
            "/webhooks/telegram",
            json=tg.text("x"),
            headers={"X-Telegram-Bot-Api-Secret-Token": "bad"},
        )
        await deploy.client.get("/webhooks/whatsapp", params={"hub.verify_token": "bad"})
        await deploy.say(tg.text("cek " + ticket), ticket)
        await asyncio.sleep(1.5)  # the retried replies, the photo download
        db_dump = await _dump(deploy.service)
    assert "Lampu jalan" in db_dump  # the dump is real
    assert_no_secret_in(caplog.text, secrets, "the logs")
    assert_no_secret_in(db_dump, secrets, "the database")
    traces = [t for t in CITIZEN_TRACES if t in caplog.text]  # names, phone, chat id (issue 14)
    assert not traces, traces


async def _dump(service: Service) -> str:
    from sqlalchemy import MetaData, select

    lines = []
    async with service.db.engine.connect() as conn:
        metadata = MetaData()
        await conn.run_sync(metadata.reflect)
        for table in metadata.sorted_tables:
            for row in (await conn.execute(select(table))).all():
                lines.append(repr(tuple(row)))
    return "\n".join(lines)


def test_secrets_are_compared_in_constant_time() -> None:
    """No `==` or `!=` between anything named like a secret (tokens, signatures, passwords,
    digests) anywhere in the service: those comparisons go through hmac.compare_digest."""
    secretish = ("secret", "token", "signature", "password", "digest", "hmac", "verify", "key")
    allowed_names = {"token_type", "tokens"}  # not secrets: names of kinds, lists

    def name_of(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            return node.attr
        if isinstance(node, ast.Call):
            return name_of(node.func)
        if isinstance(node, ast.Subscript):
            return name_of(node.value)
        return None

    def risky(node: ast.expr) -> bool:
        name = (name_of(node) or "").lower()
        if name in allowed_names or name in ("get", "lower", "strip", "encode", "decode"):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                return risky(node.func.value)
            return False
        return any(word in name for word in secretish)

    def harmless(node: ast.expr) -> bool:
        return isinstance(node, ast.Constant) and node.value in (None, "", 0, True, False)

    found = []
    for path in sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("channels/**/*.py")]):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare):
                continue
            operands = [node.left, *node.comparators]
            for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
                if not isinstance(op, ast.Eq | ast.NotEq) or harmless(left) or harmless(right):
                    continue
                if risky(left) or risky(right):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "compare secrets with hmac.compare_digest:\n" + "\n".join(found)


# -- oversized bodies and the API token -----------------------------------------------------


@pytest.fixture
async def plain(
    sqlite_url: str, tmp_path: Path, fake_telegram: FakeTelegram
) -> AsyncIterator[Deployment]:
    async with deployment(sqlite_url, tmp_path, fake_telegram) as deploy:
        yield deploy


def operations(service_app: Any) -> Iterator[tuple[str, str]]:
    for path, methods in service_app.openapi()["paths"].items():
        for method in methods:
            yield method.upper(), path.replace("{ticket}", "MDN-00001")


async def _counts(service: Service) -> dict[str, int]:
    from sqlalchemy import MetaData, func, select

    counts = {}
    async with service.db.engine.connect() as conn:
        metadata = MetaData()
        await conn.run_sync(metadata.reflect)
        for table in metadata.sorted_tables:
            counts[table.name] = (
                await conn.execute(select(func.count()).select_from(table))
            ).scalar_one()
    return counts


async def raw_request(base_url: str, head: str, chunks: int = 0, chunk: int = 0) -> int:
    """Send a request head (and `chunks` chunked-encoding chunks of `chunk` bytes) over a
    plain socket, the way a hostile client would; the status the server answers with."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head.encode())
        for _ in range(chunks):
            writer.write(f"{chunk:x}\r\n".encode() + b"1" * chunk + b"\r\n")
            await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=10)
    finally:
        writer.close()
    return int(status_line.split()[1])


async def test_every_route_refuses_an_oversized_body(plain: Deployment) -> None:
    """Announced too big: refused before the body is sent. Sent without a length (chunked):
    refused once the limit is passed, without waiting for the rest."""
    app = create_app(plain.service)
    base_url = str(plain.client.base_url)
    chat = (await plain.client.get("/chat")).cookies["lapor_chat"]  # a web chat session
    before = await _counts(plain.service)
    auth = (  # enough for every route to go on and read the body
        f"Authorization: Bearer {API_TOKEN}\r\nX-Telegram-Bot-Api-Secret-Token: {SECRET}\r\n"
        "X-Hub-Signature-256: sha256=00\r\nX-Signature: 00\r\nX-Timestamp: 0\r\n"
        f"X-Twilio-Signature: 00\r\nOrigin: http://x\r\nCookie: lapor_chat={chat}\r\n"
    )
    # the largest: a web chat photo's (WhatsApp 3 MB, 1 MiB elsewhere)
    limit = max(3 * 1024 * 1024, *plain.service.web.body_limits().values())
    for method, path in operations(app):
        kind = "multipart/form-data; boundary=x" if path == "/chat/photos" else "application/json"
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: {kind}\r\n"
        declared = await raw_request(base_url, head + f"Content-Length: {limit + 1}\r\n\r\n")
        assert declared == 413, (method, path, declared)
        if method == "POST":
            chunked = head + "Transfer-Encoding: chunked\r\n\r\n"
            status = await raw_request(base_url, chunked, chunks=limit // 65536 + 2, chunk=65536)
            disabled = path == "/webhooks/sms/twilio"  # the provider configured is "android"
            # A photo upload is parsed as it arrives: this body is no multipart, so it is a 400
            # at its first bytes, before the limit (an announced length over it is a 413).
            expected = 404 if disabled else 400 if path == "/chat/photos" else 413
            assert status == expected, (method, path, "chunked", status)
    assert await _counts(plain.service) == before


async def test_every_api_route_needs_the_api_token(plain: Deployment) -> None:
    app = create_app(plain.service)
    api_operations = [(m, p) for m, p in operations(app) if p.startswith("/api")]
    assert len(api_operations) >= 4
    refusals = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {API_TOKEN[:-1]}"},
        {"Authorization": f"Bearer {API_TOKEN}x"},
        {"Authorization": f"Basic {API_TOKEN}"},
        {"Authorization": API_TOKEN},
        {"X-Api-Token": API_TOKEN},
    ]
    before = await _counts(plain.service)
    for method, path in api_operations:
        for headers in refusals:
            response = await plain.client.request(
                method, path, headers=headers, json={"text": "x", "status": "verified"}
            )
            assert response.status_code == 401, (method, path, headers, response.status_code)
            assert "MDN" not in response.text
        in_query = await plain.client.request(method, path, params={"token": API_TOKEN})
        assert in_query.status_code == 401, (method, path, "token in the query")
    assert await _counts(plain.service) == before
    ok = await plain.client.get("/api/reports", headers={"Authorization": f"bearer {API_TOKEN}"})
    assert ok.status_code == 200


# -- privacy: anonim and rahasia --------------------------------------------------------------


async def test_an_anonymous_reporter_is_hidden_from_officers_and_the_api(
    plain: Deployment,
) -> None:
    ticket = await plain.file_report("anonymous", "Jalan berlubang besar dekat pasar sayur")
    await asyncio.sleep(0.5)  # the officers' card
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    outputs = {
        "list": (await plain.client.get("/api/reports", headers=headers)).text,
        "report": (await plain.client.get(f"/api/reports/{ticket}", headers=headers)).text,
        "officers": plain.officer_output(),
    }
    assert ticket in outputs["list"] and ticket in outputs["report"]
    assert ticket in outputs["officers"], "the officers got the report's card"
    for where, text in outputs.items():
        for trace in CITIZEN_TRACES:
            assert trace not in text, f"{trace!r} shown in {where}"


async def test_a_confidential_report_is_in_no_public_output(plain: Deployment) -> None:
    marker = "zebrakudaliar"
    ticket = await plain.file_report("both", f"Pungli {marker} di loket kelurahan tiap pagi")
    app = create_app(plain.service)
    public = [
        path
        for method, path in operations(app)
        if method == "GET" and not path.startswith(("/api", "/webhooks"))
    ]
    for path in {*public, "/metrics", "/docs", "/openapi.json"}:
        response = await plain.client.get(path)
        assert marker not in response.text and ticket not in response.text, path
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    for params in ({}, {"format": "csv"}, {"format": "table"}):
        stats = await plain.client.get("/api/stats", headers=headers, params=params)
        assert marker not in stats.text, f"a confidential report's words in /api/stats {params}"
        if not params:
            assert stats.json()["reports"]["total"] == 1  # counted, but not quoted
    dashboard = await plain.client.get("/dashboard", headers=headers)
    assert marker not in dashboard.text, "a confidential report's words on the dashboard"
