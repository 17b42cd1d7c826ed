"""Small helpers the end-to-end tests share: waiting for what happens in the background, whether
a contact is reachable, and a photo with GPS metadata (which the media fetcher must strip)."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Awaitable, Callable
from typing import Any

from PIL import Image

from storage import Store


async def eventually(condition: Callable[[], Any], within: float = 10.0) -> Any:
    """Wait until `condition()` is truthy (the outbox is sent in the background); return it."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def eventually_async(condition: Callable[[], Awaitable[Any]], within: float = 10.0) -> Any:
    """Wait until `await condition()` is truthy (e.g. a database query); return it."""
    deadline = time.monotonic() + within
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in time (last: {value!r})")
        await asyncio.sleep(0.05)


async def reachable(store: Store, channel: str, user_id: str) -> bool | None:
    """Whether the contact can be sent to (None: no such contact)."""
    async with store.unit_of_work() as uow:
        contact = await uow.contacts.get(channel, user_id)
        return contact.reachable if contact else None


async def until_unreachable(store: Store, channel: str, user_id: str) -> None:
    """Wait (up to 10 s) until the contact is marked unreachable, e.g. after a dead send."""

    async def unreachable() -> bool:
        return await reachable(store, channel, user_id) is False

    await eventually_async(unreachable)


def jpeg_with_gps(color: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    """A small JPEG whose EXIF carries a GPS position (in Madiun) and a camera maker."""
    image = Image.new("RGB", (64, 48), color)
    exif = Image.Exif()
    exif[0x8825] = {1: "S", 2: (7.0, 37.0, 47.0), 3: "E", 4: (111.0, 31.0, 26.0)}  # GPS IFD
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()
