"""Effects: what the pipeline must do after a step, carried with the replies in an Outcome."""

from __future__ import annotations

from dataclasses import dataclass, field

from intake.flow.state import ConversationState
from intake.types import MediaRef, Reply, ReportDraft


@dataclass(frozen=True)
class FileReport:
    draft: ReportDraft
    campaign: str | None = None  # the campaign that brought the conversation (its id)


@dataclass(frozen=True)
class CheckStatus:
    ticket: str
    code: str = ""  # the report's access code, when the asker gave one ("cek MDN-00042 K7M3QX")


@dataclass(frozen=True)
class ConversationEnded:
    """For analytics: a report was abandoned at `step` ("cancelled" or "expired")."""

    step: str
    reason: str


@dataclass(frozen=True)
class FindDuplicates:
    """The draft is complete (the summary is on its way): if a similar report is open, the
    handler offers it for support with `duplicate_found`; otherwise nothing happens."""

    draft: ReportDraft
    # The summary sent with this effect: a found duplicate's offer replaces it (one question).
    summary: str = field(default="", compare=False)


@dataclass(frozen=True)
class RateReport:
    """The citizen rates a resolved report 1-5 (`ticket` None: their latest one awaiting it)."""

    ticket: str | None
    score: int


@dataclass(frozen=True)
class ReopenReport:
    """The citizen says a resolved report is not fixed ("belum beres")."""

    ticket: str | None
    note: str = ""


@dataclass(frozen=True)
class AddInfo:
    """Text or a photo (or a voice note: `photo` with an audio mime) for an open report.
    Neither: the citizen wants to start adding, so check the ticket and answer with
    `add_info_ready` (or say why not)."""

    ticket: str
    text: str = ""
    photo: MediaRef | None = None
    acknowledge: bool = True  # False for the rest of an album: one answer is enough


@dataclass(frozen=True)
class SupportReport:
    """The citizen supports an open report instead of filing a duplicate of it."""

    ticket: str


Effect = (
    FileReport
    | FindDuplicates
    | CheckStatus
    | ConversationEnded
    | RateReport
    | ReopenReport
    | AddInfo
    | SupportReport
)


@dataclass(frozen=True)
class Outcome:
    state: ConversationState
    replies: list[Reply] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
