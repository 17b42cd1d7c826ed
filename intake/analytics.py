"""The vocabulary of analytics, pure: funnel stages, working days, percentiles, topic words.

- Funnel: every conversation step has a fixed bit; a funnel session stores the bits of the steps
  it reached. `FUNNEL_STAGES` groups steps into the stages shown to people, in the order a
  report is written. A stage counts as reached when one of its steps, or any later stage, was
  reached (a citizen who gave the description inline never sees the description question but
  got past it), so every funnel is monotonic.
- Time limits: working days as intake.lifecycle counts them (the officer desk's reminders),
  decided from local day numbers and one "later in the day" flag, which is all the database
  returns per group of reports.
- Topic words: the normalised words of a description minus Indonesian (and chat, Javanese)
  stop words, each counted once per report.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time

from intake.flow import Step
from intake.lifecycle import add_working_days, is_working_day
from intake.normalize import tokens
from intake.types import Kelurahan

# -- funnel --------------------------------------------------------------------------------

# Fixed forever: stored in funnel_sessions.steps. Add new steps with new bits, never renumber.
STEP_BITS: Mapping[str, int] = {
    Step.CONSENT.value: 1 << 0,
    Step.DESCRIPTION.value: 1 << 1,
    Step.CONFIRM_CATEGORY.value: 1 << 2,
    Step.CHOOSE_CATEGORY.value: 1 << 3,
    Step.LOCATION.value: 1 << 4,
    Step.CHOOSE_KECAMATAN.value: 1 << 5,
    Step.CHOOSE_KELURAHAN.value: 1 << 6,
    Step.PHOTOS.value: 1 << 7,
    Step.PRIVACY.value: 1 << 8,
    Step.CONFIRM.value: 1 << 9,
    Step.EDIT.value: 1 << 10,
    Step.DUPLICATE.value: 1 << 11,
}
UNKNOWN_STEP_BIT = 1 << 30  # a step added to the flow without a bit here

FUNNEL_STAGES: Sequence[tuple[str, tuple[str, ...]]] = (
    ("consent", (Step.CONSENT.value,)),
    ("description", (Step.DESCRIPTION.value,)),
    ("category", (Step.CONFIRM_CATEGORY.value, Step.CHOOSE_CATEGORY.value)),
    (
        "location",
        (Step.LOCATION.value, Step.CHOOSE_KECAMATAN.value, Step.CHOOSE_KELURAHAN.value),
    ),
    ("photos", (Step.PHOTOS.value,)),
    ("privacy", (Step.PRIVACY.value,)),
    ("confirm", (Step.CONFIRM.value, Step.EDIT.value, Step.DUPLICATE.value)),
)

# How a funnel session ends: filed; supported (the citizen backed a similar open report
# instead, see the officer desk's duplicates); or abandoned for one of ABANDON_REASONS
# ("declined": the citizen did not agree to the privacy notice).
FILED = "filed"
SUPPORTED = "supported"
ABANDON_REASONS = ("cancelled", "expired", "restarted", "declined")


def step_bit(step: str) -> int:
    return STEP_BITS.get(step, UNKNOWN_STEP_BIT)


def stage_of(step: str) -> str:
    """The funnel stage a step belongs to ("other" for a step no stage lists)."""
    for stage, steps in FUNNEL_STAGES:
        if step in steps:
            return stage
    return "other"


def stage_masks() -> list[tuple[str, int]]:
    """(stage, bits of this stage and every later one): `steps & mask != 0` means reached."""
    masks: list[tuple[str, int]] = []
    later = 0
    for stage, steps in reversed(FUNNEL_STAGES):
        later |= sum(STEP_BITS[s] for s in steps)
        masks.append((stage, later))
    return list(reversed(masks))


# -- time limits ---------------------------------------------------------------------------

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def day_from_number(day_number: int) -> date:
    """The date of a day number (days since 1970-01-01), as the database computes them."""
    return date.fromordinal(_EPOCH_ORDINAL + day_number)


def day_number(day: date) -> int:
    return day.toordinal() - _EPOCH_ORDINAL


class TimeLimit:
    """A limit of `days` working days, judged on local days as intake.lifecycle counts them:
    due on the same time of day `days` working days after the start (a start outside working
    days counts from the next working day's midnight). Late means stopped (or, when still
    running, now) at or after that moment."""

    def __init__(self, days: int, holidays: Collection[date] = ()) -> None:
        self.days = days
        self.holidays = frozenset(holidays)
        self._due: dict[int, int] = {}

    def due_day(self, start_day: int) -> int:
        if start_day not in self._due:
            start = datetime.combine(day_from_number(start_day), time(12, 0), tzinfo=UTC)
            due = add_working_days(start, self.days, self.holidays, UTC)
            self._due[start_day] = day_number(due.date())
        return self._due[start_day]

    def late(self, start_day: int, end_day: int, later_in_day: bool) -> bool:
        """`later_in_day`: the end's time of day is at or after the start's."""
        due = self.due_day(start_day)
        if end_day != due:
            return end_day > due
        return later_in_day or not is_working_day(day_from_number(start_day), self.holidays)


# -- topic words ------------------------------------------------------------------------------

MIN_WORD_LENGTH = 3
MAX_TERMS_PER_REPORT = 30

STOP_WORDS: frozenset[str] = frozenset(
    """
    ada adalah agak agar akan aku alamat amat anda antara apa apakah apalagi atas atau
    bagaimana bagi bahkan bahwa baik banget banyak baru bapak beberapa begini begitu belakang
    belum benar berada berapa bersama besok biar bila bisa boleh buat bukan bulan cuma
    dalam dan dapat dari daripada datang dekat demi dengan depan di dia diri disini disana
    dimana dong dulu entah gang hal hampir hanya hari harus hingga ibu ini itu iya jadi jam
    jangan jika juga justru kak kalau kali kami kamu kan kapan karena kasih ke kecamatan
    kelurahan kemarin kenapa kepada kita kok kota kurang lagi lain lalu lama lebih lewat
    mana masih mau melalui memang mereka minggu mohon mulai mungkin nah namun nya oleh
    orang pada padahal pak para pernah pula pun rumah saat saja salah sama sampai sangat
    saya sebelum sebab sebagai sebelah sebuah secara sedang sehingga sejak sekali sekarang
    sekitar selalu selama semua sendiri seperti serta setelah setiap sini situ sudah supaya
    tadi tahun tanpa tapi telah tempat tentang terhadap terima terus tetapi tidak tiap
    tolong untuk waktu warga yaitu yang
    lain lainnya sebagainya mas mbak bu pakde bude min admin halo hallo selamat pagi siang
    sore malam assalamualaikum terimakasih makasih mohon bantuannya segera ditindaklanjuti
    lapor laporan melaporkan mengadu pengaduan keluhan ditangani tangani tindakan tindak lanjut
    diperbaiki perbaiki perbaikan parah resah bahaya tolong
    wis uwis sing ning karo iku iki opo ora wes kok lho ya yo nggih mboten sampun
    """.split()  # noqa: SIM905 - a word list reads better as text
)


def place_words(areas: Iterable[Kelurahan], city_name: str = "") -> frozenset[str]:
    """The words of the city's place names: where a report is, not what it is about."""
    names = [city_name]
    for area in areas:
        names += [area.kelurahan, area.kecamatan, *area.aliases]
    return frozenset(word for name in names for word in tokens(name))


def topic_terms(description: str, extra_stop_words: frozenset[str] = frozenset()) -> list[str]:
    """The distinct topic words of a description, in order of first appearance."""
    seen: dict[str, None] = {}
    for word in tokens(description):
        if (
            len(word) < MIN_WORD_LENGTH
            or word.isdigit()
            or word in STOP_WORDS
            or word in extra_stop_words
        ):
            continue
        seen.setdefault(word, None)
        if len(seen) >= MAX_TERMS_PER_REPORT:
            break
    return list(seen)
