"""Schema migrations, run from code: ``upgrade(database_url)`` brings a database to the latest
schema (creating a SQLite file and its directory if needed). No alembic.ini is involved.

The application's async URL is accepted; migrations run over the matching synchronous driver.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import URL, make_url

from storage.db import ensure_sqlite_dir, sqlite_file

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

_SYNC_DRIVERS = {
    "sqlite+aiosqlite": "sqlite",
    "postgresql+asyncpg": "postgresql+psycopg",
    "postgresql+psycopg_async": "postgresql+psycopg",
}


def sync_url(database_url: str | URL) -> URL:
    """The URL with a synchronous driver: sqlite+aiosqlite -> sqlite; psycopg is both."""
    url = make_url(database_url)
    return url.set(drivername=_SYNC_DRIVERS.get(url.drivername, url.drivername))


def alembic_config(database_url: str | URL) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Passed as an attribute, not an option: ConfigParser would treat "%" in passwords specially.
    config.attributes["url"] = sync_url(database_url).render_as_string(hide_password=False)
    return config


def upgrade(database_url: str | URL, revision: str = "head") -> None:
    """Migrate the database to `revision` (default: the latest)."""
    ensure_sqlite_dir(make_url(database_url))
    command.upgrade(alembic_config(database_url), revision)


def current(database_url: str | URL) -> str | None:
    """The database's current revision, or None if it was never migrated."""
    url = sync_url(database_url)
    path = sqlite_file(url)
    if path is not None and not path.expanduser().exists():
        return None  # do not create an empty database just to look at it
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head() -> str | None:
    """The latest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
