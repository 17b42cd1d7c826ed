"""The few statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

InsertIgnoring = postgresql.Insert | sqlite.Insert


def insert_ignoring_conflicts(dialect: str, model: Any, *index_elements: str) -> InsertIgnoring:
    """``INSERT ... ON CONFLICT (index_elements) DO NOTHING`` into `model`'s table.

    Add ``.values(...)`` and, if wanted, ``.returning(...)``: a conflicting row returns nothing.
    """
    if dialect == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing(index_elements=list(index_elements))
    if dialect == "sqlite":
        return sqlite.insert(model).on_conflict_do_nothing(index_elements=list(index_elements))
    raise NotImplementedError(f"unsupported database dialect {dialect!r}")
