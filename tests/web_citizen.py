"""A citizen in a browser, as the web chat's routes see one: an HTTP client that opened the
page (so it holds the session cookie), posts from the page's origin and polls for replies with
the page's cursor. For route-level tests; tests/test_webchat_browser.py drives real Chromium."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class WebCitizen:
    client: httpx.AsyncClient
    cursor: int = 0
    replies: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    async def open(cls, base_url: str, **params: str) -> WebCitizen:
        """Open the chat page (a new session) with a client that posts from its origin."""
        client = httpx.AsyncClient(base_url=base_url, headers={"Origin": base_url}, timeout=10)
        page = await client.get("/chat", params=params)
        assert page.status_code == 200, page.text
        return cls(client)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def post(self, **fields: Any) -> httpx.Response:
        body = {"id": uuid.uuid4().hex, **fields}
        return await self.client.post("/chat/messages", json=body)

    async def poll(self) -> list[dict[str, Any]]:
        """What the page's next poll shows (and moves the cursor past)."""
        answer = await self.client.get("/chat/messages", params={"after": self.cursor})
        assert answer.status_code == 200, answer.text
        data = answer.json()
        self.cursor = data["cursor"]
        self.replies += data["messages"]
        return list(data["messages"])

    async def new_replies(self, within: float = 10.0, settle: float = 0.3) -> list[dict[str, Any]]:
        """Poll until replies have come and no more follow for `settle` seconds."""
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + within
        quiet_since = None
        while time.monotonic() < deadline:
            batch = await self.poll()
            found += batch
            if batch:
                quiet_since = time.monotonic()
            elif found and quiet_since is not None and time.monotonic() - quiet_since >= settle:
                return found
            await asyncio.sleep(0.05)
        assert found, "no reply came"
        return found

    async def say(self, text: str) -> str:
        """Send a text; the replies' texts, joined."""
        answer = await self.post(text=text)
        assert answer.status_code == 200, answer.text
        return texts(await self.new_replies())

    async def choose(self, label: str) -> str:
        """Click the button whose label contains `label` in the latest reply that has buttons."""
        with_buttons = [r for r in self.replies if r["choices"]]
        assert with_buttons, "no buttons shown"
        choices = with_buttons[-1]["choices"]
        picked = [c for c in choices if label.lower() in c["label"].lower()]
        assert picked, (label, choices)
        answer = await self.post(choice=picked[0]["value"])
        assert answer.status_code == 200, answer.text
        return texts(await self.new_replies())

    async def locate(self, lat: float, lon: float) -> str:
        answer = await self.post(location={"lat": lat, "lon": lon})
        assert answer.status_code == 200, answer.text
        return texts(await self.new_replies())

    async def upload(
        self, content: bytes, mime: str = "image/jpeg", name: str = "foto.jpg"
    ) -> httpx.Response:
        data = {"id": uuid.uuid4().hex, "lang": "id"}
        files = {"photo": (name, content, mime)}
        return await self.client.post("/chat/photos", data=data, files=files)


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r["text"] for r in replies)
