"""Downloads the photos and voice notes citizens sent, checks them, strips photos' metadata
and stores them.

A report is filed with photo references only; this worker fetches them afterwards, so a slow or
failing download never blocks a report. Failures are retried with back-off; a file that can
never be fetched (gone, not an image, too big) is marked failed with its reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot.core.clock import utcnow
from bot.core.dispatcher import backoff
from channels.base import ChannelSender, SendError, SendFailure
from intake.types import MediaRef
from storage import Store
from storage.media import MediaRejected, MediaStore
from storage.models import Attachment

log = logging.getLogger(__name__)

MAX_FETCH_ATTEMPTS = 6


class MediaFetcher:
    def __init__(
        self,
        store: Store,
        senders: Mapping[str, ChannelSender],
        media: MediaStore,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.senders = senders
        self.media = media
        self.clock = clock
        self._not_before: dict[int, datetime] = {}  # attachment id -> next try (back-off)

    async def run(self, idle_wait: float = 2.0) -> None:
        while True:
            try:
                done = await self.fetch_due()
            except Exception:
                log.exception("media fetch round failed")
                done = 0
            if done == 0:
                await asyncio.sleep(idle_wait)

    async def fetch_due(self) -> int:
        """Try every pending attachment whose back-off has passed; returns how many were tried."""
        now = self.clock()
        due = [
            a
            for a in await self.store.pending_attachments(limit=50, channels=list(self.senders))
            if a.id is not None and self._not_before.get(a.id, now) <= now
        ]
        for attachment in due:
            await self._fetch(attachment)
        return len(due)

    async def _fetch(self, attachment: Attachment) -> None:
        assert attachment.id is not None
        sender = self.senders.get(attachment.channel)
        if sender is None:
            return  # that channel is not running here; leave it pending
        ref = MediaRef(attachment.channel, attachment.platform_ref, attachment.mime)
        try:
            fetched = await sender.fetch_media(ref)
            audio = attachment.mime.startswith("audio/")  # a voice note
            stored = await asyncio.to_thread(self.media.store, fetched.content, audio=audio)
        except MediaRejected as exc:
            await self._failed(attachment, f"rejected: {exc.reason}", final=True)
        except SendError as exc:
            final = exc.failure is not SendFailure.RETRY
            await self._failed(attachment, exc.reason, final=final)
        else:
            self._not_before.pop(attachment.id, None)
            await self.store.attachment_stored(
                attachment.id,
                stored_path=stored.path,
                sha256=stored.sha256,
                size=stored.size,
                mime=stored.mime,
            )

    async def _failed(self, attachment: Attachment, reason: str, *, final: bool) -> None:
        assert attachment.id is not None
        attempts = attachment.attempts + 1
        final = final or attempts >= MAX_FETCH_ATTEMPTS
        if final:
            self._not_before.pop(attachment.id, None)
            log.warning("photo %s of a report could not be fetched: %s", attachment.id, reason)
        else:
            self._not_before[attachment.id] = self.clock() + timedelta(seconds=backoff(attempts))
        await self.store.attachment_failed(attachment.id, reason, final=final)
