"""Where a conversation is: its step, the report draft so far, and their JSON form."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from intake.catalog import Catalog
from intake.flow.context import FlowContext
from intake.normalize import normalize
from intake.types import GeoPoint, InboundMessage, Kelurahan, MediaRef, PlaceMatch, ReportDraft


class Step(StrEnum):
    IDLE = "idle"  # no report in progress
    CONSENT = "consent"
    DESCRIPTION = "description"
    CONFIRM_CATEGORY = "confirm_category"
    CHOOSE_CATEGORY = "choose_category"
    LOCATION = "location"
    CHOOSE_KECAMATAN = "choose_kecamatan"
    CHOOSE_KELURAHAN = "choose_kelurahan"
    PHOTOS = "photos"
    PRIVACY = "privacy"
    CONFIRM = "confirm"
    EDIT = "edit"
    DUPLICATE = "duplicate"  # a similar open report exists: support it or file anyway?
    ADD_INFO = "add_info"  # adding text or photos to a filed report (`adding_to`)


@dataclass
class ConversationState:
    step: Step = Step.IDLE
    lang: str = "id"
    consented: bool = False
    draft: ReportDraft = field(default_factory=ReportDraft)
    photos_done: bool = False
    privacy_chosen: bool = False
    suggested: list[str] = field(default_factory=list)  # category ids, best first
    page: int = 0
    kecamatan: str | None = None
    kelurahan_options: list[str] = field(default_factory=list)  # codes offered
    pending_address: str = ""  # what the citizen typed while we narrow down the kelurahan
    pending_point: GeoPoint | None = None
    last_album: str | None = None
    started_at: datetime | None = None
    updated_at: datetime | None = None
    last_ticket: str | None = None
    adding_to: str | None = None  # ADD_INFO: the ticket that receives what the citizen sends
    duplicate_of: str | None = None  # DUPLICATE: the open report offered for support
    duplicate_note: str = ""  # DUPLICATE: how that report was described to the citizen
    duplicates_checked: bool = False  # the draft was compared with open reports
    partial_description: str = ""  # DESCRIPTION: a word or two, waiting for the rest
    told_upfront: bool = False  # words, place and photos came before any question about them
    campaign: str | None = None  # the campaign that brought the conversation (intake.campaigns)

    @property
    def in_report(self) -> bool:
        """A report is being written (adding to a filed one is not writing a report)."""
        return self.step not in (Step.IDLE, Step.ADD_INFO)

    def to_dict(self) -> dict[str, Any]:
        d = self.draft
        return {
            "step": self.step.value,
            "lang": self.lang,
            "consented": self.consented,
            "draft": {
                "description": d.description,
                "category_id": d.category_id,
                "place": _place_to_dict(d.place),
                "photos": [
                    {"channel": p.channel, "ref": p.ref, "mime": p.mime, "size": p.size}
                    | ({"document": True} if p.document else {})
                    for p in d.photos
                ],
                "anonymous": d.anonymous,
                "confidential": d.confidential,
                "voice_notes": [
                    {"channel": v.channel, "ref": v.ref, "mime": v.mime, "size": v.size}
                    for v in d.voice_notes
                ],
            },
            "photos_done": self.photos_done,
            "privacy_chosen": self.privacy_chosen,
            "suggested": self.suggested,
            "page": self.page,
            "kecamatan": self.kecamatan,
            "kelurahan_options": self.kelurahan_options,
            "pending_address": self.pending_address,
            "pending_point": _point_to_dict(self.pending_point),
            "last_album": self.last_album,
            "started_at": _time_to_str(self.started_at),
            "updated_at": _time_to_str(self.updated_at),
            "last_ticket": self.last_ticket,
            "adding_to": self.adding_to,
            "duplicate_of": self.duplicate_of,
            "duplicate_note": self.duplicate_note,
            "duplicates_checked": self.duplicates_checked,
            "partial_description": self.partial_description,
            "told_upfront": self.told_upfront,
            "campaign": self.campaign,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationState:
        d = data.get("draft") or {}
        draft = ReportDraft(
            description=d.get("description", ""),
            category_id=d.get("category_id"),
            place=_place_from_dict(d.get("place")),
            photos=[
                MediaRef(
                    p["channel"],
                    p["ref"],
                    p.get("mime", ""),
                    p.get("size"),
                    bool(p.get("document", False)),
                )
                for p in d.get("photos", [])
            ],
            anonymous=bool(d.get("anonymous", False)),
            confidential=bool(d.get("confidential", False)),
            voice_notes=[
                MediaRef(v["channel"], v["ref"], v.get("mime", ""), v.get("size"))
                for v in d.get("voice_notes", [])
            ],
        )
        try:
            step = Step(data.get("step", "idle"))
        except ValueError:
            step = Step.IDLE
        return cls(
            step=step,
            lang=data.get("lang", "id"),
            consented=bool(data.get("consented", False)),
            draft=draft,
            photos_done=bool(data.get("photos_done", False)),
            privacy_chosen=bool(data.get("privacy_chosen", False)),
            suggested=list(data.get("suggested", [])),
            page=int(data.get("page", 0)),
            kecamatan=data.get("kecamatan"),
            kelurahan_options=list(data.get("kelurahan_options", [])),
            pending_address=data.get("pending_address", ""),
            pending_point=_point_from_dict(data.get("pending_point")),
            last_album=data.get("last_album"),
            started_at=_time_from_str(data.get("started_at")),
            updated_at=_time_from_str(data.get("updated_at")),
            last_ticket=data.get("last_ticket"),
            adding_to=data.get("adding_to"),
            duplicate_of=data.get("duplicate_of"),
            duplicate_note=data.get("duplicate_note", ""),
            # (a state saved before this field existed, at the summary, was past the check)
            duplicates_checked=bool(
                data.get("duplicates_checked", step in (Step.CONFIRM, Step.EDIT))
            ),
            partial_description=data.get("partial_description", ""),
            told_upfront=bool(data.get("told_upfront", False)),
            campaign=data.get("campaign") or None,
        )


def new_state(catalog: Catalog, now: datetime) -> ConversationState:
    return ConversationState(lang=catalog.default_language, updated_at=now)


# Changing the conversation


def reset(state: ConversationState) -> ConversationState:
    """Forget the report in progress; keep who the citizen is to us (and which campaign
    brought them)."""
    return ConversationState(
        step=Step.IDLE,
        lang=state.lang,
        consented=state.consented,
        updated_at=state.updated_at,
        last_ticket=state.last_ticket,
        campaign=state.campaign,
    )


def add_photo(state: ConversationState, message: InboundMessage) -> ConversationState:
    assert message.media is not None
    if any(p.ref == message.media.ref for p in state.draft.photos):
        return state
    draft = replace(state.draft, photos=[*state.draft.photos, message.media])
    return replace(state, draft=draft, last_album=message.media_group)


def with_photo(
    state: ConversationState, message: InboundMessage, ctx: FlowContext
) -> ConversationState:
    """The photo, and its caption as the description when there is none yet."""
    state = add_photo(state, message)
    if message.text.strip() and not state.draft.description:
        state = with_description(state, message.text, ctx)
    return state


def with_description(state: ConversationState, text: str, ctx: FlowContext) -> ConversationState:
    description = text.strip()[: ctx.catalog.max_description_chars]
    state = replace(state, draft=replace(state.draft, description=description))
    return with_privacy_cues(state, text)


def with_voice_note(state: ConversationState, message: InboundMessage) -> ConversationState:
    assert message.media is not None
    if any(v.ref == message.media.ref for v in state.draft.voice_notes):
        return state
    draft = replace(state.draft, voice_notes=[*state.draft.voice_notes, message.media])
    return replace(state, draft=draft)


_ANONYMOUS = re.compile(
    r"\b(?:anonim|anonym\w*|tanpa nama|jangan (?:sebut|tulis|tampilkan) nama|"
    r"rahasiakan (?:nama|identitas))"
)
_CONFIDENTIAL = re.compile(r"\b(?:rahasia|dirahasiakan|confidential|jangan dipublikasi\w*)\b")


def privacy_cues(text: str) -> tuple[bool, bool]:
    """(anonymous, confidential) asked for in the citizen's own words."""
    words = normalize(text)
    anonymous = bool(_ANONYMOUS.search(words))
    confidential = bool(_CONFIDENTIAL.search(words.replace("rahasiakan nama", "")))
    return anonymous, confidential


def with_privacy_cues(state: ConversationState, text: str) -> ConversationState:
    """ "anonim ya min", "tolong dirahasiakan": the privacy question is answered already."""
    anonymous, confidential = privacy_cues(text)
    if not (anonymous or confidential):
        return state
    draft = replace(
        state.draft,
        anonymous=state.draft.anonymous or anonymous,
        confidential=state.draft.confidential or confidential,
    )
    return replace(state, draft=draft, privacy_chosen=True)


def with_category(state: ConversationState, category_id: str) -> ConversationState:
    return replace(state, draft=replace(state.draft, category_id=category_id))


def with_kelurahan(
    state: ConversationState,
    kelurahan: Kelurahan,
    address: str,
    point: GeoPoint | None = None,
) -> ConversationState:
    place = PlaceMatch(
        kelurahan=kelurahan.kelurahan,
        kecamatan=kelurahan.kecamatan,
        code=kelurahan.code,
        point=point or state.pending_point,
        address=address,
    )
    return replace(
        state,
        draft=replace(state.draft, place=place),
        pending_address="",
        pending_point=None,
        kecamatan=None,
        kelurahan_options=[],
        # a pin sent while the category menu is open keeps its page
        page=state.page if state.step is Step.CHOOSE_CATEGORY else 0,
    )


def expired(state: ConversationState, ctx: FlowContext) -> bool:
    if state.updated_at is None:
        return False
    return ctx.now - state.updated_at > ctx.catalog.conversation_timeout


# The JSON form


def _place_to_dict(place: PlaceMatch | None) -> dict[str, Any] | None:
    if place is None:
        return None
    return {
        "kelurahan": place.kelurahan,
        "kecamatan": place.kecamatan,
        "code": place.code,
        "point": _point_to_dict(place.point),
        "address": place.address,
    }


def _place_from_dict(data: dict[str, Any] | None) -> PlaceMatch | None:
    if not data:
        return None
    return PlaceMatch(
        kelurahan=data.get("kelurahan"),
        kecamatan=data.get("kecamatan"),
        code=data.get("code"),
        point=_point_from_dict(data.get("point")),
        address=data.get("address", ""),
    )


def _point_to_dict(point: GeoPoint | None) -> dict[str, float] | None:
    return {"lat": point.lat, "lon": point.lon} if point else None


def _point_from_dict(data: dict[str, float] | None) -> GeoPoint | None:
    return GeoPoint(float(data["lat"]), float(data["lon"])) if data else None


def _time_to_str(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _time_from_str(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
