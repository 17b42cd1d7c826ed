"""Persistence: tables, engine, repositories, unit of work, inbox and outbox.

Imports only domain types from `intake`; nothing from `bot` or `channels`.
"""

from storage.db import Database
from storage.errors import ConcurrentUpdate, StorageError
from storage.store import Store
from storage.unit_of_work import UnitOfWork

__all__ = ["ConcurrentUpdate", "Database", "StorageError", "Store", "UnitOfWork"]
