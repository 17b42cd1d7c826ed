"""A Reply as the web chat page shows it: the text, its choices as buttons the citizen clicks,
and a "share my location" button when the question asks for a place."""

from __future__ import annotations

from typing import Any

from intake.types import Reply


def render(reply: Reply) -> dict[str, Any]:
    """The JSON the page draws (text is shown as text, never as HTML)."""
    shown: dict[str, Any] = {
        "text": reply.text,
        "choices": [
            {"value": c.value, "label": c.label, "description": c.description}
            for c in reply.choices
        ],
        "request_location": reply.request_location,
    }
    if reply.notice is not None:  # a status update about a ticket, sent without asking
        shown["ticket"] = reply.notice.ticket
    return shown
