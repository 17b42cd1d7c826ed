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


def insert_or_update(
    dialect: str,
    model: Any,
    values: dict[str, Any],
    index_elements: tuple[str, ...],
    update: tuple[str, ...],
) -> InsertIgnoring:
    """``INSERT ... ON CONFLICT (index_elements) DO UPDATE`` setting the columns in `update` to
    the inserted row's values: one statement where a read, an insert and an update were three.
    Add ``.returning(...)`` to read the row as it now is."""
    table = model.__table__
    if dialect == "postgresql":
        stmt: InsertIgnoring = postgresql.insert(table).values(**values)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).values(**values)
    else:
        raise NotImplementedError(f"unsupported database dialect {dialect!r}")
    excluded = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=list(index_elements), set_={name: excluded[name] for name in update}
    )
