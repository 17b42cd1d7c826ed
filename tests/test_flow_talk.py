"""Issue 13: citizens file a report in few messages, in their own words (the pure flow)."""

from __future__ import annotations

import pytest
from test_flow import INSIDE, JAKARTA, SMS, Citizen, at_step, consented

from intake import flow
from intake.flow import FileReport, Step
from intake.types import MediaRef, MessageKind

ROAD = "jalan depan pasar besar berlubang dalam, sudah dua motor jatuh"


def cancelled(citizen: Citizen) -> bool:
    return citizen.step is Step.IDLE and any(
        isinstance(e, flow.ConversationEnded) and e.reason == "cancelled" for e in citizen.effects
    )


# Everything at once


def test_text_pin_and_photo_before_consent_get_the_summary_right_after_consent() -> None:
    citizen = Citizen()
    greeting = citizen.say(ROAD)[-1]
    assert "Pelindungan Data Pribadi" in greeting.text
    held = citizen.location(INSIDE)[-1]
    assert "Pelindungan Data Pribadi" not in held.text  # not the whole notice again
    assert [c.value for c in held.choices] == ["agree", "disagree", "lang:en"]
    citizen.photo("p1")
    assert "Pelindungan Data Pribadi" not in citizen.last.text
    citizen.press("agree")
    assert citizen.step is Step.CONFIRM
    summary = citizen.last.text
    assert "Infrastruktur Jalan" in summary and "Foto: 1" in summary and "Privasi: Biasa" in summary
    assert "ANONIM" in summary  # how to change the privacy that was not asked
    citizen.say("ok kirim")
    (filed,) = [e for e in citizen.effects if isinstance(e, FileReport)]
    assert filed.draft.photos and filed.draft.place is not None and not filed.draft.anonymous


def test_anonim_typed_in_the_burst_is_taken_and_shown() -> None:
    citizen = Citizen()
    citizen.say(ROAD + ", tolong anonim ya min")
    citizen.location(INSIDE)
    citizen.photo("p1")
    citizen.say("setuju")
    assert citizen.step is Step.CONFIRM and "Privasi: Anonim" in citizen.last.text


def test_anonim_typed_at_the_summary_changes_it() -> None:
    citizen = Citizen()
    citizen.say(ROAD)
    citizen.location(INSIDE)
    citizen.photo("p1")
    citizen.say("setuju")
    citizen.say("anonim aja min")
    assert citizen.step is Step.CONFIRM and "Privasi: Anonim" in citizen.last.text


def test_each_early_photo_is_acknowledged_briefly_and_an_album_once() -> None:
    citizen = Citizen()
    citizen.photo("p1", album="a")
    assert "Pelindungan Data Pribadi" in citizen.last.text  # the first contact: the notice
    assert citizen.photo("p2", album="a") == []
    citizen.photo("p3")
    assert "Pelindungan Data Pribadi" not in citizen.last.text
    citizen.say("setuju")
    assert citizen.state is not None and len(citizen.state.draft.photos) == 3
    assert citizen.step is Step.DESCRIPTION  # photos are no words: what is the problem?


# GPS and a photo, one question at a time


def test_a_photo_is_answered_with_the_privacy_choices() -> None:
    citizen = consented()
    citizen.say(ROAD)
    citizen.say("iya bener")
    citizen.location(INSIDE)
    assert citizen.step is Step.PHOTOS
    reply = citizen.photo("p1")[-1]
    assert [c.value for c in reply.choices][0] == "priv:normal"
    citizen.say("biasa aja")
    assert citizen.step is Step.CONFIRM and "Foto: 1" in citizen.last.text


def test_an_album_is_acknowledged_without_a_count_the_rest_would_outdate() -> None:
    citizen = at_step(Step.PHOTOS)
    assert citizen.state is not None
    citizen.state = flow.ConversationState.from_dict(
        {**citizen.state.to_dict(), "privacy_chosen": True}
    )
    citizen.photo("a1", album="x")
    assert citizen.last.text.startswith("Foto diterima.") and "(" not in citizen.last.text
    assert citizen.photo("a2", album="x") == []


# Answers in citizens' own words


@pytest.mark.parametrize("words", ["iya bener", "nggih leres", "oke min", "yes that's right"])
def test_polite_yes_confirms_the_category(words: str) -> None:
    citizen = at_step(Step.CONFIRM_CATEGORY)
    citizen.say(words)
    assert citizen.step is Step.LOCATION


@pytest.mark.parametrize("words", ["bukan", "mboten", "bukan min"])
def test_no_to_the_category_opens_the_menu(words: str) -> None:
    citizen = at_step(Step.CONFIRM_CATEGORY)
    citizen.say(words)
    assert citizen.step is Step.CHOOSE_CATEGORY


@pytest.mark.parametrize("words", ["ok kirim", "kirim min", "nggih kirim", "sip kirim kak"])
def test_polite_send_files_the_report(words: str) -> None:
    citizen = at_step(Step.CONFIRM)
    citizen.say(words)
    assert any(isinstance(e, FileReport) for e in citizen.effects)


@pytest.mark.parametrize("words", ["biasa aja", "biasa mawon", "biasa wae min"])
def test_normal_privacy_in_chat_words(words: str) -> None:
    citizen = at_step(Step.PRIVACY)
    citizen.say(words)
    assert citizen.step is Step.CONFIRM and "Privasi: Biasa" in citizen.last.text


@pytest.mark.parametrize("words", ["mboten wonten", "ora ono foto", "gak ada foto min"])
def test_no_photo_in_javanese_and_chat(words: str) -> None:
    citizen = at_step(Step.PHOTOS)
    citizen.say(words)
    assert citizen.step is Step.PRIVACY


def test_sampun_finishes_the_photos() -> None:
    citizen = at_step(Step.PHOTOS)
    citizen.photo("p9")
    citizen.say("sampun")
    assert citizen.step is Step.PRIVACY


@pytest.mark.parametrize("words", ["gak jadi deh min", "gak jadi", "ga jadi min, makasih"])
def test_changing_ones_mind_cancels_and_is_no_place(words: str) -> None:
    citizen = at_step(Step.LOCATION)
    citizen.say(words)
    assert cancelled(citizen)


def test_eh_salah_ulang_starts_over() -> None:
    citizen = at_step(Step.CONFIRM_CATEGORY)
    citizen.say("eh salah, ulang")
    assert citizen.step is Step.DESCRIPTION
    assert citizen.state is not None and citizen.state.draft.description == ""


def test_a_question_mark_is_a_call_for_help() -> None:
    citizen = at_step(Step.CONFIRM_CATEGORY)
    citizen.say("?")
    assert "CEK <nomor tiket>" in citizen.replies[0].text
    assert citizen.step is Step.CONFIRM_CATEGORY


def test_a_not_understood_answer_gets_a_short_hint() -> None:
    citizen = at_step(Step.CONFIRM_CATEGORY)
    citizen.say("qwerty zxcv")
    assert len(citizen.replies) == 1 and citizen.replies[0].text.startswith("Maaf")
    assert [c.value for c in citizen.replies[0].choices] == ["yes", "other"]


# Intents outside a report


def test_a_status_question_answers_the_latest_report_and_starts_nothing() -> None:
    citizen = at_step(Step.CONFIRM)
    citizen.say("kirim")
    citizen.say("status laporan sy gmn min?")
    assert citizen.effects == [flow.CheckStatus("MDN-00001")]
    assert citizen.step is Step.IDLE


def test_thanks_after_filing_is_answered_kindly() -> None:
    citizen = at_step(Step.CONFIRM)
    citizen.say("kirim")
    citizen.say("oke makasih min")
    assert citizen.step is Step.IDLE and citizen.last.text.startswith("Sama-sama")


def test_mau_lapor_starts_a_report() -> None:
    citizen = at_step(Step.CONFIRM)
    citizen.say("kirim")
    citizen.say("mau lapor")
    assert citizen.step is Step.DESCRIPTION


# What was seen


def test_a_one_word_description_asks_what_is_wrong_and_keeps_both() -> None:
    citizen = consented()
    citizen.say("jalan")
    assert citizen.step is Step.DESCRIPTION and "jalan" in citizen.last.text
    citizen.say("bolong besar depan sekolah")
    assert citizen.state is not None
    assert citizen.state.draft.description == "jalan bolong besar depan sekolah"


def test_a_place_typed_at_the_category_question_is_the_location_not_a_category() -> None:
    citizen = consented()
    citizen.say("lampu penerangan mati sudah seminggu, gelap sekali")
    assert citizen.step is Step.CONFIRM_CATEGORY and citizen.state is not None
    suggested = citizen.state.suggested[0]
    citizen.say("di jalan pahlawan kel. kartoharjo")
    assert citizen.step is Step.CONFIRM_CATEGORY
    assert citizen.state.draft.category_id is None and citizen.state.suggested[0] == suggested
    assert citizen.state.draft.place is not None
    assert citizen.state.draft.place.kelurahan == "Kartoharjo"
    citizen.say("ya")
    assert citizen.step is Step.PHOTOS  # the place is not asked again


def test_telegram_language_code_english_gets_english_from_the_start() -> None:
    citizen = Citizen()
    citizen.send(text="hi", language_hint="en")
    assert citizen.state is not None and citizen.state.lang == "en"
    assert citizen.last.text.startswith("Hello!")


def test_english_typed_at_first_contact_gets_english() -> None:
    citizen = Citizen()
    citizen.say("the drain is blocked and the street floods every time it rains")
    assert citizen.state is not None and citizen.state.lang == "en"
    assert citizen.last.text.startswith("Hello!")


def test_the_more_button_is_not_labelled_like_a_category() -> None:
    citizen = at_step(Step.CHOOSE_CATEGORY)
    more = citizen.last.choices[-1]
    assert more.value == "more" and more.label != "Lainnya" and ">>" in more.label


def test_a_pin_on_page_two_of_the_category_menu_stays_on_page_two() -> None:
    citizen = consented()
    citizen.say("qwerty zxcv plonk blah")
    assert citizen.step is Step.CHOOSE_CATEGORY
    citizen.press("more")
    page_two = [c.value for c in citizen.last.choices]
    citizen.location(INSIDE)
    assert citizen.step is Step.CHOOSE_CATEGORY
    assert [c.value for c in citizen.last.choices] == page_two


def test_a_point_outside_the_city_says_where_to_report_instead() -> None:
    citizen = at_step(Step.LOCATION)
    citizen.location(JAKARTA)
    assert "lapor.go.id" in citizen.last.text


def test_the_privacy_question_removes_no_keyboard() -> None:
    # With buttons, a keyboard removal makes Telegram send the question in two messages.
    citizen = at_step(Step.PHOTOS)
    citizen.say("lewati")
    assert citizen.step is Step.PRIVACY and not citizen.last.remove_keyboard


def test_a_voice_note_before_consent_is_kept() -> None:
    citizen = Citizen()
    citizen.send(MessageKind.VOICE, media=MediaRef("test", "v1", "audio/ogg"))
    assert citizen.step is Step.CONSENT and "Pelindungan Data Pribadi" in citizen.last.text
    citizen.say("setuju")
    assert citizen.state is not None and len(citizen.state.draft.voice_notes) == 1
    assert citizen.step is Step.CHOOSE_CATEGORY  # the voice note is the description


def test_sms_has_numbered_answers_for_the_new_questions() -> None:
    citizen = Citizen(SMS)
    citizen.say(ROAD)
    citizen.say("halo")  # the short hint, with the consent choices
    assert citizen.last.choices and "Pelindungan Data Pribadi" not in citizen.last.text
    citizen.say("1")
    assert citizen.step is Step.CONFIRM_CATEGORY


def test_a_long_question_is_not_repeated_in_full_when_not_understood() -> None:
    citizen = at_step(Step.PRIVACY)
    citizen.say("hmm entahlah")
    (reply,) = citizen.replies
    assert reply.text.startswith("Maaf") and "petugas dan publik" not in reply.text
    assert [c.value for c in reply.choices][0] == "priv:normal"


def test_a_pin_outside_the_city_before_consent_says_where_to_report() -> None:
    citizen = Citizen()
    citizen.say(ROAD)
    citizen.location(JAKARTA)
    assert (
        "lapor.go.id" in citizen.last.text and "Pelindungan Data Pribadi" not in citizen.last.text
    )
    assert citizen.state is not None and citizen.state.draft.place is None
