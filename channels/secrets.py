"""Keep platform secrets and citizens' numbers out of logs and error messages.

Tokens end up in URLs (Telegram puts the bot token in every API path; a dashboard link or
Meta's verification request carries a token in its query), and libraries log URLs: httpx at
INFO, python-telegram-bot at DEBUG, uvicorn's access log at INFO. Rather than chase each logger,
every log record made in this process is scrubbed before any handler sees it:

- each registered secret, whatever its length, as given and URL-encoded (long ones in any
  letter case) becomes ``<secret>``; a secret shorter than 6 characters may also hide an
  ordinary word that happens to contain it, the price of never printing it;
- phone numbers (``+62 812-3456-7890``) and runs of 9 or more digits (``081234567890``, chat
  and user ids) become ``<number>``.

Records keep their shape: each argument is scrubbed in place, so formatters that read
``record.args`` (uvicorn's access log does) still work; a traceback is formatted and scrubbed
when the record is made.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "<secret>"
NUMBER_MASK = "<number>"
_CASE_FOLDED = 6  # secrets this long are masked in any letter case; shorter ones exactly

# +62 812-3456-7890, +6281234567890; 081234567890, 555000111 (not inside a word or token).
_NUMBERS = re.compile(r"\+\d[\d -]{7,16}\d|(?<![\w+])\d{9,}(?!\w)")

_lock = threading.Lock()
_pattern: re.Pattern[str] | None = None
_secrets: set[str] = set()
_installed = False


def register_secret(secret: str) -> None:
    """Mask `secret` (and its URL-encoded forms) in every log record from now on."""
    global _pattern
    if not secret:
        return
    with _lock:
        _secrets.add(secret)
        long_forms: set[str] = set()
        short_forms: set[str] = set()
        for s in _secrets:
            forms = {s, quote(s, safe=""), quote_plus(s, safe="")}
            (long_forms if len(s) >= _CASE_FOLDED else short_forms).update(forms)
        alternatives = []
        if long_forms:
            alternatives.append("(?i:" + _alternation(long_forms) + ")")
        if short_forms:
            alternatives.append(_alternation(short_forms))
        _pattern = re.compile("|".join(alternatives))
    install_scrubbing()


def _alternation(forms: set[str]) -> str:
    return "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))


def redact(text: str) -> str:
    """`text` without any registered secret."""
    pattern = _pattern
    return pattern.sub(MASK, text) if pattern else text


def scrub(text: str) -> str:
    """`text` without registered secrets, phone numbers or long digit runs (ids)."""
    return _NUMBERS.sub(NUMBER_MASK, redact(text))


def install_scrubbing() -> None:
    """Scrub every log record made from now on in this process (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _scrub_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


def _scrub_record(record: logging.LogRecord) -> None:
    if record.exc_info and not record.exc_text:
        record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)
    try:
        message = record.getMessage()
    except Exception:  # a malformed record: leave it to the handler's own error path
        return
    clean = scrub(message)
    if clean == message:
        return
    msg = scrub(record.msg) if isinstance(record.msg, str) else record.msg
    args = record.args
    scrubbed: Any
    if isinstance(args, Mapping):
        scrubbed = {key: _scrub_arg(value) for key, value in args.items()}
    elif isinstance(args, tuple):
        scrubbed = tuple(_scrub_arg(value) for value in args)
    else:
        scrubbed = args
    try:
        shaped = str(msg) % scrubbed if scrubbed else str(msg)
    except (TypeError, ValueError, KeyError):
        shaped = None
    if shaped is not None and scrub(shaped) == shaped:
        record.msg, record.args = msg, scrubbed  # same shape: formatters reading args still work
    else:
        record.msg, record.args = clean, ()


def _scrub_arg(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return scrub(value)
    text = str(value)
    clean = scrub(text)
    return value if clean == text else clean
