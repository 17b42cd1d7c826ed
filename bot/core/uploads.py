"""Files from the media store, uploaded with a reply just before it is sent.

Officers' cards show the citizen's photos and voice notes. A Telegram photo is re-sent by its
file id, but a WhatsApp (or console) photo or voice note has no reference Telegram knows: the
reply names it by its attachment id (`Reply.stored`; the outbox never holds the bytes), and
`StoredMediaSender` wraps the Telegram sender: it loads each file from the media store, picks how
Telegram shows it (photo, voice note, or else a file) and has the sender upload it.

An attachment still being downloaded holds the reply back (`SendError(RETRY)`, the dispatcher's
back-off) for at most `PENDING_GRACE` after it was recorded; one that could not be fetched, or
whose file is gone, is left out and the reply says so in a line (`missing_line`), so the rest
still goes out. `StoredMediaSenders` gives the dispatcher a live view of the senders in which
every sender that can upload (`channels.base.UploadingSender`) is wrapped this way; the
dispatcher itself knows nothing of it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import PurePosixPath

from bot.core.ports import Clock
from channels.base import (
    ChannelSender,
    FetchedMedia,
    MediaUpload,
    SendError,
    SendFailure,
    Sent,
    UploadingSender,
)
from intake.types import MediaRef, Reply
from storage import Store
from storage.media import MediaStore
from storage.models import FETCH_PENDING, FETCH_STORED, Attachment

log = logging.getLogger(__name__)

PENDING_GRACE = timedelta(seconds=60)  # how long a reply waits for a download to finish
UPLOAD_PREFIX = "upload:"  # the in-memory reference of an uploaded file in the reply
VOICE_MIMES = ("audio/ogg", "audio/mpeg", "audio/mp4")  # what Telegram plays as a voice note

MissingLine = Callable[[int], str]  # the line telling how many files could not be shown


def upload_kind(mime: str) -> str:
    """How Telegram shows a stored file: "photo", "voice" or "document" (any other file)."""
    mime = mime.lower()
    if mime.startswith("image/") and mime != "image/gif":  # a GIF would lose its animation
        return "photo"
    if mime.split(";")[0].strip() in VOICE_MIMES:
        return "voice"
    return "document"


class StoredMediaSender:
    """A sender that uploads a reply's stored attachments through `inner`."""

    def __init__(
        self,
        inner: UploadingSender,
        store: Store,
        media: MediaStore,
        missing_line: MissingLine,
        clock: Clock,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.capabilities = inner.capabilities
        self.store = store
        self.media = media
        self.missing_line = missing_line
        self.clock = clock

    async def send(self, chat_id: str, reply: Reply) -> Sent:
        if not reply.stored:
            return await self.inner.send(chat_id, reply)
        found = await self.store.attachments_by_id(reply.stored)
        kinds: dict[str, list[str]] = {"photo": [], "document": [], "voice": []}
        uploads: dict[str, MediaUpload] = {}
        missing = 0
        for attachment_id in reply.stored:
            attachment = found.get(attachment_id)
            upload = await self._load(attachment) if attachment is not None else None
            if upload is None:
                missing += 1
                continue
            ref = f"{UPLOAD_PREFIX}{attachment_id}"
            uploads[ref] = upload
            kinds[upload_kind(upload.mime)].append(ref)
        text = reply.text
        if missing:
            text = "\n".join(part for part in (text, self.missing_line(missing)) if part.strip())
        resolved = replace(
            reply,
            text=text,
            photos=(*reply.photos, *kinds["photo"]),
            documents=(*reply.documents, *kinds["document"]),
            voices=(*reply.voices, *kinds["voice"]),
            stored=(),
        )
        return await self.inner.send_uploads(chat_id, resolved, uploads)

    async def _load(self, attachment: Attachment) -> MediaUpload | None:
        """The attachment's file; None when it cannot be had. Raises SendError(RETRY) while
        its download may still finish."""
        if attachment.fetch_status == FETCH_PENDING:
            if self.clock() - attachment.created_at < PENDING_GRACE:
                raise SendError(SendFailure.RETRY, f"attachment {attachment.id} not fetched yet")
            log.warning("attachment %s is still not fetched: sent without it", attachment.id)
            return None
        if attachment.fetch_status != FETCH_STORED or not attachment.stored_path:
            return None  # the download failed (its reason is on the attachment)
        path = self.media.path_of(attachment.stored_path)
        try:
            content = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            log.warning("attachment %s: its file cannot be read (%s)", attachment.id, exc.strerror)
            return None
        suffix = PurePosixPath(attachment.stored_path).suffix
        return MediaUpload(content, f"lampiran-{attachment.id}{suffix}", attachment.mime)

    async def fetch_media(self, media: MediaRef) -> FetchedMedia:
        return await self.inner.fetch_media(media)

    async def aclose(self) -> None:
        await self.inner.aclose()


class StoredMediaSenders(Mapping[str, ChannelSender]):
    """A live view of `senders` in which each sender that can upload is a `StoredMediaSender`
    (made once per sender, again when the mapping's sender changes)."""

    def __init__(
        self,
        senders: Mapping[str, ChannelSender],
        store: Store,
        media: MediaStore,
        missing_line: MissingLine,
        clock: Clock,
    ) -> None:
        self._senders = senders
        self._wrap = lambda inner: StoredMediaSender(inner, store, media, missing_line, clock)
        self._wrapped: dict[str, StoredMediaSender] = {}

    def __getitem__(self, name: str) -> ChannelSender:
        sender = self._senders[name]
        if not isinstance(sender, UploadingSender):
            return sender
        wrapped = self._wrapped.get(name)
        if wrapped is None or wrapped.inner is not sender:
            wrapped = self._wrapped[name] = self._wrap(sender)
        return wrapped

    def __iter__(self) -> Iterator[str]:
        return iter(self._senders)

    def __len__(self) -> int:
        return len(self._senders)
