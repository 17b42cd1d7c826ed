"""Shared fixtures: databases (SQLite file, fresh PostgreSQL database), Redis, a Store, and the
fake platform APIs over loopback HTTP (`fake_telegram`, `graph`, `fake_twilio`, `fake_gateway`).

PostgreSQL (127.0.0.1:5432, trust auth) and Redis (127.0.0.1:6379) are used when reachable; tests
that need them skip with the reason otherwise, or fail when LAPOR_TEST_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import getpass
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
from fake_sms import fake_gateway, fake_twilio  # noqa: F401  (fixtures: fake SMS providers)
from fake_telegram import fake_telegram  # noqa: F401  (fixture: a fake Telegram Bot API)
from fake_whatsapp import graph  # noqa: F401  (fixture: a fake WhatsApp Cloud API)
from psycopg import sql

from storage import Database, Store
from storage.migrate import upgrade

PG_HOST, PG_PORT, PG_ADMIN_DB = "127.0.0.1", 5432, "test"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def service_unavailable(message: str) -> NoReturn:
    """Skip the test, or fail it when services are required (LAPOR_TEST_REQUIRE_SERVICES=1)."""
    if os.environ.get("LAPOR_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " (required: LAPOR_TEST_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(message)


def _pg_admin_connection() -> tuple[psycopg.Connection, str]:
    errors: list[str] = []
    for user in dict.fromkeys(["postgres", getpass.getuser()]):
        dsn = f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{PG_ADMIN_DB}"
        try:
            return psycopg.connect(dsn, autocommit=True, connect_timeout=3), user
        except psycopg.Error as exc:
            errors.append(f"{user}: {' '.join(str(exc).split())}")
    service_unavailable(f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT}: " + "; ".join(errors))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file (not yet created) in the test's temporary directory."""
    return f"sqlite+aiosqlite:///{tmp_path / 'db' / 'lapor.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test, dropped afterwards."""
    admin, user = _pg_admin_connection()
    name = f"lapor_test_{uuid.uuid4().hex[:12]}"
    try:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        yield f"postgresql+psycopg://{user}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.close()


_URL_FIXTURES = {"sqlite": "sqlite_url", "postgresql": "postgres_url"}


@pytest.fixture(params=list(_URL_FIXTURES))
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated database URL, once per database kind (test ids "sqlite", "postgresql")."""
    url: str = request.getfixturevalue(_URL_FIXTURES[request.param])
    upgrade(url)
    return url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    store = Store(Database(database_url))
    try:
        yield store
    finally:
        await store.dispose()


@pytest.fixture
def redis_url() -> str:
    """Redis at 127.0.0.1:6379 (database 0); skips (or fails) when it does not answer PING."""
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            answer = sock.recv(64)
    except OSError as exc:
        service_unavailable(f"Redis not reachable at {REDIS_HOST}:{REDIS_PORT}: {exc}")
    if not answer.startswith(b"+PONG"):
        service_unavailable(f"Redis at {REDIS_HOST}:{REDIS_PORT} answered PING with {answer!r}")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/0"
