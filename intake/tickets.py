"""Ticket numbers: "MDN-00042".

A ticket is the configured prefix, a dash and the report's number zero-padded to five digits
(it simply grows past 99999). Citizens type tickets loosely ("mdn 42", "MDN00042", "#42"), so
`parse_ticket` accepts those and returns the canonical form.
"""

from __future__ import annotations

import re

TICKET_DIGITS = 5
_MAX_DIGITS = 12  # anything longer is not a ticket someone typed from a message


def format_ticket(prefix: str, number: int) -> str:
    """The canonical ticket for report `number` (1, 2, ...) under `prefix`."""
    if number < 1:
        raise ValueError(f"ticket numbers start at 1, got {number}")
    return f"{prefix}-{number:0{TICKET_DIGITS}d}"


def parse_ticket(text: str, prefix: str) -> str | None:
    """The canonical ticket the citizen meant, or None if `text` is not one.

    Accepted (case-insensitive, surrounding spaces ignored): "MDN-00042", "mdn-42", "MDN00042",
    "mdn 42", "#42", "42". The prefix is optional, but a different prefix is not accepted.
    """
    pattern = rf"#?\s*(?:{re.escape(prefix)}\s*-?\s*)?([0-9]{{1,{_MAX_DIGITS}}})"
    match = re.fullmatch(pattern, text.strip(), flags=re.IGNORECASE)
    if match is None:
        return None
    number = int(match.group(1))
    if number < 1:
        return None
    return format_ticket(prefix, number)
