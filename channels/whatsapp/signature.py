"""The webhook signature: ``X-Hub-Signature-256``, an HMAC of the raw body with the app secret."""

from __future__ import annotations

import hashlib
import hmac

from channels.base import Signature, check_secret

SIGNATURE_HEADER = "X-Hub-Signature-256"


def check_signature(app_secret: str, body: bytes, header: str | None) -> Signature:
    """Compare ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app_secret, body)>`` in constant
    time. An empty app secret never validates anything."""
    if not header or not header.strip():
        return Signature.MISSING
    scheme, _, given = header.strip().partition("=")
    if scheme.strip().lower() != "sha256" or not app_secret:
        return Signature.INVALID
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(given.strip().lower().encode(), expected.encode())
    return Signature.VALID if ok else Signature.INVALID


def sign(app_secret: str, body: bytes) -> str:
    """The header value Meta would send for `body` (for tests and local tools)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def check_verify_token(verify_token: str, given: str | None) -> Signature:
    """Meta's subscription handshake: ``hub.verify_token`` must equal ours (constant time)."""
    return check_secret(verify_token, given)
