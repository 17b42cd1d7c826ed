"""A report's lifecycle: statuses, the moves between them, and the SP4N-LAPOR! time limits.

Pure: no clock reads, no storage. Callers pass `now` and what they know about the report.

Moves (DESIGN.md, "Reports and their lifecycle")::

    received    -> verified | rejected
    verified    -> in_progress | resolved | rejected
    in_progress -> resolved | rejected
    resolved    -> in_progress          (reopened by the citizen or an officer)
    rejected    -> (final)

A resolved report is *closed* once the citizen rated it or `autoclose_days` passed without an
answer; a closed report cannot be reopened or rated any more. Closing is not a status of its own
(the status stays `resolved`), so dashboards keep counting it as resolved.

Time limits are counted in working days: Monday to Friday in the city's time zone, minus the
configured holidays (public holidays and cuti bersama). The auto-close limit counts calendar
days, as SP4N-LAPOR! does.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from intake.normalize import normalize
from intake.types import ReportStatus

RECEIVED = ReportStatus.RECEIVED
VERIFIED = ReportStatus.VERIFIED
IN_PROGRESS = ReportStatus.IN_PROGRESS
RESOLVED = ReportStatus.RESOLVED
REJECTED = ReportStatus.REJECTED

MOVES: dict[ReportStatus, tuple[ReportStatus, ...]] = {
    RECEIVED: (VERIFIED, REJECTED),
    VERIFIED: (IN_PROGRESS, RESOLVED, REJECTED),
    IN_PROGRESS: (RESOLVED, REJECTED),
    RESOLVED: (IN_PROGRESS,),
    REJECTED: (),
}

# Statuses in which the agency still owes the citizen something (and may be reassigned).
OPEN: frozenset[ReportStatus] = frozenset({RECEIVED, VERIFIED, IN_PROGRESS})


class Refusal(StrEnum):
    """Why a move is not allowed."""

    UNKNOWN_STATUS = "unknown_status"  # the target is not a status at all
    SAME = "same"  # the report already has that status
    FINAL = "final"  # rejected: nothing follows
    CLOSED = "closed"  # resolved and closed (rated or auto-closed)
    NOT_ALLOWED = "not_allowed"  # not one of MOVES[current]
    REASON_REQUIRED = "reason_required"  # rejecting needs a reason


def parse_status(value: str) -> ReportStatus | None:
    """A status from its machine name or a word officers type ("selesai", "proses", "tolak")."""
    text = normalize(value).replace(" ", "_")
    try:
        return ReportStatus(text)
    except ValueError:
        pass
    return _STATUS_WORDS.get(normalize(value))


_STATUS_WORDS: dict[str, ReportStatus] = {
    **dict.fromkeys(("diterima", "terima", "baru", "received"), RECEIVED),
    **dict.fromkeys(
        ("verifikasi", "verified", "terverifikasi", "verify", "valid", "diverifikasi"), VERIFIED
    ),
    **dict.fromkeys(
        (
            "proses",
            "diproses",
            "tindak",
            "tindak lanjut",
            "ditindaklanjuti",
            "sedang ditindaklanjuti",
            "dikerjakan",
            "in progress",
            "progress",
        ),
        IN_PROGRESS,
    ),
    **dict.fromkeys(("selesai", "beres", "tuntas", "resolved", "done", "solved"), RESOLVED),
    **dict.fromkeys(("tolak", "ditolak", "rejected", "reject"), REJECTED),
}


def as_status(value: str) -> ReportStatus | None:
    try:
        return ReportStatus(value)
    except ValueError:
        return None


def allowed_moves(status: str, *, closed: bool = False) -> tuple[ReportStatus, ...]:
    current = as_status(status)
    if current is None or (closed and current is RESOLVED):
        return ()
    return MOVES[current]


def check_move(
    status: str, target: ReportStatus | str | None, *, closed: bool = False, note: str = ""
) -> Refusal | None:
    """None when `status` may move to `target`; otherwise why not."""
    wanted = target if isinstance(target, ReportStatus) else as_status(target or "")
    if wanted is None:
        return Refusal.UNKNOWN_STATUS
    current = as_status(status)
    if current is wanted:
        return Refusal.SAME
    if current is REJECTED:
        return Refusal.FINAL
    if current is RESOLVED and closed:
        return Refusal.CLOSED
    if current is None or wanted not in MOVES[current]:
        return Refusal.NOT_ALLOWED
    if wanted is REJECTED and not note.strip():
        return Refusal.REASON_REQUIRED
    return None


def can_reassign(status: str) -> bool:
    current = as_status(status)
    return current is not None and current in OPEN


def is_open(status: str) -> bool:
    current = as_status(status)
    return current is not None and current in OPEN


# --- working days ------------------------------------------------------------------------------


def is_working_day(day: date, holidays: Collection[date] = ()) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_working_days(
    start: datetime, days: int, holidays: Collection[date], tz: tzinfo
) -> datetime:
    """The moment `days` working days after `start`.

    Counted in `tz`: each step moves to the next working day at the same time of day. A start
    outside working days (a Saturday, a holiday) counts from the beginning of the next working
    day, so a report filed on Saturday and one filed first thing on Monday are due together.
    """
    local = start.astimezone(tz)
    if not is_working_day(local.date(), holidays):
        day = _next_working_day(local.date(), holidays)
        local = datetime.combine(day, time(0, 0), tzinfo=tz)
    day = local.date()
    for _ in range(days):
        day = _next_working_day(day, holidays)
    due = datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=tz)
    return due.astimezone(start.tzinfo) if start.tzinfo else due


def working_days_between(
    start: datetime, end: datetime, holidays: Collection[date], tz: tzinfo
) -> int:
    """How many whole working days have passed from `start` to `end` (0 if end <= start)."""
    count = 0
    while add_working_days(start, count + 1, holidays, tz) <= end:
        count += 1
        if count > 3660:  # ten years: a guard, not a limit anyone reaches
            break
    return count


def _next_working_day(day: date, holidays: Collection[date]) -> date:
    day += timedelta(days=1)
    while not is_working_day(day, holidays):
        day += timedelta(days=1)
    return day


# --- time limits -------------------------------------------------------------------------------


class Reminder(StrEnum):
    VERIFY = "verify"  # received, not verified within verify_days working days
    RESPOND = "respond"  # verified, no follow-up within respond_days working days


@dataclass(frozen=True)
class SlaPolicy:
    verify_days: int = 3
    respond_days: int = 5
    autoclose_days: int = 10
    holidays: frozenset[date] = field(default_factory=frozenset)
    tz: tzinfo | None = None  # None: UTC

    @classmethod
    def of(
        cls,
        *,
        verify_days: int,
        respond_days: int,
        autoclose_days: int,
        holidays: Iterable[date] = (),
        tz: tzinfo | None = None,
    ) -> SlaPolicy:
        return cls(verify_days, respond_days, autoclose_days, frozenset(holidays), tz)

    def _tz(self, moment: datetime) -> tzinfo:
        return self.tz or moment.tzinfo or UTC

    def verify_due(self, filed_at: datetime) -> datetime:
        return add_working_days(filed_at, self.verify_days, self.holidays, self._tz(filed_at))

    def respond_due(self, verified_at: datetime) -> datetime:
        return add_working_days(
            verified_at, self.respond_days, self.holidays, self._tz(verified_at)
        )

    def autoclose_due(self, resolved_at: datetime) -> datetime:
        return resolved_at + timedelta(days=self.autoclose_days)

    def working_days(self, start: datetime, end: datetime) -> int:
        return working_days_between(start, end, self.holidays, self._tz(start))

    def reminder_due(
        self,
        status: str,
        *,
        filed_at: datetime,
        verified_at: datetime | None,
        now: datetime,
        already: Collection[Reminder] = (),
    ) -> Reminder | None:
        """The reminder a report needs now, if any (each kind is sent once per report)."""
        current = as_status(status)
        if (
            current is RECEIVED
            and Reminder.VERIFY not in already
            and now >= self.verify_due(filed_at)
        ):
            return Reminder.VERIFY
        if (
            current is VERIFIED
            and Reminder.RESPOND not in already
            and now >= self.respond_due(verified_at or filed_at)
        ):
            return Reminder.RESPOND
        return None

    def should_autoclose(
        self, status: str, *, resolved_at: datetime | None, closed: bool, now: datetime
    ) -> bool:
        if as_status(status) is not RESOLVED or closed or resolved_at is None:
            return False
        return now >= self.autoclose_due(resolved_at)
