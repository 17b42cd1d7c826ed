"""Who is chatting, and whether a request really comes from our own page.

The browser keeps a random token in an HttpOnly, SameSite=Lax cookie (sent when a citizen
follows a link to the page, never with another site's requests); the conversation's
chat id is a hash of it, so what the database holds (contacts, inbox, outbox, sessions) never
lets anyone act as that browser. No account, no name, no number.

Cross-site request forgery: a request that changes something must come from a page of our own
origin: the browser's `Origin` header must name the host the request was made to (or an
allowed origin), and `Sec-Fetch-Site`, when the browser sends it, must say "same-origin".
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Collection
from urllib.parse import urlsplit

from channels.base import Signature

COOKIE = "lapor_chat"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def chat_id_of(token: str | None) -> str | None:
    """The chat id of a cookie's token; None when the value is not one of our tokens."""
    if not token or not _TOKEN.fullmatch(token):
        return None
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def same_origin(
    origin: str | None, fetch_site: str | None, host: str | None, allowed: Collection[str]
) -> Signature:
    """VALID for a request from our own page; MISSING without an Origin; INVALID otherwise."""
    if fetch_site is not None and fetch_site.strip().lower() not in ("same-origin", "none"):
        return Signature.INVALID
    if not origin:
        return Signature.MISSING
    origin = origin.strip().rstrip("/")
    if origin in allowed:
        return Signature.VALID
    try:
        parts = urlsplit(origin)
    except ValueError:
        return Signature.INVALID
    if parts.scheme not in ("http", "https") or not parts.netloc or not host:
        return Signature.INVALID
    return Signature.VALID if parts.netloc.lower() == host.strip().lower() else Signature.INVALID
