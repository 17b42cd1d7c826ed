"""The web chat's address, and its form that names a campaign (/chat?campaign=<id>)."""

from __future__ import annotations

from urllib.parse import quote

CHAT_PATH = "/chat"


def chat_link(public_url: str, campaign: str) -> str:
    return f"{public_url.rstrip('/')}{CHAT_PATH}?campaign={quote(campaign, safe='')}"
