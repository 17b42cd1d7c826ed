"""The conversation, driven message by message through the pure `intake.flow.step`."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import madiun
import pytest

from intake import flow
from intake.catalog import Catalog
from intake.flow import ConversationState, FileReport, FlowContext, Step
from intake.types import (
    ChannelCapabilities,
    GeoPoint,
    InboundMessage,
    MediaRef,
    MessageKind,
    Reply,
)

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
INSIDE = GeoPoint(-7.62945, 111.52727)  # Kota Madiun's centre (Kel. Pangongangan area)
JAKARTA = GeoPoint(-6.2, 106.8)
SMS = ChannelCapabilities(buttons=False, photos=False, location=False, max_text=320)


def catalog() -> Catalog:
    return madiun.catalog()


class Citizen:
    """Talks to the flow like a phone would, and remembers what the bot said."""

    def __init__(self, capabilities: ChannelCapabilities = ChannelCapabilities()) -> None:
        self.state: ConversationState | None = None
        self.now = T0
        self.capabilities = capabilities
        self.replies: list[Reply] = []
        self.effects: list[flow.Effect] = []
        self._ids = itertools.count()

    def send(self, kind: MessageKind = MessageKind.TEXT, **fields: object) -> list[Reply]:
        message = InboundMessage(
            channel="test",
            external_id=str(next(self._ids)),
            sender_id="42",
            chat_id="42",
            kind=kind,
            received_at=self.now,
            **fields,  # type: ignore[arg-type]
        )
        outcome = flow.step(
            self.state, message, FlowContext(self.now, catalog(), self.capabilities)
        )
        self.state = outcome.state
        self.replies, self.effects = outcome.replies, outcome.effects
        self.now += timedelta(seconds=20)
        for effect in outcome.effects:
            if isinstance(effect, FileReport):
                filed = flow.report_filed(self.state, "MDN-00001", "dpupr", self._ctx())
                self.state = filed.state
                self.replies = self.replies + filed.replies
        return self.replies

    def say(self, text: str) -> list[Reply]:
        return self.send(text=text)

    def press(self, value: str) -> list[Reply]:
        return self.send(MessageKind.CHOICE, choice=value)

    def location(self, point: GeoPoint, text: str = "") -> list[Reply]:
        return self.send(MessageKind.LOCATION, location=point, text=text)

    def photo(self, ref: str, album: str | None = None, caption: str = "") -> list[Reply]:
        media = MediaRef("test", ref, "image/jpeg", 1000)
        return self.send(MessageKind.PHOTO, media=media, media_group=album, text=caption)

    @property
    def step(self) -> Step:
        assert self.state is not None
        return self.state.step

    @property
    def last(self) -> Reply:
        return self.replies[-1]

    def choice_values(self) -> list[str]:
        return [c.value for c in self.last.choices]

    def _ctx(self) -> FlowContext:
        return FlowContext(self.now, catalog(), self.capabilities)


def consented() -> Citizen:
    citizen = Citizen()
    citizen.say("halo")
    citizen.say("setuju")
    assert citizen.step is Step.DESCRIPTION
    return citizen


def at_step(target: Step) -> Citizen:
    """A citizen part-way through a report, at `target`."""
    citizen = Citizen()
    script: list[tuple[str, object]] = [
        ("say", "halo"),
        ("say", "setuju"),
        ("say", "jalan depan pasar besar berlubang dalam, sudah dua motor jatuh"),
        ("say", "ya"),
        ("location", INSIDE),
        ("photo", "photo-1"),
        ("say", "selesai"),
        ("say", "anonim"),
    ]
    if target is Step.IDLE:
        return citizen
    for action, arg in script:
        if citizen.state is not None and citizen.step is target:
            return citizen
        getattr(citizen, action)(arg)
    if target is Step.EDIT:
        citizen.say("ubah")
    if target in (Step.CHOOSE_CATEGORY,):
        citizen = at_step(Step.CONFIRM_CATEGORY)
        citizen.press("other")
    if target in (Step.CHOOSE_KECAMATAN, Step.CHOOSE_KELURAHAN):
        citizen = at_step(Step.LOCATION)
        citizen.say("dekat rumah pak RT, tidak tahu namanya")
        assert citizen.step is Step.CHOOSE_KECAMATAN
        if target is Step.CHOOSE_KELURAHAN:
            citizen.say("taman")
    if target is Step.DUPLICATE:  # the pipeline found a similar open report when filing
        citizen = at_step(Step.CONFIRM)
        assert citizen.state is not None
        citizen.state = flow.duplicate_found(
            citizen.state,
            citizen._ctx(),
            ticket="MDN-00003",
            category_id="jalan",
            kelurahan="Taman",
            status="Sedang ditindaklanjuti",
            description="jalan depan pasar berlubang",
        ).state
    if target is Step.ADD_INFO:  # after filing, "tambah": the pipeline found the ticket open
        citizen = at_step(Step.CONFIRM)
        citizen.say("kirim")
        assert citizen.state is not None
        citizen.state = flow.add_info_ready(citizen.state, "MDN-00001", citizen._ctx()).state
    assert citizen.step is target, (citizen.step, target)
    return citizen


def test_complete_report_with_gps_photos_and_privacy() -> None:
    citizen = Citizen()
    greeting = citizen.say("halo")[-1]
    assert "Kota Madiun" in greeting.text and "Pelindungan Data Pribadi" in greeting.text
    assert [c.value for c in greeting.choices] == ["agree", "disagree", "lang:en"]

    citizen.press("agree")
    assert citizen.step is Step.DESCRIPTION

    citizen.say("Sampah numpuk udh 3 hari gk diangkut di pinggir jalan, bau bgt")
    assert citizen.step is Step.CONFIRM_CATEGORY
    assert "Sampah" in citizen.last.text

    citizen.press("yes")
    assert citizen.step is Step.LOCATION and citizen.last.request_location

    citizen.location(INSIDE)
    assert citizen.step is Step.PHOTOS
    assert any("Kel. " in r.text for r in citizen.replies)

    citizen.photo("p1", album="album-1")
    assert len(citizen.replies) == 1  # one acknowledgement
    assert citizen.photo("p2", album="album-1") == []  # the rest of the album: silence
    citizen.press("done")
    assert citizen.step is Step.PRIVACY

    citizen.press("priv:both")
    assert citizen.step is Step.CONFIRM
    summary = citizen.last.text
    assert "Sampah" in summary and "Anonim + rahasia" in summary and "Foto: 2" in summary

    citizen.press("send")
    filed = [e for e in citizen.effects if isinstance(e, FileReport)]
    assert len(filed) == 1
    draft = filed[0].draft
    assert draft.category_id == "sampah"
    assert draft.place is not None and draft.place.point == INSIDE and draft.place.kelurahan
    assert [p.ref for p in draft.photos] == ["p1", "p2"]
    assert draft.anonymous and draft.confidential
    assert "MDN-00001" in citizen.last.text and citizen.step is Step.IDLE


def test_typed_kelurahan_with_typo_and_no_photo() -> None:
    citizen = consented()
    citizen.say("lampu2 jalan mati semua, peteng banget kalau malam")
    citizen.say("Y")
    assert citizen.step is Step.LOCATION
    citizen.say("Jl. Cokroaminoto depan toko, kel manguharja")
    assert citizen.step is Step.PHOTOS
    assert "Manguharjo" in citizen.replies[0].text
    citizen.say("lewati")
    citizen.say("1")  # "Biasa"
    assert citizen.step is Step.CONFIRM
    citizen.say("kirim")
    draft = next(e for e in citizen.effects if isinstance(e, FileReport)).draft
    assert draft.place is not None and draft.place.kelurahan == "Manguharjo"
    assert draft.place.point is None and "Cokroaminoto" in draft.place.address
    assert draft.photos == [] and not draft.anonymous and not draft.confidential


def test_first_message_is_the_complaint_and_is_kept_through_consent() -> None:
    citizen = Citizen()
    citizen.say("Jalan di depan SDN 3 bolong gede, sudah dua motor jatuh")
    assert citizen.step is Step.CONSENT
    citizen.say("ya")
    assert citizen.step is Step.CONFIRM_CATEGORY  # description was not asked again
    assert citizen.state is not None and "SDN 3" in citizen.state.draft.description


def test_declining_consent_keeps_nothing() -> None:
    citizen = Citizen()
    citizen.say("Jalan di depan SDN 3 bolong gede, sudah dua motor jatuh")
    citizen.say("tidak setuju")
    assert citizen.step is Step.IDLE
    assert citizen.state is not None and citizen.state.draft.description == ""
    assert "tidak menyimpan" in citizen.last.text


def test_unclear_description_lets_the_citizen_choose_from_pages() -> None:
    citizen = consented()
    citizen.say("pokoknya ada masalah di sini tolong diurus")
    assert citizen.step is Step.CHOOSE_CATEGORY
    values = citizen.choice_values()
    assert len(values) == 9 and values[-1] == "more"
    citizen.press("more")
    second = citizen.choice_values()
    assert second[0] not in values
    citizen.say("Pendidikan")  # typing a category name works too
    assert citizen.state is not None and citizen.state.draft.category_id == "pendidikan"


def test_a_point_outside_the_city_is_explained_and_asked_again() -> None:
    citizen = at_step(Step.LOCATION)
    citizen.location(JAKARTA)
    assert citizen.step is Step.LOCATION
    assert "luar wilayah Kota Madiun" in citizen.last.text and citizen.last.request_location
    citizen.location(INSIDE)
    assert citizen.step is Step.PHOTOS


def test_an_unknown_place_leads_to_kecamatan_then_kelurahan_menus() -> None:
    citizen = at_step(Step.LOCATION)
    citizen.say("dekat rumah pak RT, tidak tahu namanya")
    assert citizen.step is Step.CHOOSE_KECAMATAN
    assert [c.label for c in citizen.last.choices] == ["Kartoharjo", "Manguharjo", "Taman"]
    citizen.say("3")
    assert citizen.step is Step.CHOOSE_KELURAHAN
    labels = [c.label for c in citizen.last.choices]
    assert "Demangan" in labels and citizen.last.choices[-1].value == "none"
    citizen.say("demangan")
    assert citizen.step is Step.PHOTOS
    place = citizen.state.draft.place if citizen.state else None
    assert place is not None and place.kelurahan == "Demangan" and place.kecamatan == "Taman"
    assert place.address == "dekat rumah pak RT, tidak tahu namanya"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", "description_too_short"), ("😡😡😡🔥", "description_too_short"), ("ok", "short")],
)
def test_empty_or_emoji_only_descriptions_are_asked_again(text: str, expected: str) -> None:
    citizen = consented()
    citizen.say(text)
    assert citizen.step is Step.DESCRIPTION
    assert "beberapa kata" in citizen.last.text


def test_a_very_long_description_is_kept_up_to_the_limit_and_said_so() -> None:
    citizen = consented()
    citizen.say("jalan rusak parah " * 300)  # 5,400 characters
    assert citizen.state is not None
    assert len(citizen.state.draft.description) == catalog().max_description_chars
    assert "2000" in citizen.replies[0].text
    assert citizen.step is Step.CONFIRM_CATEGORY


@pytest.mark.parametrize("answer", ["ya", "Y", "1", "iya", "Ya", "setujuu", "agree"])
def test_typed_answers_are_understood(answer: str) -> None:
    citizen = Citizen()
    citizen.say("halo")
    citizen.say(answer)
    assert citizen.step is Step.DESCRIPTION


def test_nonsense_answer_repeats_the_question_with_its_choices() -> None:
    citizen = at_step(Step.PRIVACY)
    citizen.say("hmm entahlah")
    assert citizen.step is Step.PRIVACY
    assert "belum kami pahami" in citizen.last.text and len(citizen.last.choices) == 4


def test_stale_button_from_an_earlier_question_is_not_taken() -> None:
    citizen = at_step(Step.PRIVACY)
    citizen.press("agree")  # the consent button, pressed again much later
    assert citizen.step is Step.PRIVACY


@pytest.mark.parametrize("kind", ["sticker", "video"])
def test_unsupported_messages_get_a_helpful_reply_and_the_question_again(kind: str) -> None:
    citizen = at_step(Step.LOCATION)
    citizen.send(MessageKind.UNSUPPORTED, text=kind)
    assert citizen.step is Step.LOCATION
    assert kind in citizen.replies[0].text and citizen.last.request_location


def test_a_voice_note_stands_as_the_description_and_is_attached() -> None:
    # (was: a voice note asked for text; issue 13: a citizen who cannot type can report)
    citizen = consented()
    voice = MediaRef("test", "voice-1", "audio/ogg")
    citizen.send(MessageKind.VOICE, media=voice)
    assert citizen.state is not None and citizen.state.draft.voice_notes == [voice]
    assert citizen.replies[0].text.startswith("Pesan suara diterima")
    assert citizen.step is Step.CHOOSE_CATEGORY  # nothing to guess from: the menu
    citizen.press("cat:jalan")
    citizen.location(INSIDE)
    citizen.photo("p1")
    citizen.press("priv:normal")
    assert citizen.step is Step.CONFIRM and "(pesan suara)" in citizen.last.text
    citizen.press("send")
    filed = [e for e in citizen.effects if isinstance(e, FileReport)]
    assert filed and filed[0].draft.voice_notes == [voice]


def test_a_voice_note_at_the_privacy_question_is_kept_and_the_question_stays() -> None:
    citizen = at_step(Step.PRIVACY)
    citizen.send(MessageKind.VOICE, media=MediaRef("test", "voice-2", "audio/ogg"))
    assert citizen.step is Step.PRIVACY
    assert citizen.replies[0].text.startswith("Pesan suara diterima")
    assert "privasi" in citizen.last.text and "Ceritakan" not in citizen.last.text


def test_photo_with_caption_fills_the_description() -> None:
    citizen = consented()
    citizen.photo("p1", caption="Pohon tumbang menutup jalan di gang 5")
    assert citizen.state is not None and citizen.state.draft.photos
    assert citizen.step in (Step.CONFIRM_CATEGORY, Step.CHOOSE_CATEGORY)


def test_edit_the_location_returns_to_the_summary() -> None:
    citizen = at_step(Step.CONFIRM)
    citizen.say("ubah")
    citizen.press("edit:location")
    assert citizen.step is Step.LOCATION
    citizen.say("kelurahan Nambangan Lor")
    assert citizen.step is Step.CONFIRM
    assert "Nambangan Lor" in citizen.last.text


def test_sms_skips_photos_and_asks_for_a_typed_place() -> None:
    citizen = Citizen(SMS)
    citizen.say("halo")
    citizen.say("1")
    citizen.say("PDAM mati dari kemarin, air tidak mengalir sama sekali")
    citizen.say("ya")
    assert citizen.step is Step.LOCATION and not citizen.last.request_location
    citizen.say("Kel. Taman")
    assert citizen.step is Step.PRIVACY


def test_expired_conversation_says_so_and_starts_cleanly() -> None:
    citizen = at_step(Step.PHOTOS)
    citizen.now += timedelta(hours=3)
    citizen.say("selesai")
    assert "lama tidak dilanjutkan" in citizen.replies[0].text
    assert citizen.step is Step.IDLE
    assert any(isinstance(e, flow.ConversationEnded) for e in citizen.effects)
    assert citizen.state is not None and citizen.state.draft.description == ""


def test_english_switch_repeats_the_question_in_english() -> None:
    citizen = at_step(Step.PRIVACY)
    citizen.say("english")
    assert citizen.replies[0].text == "Language: English."
    assert "Choose the report's privacy" in citizen.last.text
    assert citizen.step is Step.PRIVACY


ALL_STEPS = [s for s in Step]


@pytest.mark.parametrize("start", ALL_STEPS, ids=[s.value for s in ALL_STEPS])
def test_global_commands_work_in_every_state(start: Step) -> None:
    # cancel
    citizen = at_step(start)
    citizen.say("batal")
    assert citizen.step is Step.IDLE
    assert any(
        words in citizen.last.text for words in ("dibatalkan", "Tidak ada laporan", "Tambahan")
    )

    # help: the help text, and the conversation stays where it was
    citizen = at_step(start)
    citizen.say("bantuan")
    assert "CEK <nomor tiket>" in citizen.replies[0].text and citizen.step is start

    # status check: an effect for the pipeline, state unchanged
    citizen = at_step(start)
    citizen.say("cek mdn 12")
    assert citizen.effects == [flow.CheckStatus("MDN-00012")] and citizen.step is start

    # language switch
    citizen = at_step(start)
    citizen.say("english")
    assert citizen.state is not None and citizen.state.lang == "en"
    # a first "english" gets the next question: the greeting, in English (issue 13)
    assert citizen.step is (Step.CONSENT if start is Step.IDLE else start)
    assert citizen.last.text

    # start over
    citizen = at_step(start)
    citizen.send(MessageKind.COMMAND, text="start")
    assert citizen.step in (Step.CONSENT, Step.DESCRIPTION)
    assert citizen.state is not None and citizen.state.draft.description == ""


def test_one_shot_lapor_fills_the_description() -> None:
    citizen = consented()
    citizen.say("LAPOR got mampet banjir tiap hujan di gang 3")
    assert citizen.step is Step.CONFIRM_CATEGORY
    assert citizen.state is not None and citizen.state.draft.description.startswith("got mampet")


def test_state_survives_a_round_trip_through_json() -> None:
    citizen = at_step(Step.CONFIRM)
    assert citizen.state is not None
    state = replace(citizen.state, pending_point=INSIDE)
    assert ConversationState.from_dict(state.to_dict()) == state


@pytest.mark.parametrize("start", [Step.CONFIRM_CATEGORY, Step.PRIVACY, Step.CONFIRM])
def test_a_photo_sent_during_another_question_is_kept_and_the_question_asked_again(
    start: Step,
) -> None:
    citizen = at_step(start)
    assert citizen.state is not None
    before = len(citizen.state.draft.photos)
    citizen.photo(f"late-photo-{start.value}")
    assert citizen.step is start
    assert len(citizen.state.draft.photos) == before + 1
    assert citizen.replies[0].text.startswith("Foto diterima")
    assert citizen.last.choices  # the open question again, with its choices


@pytest.mark.parametrize("start", [Step.LOCATION, Step.CHOOSE_KECAMATAN, Step.CHOOSE_KELURAHAN])
def test_a_photo_sent_while_asked_where_is_kept_and_the_question_asked_again(
    start: Step,
) -> None:
    citizen = at_step(start)
    citizen.photo(f"early-photo-{start.value}")
    assert citizen.step is start
    assert citizen.state is not None and len(citizen.state.draft.photos) == 1
    assert citizen.replies[0].text == "Foto diterima (1)."
    assert len(citizen.replies) == 2  # and the open question again


@pytest.mark.parametrize("start", [Step.CHOOSE_KECAMATAN, Step.CHOOSE_KELURAHAN])
def test_a_gps_point_answers_the_kecamatan_and_kelurahan_menus(start: Step) -> None:
    citizen = at_step(start)
    citizen.location(INSIDE)
    assert citizen.step is Step.PHOTOS
    place = citizen.state.draft.place if citizen.state else None
    assert place is not None and place.point == INSIDE


def test_a_location_sent_at_the_photo_step_sets_the_place_and_asks_for_photos_again() -> None:
    citizen = at_step(Step.PHOTOS)
    assert citizen.state is not None
    before = citizen.state.draft.place
    citizen.location(INSIDE, text="Jl. Pahlawan 12")
    assert citizen.step is Step.PHOTOS
    assert citizen.replies[0].text.startswith("Lokasi: Kel.")
    place = citizen.state.draft.place
    assert place is not None and place != before and place.address == "Jl. Pahlawan 12"
    assert citizen.last.choices  # the photo question again
