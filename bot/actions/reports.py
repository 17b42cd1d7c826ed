"""What every action on a filed report shares: finding it, its officer card, notifying citizens.

Officers act from their Telegram group (`bot.desk`) or through the REST API (`bot.web.api`), both
through `bot.actions.officer`; citizens rate, reopen, add information and support reports
through the pipeline (`bot.actions.citizen`). Every action runs inside the caller's unit of
work and:

- checks the lifecycle (intake/lifecycle.py) and refuses with the reason (`ActionError`);
- records a status event with the actor ("officer:<telegram user id>", "api", "citizen",
  "system") and updates the report with a compare-and-set on its status, so two officers
  pressing at once cannot both win;
- queues the citizen's notification in the outbox, on the citizen's own channel and in their
  language, marked with `Reply.notice = StatusNotice(ticket, label)` (WhatsApp sends those as a
  template outside its 24-hour window); supporters of the report get status updates too;
- marks the report's cards for re-rendering (`ReportCard.refresh_due_at`); the desk's card
  worker edits them in place after the transaction commits.

Anonymous reports never reveal their reporter: cards, /laporan and the API show no name, phone
or chat; officers reach the reporter only through the bot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from intake import flow
from intake.cards import (
    CardEvent,
    CardView,
    actor_name,
    render_card,
)
from intake.catalog import Catalog
from intake.duplicates import ReportSketch, find_duplicates
from intake.lifecycle import OPEN
from intake.status import status_label
from intake.tickets import parse_ticket
from intake.types import (
    ChannelCapabilities,
    Choice,
    GeoPoint,
    Reply,
    ReportDraft,
    ReportStatus,
    StatusNotice,
    conversation_key,
)
from storage import UnitOfWork
from storage.models import (
    FETCH_FAILED,
    FETCH_LINK,
    FROM_CITIZEN,
    Attachment,
    Contact,
    Report,
    ReportCard,
)

if TYPE_CHECKING:
    from bot.core.ports import ConversationStore

log = logging.getLogger(__name__)

ACTOR_CITIZEN = "citizen"
ACTOR_SYSTEM = "system"
ACTOR_API = "api"
DUPLICATE_WINDOW = timedelta(days=90)  # open reports older than this are not offered
TELEGRAM = "telegram"
MAX_CARD_PHOTOS = 10
MAX_CARD_VOICES = 5  # voice notes played in the group with the card (the card counts them all)
PHOTO, DOCUMENT, VOICE = "photo", "document", "voice"  # how the group is shown a file


@dataclass(frozen=True)
class Actor:
    id: str  # "officer:<telegram user id>", "api", "citizen", "system"
    name: str = ""  # how officers see them on cards

    @classmethod
    def officer(cls, user_id: str, name: str) -> Actor:
        return cls(f"officer:{user_id}", name or user_id)

    @property
    def display(self) -> str:
        return self.name or self.id


class ActionError(Exception):
    """An action refused; `message` is for officers, `code` maps to an HTTP status."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # "not_found" | "refused" | "invalid"
        self.message = message


@dataclass
class DeskEnv:
    """What actions need besides the unit of work."""

    catalog: Catalog
    now: datetime
    capabilities: Mapping[str, ChannelCapabilities] = field(default_factory=dict)
    conversations: ConversationStore | None = None  # where citizens' languages are found

    @property
    def lang(self) -> str:
        return self.catalog.default_language

    def text(self, key: str, **values: object) -> str:
        return self.catalog.texts.desk(key, self.lang, **values)


# --- reading -------------------------------------------------------------------------------


async def find_report(uow: UnitOfWork, ticket: str, env: DeskEnv) -> Report:
    canonical = parse_ticket(ticket, env.catalog.ticket_prefix) or ticket.strip().upper()
    report = await uow.reports.get(canonical)
    if report is None or report.id is None:
        raise ActionError("not_found", env.text("not_found", ticket=ticket))
    return report


async def is_closed(uow: UnitOfWork, report: Report) -> bool:
    assert report.id is not None
    state = await uow.desk.state(report.id)
    return state is not None and state.closed_at is not None


async def card_view(
    uow: UnitOfWork,
    env: DeskEnv,
    report: Report,
    *,
    moved_to: str | None = None,
    with_candidates: bool = False,
) -> CardView:
    """The report as cards show it (never the reporter of an anonymous report)."""
    assert report.id is not None
    state = await uow.desk.state(report.id)
    attachments = [a for a in await uow.reports.attachments(report.id) if not is_link(a)]
    photos = [a for a in attachments if not _is_voice(a)]
    supporters = await uow.desk.supporters(report.id)
    counts = await uow.desk.message_counts(report.id)
    events = await uow.reports.timeline(report.id)
    officers = {e.actor.partition(":")[2] for e in events if e.actor.startswith("officer:")}
    names = await uow.desk.officer_names(officers)
    reporter = None
    if not report.anonymous and report.contact_id is not None:
        contact = await uow.session.get(Contact, report.contact_id)
        if contact is not None:
            parts = [p for p in (contact.display_name, contact.phone) if p]
            reporter = " · ".join(parts) or None
    duplicate_of = None
    if state is not None and state.duplicate_of is not None:
        original = await uow.reports.get_by_id(state.duplicate_of)
        duplicate_of = original.ticket if original else None
    candidates: tuple[str, ...] = ()
    if with_candidates:
        found = await duplicates_of_report(uow, env, report)
        candidates = tuple(found)
    return CardView(
        ticket=report.ticket,
        status=report.status,
        category_id=report.category_id,
        agency_id=report.agency_id,
        description=report.description,
        created_at=report.created_at,
        channel=report.channel,
        anonymous=report.anonymous,
        confidential=report.confidential,
        kelurahan=report.kelurahan,
        kecamatan=report.kecamatan,
        address=report.address,
        reporter=reporter,
        photos=len(photos),
        shareable_photos=len([p for p in photos if _shown(p)]),
        voice_notes=len(attachments) - len(photos),
        supporters=len(supporters),
        additions=counts.get(FROM_CITIZEN, 0),
        events=[
            CardEvent(
                e.created_at,
                e.status,
                actor_name(e.actor, names, env.catalog, env.lang),
                e.note or "",
            )
            for e in events
        ],
        rating=state.rating if state else None,
        closed=bool(state and state.closed_at),
        close_reason=state.close_reason if state else None,
        duplicate_of=duplicate_of,
        moved_to=moved_to,
        duplicate_candidates=candidates,
    )


def is_link(attachment: Attachment) -> bool:
    """A media link an integration gave (Open311 media_url): never fetched, not a file here."""
    return attachment.fetch_status == FETCH_LINK


def file_id_kind(channel: str, mime: str, document: bool) -> str | None:
    """How officers' Telegram group shows a citizen's file by the file's own Telegram id:
    "photo", "document" (an image the citizen sent as a file: Telegram sends a document's id
    only as a document) or "voice" (a Telegram voice note, sent with sendVoice: a new message,
    never a forward, so an anonymous reporter stays hidden). None: the file has no such id (a
    WhatsApp or console file, a Telegram audio file) and is uploaded from the media store."""
    if channel != TELEGRAM:
        return None
    mime = mime.lower()
    if mime.startswith("audio/"):
        return VOICE if mime.startswith("audio/ogg") and not document else None
    if document:
        return DOCUMENT if mime.startswith("image/") else None
    return PHOTO if mime in ("", "image/jpeg") else None


def _shown(attachment: Attachment) -> bool:
    """Officers can see or hear it in their group: by file id, or uploaded once fetched."""
    kind = file_id_kind(attachment.channel, attachment.mime, attachment.document)
    return kind is not None or attachment.fetch_status != FETCH_FAILED


def media_reply(
    caption: str, attachments: Sequence[Attachment], point: GeoPoint | None = None
) -> Reply:
    """`caption` with the attachments for officers' group: each by its Telegram file id where
    it has one (`file_id_kind`), else by its attachment id to upload from the media store
    (`Reply.stored`, see bot.core.uploads); and the pin."""
    refs: dict[str | None, list[str]] = {PHOTO: [], DOCUMENT: [], VOICE: []}
    stored: list[int] = []
    for a in attachments:
        kind = file_id_kind(a.channel, a.mime, a.document)
        if kind is not None:
            refs[kind].append(a.platform_ref)
        elif a.id is not None:
            stored.append(a.id)
    return Reply(
        caption,
        photos=tuple(refs[PHOTO]),
        documents=tuple(refs[DOCUMENT]),
        voices=tuple(refs[VOICE]),
        stored=tuple(stored),
        location=point,
    )


def _is_voice(attachment: Attachment) -> bool:
    return attachment.mime.lower().startswith("audio/")


async def render_report_card(
    uow: UnitOfWork, env: DeskEnv, report: Report, card: ReportCard | None = None
) -> Reply:
    moved_to = report.agency_id if card is not None and not card.active else None
    menu = card.menu if card is not None else None
    view = await card_view(uow, env, report, moved_to=moved_to, with_candidates=menu == "reject")
    text, choices = render_card(view, env.catalog, env.lang, menu=menu)
    return Reply(text, choices=choices, lang=env.lang)


async def duplicates_of_report(uow: UnitOfWork, env: DeskEnv, report: Report) -> list[str]:
    """Tickets of open reports that look like `report` (for the officers' reject menu)."""
    if report.category_id is None:
        return []
    since = report.created_at - DUPLICATE_WINDOW
    found = await uow.desk.similar_candidates(report.category_id, open_statuses(), since)
    return [m.ticket for m in find_duplicates(_sketch(report), [_sketch(r) for r in found])]


async def find_duplicate_for(uow: UnitOfWork, draft: ReportDraft, now: datetime) -> Report | None:
    """An open, non-confidential report that looks like the citizen's draft."""
    if draft.category_id is None:
        return None
    found = await uow.desk.similar_candidates(
        draft.category_id, open_statuses(), now - DUPLICATE_WINDOW
    )
    if not found:
        return None
    place = draft.place
    new = ReportSketch(
        ticket="",
        category_id=draft.category_id,
        description=draft.description,
        kelurahan_code=place.code if place else None,
        point=place.point if place else None,
    )
    matches = find_duplicates(new, [_sketch(r) for r in found], limit=1)
    if not matches:
        return None
    return next(r for r in found if r.ticket == matches[0].ticket)


def _sketch(report: Report) -> ReportSketch:
    point = (
        GeoPoint(report.lat, report.lon)
        if report.lat is not None and report.lon is not None
        else None
    )
    return ReportSketch(
        ticket=report.ticket,
        category_id=report.category_id,
        description=report.description,
        kelurahan_code=report.kelurahan_code,
        point=point,
    )


def open_statuses() -> list[str]:
    return [s.value for s in OPEN]


# --- cards in officers' groups -------------------------------------------------------------


async def post_card(
    uow: UnitOfWork, env: DeskEnv, report: Report, chat_id: str
) -> ReportCard | None:
    """Queue the report's card (text and buttons), then its photos, voice notes and pin."""
    assert report.id is not None
    card_reply = await render_report_card(uow, env, report)
    key = conversation_key(TELEGRAM, chat_id)
    outbox_id = await uow.outbox.add(
        key, TELEGRAM, chat_id, card_reply.to_dict(), env.now, now=env.now
    )
    attachments = await uow.reports.attachments(report.id)
    # The first MAX_CARD_PHOTOS photos, then the first MAX_CARD_VOICES voice notes.
    photos = [a for a in attachments if not _is_voice(a)][:MAX_CARD_PHOTOS]
    voices = [a for a in attachments if _is_voice(a)][:MAX_CARD_VOICES]
    point = (
        GeoPoint(report.lat, report.lon)
        if report.lat is not None and report.lon is not None
        else None
    )
    media_outbox_id = None
    if photos or voices or point:
        caption = ""
        if photos:
            caption = env.text("card_media", ticket=report.ticket)
        elif voices:
            caption = env.text("card_voice", ticket=report.ticket)
        media = media_reply(caption, [*photos, *voices], point)
        media_outbox_id = await uow.outbox.add(
            key, TELEGRAM, chat_id, media.to_dict(), env.now, now=env.now
        )
    return await uow.desk.add_card(
        report.id, chat_id, env.now, outbox_id=outbox_id, media_outbox_id=media_outbox_id
    )


async def report_filed(uow: UnitOfWork, env: DeskEnv, report: Report) -> ReportCard | None:
    """Route a new report to its agency's group (or the default officers' group)."""
    chat_id = env.catalog.officers_chat(report.agency_id)
    if chat_id is None:
        log.info("report %s: no officers' group configured for %s", report.ticket, report.agency_id)
        return None
    return await post_card(uow, env, report, chat_id)


async def tell_group(uow: UnitOfWork, env: DeskEnv, report: Report, reply: Reply) -> None:
    chat_id = env.catalog.officers_chat(report.agency_id)
    if chat_id is None:
        return
    key = conversation_key(TELEGRAM, chat_id)
    await uow.outbox.add(key, TELEGRAM, chat_id, reply.to_dict(), env.now, now=env.now)


# --- citizens' notifications ---------------------------------------------------------------

# Builds one recipient's notification: (language, channel capabilities, is the reporter).
NoticeBuilder = Callable[[str, ChannelCapabilities, bool], Reply | None]


async def notify(
    uow: UnitOfWork,
    env: DeskEnv,
    report: Report,
    build: NoticeBuilder,
    *,
    supporters: bool = True,
    reporter: bool = True,
) -> int:
    """Queue a notification for the reporter and (optionally) the report's supporters."""
    assert report.id is not None
    recipients: list[tuple[str, str, bool]] = []
    if reporter and report.chat_id:  # "": filed without a chat (Open311), nobody to message
        recipients.append((report.channel, report.chat_id, True))
    if supporters:
        for s in await uow.desk.supporters(report.id):
            recipients.append((s.channel, s.chat_id, False))
    seen: set[tuple[str, str]] = set()
    queued = 0
    for channel, chat_id, is_reporter in recipients:
        if (channel, chat_id) in seen or not chat_id:
            continue
        seen.add((channel, chat_id))
        lang = await citizen_language(uow, env, channel, chat_id)
        reply = build(lang, env.capabilities.get(channel, ChannelCapabilities()), is_reporter)
        if reply is None:
            continue
        key = conversation_key(channel, chat_id)
        await uow.outbox.add(key, channel, chat_id, reply.to_dict(), env.now, now=env.now)
        queued += 1
    return queued


async def citizen_language(uow: UnitOfWork, env: DeskEnv, channel: str, chat_id: str) -> str:
    key = conversation_key(channel, chat_id)
    state: dict[str, Any] | None = None
    try:
        if env.conversations is not None:
            state, _ = await env.conversations.load(uow, key)
        else:
            loaded = await uow.conversations.load(key)
            state = loaded[0] if loaded else None
    except Exception as exc:  # a language is not worth failing an officer's action for
        log.warning("could not read the language of a conversation: %s", exc)  # not whose
    lang = (state or {}).get("lang")
    return lang if lang in ("id", "en") else env.catalog.default_language


def citizen_text(
    env: DeskEnv, key: str, lang: str, caps: ChannelCapabilities, **values: object
) -> str:
    return env.catalog.texts.get(key, lang, variant=caps.text_variant, **values)


def status_notice(
    env: DeskEnv,
    report: Report,
    status: str,
    note: str = "",
    *,
    original: str | None = None,
) -> NoticeBuilder:
    def build(lang: str, caps: ChannelCapabilities, is_reporter: bool) -> Reply:
        label = status_label(env.catalog, status, lang, agency_id=report.agency_id, note=note)
        lines = [citizen_text(env, "notice_status", lang, caps, ticket=report.ticket, status=label)]
        if note and status != ReportStatus.REJECTED:
            lines.append(citizen_text(env, "notice_note", lang, caps, note=note))
        if original:
            lines.append(citizen_text(env, "notice_duplicate", lang, caps, original=original))
        choices: tuple[Choice, ...] = ()
        if status == ReportStatus.RESOLVED and is_reporter:
            lines.append(citizen_text(env, "notice_rate", lang, caps))
            if caps.buttons:
                choices = flow.rating_choices(report.ticket, lang, env.catalog)
        return Reply(
            "\n".join(lines),
            choices=choices,
            notice=StatusNotice(report.ticket, label),
            lang=lang,
        )

    return build


def current_label(env: DeskEnv, report: Report, lang: str) -> str:
    return status_label(env.catalog, report.status, lang, agency_id=report.agency_id)
