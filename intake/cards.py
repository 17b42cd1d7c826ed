"""What officers see in their Telegram group: report cards, their buttons, and desk messages.

Pure: callers pass a `CardView` built from storage. Officer-facing sentences live here (in the
service's default language, Indonesian or English); what citizens read lives in intake/texts.py.

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

CHANNEL_NAMES = {"telegram": "Telegram", "whatsapp": "WhatsApp", "sms": "SMS", "console": "Konsol"}

DESK_TEXTS: dict[str, dict[str, str]] = {
    # short status names for officers
    "st_received": {"id": "Diterima", "en": "Received"},
    "st_verified": {"id": "Terverifikasi", "en": "Verified"},
    "st_in_progress": {"id": "Ditindaklanjuti", "en": "In progress"},
    "st_resolved": {"id": "Selesai", "en": "Resolved"},
    "st_rejected": {"id": "Ditolak", "en": "Rejected"},
    # card
    "card_category": {"id": "Kategori: {value}", "en": "Category: {value}"},
    "card_agency": {"id": "Dinas: {value}", "en": "Agency: {value}"},
    "card_location": {"id": "Lokasi: {value}", "en": "Location: {value}"},
    "card_time": {"id": "Masuk: {value}", "en": "Filed: {value}"},
    "card_channel": {"id": "Kanal: {value}", "en": "Channel: {value}"},
    "card_reporter": {"id": "Pelapor: {value}", "en": "Reporter: {value}"},
    "card_anonymous": {"id": "Pelapor: anonim", "en": "Reporter: anonymous"},
    "card_confidential": {
        "id": "Rahasia: isi laporan tidak untuk publik",
        "en": "Confidential: never to be published",
    },
    "card_counts": {
        "id": "Foto: {photos} · Dukungan warga: {supporters} · Tambahan: {additions}",
        "en": "Photos: {photos} · Supporters: {supporters} · Additions: {additions}",
    },
    "card_photos_elsewhere": {
        "id": "({count} foto dari {channel}, tersimpan di server)",
        "en": "({count} photos from {channel}, stored on the server)",
    },
    "card_history": {"id": "Riwayat:", "en": "History:"},
    "card_rating": {"id": "Nilai pelapor: {score}/5", "en": "Reporter's rating: {score}/5"},
    "card_closed": {"id": "Ditutup ({reason})", "en": "Closed ({reason})"},
    "closed_rated": {"id": "sudah dinilai", "en": "rated"},
    "closed_auto": {"id": "otomatis, tanpa tanggapan", "en": "automatically, no answer"},
    "card_duplicate": {"id": "Duplikat dari {ticket}", "en": "Duplicate of {ticket}"},
    "card_moved": {
        "id": "↪️ Dialihkan ke {agency}; ditangani di grupnya.",
        "en": "↪️ Passed to {agency}; handled in its group.",
    },
    "card_media": {"id": "📷 {ticket}", "en": "📷 {ticket}"},
    "actor_citizen": {"id": "pelapor", "en": "reporter"},
    "actor_system": {"id": "sistem", "en": "system"},
    "actor_api": {"id": "API", "en": "API"},
    # buttons
    "btn_verified": {"id": "✅ Verifikasi", "en": "✅ Verify"},
    "btn_in_progress": {"id": "🔧 Tindak lanjut", "en": "🔧 Act on it"},
    "btn_reopen": {"id": "🔁 Buka kembali", "en": "🔁 Reopen"},
    "btn_resolved": {"id": "🏁 Selesai", "en": "🏁 Resolved"},
    "btn_reject": {"id": "⛔ Tolak…", "en": "⛔ Reject…"},
    "btn_reassign": {"id": "↪️ Alihkan…", "en": "↪️ Reassign…"},
    "btn_back": {"id": "« Kembali", "en": "« Back"},
    "btn_duplicate": {"id": "Duplikat {ticket}", "en": "Duplicate of {ticket}"},
    "reason_outside_label": {"id": "Bukan wewenang", "en": "Not our remit"},
    "reason_outside": {
        "id": "di luar kewenangan pemerintah kota",
        "en": "outside the city government's remit",
    },
    "reason_spam_label": {"id": "Spam", "en": "Spam"},
    "reason_spam": {"id": "bukan pengaduan (spam)", "en": "not a complaint (spam)"},
    "reason_vague_label": {"id": "Kurang jelas", "en": "Too vague"},
    "reason_vague": {
        "id": "informasi kurang jelas; silakan lapor ulang dengan detail",
        "en": "too vague; please report again with details",
    },
    "reason_duplicate": {"id": "duplikat dari {ticket}", "en": "duplicate of {ticket}"},
    # answers to officers
    "moved": {
        "id": "{ticket}: {status} (oleh {officer}).",
        "en": "{ticket}: {status} (by {officer}).",
    },
    "moved_short": {"id": "Tersimpan: {status}", "en": "Saved: {status}"},
    "refused_same": {
        "id": "{ticket} sudah berstatus {status}.",
        "en": "{ticket} is {status} already.",
    },
    "refused_final": {
        "id": "{ticket} sudah ditolak; statusnya tidak bisa diubah lagi.",
        "en": "{ticket} was rejected; its status cannot change any more.",
    },
    "refused_closed": {
        "id": "{ticket} sudah selesai dan ditutup; tidak bisa diubah lagi.",
        "en": "{ticket} is resolved and closed; it cannot change any more.",
    },
    "refused_not_allowed": {
        "id": "{ticket} berstatus {status}; dari situ hanya bisa ke: {allowed}.",
        "en": "{ticket} is {status}; from there it can only go to: {allowed}.",
    },
    "refused_nothing": {"id": "tidak ada", "en": "nothing"},
    "refused_reason_required": {
        "id": "Menolak perlu alasan: /tolak {ticket} <alasan>",
        "en": "Rejecting needs a reason: /tolak {ticket} <reason>",
    },
    "refused_unknown_status": {
        "id": "Status tidak dikenal: {value}. Pilihan: verifikasi, proses, selesai, tolak.",
        "en": "Unknown status: {value}. Choose: verified, in_progress, resolved, rejected.",
    },
    "refused_changed": {
        "id": "{ticket} baru saja diubah petugas lain; coba lagi.",
        "en": "{ticket} was just changed by another officer; try again.",
    },
    "refused_reassign": {
        "id": "{ticket} berstatus {status}; hanya laporan terbuka yang bisa dialihkan.",
        "en": "{ticket} is {status}; only open reports can be reassigned.",
    },
    "refused_same_agency": {
        "id": "{ticket} sudah ditangani {agency}.",
        "en": "{ticket} is already with {agency}.",
    },
    "refused_self_duplicate": {
        "id": "Laporan tidak bisa menjadi duplikat dirinya sendiri.",
        "en": "A report cannot duplicate itself.",
    },
    "refused_duplicate_target": {
        "id": "{ticket} tidak bisa jadi laporan utama: statusnya {status}.",
        "en": "{ticket} cannot be the original: it is {status}.",
    },
    "not_found": {"id": "Tiket {ticket} tidak ditemukan.", "en": "Ticket {ticket} not found."},
    "wrong_group": {
        "id": "{ticket} ditangani di grup lain ({agency}).",
        "en": "{ticket} is handled in another group ({agency}).",
    },
    "chat_not_officers": {
        "id": "Grup ini belum terdaftar sebagai grup petugas.",
        "en": "This group is not registered as an officers' group.",
    },
    "user_not_officer": {
        "id": "Maaf, Anda belum terdaftar sebagai petugas.",
        "en": "Sorry, you are not registered as an officer.",
    },
    "unknown_agency": {
        "id": "Dinas tidak dikenal: {value}. Pilihan: {known}",
        "en": "Unknown agency: {value}. Choose: {known}",
    },
    "reassigned": {
        "id": "{ticket} dialihkan ke {agency} (oleh {officer}).",
        "en": "{ticket} passed to {agency} (by {officer}).",
    },
    "reassigned_short": {"id": "Dialihkan ke {agency}", "en": "Passed to {agency}"},
    "duplicate_marked": {
        "id": "{ticket} ditandai duplikat dari {original}; pelapornya kini mendukung {original}.",
        "en": "{ticket} marked a duplicate of {original}; its reporter now supports {original}.",
    },
    "replied": {
        "id": "Pesan diteruskan ke pelapor {ticket}.",
        "en": "Message passed to the reporter of {ticket}.",
    },
    "reply_text_only": {
        "id": "Hanya teks yang bisa diteruskan ke pelapor.",
        "en": "Only text can be passed to the reporter.",
    },
    "reply_which": {
        "id": "Balas kartu laporannya, atau: /balas <tiket> <pesan>",
        "en": "Reply to the report's card, or: /balas <ticket> <message>",
    },
    "menu_shown": {"id": "Pilih…", "en": "Choose…"},
    "error": {
        "id": "Maaf, perintah itu gagal diproses. Coba lagi sebentar lagi.",
        "en": "Sorry, that failed. Please try again shortly.",
    },
    "usage": {
        "id": (
            "Perintah petugas:\n"
            "/status <tiket> <verifikasi|proses|selesai|tolak> [catatan]\n"
            "/tolak <tiket> <alasan>\n"
            "/alihkan <tiket> <dinas>\n"
            "/duplikat <tiket> <tiket asli>\n"
            "/balas <tiket> <pesan>  (atau balas kartu laporannya)\n"
            "/laporan <tiket>\n"
            "/antrian"
        ),
        "en": (
            "Officer commands:\n"
            "/status <ticket> <verified|in_progress|resolved|rejected> [note]\n"
            "/tolak <ticket> <reason>\n"
            "/alihkan <ticket> <agency>\n"
            "/duplikat <ticket> <original ticket>\n"
            "/balas <ticket> <message>  (or reply to the report's card)\n"
            "/laporan <ticket>\n"
            "/antrian"
        ),
    },
    "queue_header": {
        "id": "Antrian: {count} laporan terbuka (terlama dulu)",
        "en": "Queue: {count} open reports (oldest first)",
    },
    "queue_line": {
        "id": "{ticket} · {status} · {category} · Kel. {kelurahan} · {days} hari kerja",
        "en": "{ticket} · {status} · {category} · Kel. {kelurahan} · {days} working days",
    },
    "queue_empty": {"id": "Tidak ada laporan terbuka. 🎉", "en": "No open reports. 🎉"},
    "queue_more": {"id": "… dan {count} lagi", "en": "… and {count} more"},
    # what citizens did, told to the group
    "citizen_added": {
        "id": "📝 Tambahan dari pelapor untuk {ticket}:\n{text}",
        "en": "📝 Addition from the reporter for {ticket}:\n{text}",
    },
    "citizen_added_other": {
        "id": "📝 Tambahan dari warga lain (bukan pelapor) untuk {ticket}:\n{text}",
        "en": "📝 Addition from another citizen (not the reporter) for {ticket}:\n{text}",
    },
    "citizen_photo": {
        "id": "📷 Foto tambahan dari pelapor untuk {ticket}",
        "en": "📷 Extra photo from the reporter for {ticket}",
    },
    "citizen_photo_other": {
        "id": "📷 Foto tambahan dari warga lain untuk {ticket}",
        "en": "📷 Extra photo from another citizen for {ticket}",
    },
    "citizen_photo_elsewhere": {
        "id": "📷 Foto tambahan untuk {ticket} (dari {channel}, tersimpan di server)",
        "en": "📷 Extra photo for {ticket} (from {channel}, stored on the server)",
    },
    "citizen_reopened": {
        "id": "🔁 {ticket} dibuka kembali oleh pelapor: belum beres. {note}",
        "en": "🔁 {ticket} reopened by the reporter: not fixed. {note}",
    },
    "citizen_rated": {
        "id": "⭐ Pelapor menilai {ticket}: {score}/5.",
        "en": "⭐ The reporter rated {ticket}: {score}/5.",
    },
    "reminder_header": {"id": "⏰ Pengingat batas waktu", "en": "⏰ Time limit reminder"},
    "reminder_verify": {
        "id": "Belum diverifikasi lewat {days} hari kerja:",
        "en": "Not verified after {days} working days:",
    },
    "reminder_respond": {
        "id": "Belum ditindaklanjuti lewat {days} hari kerja sejak verifikasi:",
        "en": "No follow-up {days} working days after verification:",
    },
    "reminder_line": {
        "id": "• {ticket} · {category} · Kel. {kelurahan} · masuk {filed}",
        "en": "• {ticket} · {category} · Kel. {kelurahan} · filed {filed}",
    },
}


def desk_text(key: str, lang: str, **values: object) -> str:
    entry = DESK_TEXTS[key]
    template = entry.get(lang) or entry["id"]
    return template.format(**values) if values else template


def status_name(status: str, lang: str) -> str:
    """A status as officers call it ("Terverifikasi")."""
    key = f"st_{status}"
    return desk_text(key, lang) if key in DESK_TEXTS else status


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
    shareable_photos: int = 0  # photos officers can see in Telegram (Telegram file ids)
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
    tz = catalog.tz
    icon = STATUS_ICONS.get(_status(view.status) or ReportStatus.RECEIVED, "")
    header = f"{icon} {view.ticket} · {status_name(view.status, lang)}"
    if view.closed:
        reason = desk_text(f"closed_{view.close_reason}", lang) if view.close_reason else "-"
        header += " · " + desk_text("card_closed", lang, reason=reason)
    lines = [header]
    if view.moved_to:
        lines.append(desk_text("card_moved", lang, agency=catalog.agency_name(view.moved_to)))
    lines.append(
        desk_text("card_category", lang, value=catalog.category_name(view.category_id, lang))
    )
    lines.append(desk_text("card_agency", lang, value=catalog.agency_name(view.agency_id)))
    lines.append(desk_text("card_location", lang, value=_place(view)))
    when = view.created_at.astimezone(tz).strftime("%d-%m-%Y %H:%M")
    lines.append(desk_text("card_time", lang, value=when))
    channel = CHANNEL_NAMES.get(view.channel, view.channel)
    lines.append(desk_text("card_channel", lang, value=channel))
    if view.anonymous or not view.reporter:
        lines.append(desk_text("card_anonymous", lang))
    else:
        lines.append(desk_text("card_reporter", lang, value=view.reporter))
    if view.confidential:
        lines.append(desk_text("card_confidential", lang))
    counts = desk_text(
        "card_counts",
        lang,
        photos=view.photos,
        supporters=view.supporters,
        additions=view.additions,
    )
    lines.append(counts)
    elsewhere = view.photos - view.shareable_photos
    if elsewhere > 0:
        lines.append(desk_text("card_photos_elsewhere", lang, count=elsewhere, channel=channel))
    if view.duplicate_of:
        lines.append(desk_text("card_duplicate", lang, ticket=view.duplicate_of))
    lines.append("")
    lines.append(_shorten(view.description, CARD_DESCRIPTION_CHARS))
    if view.events:
        lines.append("")
        lines.append(desk_text("card_history", lang))
        for event in list(view.events)[-CARD_EVENTS:]:
            at = event.at.astimezone(tz).strftime("%d-%m %H:%M")
            line = f"{at} {status_name(event.status, lang)} ({event.actor})"
            if event.note:
                line += f": {_shorten(event.note, 200)}"
            lines.append(line)
    if view.rating is not None:
        lines.append(desk_text("card_rating", lang, score=view.rating))
    return "\n".join(lines)


def card_choices(
    view: CardView, catalog: Catalog, lang: str, *, menu: str | None = None
) -> tuple[Choice, ...]:
    if view.moved_to:
        return ()
    ticket = view.ticket
    back = Choice(callback_value("bk", ticket), desk_text("btn_back", lang))
    if menu == MENU_REJECT and _can_reject(view):
        reasons = [
            Choice(callback_value("rr", ticket, code), desk_text(label, lang))
            for code, (label, _) in REJECT_REASONS.items()
        ]
        duplicates = [
            Choice(
                callback_value("dp", ticket, other), desk_text("btn_duplicate", lang, ticket=other)
            )
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
            choices.append(Choice(callback_value("rj", ticket), desk_text("btn_reject", lang)))
            continue
        key = f"btn_{target.value}"
        if target is ReportStatus.IN_PROGRESS and view.status == ReportStatus.RESOLVED:
            key = "btn_reopen"
        choices.append(Choice(callback_value("mv", ticket, target.value), desk_text(key, lang)))
    if can_reassign(view.status) and len(catalog.agencies) > 1:
        choices.append(Choice(callback_value("al", ticket), desk_text("btn_reassign", lang)))
    return tuple(choices)


def reject_reason(code: str, lang: str) -> str | None:
    found = REJECT_REASONS.get(code)
    return desk_text(found[1], lang) if found else None


def actor_name(actor: str, names: Mapping[str, str], lang: str) -> str:
    """How an event's actor reads on a card: an officer's name, "pelapor", "sistem"."""
    kind, _, who = actor.partition(":")
    if kind == "officer":
        return names.get(who, who or "?")
    if kind in ("citizen", "system", "api"):
        return desk_text(f"actor_{kind}", lang)
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
