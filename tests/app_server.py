"""Run the real FastAPI app under uvicorn on a loopback port, for tests that speak HTTP to it.

`make_service` builds a service on the example configuration plus `LAPOR_*` overrides; the
`*_env` functions are the overrides that point a channel at its fake platform API (tests/fake_*.py);
`running_app(service)` adds the senders the settings configure and serves the app, yielding an
HTTP client on it: together, "the service on a fake platform" that the end-to-end tests drive.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from fake_sms import GATEWAY_PASSWORD, GATEWAY_USER, TWILIO_NUMBER, FakeGateway, FakeTwilio
from fake_telegram import FakeTelegram
from fake_whatsapp import APP_SECRET, STATUS_TEMPLATE, VERIFY_TOKEN, FakeGraph
from fastapi import FastAPI

from bot.compose import Service, build_senders, create_app, prepare_database
from bot.settings import Settings, load_settings
from channels.console import ConsoleChannel

ROOT = Path(__file__).resolve().parent.parent
API_TOKEN = "test-api-token"
PUBLIC_URL = "https://lapor.example.go.id"
TELEGRAM_SECRET = "s3cret-webhook_token"
TWILIO_WEBHOOK_URL = PUBLIC_URL + "/webhooks/sms/twilio"  # what Twilio signs
TWILIO_SHARED_KEY = "twilio-webhooks-shared-key-xyz"
ANDROID_SIGNING_KEY = "gateway-signing-key-0123"


def settings_for(database_url: str, tmp_path: Path, **env: str) -> Settings:
    """The example configuration on a test database, with a known API token."""
    environ: Mapping[str, str] = {
        "LAPOR_STORAGE__DATABASE_URL": database_url,
        "LAPOR_STORAGE__MEDIA_DIR": str(tmp_path / "media"),
        "LAPOR_SERVICE__API_TOKENS": f'["{API_TOKEN}"]',
        **env,
    }
    return load_settings(ROOT / "config.example.toml", environ)


def make_service(database_url: str, tmp_path: Path, **env: str) -> Service:
    """A service on the example configuration, its database migrated as `lapor serve` does."""
    settings = settings_for(database_url, tmp_path, **env)
    prepare_database(settings)
    return Service(settings)


def telegram_env(
    fake: FakeTelegram, mode: str = "webhook", secret: str = TELEGRAM_SECRET
) -> dict[str, str]:
    """Telegram enabled, talking to `fake`, its webhook checked by `secret`."""
    return {
        "LAPOR_CHANNELS__TELEGRAM__ENABLED": "true",
        "LAPOR_CHANNELS__TELEGRAM__TOKEN": fake.token,
        "LAPOR_CHANNELS__TELEGRAM__API_BASE": fake.api_base,
        "LAPOR_CHANNELS__TELEGRAM__MODE": mode,
        "LAPOR_CHANNELS__TELEGRAM__WEBHOOK_SECRET": secret,
        "LAPOR_SERVICE__PUBLIC_URL": PUBLIC_URL,
    }


def whatsapp_env(fake: FakeGraph, *, template: bool = True) -> dict[str, str]:
    """WhatsApp enabled, talking to `fake`; `template=False` configures no status template."""
    return {
        "LAPOR_CHANNELS__WHATSAPP__ENABLED": "true",
        "LAPOR_CHANNELS__WHATSAPP__PHONE_NUMBER_ID": fake.phone_number_id,
        "LAPOR_CHANNELS__WHATSAPP__ACCESS_TOKEN": fake.token,
        "LAPOR_CHANNELS__WHATSAPP__APP_SECRET": APP_SECRET,
        "LAPOR_CHANNELS__WHATSAPP__VERIFY_TOKEN": VERIFY_TOKEN,
        "LAPOR_CHANNELS__WHATSAPP__GRAPH_BASE": fake.graph_base,
        "LAPOR_CHANNELS__WHATSAPP__API_VERSION": fake.version,
        "LAPOR_CHANNELS__WHATSAPP__STATUS_TEMPLATE": STATUS_TEMPLATE if template else "",
        "LAPOR_CHANNELS__WHATSAPP__TEMPLATE_LANGUAGE": "id",
    }


def twilio_env(fake: FakeTwilio) -> dict[str, str]:
    """SMS over Twilio (`fake`), its webhooks signed for `PUBLIC_URL`."""
    return {
        "LAPOR_CHANNELS__SMS__ENABLED": "true",
        "LAPOR_CHANNELS__SMS__PROVIDER": "twilio",
        "LAPOR_CHANNELS__SMS__API_BASE": fake.api_base,
        "LAPOR_CHANNELS__SMS__ACCOUNT_SID": fake.account_sid,
        "LAPOR_CHANNELS__SMS__AUTH_TOKEN": fake.auth_token,
        "LAPOR_CHANNELS__SMS__FROM_NUMBER": TWILIO_NUMBER,
        "LAPOR_CHANNELS__SMS__WEBHOOK_SECRET": TWILIO_SHARED_KEY,
        "LAPOR_SERVICE__PUBLIC_URL": PUBLIC_URL,
    }


def android_env(fake: FakeGateway, base: str | None = None) -> dict[str, str]:
    """SMS over the Android gateway (`fake`, or `base`), its webhooks signed with the key."""
    return {
        "LAPOR_CHANNELS__SMS__ENABLED": "true",
        "LAPOR_CHANNELS__SMS__PROVIDER": "android",
        "LAPOR_CHANNELS__SMS__GATEWAY_URL": base or fake.gateway_url,
        "LAPOR_CHANNELS__SMS__USERNAME": GATEWAY_USER,
        "LAPOR_CHANNELS__SMS__PASSWORD": GATEWAY_PASSWORD,
        "LAPOR_CHANNELS__SMS__WEBHOOK_SECRET": ANDROID_SIGNING_KEY,
    }


def web_env(**keys: str) -> dict[str, str]:
    """The web chat enabled, with other `[channels.web]` keys (e.g. session_days="1")."""
    return {
        "LAPOR_CHANNELS__WEB__ENABLED": "true",
        **{f"LAPOR_CHANNELS__WEB__{key.upper()}": value for key, value in keys.items()},
    }


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Start `app` (lifespan included) on 127.0.0.1 with a free port; yield its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if task.done():
            task.result()  # raises what stopped the server
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def running_app(
    service: Service, headers: Mapping[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """`service` with the platform senders its settings configure, served on loopback (workers
    included); yields a client on its base URL (sending `headers` with every request)."""
    for sender in build_senders(service.settings).values():
        service.add_sender(sender)
    async with (
        serve(create_app(service)) as base_url,
        httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as client,
    ):
        yield client


@asynccontextmanager
async def service_on(
    database_url: str, tmp_path: Path, env: Mapping[str, str]
) -> AsyncIterator[tuple[Service, httpx.AsyncClient]]:
    """The service on the platform(s) `env` configures (e.g. `telegram_env(fake)`), running:
    yields (service, client)."""
    service = make_service(database_url, tmp_path, **env)
    async with running_app(service) as client:
        yield service, client


@dataclass
class ConsoleCitizen:
    """A citizen typing into the console channel of a running service.

    It sends the outbox itself after each line, so run the app with `workers=False`.
    """

    service: Service
    channel: ConsoleChannel
    screen: io.StringIO

    @classmethod
    def attach(cls, service: Service, chat_id: str = "warga-1") -> ConsoleCitizen:
        screen = io.StringIO()
        channel = ConsoleChannel(screen, chat_id=chat_id)
        if "console" not in service.senders:
            service.add_sender(channel)
        return cls(service, channel, screen)

    async def type(self, line: str) -> str:
        """Send one line; return what the bot printed in answer."""
        start = len(self.screen.getvalue())
        message = self.channel.parse(line, self.service.clock())
        await self.service.pipeline.accept(message, raw={"line": line})
        await self.service.dispatcher.drain()
        return self.screen.getvalue()[start:]


def api(base_url: str, token: str | None = API_TOKEN) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10)
