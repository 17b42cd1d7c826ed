"""The service's clock: time-zone aware UTC, injectable everywhere as a `Clock`."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
