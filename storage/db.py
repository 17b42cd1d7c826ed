"""The database engine and its sessions.

Two URLs are supported: ``sqlite+aiosqlite:///path/to/file.db`` (the embedded default) and
``postgresql+psycopg://user@host/db``.

On SQLite every transaction starts with ``BEGIN IMMEDIATE``: it takes the write lock up front, so
two transactions never both read and then fail to upgrade to writing (SQLITE_BUSY); writers
queue on ``busy_timeout`` instead. WAL mode lets readers of other processes run meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.turns import WriteTurns

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 5000
PING_TIMEOUT_S = 5.0


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory database."""
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:"):
        return None  # a SQLite URI: the caller knows what it is doing
    return Path(database)


def ensure_sqlite_dir(url: URL) -> None:
    path = sqlite_file(url)
    if path is not None:
        path.expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let our "begin" listener emit BEGIN, instead of the driver's own implicit BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


PAYLOAD_LOGGERS = ("sqlalchemy", "aiosqlite")


def _hold_back(logger: logging.Logger, lowest: int) -> None:
    """Keep `logger` at `lowest` or above, whatever the root level (an explicit `echo` on the
    engine's own logger still shows statements, without parameters)."""
    if logger.level < lowest:
        logger.setLevel(lowest)


class Database:
    """An async engine plus a session factory for one database URL."""

    def __init__(self, url: str | URL, *, echo: bool = False) -> None:
        self.url: URL = make_url(url)
        self.is_sqlite: bool = self.url.get_backend_name() == "sqlite"
        # Parameters are citizens' names, numbers and texts: never in a log line or an error
        # message (a failed statement is logged with its exception), whatever the log level.
        options: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.is_sqlite:
            ensure_sqlite_dir(self.url)
        else:
            options["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(self.url, **options)
        for name in PAYLOAD_LOGGERS:  # below WARNING they log statements with their parameters
            _hold_back(logging.getLogger(name), logging.WARNING)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_on_connect)
            event.listen(self.engine.sync_engine, "begin", _sqlite_on_begin)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )
        # SQLite has one writer at a time. Queueing writers of this process for their turn is
        # fairer and much faster than letting them poll SQLite's busy handler.
        self._writer: WriteTurns | None = WriteTurns() if self.is_sqlite else None

    @asynccontextmanager
    async def writing(self, *, urgent: bool = False) -> AsyncIterator[None]:
        """Hold this process's SQLite write turn (a no-op on PostgreSQL); an `urgent` writer
        goes ahead of those waiting (`storage.turns`)."""
        if self._writer is None:
            yield
            return
        async with asyncio.timeout(SQLITE_BUSY_TIMEOUT_MS / 1000):
            await self._writer.acquire(urgent=urgent)
        try:
            yield
        finally:
            self._writer.release()

    @property
    def dialect(self) -> str:
        """The dialect name: "sqlite" or "postgresql"."""
        return self.engine.dialect.name

    def session(self) -> AsyncSession:
        """A new session; it connects on first use. Close it (``async with``) when done."""
        return self._sessions()

    async def ping(self) -> bool:
        """True when the database answers ``SELECT 1`` within PING_TIMEOUT_S seconds."""
        try:
            async with asyncio.timeout(PING_TIMEOUT_S), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            log.warning("database ping failed: %s", exc)
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"
