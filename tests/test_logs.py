"""What `lapor` logs at its most verbose: no secret and nothing that identifies a citizen.

A real `lapor serve` process (`LAPOR_LOG_LEVEL=debug`, as `--log-level debug` sets it) on real
PostgreSQL, talking to a fake Telegram over loopback, gets a whole conversation, a contact card
with the citizen's phone number, an SMS from another citizen, a dashboard login by link, Meta's
webhook verification and REST calls. Its log (stderr and uvicorn's access log) is then searched
for every configured secret, several only 4 characters long, and for the citizens' names,
numbers and chat ids. `lapor --log-level debug set-webhook` is searched the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import telegram_updates as tg
from app_server import ROOT
from fake_telegram import FakeTelegram
from procs import ServiceProcess, service_env
from test_security import Deployment

from storage.migrate import upgrade

TOKEN = "4242:Tk9w"  # Telegram's own are longer; a short one must not leak either
SHORT = {
    "LAPOR_CHANNELS__TELEGRAM__WEBHOOK_SECRET": "Wj3K",
    "LAPOR_SERVICE__API_TOKENS": '["Ap1x", "second-api-token-Zq81"]',
    "LAPOR_CHANNELS__WHATSAPP__APP_SECRET": "As3z",
    "LAPOR_CHANNELS__WHATSAPP__ACCESS_TOKEN": "Ac8r",
    "LAPOR_CHANNELS__SMS__PASSWORD": "Pw2n",
    "LAPOR_CHANNELS__SMS__WEBHOOK_SECRET": "Sk7p",
}
VERIFY_TOKEN = "wa-verify-token-Hn25Pw"  # a long one, in uvicorn's access log line
DB_PASSWORD = "Db5m"
SECRETS = {
    "Tk9w",
    TOKEN,
    "Wj3K",
    "Ap1x",
    "second-api-token-Zq81",
    "As3z",
    "Ac8r",
    "Pw2n",
    "Sk7p",
    VERIFY_TOKEN,
    DB_PASSWORD,
}
SMS_CITIZEN = "081298765432"
CITIZEN_TRACES = {
    "Siti",
    "Rahayu",
    "siti_r",
    str(tg.CITIZEN_ID),
    "6281234567890",
    "81234567890",
    SMS_CITIZEN,
    SMS_CITIZEN[1:],
}


@pytest.fixture
def short_token_telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN) as fake:
        yield fake


def environment(postgres_url: str, tmp_path: Path, fake: FakeTelegram) -> dict[str, str]:
    upgrade(postgres_url)
    # trust authentication ignores the password, so the URL can carry one to watch for
    url = postgres_url.replace("@127.0.0.1", f":{DB_PASSWORD}@127.0.0.1")
    return service_env(
        url,
        tmp_path,
        **SHORT,
        LAPOR_LOG_LEVEL="debug",
        LAPOR_SERVICE__PUBLIC_URL="https://lapor.example.go.id",
        LAPOR_CHANNELS__TELEGRAM__ENABLED="true",
        LAPOR_CHANNELS__TELEGRAM__TOKEN=TOKEN,
        LAPOR_CHANNELS__TELEGRAM__API_BASE=fake.api_base,
        LAPOR_CHANNELS__TELEGRAM__MODE="webhook",
        LAPOR_CHANNELS__WHATSAPP__ENABLED="true",
        LAPOR_CHANNELS__WHATSAPP__PHONE_NUMBER_ID="106540352242922",
        LAPOR_CHANNELS__WHATSAPP__VERIFY_TOKEN=VERIFY_TOKEN,
        LAPOR_CHANNELS__WHATSAPP__GRAPH_BASE="http://127.0.0.1:9",
        LAPOR_CHANNELS__SMS__ENABLED="true",
        LAPOR_CHANNELS__SMS__PROVIDER="android",
        LAPOR_CHANNELS__SMS__GATEWAY_URL="http://127.0.0.1:9",
        LAPOR_CHANNELS__SMS__USERNAME="gateway",
        LAPOR_OFFICERS__DEFAULT_CHAT_ID=str(tg.GROUP_ID),
    )


class Remote(Deployment):
    """The conversation helpers of test_security, against a `lapor serve` process."""

    async def post(self, update: dict[str, Any]) -> None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SHORT[_SECRET_KEY]}
        response = await self.client.post("/webhooks/telegram", json=update, headers=headers)
        assert response.status_code == 200, response.text


_SECRET_KEY = "LAPOR_CHANNELS__TELEGRAM__WEBHOOK_SECRET"


def sms_event(text: str, event_id: str) -> tuple[bytes, dict[str, str]]:
    event = {
        "event": "sms:received",
        "id": event_id,
        "deviceId": "ffffffffceb0b1db0000018e937c815b",
        "payload": {"messageId": "m1", "message": text, "phoneNumber": SMS_CITIZEN},
    }
    body = json.dumps(event).encode()
    stamp = str(int(time.time()))
    key = SHORT["LAPOR_CHANNELS__SMS__WEBHOOK_SECRET"].encode()
    signature = hmac.new(key, body + stamp.encode(), hashlib.sha256).hexdigest()
    return body, {"X-Signature": signature, "X-Timestamp": stamp}


def leaks(text: str) -> list[str]:
    found = [s for s in SECRETS if s in text or (len(s) >= 6 and s.lower() in text.lower())]
    return sorted(found + [t for t in CITIZEN_TRACES if t in text])


async def test_a_debug_log_of_whole_conversations_holds_no_secret_and_no_citizen(
    postgres_url: str, tmp_path: Path, short_token_telegram: FakeTelegram
) -> None:
    fake = short_token_telegram
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", 1)
    with ServiceProcess(environment(postgres_url, tmp_path, fake)) as process:
        async with httpx.AsyncClient(base_url=process.base_url, timeout=10) as client:
            remote = Remote(None, client, fake)  # type: ignore[arg-type]
            ticket = await remote.file_report("normal", "Lampu jalan mati total di gang mawar")
            await remote.say(tg.text("cek " + ticket), ticket)
            for event_id in ("evt-1", "evt-2"):
                body, headers = sms_event("halo, jalan rusak", event_id)
                answer = await client.post("/webhooks/sms/android", content=body, headers=headers)
                assert answer.status_code == 200, answer.text
            login = await client.get("/dashboard", params={"token": "Ap1x"})
            assert login.status_code == 303 and "lapor_dashboard" in login.headers["set-cookie"]
            verify = {
                "hub.mode": "subscribe",
                "hub.verify_token": VERIFY_TOKEN,
                "hub.challenge": "1158201444",
            }
            assert (await client.get("/webhooks/whatsapp", params=verify)).text == "1158201444"
            bearer = {"Authorization": "Bearer Ap1x"}
            assert (await client.get(f"/api/reports/{ticket}", headers=bearer)).status_code == 200
            await client.get("/api/reports", headers={"Authorization": "Bearer Wj3K"})  # 401
            await asyncio.sleep(1.5)  # the retried reply, the failing SMS sends
    log = process.log_text()
    (tmp_path / "serve.log").write_text(log)
    assert " DEBUG " in log and "POST /webhooks/telegram" in log, log[-2000:]  # it is real
    assert "GET /dashboard?token=<secret> HTTP/1.1" in log  # the access log, scrubbed
    assert "hub.verify_token=<secret>" in log
    assert "Traceback" not in log, log[log.find("Traceback") - 500 :][:3000]
    assert not leaks(log), leaks(log)


def test_set_webhook_at_debug_shows_neither_token_nor_secret(
    sqlite_url: str, tmp_path: Path, short_token_telegram: FakeTelegram
) -> None:
    fake = short_token_telegram
    env = service_env(
        sqlite_url,
        tmp_path,
        LAPOR_SERVICE__PUBLIC_URL="https://lapor.example.go.id",
        LAPOR_CHANNELS__TELEGRAM__ENABLED="true",
        LAPOR_CHANNELS__TELEGRAM__TOKEN=TOKEN,
        LAPOR_CHANNELS__TELEGRAM__API_BASE=fake.api_base,
        LAPOR_CHANNELS__TELEGRAM__WEBHOOK_SECRET="Wj3K",
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--log-level", "debug", "set-webhook"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert fake.webhook is not None and fake.webhook.get("secret_token") == "Wj3K"  # was sent
    assert " DEBUG " in output and "Telegram will post updates" in output
    assert "Tk9w" not in output and "Wj3K" not in output, output


def test_the_log_level_is_a_flag_of_every_command(tmp_path: Path) -> None:
    for args in (["--log-level", "DEBUG", "check-config"], ["check-config", "--log-level", "info"]):
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    wrong = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--log-level", "loud", "check-config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong.returncode == 2 and "invalid choice: 'loud'" in wrong.stderr
