"""Every prompt of the flow, as an SMS: GSM-7 and at most two segments, in Indonesian and English.

The real flow is driven into every state with the SMS channel's capabilities (no buttons, no
photos, no GPS; the short "sms" texts), and every reply is rendered exactly as `SmsSender`
sends it, numbered choices and hint included. Inputs are the worst a citizen can type where
the text echoes them: a description at the length limit, a long address.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache

import madiun
import pytest

from channels.sms import CAPABILITIES, MAX_SEGMENTS, choice_hint, gsm, render
from intake import flow
from intake.catalog import Catalog
from intake.flow import ConversationState, FileReport, FlowContext, Step
from intake.status import StatusEvent, StatusView, render_status
from intake.texts import CATALOGUE, SMS_CATALOGUE, Texts
from intake.types import Agency, Choice, InboundMessage, MessageKind, Reply

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
LONG_DESCRIPTION = ("Jalan di depan pasar besar berlubang dalam dan lebar sekali, " * 40)[:2000]
LONG_ADDRESS = "Jl. Pahlawan gang buntu belakang masjid dekat pos ronda nomor 12 RT 3 RW 4, " * 3


@cache
def catalog() -> Catalog:
    config = madiun.config()
    return Catalog.build(
        city_name=config["places"]["city_name"],
        categories=madiun.categories(),
        agencies=[Agency(a["id"], a["name"]) for a in config["agencies"]],
        areas=madiun.areas(),
        boundaries=madiun.boundaries(),
        ticket_prefix=config["service"]["ticket_prefix"],
        max_description_chars=config["flow"]["max_description_chars"],
    )


@dataclass
class SmsCitizen:
    """A feature-phone user: types text, and sees each reply as the SMS it becomes."""

    lang: str
    state: ConversationState | None = None
    now: datetime = T0
    seen: list[tuple[Step, str]] = field(default_factory=list)  # (step after, rendered SMS)
    steps: set[Step] = field(default_factory=set)
    similar_report_open: bool = False  # filing finds a duplicate (the pipeline's check)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        if self.lang == "en":
            self.say("english")

    def ctx(self) -> FlowContext:
        return FlowContext(self.now, catalog(), CAPABILITIES)

    def send(self, kind: MessageKind, text: str) -> list[str]:
        message = InboundMessage(
            channel="sms",
            external_id=str(next(self._ids)),
            sender_id="+6281234567890",
            chat_id="+6281234567890",
            kind=kind,
            received_at=self.now,
            text=text,
        )
        outcome = flow.step(self.state, message, self.ctx())
        self.state, replies = outcome.state, list(outcome.replies)
        for effect in outcome.effects:
            after = self.apply(effect)
            if after is not None:
                self.state, replies = after.state, replies + after.replies
        self.now += timedelta(seconds=30)
        self.steps.add(self.state.step)
        rendered = [render(reply) for reply in replies]
        self.seen += [(self.state.step, sms) for sms in rendered]
        return rendered

    def say(self, text: str) -> list[str]:
        return self.send(MessageKind.TEXT, text)

    def apply(self, effect: flow.Effect) -> flow.Outcome | None:
        """What the pipeline's effect handlers answer, through the flow's public functions."""
        assert self.state is not None
        ctx = self.ctx()
        if isinstance(effect, flow.FindDuplicates):  # comes with the summary
            if self.similar_report_open:
                return flow.duplicate_found(
                    self.state,
                    ctx,
                    ticket="MDN-00012",
                    category_id="jalan",
                    kelurahan="Nambangan Kidul",
                    status="Terverifikasi, diteruskan ke Dinas Perumahan dan Kawasan Permukiman",
                    description=LONG_DESCRIPTION,
                )
            return None
        if isinstance(effect, FileReport):
            return flow.report_filed(self.state, "MDN-00042", "disperkim", ctx, code="K7M3QX")
        if isinstance(effect, flow.AddInfo):
            if not (effect.text or effect.photo):
                return flow.add_info_ready(self.state, effect.ticket, ctx)
            reply = flow.followup_reply(self.state, ctx, "add_info_received", ticket=effect.ticket)
            return flow.Outcome(self.state, [reply])
        if isinstance(effect, flow.SupportReport):
            reply = flow.followup_reply(self.state, ctx, "supported", ticket=effect.ticket)
            return flow.Outcome(self.state, [reply])
        return None

    @property
    def step(self) -> Step:
        assert self.state is not None
        return self.state.step


def drive_everywhere(lang: str) -> SmsCitizen:
    """One citizen through every state, with every detour a prompt can take."""
    c = SmsCitizen(lang)
    c.say("halo")  # greeting
    assert c.step is Step.CONSENT
    c.say("hmm apa ini")  # greeting again
    c.say("2")  # declined
    assert c.step is Step.IDLE
    c.say("batal")  # nothing to cancel
    c.say("cek")  # how to check
    c.say("bantuan")
    c.send(MessageKind.UNSUPPORTED, "mms")
    c.say("LAPOR")  # greeting, then the description question
    c.say("1")
    assert c.step is Step.DESCRIPTION
    c.say("ok")  # too short
    c.say(LONG_DESCRIPTION)  # truncated, then a category question
    assert c.step in (Step.CONFIRM_CATEGORY, Step.CHOOSE_CATEGORY)
    c.say("ulang")  # restart: already consented, so the description question
    c.say("lampu jalan di gang 3 mati sudah seminggu, gelap sekali")
    assert c.step is Step.CONFIRM_CATEGORY
    c.say("qwerty zxcv")  # not understood + the question
    c.say("bantuan")  # help + the question
    c.say("2")  # choose another: the category menu
    assert c.step is Step.CHOOSE_CATEGORY
    for _ in range(3):  # every page of the menu, and back to the first
        c.say("qwerty zxcv")
        c.say("lainnya")
    c.say("1")
    assert c.step is Step.LOCATION
    c.say("ab")  # too short: the question again
    c.say("qwerty zxcv plonk")  # unknown place: kecamatan menu
    assert c.step is Step.CHOOSE_KECAMATAN
    c.say("zzz")
    c.say("1")
    assert c.step is Step.CHOOSE_KELURAHAN
    c.say("zzz")
    c.say("bantuan")
    c.say(str(len(c.state.kelurahan_options) + 1) if c.state else "10")  # "none of these"
    assert c.step is Step.CHOOSE_KECAMATAN
    c.say("2")
    c.say("1")  # a kelurahan: location found, then privacy
    assert c.step is Step.PRIVACY
    c.say("zzz")
    c.say("english" if lang == "id" else "indonesia")  # the question in the other language
    c.say("indonesia" if lang == "id" else "english")
    c.say("4")
    assert c.step is Step.CONFIRM
    c.say("zzz")
    c.say("2")  # edit
    assert c.step is Step.EDIT
    c.say("zzz")
    c.say("1")  # the description again
    c.say(LONG_DESCRIPTION)  # the rest is still there: the summary again
    assert c.step is Step.CONFIRM
    c.say("2")  # edit
    c.say("3")  # the location
    c.say(LONG_ADDRESS + "kel. Nambangan Kidul")  # the longest kelurahan, found
    assert c.step is Step.CONFIRM
    c.say("2")
    c.say("3")
    c.say("kecamatan manguharjo")  # kecamatan only: its kelurahan menu
    assert c.step is Step.CHOOSE_KELURAHAN
    c.say("1")  # a kelurahan: the summary
    assert c.step is Step.CONFIRM
    c.say("2")
    c.say("4")  # privacy
    c.say("1")
    assert c.step is Step.CONFIRM
    c.say("1")  # send: filed
    assert c.step is Step.IDLE and c.state is not None and c.state.last_ticket == "MDN-00042"
    c.say("halo")  # idle: type LAPOR
    c.say("tambah MDN-00042")  # adding to the filed report
    assert c.step is Step.ADD_INFO
    c.say("?")
    c.say("bantuan")
    c.say("lubangnya makin besar dan dalam setelah hujan semalam")
    c.say("1")  # done
    assert c.step is Step.IDLE
    c.similar_report_open = True
    for answer in ("1", "2"):  # support the similar report; then file anyway
        c.say("LAPOR jalan depan pasar besar berlubang dalam, motor sering jatuh")
        c.say("ya")
        c.say("Jl. Pahlawan 12 kel. Nambangan Kidul")
        c.say("1")  # privacy: the summary, and a similar report is open
        assert c.step is Step.DUPLICATE
        c.say("zzz")
        c.say("bantuan")
        c.say(answer)
    c.similar_report_open = False
    c.say("LAPOR")
    c.say("got mampet banjir tiap hujan di gang 3")
    c.say("batal")  # cancelled
    c.say("LAPOR sampah menumpuk di pinggir jalan tidak diangkut seminggu")
    c.now += timedelta(hours=5)
    c.say("ya")  # expired
    return c


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_flow_prompt_fits_two_gsm7_segments(lang: str) -> None:
    citizen = drive_everywhere(lang)
    reachable = set(Step) - {Step.PHOTOS}  # SMS has no photo step
    assert Step.DUPLICATE in reachable and Step.ADD_INFO in reachable
    assert citizen.steps == reachable
    assert len(citizen.seen) > 60
    too_long = [
        (step.value, gsm.segments(sms), gsm.encoding(sms).value, sms)
        for step, sms in citizen.seen
        if gsm.segments(sms) > MAX_SEGMENTS or not gsm.is_gsm7(sms)
    ]
    assert too_long == []
    english = [sms for _, sms in citizen.seen if "Reply" in sms]
    indonesian = [sms for _, sms in citizen.seen if "Balas" in sms]
    assert english and indonesian  # both languages were really rendered


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_filed_message_points_to_whatsapp_or_telegram_for_photos(lang: str) -> None:
    citizen = drive_everywhere(lang)
    filed = [sms for _, sms in citizen.seen if "MDN-00042" in sms]
    assert filed and "WhatsApp" in filed[0] and "Telegram" in filed[0]
    assert not any("foto" in sms.lower().split("whatsapp")[0] for sms in filed[1:2])


@pytest.mark.parametrize("lang", ["id", "en"])
def test_status_answers_fit_too(lang: str) -> None:
    events = [
        StatusEvent(T0, "received"),
        StatusEvent(T0 + timedelta(days=1), "verified"),
        StatusEvent(T0 + timedelta(days=2), "in_progress", "Tim sudah ke lokasi"),
    ]
    view = StatusView("MDN-00042", "in_progress", "jalan", "dpupr", False, True, events)
    for reply in (
        render_status(view, "MDN-00042", lang, catalog()),
        render_status(None, "MDN-00042", lang, catalog()),
    ):
        sms = render(reply)
        assert gsm.is_gsm7(sms) and gsm.segments(sms) <= MAX_SEGMENTS, sms


def test_every_text_is_gsm7_and_the_short_forms_fit_with_long_values() -> None:
    sample = {
        "city": "Kota Madiun",
        "ticket": "MDN-00042",
        "code": "K7M3QX",
        "minutes": 10,
        "verify_days": 3,
        "agency": max((a["name"] for a in madiun.config()["agencies"]), key=len),
        "category": "Infrastruktur Jalan, Jembatan & Trotoar",
        "description": "x" * 300,
        "location": "y" * 300,
        "area": "Kel. Nambangan Kidul, Kec. Manguharjo",
        "privacy": "Anonymous + confidential",
        "kind": "mms",
        "limit": 2000,
        "count": 1,
        "example": "MDN-00012",
        "kelurahan": "Nambangan Kidul",
        "kecamatan": "Manguharjo",
        "status": "Terverifikasi, diteruskan ke Dinas Perumahan dan Kawasan Permukiman",
        "reason": "-",
    }
    texts = Texts()
    for key in CATALOGUE:
        for lang in ("id", "en"):
            text = texts.get(key, lang, variant="sms", **sample)
            assert gsm.is_gsm7(text), (key, lang, text)
            if key in SMS_CATALOGUE:  # the short forms fit even with the longest values
                assert gsm.segments(text) <= MAX_SEGMENTS, (key, lang, len(text))


def test_long_category_names_are_shortened_only_when_they_must_be() -> None:
    assert render(Reply("Pilih:", lang="id")) == "Pilih:"
    names = [
        "Infrastruktur Jalan, Jembatan & Trotoar",
        "Aplikasi & Layanan Digital Pemerintah",
        "Bantuan Sosial & Perlindungan Sosial",
        "Drainase, Saluran & Genangan/Banjir",
        "Jaringan Internet & Telekomunikasi",
        "Lalu Lintas, Parkir & Perhubungan",
        "Pencemaran & Lingkungan Hidup",
        "Penerangan Jalan Umum (PJU)",
        "Lainnya",
    ]
    menu = Reply("Pilih kategori:", tuple(Choice(f"c{i}", n) for i, n in enumerate(names)))
    sms = render(menu)
    assert gsm.segments(sms) <= MAX_SEGMENTS
    assert "1. Infrastruktur Jalan\n" in sms  # the longest, cut before its first comma
    assert "8. Penerangan Jalan Umum (PJU)\n" in sms  # shorter ones stay whole
    assert sms.endswith("9. Lainnya\nBalas angka 1-9")
    two = Reply("Benar?", (Choice("yes", "Ya"), Choice("other", "Pilih lain")), lang="en")
    assert render(two) == "Benar?\n1. Ya\n2. Pilih lain\nReply 1 or 2"


@pytest.mark.parametrize(
    ("count", "lang", "hint"),
    [
        (1, "id", "Balas 1"),
        (2, "id", "Balas 1 atau 2"),
        (3, "id", "Balas 1, 2 atau 3"),
        (3, "en", "Reply 1, 2 or 3"),
        (10, "en", "Reply with a number 1-10"),
        (3, "", "Balas 1, 2 atau 3"),
    ],
)
def test_choice_hints(count: int, lang: str, hint: str) -> None:
    assert choice_hint(count, lang) == hint
