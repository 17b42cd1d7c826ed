"""The terminal as a channel: try the whole flow with no platform token (`lapor chat`).

Typed lines become text messages; `/lokasi <lat> <lon>` shares a GPS point and `/foto <path>`
sends a photo from disk, so every step of the flow can be tried from a keyboard.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TextIO

from channels.base import FetchedMedia, SendError, SendFailure, Sent
from intake.types import (
    ChannelCapabilities,
    GeoPoint,
    InboundMessage,
    MediaRef,
    MessageKind,
    Reply,
)

NAME = "console"
CAPABILITIES = ChannelCapabilities(buttons=False, photos=True, location=True, max_text=100_000)

_LOCATION = re.compile(r"^/(?:lokasi|location)\s+(-?\d+(?:\.\d+)?)[ ,]+(-?\d+(?:\.\d+)?)\s*$", re.I)
_PHOTO = re.compile(r"^/(?:foto|photo)\s+(.+)$", re.I)

HELP = (
    "Ketik pesan seperti di WhatsApp. Pilihan dijawab dengan nomornya.\n"
    "/lokasi -7.6298 111.5239  kirim titik GPS\n"
    "/foto path/ke/gambar.jpg   kirim foto\n"
    "/keluar                    selesai"
)


class ConsoleChannel:
    """Parses typed lines and prints replies, numbering the choices."""

    name = NAME
    capabilities = CAPABILITIES

    def __init__(self, out: TextIO, chat_id: str = "terminal") -> None:
        self.out = out
        self.chat_id = chat_id
        self._ids = itertools.count(1)
        self._session = datetime.now().strftime("%Y%m%d%H%M%S%f")

    def parse(self, line: str, now: datetime) -> InboundMessage:
        line = line.strip()
        base = InboundMessage(
            channel=NAME,
            external_id=f"{self._session}-{next(self._ids)}",
            sender_id=self.chat_id,
            chat_id=self.chat_id,
            kind=MessageKind.TEXT,
            received_at=now,
            text=line,
            sender_name="Warga (terminal)",
        )
        if match := _LOCATION.match(line):
            point = GeoPoint(float(match.group(1)), float(match.group(2)))
            return replace(base, kind=MessageKind.LOCATION, text="", location=point)
        if match := _PHOTO.match(line):
            path = Path(match.group(1).strip()).expanduser()
            media = MediaRef(NAME, str(path.resolve()), "image/jpeg")
            return replace(base, kind=MessageKind.PHOTO, text="", media=media)
        if line.startswith("/") and len(line) > 1:
            return replace(base, kind=MessageKind.COMMAND, text=line[1:])
        return base

    async def send(self, chat_id: str, reply: Reply) -> Sent:
        lines = ["", f"bot> {reply.text}"]
        for number, choice in enumerate(reply.choices, start=1):
            hint = f" ({choice.description})" if choice.description else ""
            lines.append(f"     {number}. {choice.label}{hint}")
        if reply.request_location:
            lines.append("     (kirim lokasi: /lokasi <lat> <lon>)")
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()
        return Sent(external_id=None)

    async def fetch_media(self, media: MediaRef) -> FetchedMedia:
        try:
            content = await asyncio.to_thread(Path(media.ref).read_bytes)
            return FetchedMedia(content, media.mime)
        except OSError as exc:
            raise SendError(SendFailure.DEAD, f"cannot read {media.ref}: {exc.strerror}") from exc

    async def aclose(self) -> None:
        return None
