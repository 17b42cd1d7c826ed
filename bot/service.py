"""The running service: storage, the city catalogue, the pipeline and the background workers.

The HTTP app and the console both run one `Service`, so `lapor chat` exercises exactly what
`lapor serve` runs, minus the web server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.city import build_catalog
from bot.desk import Desk
from bot.dispatcher import Dispatcher
from bot.media import MediaFetcher
from bot.pipeline import Pipeline, utcnow
from bot.scaling import Scaling
from bot.settings import Settings
from bot.sla import SlaWorker
from bot.stats import FunnelRecorder
from channels.base import ChannelSender
from channels.secrets import register_secret
from intake.catalog import Catalog
from storage import Database, Store, migrate
from storage.media import MediaStore

log = logging.getLogger(__name__)

RESUME_EVERY = 30.0  # seconds between sweeps for inbox rows that failed to process


class StartupError(Exception):
    """The service cannot start; the message says why and what to do."""


def prepare_database(settings: Settings) -> None:
    """Bring the schema up to date on SQLite; on PostgreSQL insist that `lapor migrate` ran."""
    url = settings.storage.database_url
    if url.startswith("sqlite"):
        migrate.upgrade(url)
        return
    current, head = migrate.current(url), migrate.head()
    if current != head:
        raise StartupError(
            f"the database schema is at {current or 'nothing'}, this version needs {head}: "
            "run `lapor migrate` first"
        )


class Service:
    def __init__(
        self,
        settings: Settings,
        *,
        senders: Mapping[str, ChannelSender] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.clock = clock
        for secret in settings.secret_values():
            register_secret(secret)
        self.catalog: Catalog = build_catalog(settings)
        self.db = Database(settings.storage.database_url)
        self.store = Store(self.db)
        self.senders: dict[str, ChannelSender] = dict(senders or {})
        self.dispatcher = Dispatcher(self.store, self.senders, clock=clock)
        # Shared state for several workers when storage.redis_url is set (bot/scaling.py).
        self.scaling = Scaling(settings)
        self.dispatcher.tracker = self.scaling.tracker()
        # The officer desk (Telegram groups, report cards) and the time limits (issue 6).
        self.desk = Desk(self)
        self.sla = SlaWorker(self)
        self.pipeline = Pipeline(
            self.store,
            self.catalog,
            {name: sender.capabilities for name, sender in self.senders.items()},
            clock=clock,
            on_outbox=self.scaling.outbox_notifier(self._outbox_changed),
            **self.scaling.pipeline_options(),
        )
        # Analytics (issue 7): the conversation funnel and topic words of filed reports.
        self.pipeline.observers.append(FunnelRecorder.for_catalog(self.catalog))
        self.media = MediaFetcher(
            self.store, self.senders, MediaStore(Path(settings.storage.media_dir)), clock=clock
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._spawned: set[asyncio.Task[Any]] = set()

    def _outbox_changed(self) -> None:
        """Replies were queued (and report cards may be due): wake the senders."""
        self.dispatcher.wake()
        self.desk.wake()

    def add_sender(self, sender: ChannelSender) -> None:
        self.senders[sender.name] = sender
        self.dispatcher.senders[sender.name] = sender
        self.pipeline.capabilities[sender.name] = sender.capabilities

    async def start(self, *, workers: bool = True) -> None:
        await self.pipeline.resume()
        if workers:
            self.scaling.start(self)
            self.run_worker(self.dispatcher.run(), "outbox")
            self.run_worker(self._resume_loop(), "inbox-resume")
            self.run_worker(self.media.run(), "media")
            self.run_worker(self.desk.run(), "desk-cards")
            self.run_worker(self.scaling.exclusive("sla", self.sla.run), "sla")

    def run_worker(self, loop: Coroutine[Any, Any, None], name: str) -> None:
        """Run a background loop until `stop()`."""
        self._tasks.append(asyncio.create_task(loop, name=name))

    def spawn(self, job: Coroutine[Any, Any, Any]) -> None:
        """Run a short job in the background (e.g. answering a button press)."""
        task = asyncio.create_task(job)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)

    async def _resume_loop(self) -> None:
        while True:
            await asyncio.sleep(RESUME_EVERY)
            try:
                await self.pipeline.resume()
            except Exception:
                log.exception("inbox resume failed")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in [*self._tasks, *self._spawned]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for sender in self.senders.values():
            await sender.aclose()
        await self.scaling.close()
        await self.db.dispose()
