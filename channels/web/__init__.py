"""The web chat: a page the service serves itself (`GET /chat`), for the city's subdomain.

There is no platform in between: the browser posts the citizen's messages and photos to our
own routes (`bot/ingress/web.py`), and the page fetches its replies by polling with a cursor.
The sender is the outbox's channel like any other: `send()` renders the reply for the page and
puts it in the chat's mailbox (`Mailbox`, the `web_messages` table), where the page reads it.
Photos were checked and stored when they were uploaded; `fetch_media` reads them back from the
media store for the media fetcher, the same path every channel's photos take.

Modules: `payloads` (the page's requests as InboundMessages), `render` (a Reply as the page
shows it), `session` (the cookie and the same-origin check), `page` (the HTML, script, style).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

from channels.base import FetchedMedia, SendError, SendFailure, Sent
from channels.web.payloads import CHANNEL
from channels.web.render import render
from intake.types import ChannelCapabilities, MediaRef, Reply

CAPABILITIES = ChannelCapabilities(buttons=True, photos=True, location=True, max_text=4096)


class Mailbox(Protocol):
    async def deliver(self, chat_id: str, payload: dict[str, Any], now: datetime) -> int:
        """Store one rendered reply for the chat's page; returns its id (the page's cursor)."""
        ...


class WebSender:
    """Delivers replies into the chat's mailbox; reads uploaded photos back from the store."""

    name = CHANNEL
    capabilities = CAPABILITIES

    def __init__(
        self,
        mailbox: Mailbox,
        read_media: Callable[[str], Awaitable[bytes]],
        clock: Callable[[], datetime],
    ) -> None:
        self.mailbox = mailbox
        self.read_media = read_media  # a stored file's bytes by its media-store path
        self.clock = clock

    async def send(self, chat_id: str, reply: Reply) -> Sent:
        message_id = await self.mailbox.deliver(chat_id, render(reply), self.clock())
        return Sent(external_id=str(message_id))

    async def fetch_media(self, media: MediaRef) -> FetchedMedia:
        try:
            content = await self.read_media(media.ref)
        except OSError as exc:
            raise SendError(SendFailure.DEAD, f"uploaded file gone: {exc.strerror}") from exc
        return FetchedMedia(content, media.mime)

    async def aclose(self) -> None:
        return None
