"""Schema migrations, run from code: ``upgrade(database_url)`` brings a database to the latest
schema (creating a SQLite file and its directory if needed). No alembic.ini is involved.

The application's async URL is accepted; migrations run over the matching synchronous driver.

Alembic is imported only when a migration runs or is looked up: start-up first asks
`is_current()`, a plain query against the revision named by the newest migration file, so a
service whose schema is up to date starts without loading alembic (time and memory).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import URL, make_url

from storage.db import ensure_sqlite_dir, sqlite_file

if TYPE_CHECKING:
    from alembic.config import Config

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
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Passed as an attribute, not an option: ConfigParser would treat "%" in passwords specially.
    config.attributes["url"] = sync_url(database_url).render_as_string(hide_password=False)
    return config


def upgrade(database_url: str | URL, revision: str = "head") -> None:
    """Migrate the database to `revision` (default: the latest)."""
    from alembic import command

    ensure_sqlite_dir(make_url(database_url))
    command.upgrade(alembic_config(database_url), revision)


def current(database_url: str | URL) -> str | None:
    """The database's current revision, or None if it was never migrated."""
    url = sync_url(database_url)
    path = sqlite_file(url)
    if path is not None and not path.expanduser().exists():
        return None  # do not create an empty database just to look at it
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head() -> str | None:
    """The latest revision the code knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


_REVISION = re.compile(r'^(down_revision|revision)\b[^=]*=\s*"([^"]+)"', re.MULTILINE)


def _file_head() -> str | None:
    """The one revision no migration file builds on, read from the files; None if unclear."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        if "revision" not in found:
            return None
        revisions.add(found["revision"])
        if "down_revision" in found:
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def is_current(database_url: str | URL) -> bool:
    """True when the database is at the newest migration (without loading alembic); False
    when it is not, or when that cannot be told this way (then ask alembic)."""
    url = sync_url(database_url)
    path = sqlite_file(url)
    if path is not None and not path.expanduser().exists():
        return False
    newest = _file_head()
    if newest is None:
        return False
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except Exception:  # noqa: BLE001 - no table yet, or unreadable: alembic decides
        return False
    finally:
        engine.dispose()
    return [row[0] for row in rows] == [newest]
