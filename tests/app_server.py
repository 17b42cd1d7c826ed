"""Run the real FastAPI app under uvicorn on a loopback port, for tests that speak HTTP to it."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from bot.compose import Service, prepare_database
from bot.settings import Settings, load_settings
from channels.console import ConsoleChannel

ROOT = Path(__file__).resolve().parent.parent
API_TOKEN = "test-api-token"


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
