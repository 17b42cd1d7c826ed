"""Who may look at a report from a chat, and how often a sender may try.

Tickets are sequential, so anyone can guess them: only the reporting contact, or whoever holds
the report's access code (given to the reporter when filing: `cek MDN-00042 K7M3QX`), may see a
report's status or add to it. Everyone else gets the answer an unknown ticket gets. A sender
whose lookups keep being refused (probing tickets, guessing codes) is stopped for a while: an
in-process limit, per worker, that needs no Redis.
"""

from __future__ import annotations

import hmac
import secrets
from collections import OrderedDict, deque
from datetime import datetime, timedelta

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud, typed on keypads
CODE_LENGTH = 6  # 31**6, about 887 million codes
REFUSALS = 10  # refused lookups a sender may make ...
WINDOW = timedelta(minutes=10)  # ... within this long before further lookups are refused
MAX_SENDERS = 100_000  # senders remembered at once (the longest quiet are forgotten first)


def new_access_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def code_matches(expected: str | None, given: str) -> bool:
    """The code given (any case, spaces around ignored) is the report's; constant time."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.strip().upper().encode())


class LookupLimit:
    """Counts each sender's refused lookups in a sliding window."""

    def __init__(
        self, refusals: int = REFUSALS, window: timedelta = WINDOW, max_senders: int = MAX_SENDERS
    ) -> None:
        self.refusals = refusals
        self.window = window
        self.max_senders = max_senders
        self._seen: OrderedDict[tuple[str, str], deque[datetime]] = OrderedDict()

    def blocked(self, channel: str, sender: str, now: datetime) -> bool:
        """Has the sender used up their refused lookups for now?"""
        times = self._seen.get((channel, sender))
        if times is None:
            return False
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._seen[(channel, sender)]
            return False
        return len(times) >= self.refusals

    def refused(self, channel: str, sender: str, now: datetime) -> None:
        """Count a lookup that was answered as if the ticket did not exist."""
        key = (channel, sender)
        times = self._seen.pop(key, None) or deque()
        times.append(now)
        self._seen[key] = times  # most recently refused last
        while len(self._seen) > self.max_senders:
            self._seen.popitem(last=False)
