"""Replies that did not go out: dead letters (the platform refused them for good, or nothing can
send their channel) and replies held until the citizen writes again, as people see them in the
REST API (`GET /api/outbox`), on the dashboard and in `lapor outbox`.

A row is described without the recipient's chat id (a phone number, often) and with only the
start of its text, enough to recognise it.
"""

from __future__ import annotations

from typing import Any

from storage.models import OUTBOX_DEAD, OUTBOX_WAITING, OutboxMessage

UNSENT = (OUTBOX_DEAD, OUTBOX_WAITING)  # what `lapor outbox` lists and retries by default
PREVIEW_CHARS = 60


def preview(row: OutboxMessage) -> str:
    """The start of the reply's text, on one line."""
    text = row.payload.get("text") if isinstance(row.payload, dict) else None
    line = " ".join(str(text or "").split())
    return line if len(line) <= PREVIEW_CHARS else line[: PREVIEW_CHARS - 1] + "…"


def ticket_of(row: OutboxMessage) -> str | None:
    """The ticket a status notification is about, if the row is one."""
    notice = row.payload.get("notice") if isinstance(row.payload, dict) else None
    return str(notice["ticket"]) if isinstance(notice, dict) and notice.get("ticket") else None


def describe(row: OutboxMessage) -> dict[str, Any]:
    return {
        "id": row.id,
        "channel": row.channel,
        "status": row.status,
        "attempts": row.attempts,
        "error": row.last_error,
        "ticket": ticket_of(row),
        "text": preview(row),
        "created_at": row.created_at.isoformat(),
        "due_at": row.due_at.isoformat(),
    }


def table(rows: list[OutboxMessage]) -> str:
    """Rows as a plain-text table for the terminal."""
    lines = [f"{'id':>7}  {'channel':<9} {'status':<8} {'tries':>5}  {'created (UTC)':<16}  error"]
    for row in rows:
        lines.append(
            f"{row.id:>7}  {row.channel:<9} {row.status:<8} {row.attempts:>5}  "
            f"{row.created_at.strftime('%Y-%m-%d %H:%M'):<16}  {row.last_error or '-'}"
        )
        lines.append(f"{'':>7}  {ticket_of(row) or '':<9} {preview(row)}")
    return "\n".join(lines)
