"""What officers see in their Telegram group: report cards, their buttons, and desk messages.

Pure: callers pass a `CardView` built from storage. The sentences officers read (in the
service's default language, Indonesian or English) are in intake/desk_texts.py and come through
`catalog.texts.desk`, so an admin's `[texts.*] desk_<key>` overrides reach the cards too.

Button values (`callback_data`, at most 64 bytes) all start with "d:" and carry the ticket, so a
button keeps working on an old card and never depends on state kept elsewhere::

    d:mv:<ticket>:<status>     move to a status (verify, act, resolve, reopen)
    d:rj:<ticket>              show the reasons to reject
    d:rr:<ticket>:<reason>     reject for a reason code (REJECT_REASONS)
    d:dp:<ticket>:<original>   reject as a duplicate of another ticket
    d:al:<ticket>              show the agencies to reassign to
    d:ag:<ticket>:<agency>     reassign to an agency
    d:bk:<ticket>              back to the moves
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from intake.catalog import Catalog
from intake.desk_texts import DESK_CATALOGUE
from intake.lifecycle import allowed_moves, can_reassign
from intake.types import Choice, ReportStatus

MAX_CALLBACK_BYTES = 64
CARD_DESCRIPTION_CHARS = 1500
CARD_EVENTS = 6  # the latest events shown on a card

MENU_REJECT = "reject"
MENU_AGENCY = "agency"

STATUS_ICONS = {
    ReportStatus.RECEIVED: "🆕",
    ReportStatus.VERIFIED: "✅",
    ReportStatus.IN_PROGRESS: "🔧",
    ReportStatus.RESOLVED: "🏁",
    ReportStatus.REJECTED: "⛔",
}

# Reject reasons offered as buttons: code -> text key of (button label, reason kept as note).
REJECT_REASONS: dict[str, tuple[str, str]] = {
    "luar": ("reason_outside_label", "reason_outside"),
    "spam": ("reason_spam_label", "reason_spam"),
    "kabur": ("reason_vague_label", "reason_vague"),
}

CHANNEL_NAMES = {
    "telegram": "Telegram",
    "whatsapp": "WhatsApp",
    "sms": "SMS",
    "console": "Konsol",
    "open311": "Open311",
}


def status_name(status: str, catalog: Catalog, lang: str) -> str:
    """A status as officers call it ("Terverifikasi")."""
    key = f"st_{status}"
    return catalog.texts.desk(key, lang) if key in DESK_CATALOGUE else status


# --- callbacks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeskCallback:
    action: str  # "mv" | "rj" | "rr" | "dp" | "al" | "ag" | "bk"
    ticket: str
    argument: str = ""


_CALLBACK_ARITY = {"mv": 1, "rj": 0, "rr": 1, "dp": 1, "al": 0, "ag": 1, "bk": 0}


def callback_value(action: str, ticket: str, argument: str = "") -> str:
    value = f"d:{action}:{ticket}" + (f":{argument}" if argument else "")
    if len(value.encode("utf-8")) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data {value!r} is over {MAX_CALLBACK_BYTES} bytes")
    return value


def parse_callback(data: str) -> DeskCallback | None:
    parts = data.split(":")
    if len(parts) < 3 or parts[0] != "d" or parts[1] not in _CALLBACK_ARITY:
        return None
    action, ticket, rest = parts[1], parts[2], parts[3:]
    if not ticket or len(rest) != _CALLBACK_ARITY[action]:
        return None
    return DeskCallback(action, ticket, rest[0] if rest else "")


# --- cards ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardEvent:
    at: datetime
    status: str
    actor: str  # already a display name ("Budi", "pelapor", "sistem")
    note: str = ""


@dataclass(frozen=True)
class CardView:
    """A report as its card shows it. `reporter` is None for anonymous reports."""

    ticket: str
    status: str
    category_id: str | None
    agency_id: str | None
    description: str
    created_at: datetime
    channel: str
    anonymous: bool
    confidential: bool
    kelurahan: str | None = None
    kecamatan: str | None = None
    address: str | None = None
    reporter: str | None = None
    photos: int = 0
    shareable_photos: int = 0  # photos officers see in Telegram (by file id, or uploaded)
    voice_notes: int = 0  # the citizen's voice notes, stored on the server
    supporters: int = 0
    additions: int = 0
    events: Sequence[CardEvent] = ()
    rating: int | None = None
    closed: bool = False
    close_reason: str | None = None
    duplicate_of: str | None = None
    moved_to: str | None = None  # agency id, when this card's group no longer handles it
    duplicate_candidates: Sequence[str] = field(default_factory=tuple)


def render_card(
    view: CardView, catalog: Catalog, lang: str, *, menu: str | None = None
) -> tuple[str, tuple[Choice, ...]]:
    """The card's text and its buttons (none once nothing can be done from this group)."""
    return card_text(view, catalog, lang), card_choices(view, catalog, lang, menu=menu)


def card_text(view: CardView, catalog: Catalog, lang: str) -> str:
    text = catalog.texts.desk
    tz = catalog.tz
    icon = STATUS_ICONS.get(_status(view.status) or ReportStatus.RECEIVED, "")
    header = f"{icon} {view.ticket} · {status_name(view.status, catalog, lang)}"
    if view.closed:
        reason = text(f"closed_{view.close_reason}", lang) if view.close_reason else "-"
        header += " · " + text("card_closed", lang, reason=reason)
    lines = [header]
    if view.moved_to:
        lines.append(text("card_moved", lang, agency=catalog.agency_name(view.moved_to)))
    lines.append(text("card_category", lang, value=catalog.category_name(view.category_id, lang)))
    lines.append(text("card_agency", lang, value=catalog.agency_name(view.agency_id)))
    lines.append(text("card_location", lang, value=_place(view)))
    when = view.created_at.astimezone(tz).strftime("%d-%m-%Y %H:%M")
    lines.append(text("card_time", lang, value=when))
    channel = CHANNEL_NAMES.get(view.channel, view.channel)
    lines.append(text("card_channel", lang, value=channel))
    if view.anonymous or not view.reporter:
        lines.append(text("card_anonymous", lang))
    else:
        lines.append(text("card_reporter", lang, value=view.reporter))
    if view.confidential:
        lines.append(text("card_confidential", lang))
    counts = text(
        "card_counts",
        lang,
        photos=view.photos,
        supporters=view.supporters,
        additions=view.additions,
    )
    lines.append(counts)
    missing = view.photos - view.shareable_photos
    if missing > 0:
        lines.append(text("card_photos_missing", lang, count=missing, channel=channel))
    if view.voice_notes > 0:
        lines.append(text("card_voice_notes", lang, count=view.voice_notes, ticket=view.ticket))
    if view.duplicate_of:
        lines.append(text("card_duplicate", lang, ticket=view.duplicate_of))
    lines.append("")
    lines.append(_shorten(view.description, CARD_DESCRIPTION_CHARS))
    if view.events:
        lines.append("")
        lines.append(text("card_history", lang))
        for event in list(view.events)[-CARD_EVENTS:]:
            at = event.at.astimezone(tz).strftime("%d-%m %H:%M")
            line = f"{at} {status_name(event.status, catalog, lang)} ({event.actor})"
            if event.note:
                line += f": {_shorten(event.note, 200)}"
            lines.append(line)
    if view.rating is not None:
        lines.append(text("card_rating", lang, score=view.rating))
    return "\n".join(lines)


def card_choices(
    view: CardView, catalog: Catalog, lang: str, *, menu: str | None = None
) -> tuple[Choice, ...]:
    if view.moved_to:
        return ()
    text = catalog.texts.desk
    ticket = view.ticket
    back = Choice(callback_value("bk", ticket), text("btn_back", lang))
    if menu == MENU_REJECT and _can_reject(view):
        reasons = [
            Choice(callback_value("rr", ticket, code), text(label, lang))
            for code, (label, _) in REJECT_REASONS.items()
        ]
        duplicates = [
            Choice(callback_value("dp", ticket, other), text("btn_duplicate", lang, ticket=other))
            for other in view.duplicate_candidates[:3]
            if other != ticket
        ]
        return (*reasons, *duplicates, back)
    if menu == MENU_AGENCY and can_reassign(view.status):
        agencies = [
            Choice(callback_value("ag", ticket, agency.id), agency.name)
            for agency in catalog.agencies.values()
            if agency.id != view.agency_id
        ]
        return (*agencies, back)
    choices: list[Choice] = []
    for target in allowed_moves(view.status, closed=view.closed):
        if target is ReportStatus.REJECTED:
            choices.append(Choice(callback_value("rj", ticket), text("btn_reject", lang)))
            continue
        key = f"btn_{target.value}"
        if target is ReportStatus.IN_PROGRESS and view.status == ReportStatus.RESOLVED:
            key = "btn_reopen"
        choices.append(Choice(callback_value("mv", ticket, target.value), text(key, lang)))
    if can_reassign(view.status) and len(catalog.agencies) > 1:
        choices.append(Choice(callback_value("al", ticket), text("btn_reassign", lang)))
    return tuple(choices)


def reject_reason(code: str, catalog: Catalog, lang: str) -> str | None:
    found = REJECT_REASONS.get(code)
    return catalog.texts.desk(found[1], lang) if found else None


def actor_name(actor: str, names: Mapping[str, str], catalog: Catalog, lang: str) -> str:
    """How an event's actor reads on a card: an officer's name, "pelapor", "sistem"."""
    kind, _, who = actor.partition(":")
    if kind == "officer":
        return names.get(who, who or "?")
    if kind in ("citizen", "system", "api"):
        return catalog.texts.desk(f"actor_{kind}", lang)
    return actor


def _can_reject(view: CardView) -> bool:
    return ReportStatus.REJECTED in allowed_moves(view.status, closed=view.closed)


def _status(value: str) -> ReportStatus | None:
    try:
        return ReportStatus(value)
    except ValueError:
        return None


def _place(view: CardView) -> str:
    parts = [view.address] if view.address else []
    if view.kelurahan or view.kecamatan:
        parts.append(f"Kel. {view.kelurahan or '-'}, Kec. {view.kecamatan or '-'}")
    return " — ".join(parts) or "-"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
