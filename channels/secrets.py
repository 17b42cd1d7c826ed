"""Keep platform secrets out of logs and error messages.

Tokens end up in URLs (Telegram puts the bot token in every API path), and libraries log URLs:
httpx at INFO, python-telegram-bot at DEBUG. Rather than chase each logger, every log record
made in this process is scrubbed of the registered secrets before any handler sees it.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any
from urllib.parse import quote

MASK = "<secret>"
_MIN_LENGTH = 6  # shorter "secrets" would mask ordinary words

_lock = threading.Lock()
_pattern: re.Pattern[str] | None = None
_secrets: set[str] = set()
_installed = False


def register_secret(secret: str) -> None:
    """Mask `secret` (and its URL-encoded form, in any letter case) in every log record."""
    global _pattern
    if len(secret) < _MIN_LENGTH:
        return
    with _lock:
        _secrets.add(secret)
        forms = {re.escape(s) for s in _secrets} | {re.escape(quote(s, safe="")) for s in _secrets}
        _pattern = re.compile("|".join(sorted(forms, key=len, reverse=True)), re.IGNORECASE)
        _install()


def redact(text: str) -> str:
    pattern = _pattern
    return pattern.sub(MASK, text) if pattern else text


def _install() -> None:
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _pattern is not None:
            try:
                message = record.getMessage()
            except Exception:  # a malformed record: leave it to the handler's own error path
                return record
            clean = redact(message)
            if clean != message:
                record.msg, record.args = clean, None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
