"""Logging for `lapor` and its worker processes: one level, and what never reaches the log.

`--log-level` (or `LAPOR_LOG_LEVEL`) sets the level of our own loggers and of the libraries'.
Whatever the level, no log line holds a configured secret or a citizen's identity:

- every record is scrubbed by `channels.secrets` (configured secrets of any length, also
  URL-encoded; phone numbers and other runs of 9 or more digits, i.e. chat and user ids);
- libraries that log payloads are held at a level where they do not: python-telegram-bot logs
  each Bot API call's parameters and answer (chat ids, texts, citizens' names) at DEBUG, so it
  stays at INFO; SQLAlchemy logs statements with their parameters (names, numbers, texts) at
  INFO and aiosqlite at DEBUG, so both stay at WARNING (and the engine hides parameters in its
  error messages too: `storage.db`).

Our own log lines name tickets, channels, row ids and error reasons, never a citizen's name,
number, chat id or message text.
"""

from __future__ import annotations

import logging
import os

from channels.secrets import install_scrubbing

LEVELS = ("debug", "info", "warning", "error")
LEVEL_ENV = "LAPOR_LOG_LEVEL"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Libraries whose records at lower levels carry payloads: the lowest level they may log at.
PAYLOAD_LOGGERS = {
    "telegram": logging.INFO,  # DEBUG: every Bot API call with its parameters and answer
    "sqlalchemy": logging.WARNING,  # INFO: every statement with its parameters
    "aiosqlite": logging.WARNING,  # DEBUG: every operation with its parameters
}


def level_from(name: str | None, default: str) -> int:
    """The level named on the command line, else by LAPOR_LOG_LEVEL, else `default`."""
    chosen = (name or os.environ.get(LEVEL_ENV) or default).strip().lower()
    if chosen not in LEVELS:
        chosen = default
    return int(logging.getLevelName(chosen.upper()))


def configure(level: int, *, fmt: str = FORMAT) -> None:
    """Log to stderr at `level`, scrubbed, with the payload loggers held back."""
    install_scrubbing()
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=level, format=fmt)
    root.setLevel(level)
    for name, lowest in PAYLOAD_LOGGERS.items():
        logging.getLogger(name).setLevel(max(level, lowest))


def uvicorn_level(level: int) -> str:
    """uvicorn's own log_level for ours (its access log is at INFO)."""
    return str(logging.getLevelName(level)).lower()
