"""Errors the storage layer raises on purpose."""

from __future__ import annotations


class StorageError(Exception):
    """Base class of storage errors."""


class ConcurrentUpdate(StorageError):
    """Someone else saved the row first: reload and retry (optimistic locking)."""

    def __init__(self, what: str, key: object, expected_version: int | None) -> None:
        super().__init__(
            f"{what} {key!r} changed concurrently (expected version {expected_version})"
        )
        self.what = what
        self.key = key
        self.expected_version = expected_version
