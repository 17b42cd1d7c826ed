"""WhatsApp click-to-chat links: wa.me/<number>?text=<prefilled message>, the number in
international form with digits only (no "+", spaces or dashes)."""

from __future__ import annotations

from urllib.parse import quote


def digits(number: str) -> str:
    """ "+62 812-3456-7890" -> "6281234567890" (the number must be in international form)."""
    return "".join(ch for ch in number if ch.isdigit())


def click_to_chat(number: str, text: str) -> str:
    return f"https://wa.me/{digits(number)}?text={quote(text, safe='')}"
