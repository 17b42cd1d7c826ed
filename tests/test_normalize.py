from __future__ import annotations

import pytest

from intake.normalize import ABBREVIATIONS, normalize, tokens


def test_lower_case_punctuation_and_whitespace() -> None:
    assert normalize("  Jalan   RUSAK!!!\n\tTolong, segera...  ") == "jalan rusak tolong segera"
    assert normalize("Café naïve") == "cafe naive"
    assert normalize("marah 😡😡 banget") == "marah banget"
    assert normalize("") == ""
    assert normalize(" .,!? ") == ""


def test_hyphenated_words_split_into_their_parts() -> None:
    assert normalize("E-KTP") == "e ktp"
    assert normalize("gorong-gorong") == "gorong gorong"
    assert normalize("Oro-oro Ombo") == "oro oro ombo"
    assert normalize("lapor.go.id") == "lapor go id"


def test_apostrophes_inside_words_are_dropped() -> None:
    assert normalize("Jum'at") == "jumat"
    assert normalize("ma’af") == "maaf"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("lampu2", "lampu lampu"),
        ("alun2", "alun alun"),
        ("oro2 ombo", "oro oro ombo"),
        ("anak2nya", "anak anaknya"),
        ("3 hari", "3 hari"),  # a number is not reduplication
        ("gas 3 kg", "gas 3 kg"),
    ],
)
def test_reduplication_with_a_2(typed: str, expected: str) -> None:
    assert normalize(typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("tolonggg", "tolong"),
        ("sampahhhh", "sampah"),
        ("PDAMMM", "pdam"),
        # double letters are real spelling and stay
        ("jeglongan", "jeglongan"),
        ("ambrol", "ambrol"),
        ("saluran mampet", "saluran mampet"),
        ("orooroombo", "orooroombo"),
        ("sekolahan", "sekolahan"),
    ],
)
def test_letter_elongation(typed: str, expected: str) -> None:
    assert normalize(typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("gak", "tidak"),
        ("ga", "tidak"),
        ("gk", "tidak"),
        ("ngga", "tidak"),
        ("nggak", "tidak"),
        ("enggak", "tidak"),
        ("tdk", "tidak"),
        ("tak", "tidak"),
        ("jln", "jalan"),
        ("jl", "jalan"),
        ("yg", "yang"),
        ("udh", "sudah"),
        ("sdh", "sudah"),
        ("udah", "sudah"),
        ("blm", "belum"),
        ("dpn", "depan"),
        ("gg", "gang"),
        ("dgn", "dengan"),
        ("bgt", "banget"),
        ("kel", "kelurahan"),
        ("kec", "kecamatan"),
        ("lg", "lagi"),
        ("sm", "sama"),
        ("dr", "dari"),
        ("krn", "karena"),
        ("utk", "untuk"),
        ("skrg", "sekarang"),
        ("rmh", "rumah"),
    ],
)
def test_chat_abbreviations(typed: str, expected: str) -> None:
    assert normalize(typed) == expected


def test_abbreviations_in_a_sentence() -> None:
    assert normalize("sampah numpuk udh 3 hari gk diangkut") == (
        "sampah numpuk sudah 3 hari tidak diangkut"
    )
    assert (
        normalize("Jl. Pahlawan gg. 3, dpn rmh pak RT")
        == "jalan pahlawan gang 3 depan rumah pak rt"
    )
    assert normalize("Kel. Nambangan Lor, Kec. Manguharjo") == (
        "kelurahan nambangan lor kecamatan manguharjo"
    )


@pytest.mark.parametrize("keyword", ["kk", "rs", "sd", "smp", "tk", "tps", "kia", "got", "pju"])
def test_short_keywords_are_not_expanded(keyword: str) -> None:
    assert normalize(keyword.upper()) == keyword


def test_keyword_spellings_meet_in_one_form() -> None:
    assert normalize("jln rusak") == normalize("Jl. rusak") == normalize("JALAN RUSAKKK")
    assert normalize("sampah gak diangkut") == normalize("sampah tidak diangkut")


def test_abbreviation_table_is_stable_under_normalisation() -> None:
    for short, full in ABBREVIATIONS.items():
        assert normalize(short) == full
        assert normalize(full) == full, full


@pytest.mark.parametrize(
    "text",
    [
        "Tolonggg!! lampu2 jln dpn rmh mati udh 3 hr, peteng bgt",
        "E-KTP & KK-nya blm jadi, blangko habisss",
        "kec. taman / kel. oro2 ombo",
        "ora ono banyu, PDAM mati dr kmrn",
    ],
)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


def test_tokens() -> None:
    assert tokens("Lampu2 jln MATI!!") == ["lampu", "lampu", "jalan", "mati"]
    assert tokens("   ") == []
