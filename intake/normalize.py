"""Normalising Indonesian chat text so that keywords, place names and answers can be matched.

`normalize` turns what citizens type on WhatsApp, Telegram or SMS into a canonical form:

- lower case, accents removed ("Café" -> "cafe");
- apostrophes inside words dropped ("jum'at" -> "jumat");
- every other non-alphanumeric character becomes a space, so hyphenated words split into
  their parts: "e-KTP" -> "e ktp", "gorong-gorong" -> "gorong gorong", "lapor.go.id" ->
  "lapor go id". Matchers that want the joined form ("ektp") join adjacent tokens themselves;
- letters repeated three or more times collapse to one ("tolonggg" -> "tolong"); double
  letters are kept ("jeglongan", "ambrol", "nggak");
- reduplication written with a 2 is spelled out ("lampu2" -> "lampu lampu",
  "anak2nya" -> "anak anaknya");
- chat abbreviations become the full word ("gk" -> "tidak", "jln" -> "jalan", "udh" -> "sudah").
  Short words that are keywords in their own right ("kk", "rs", "sd", "smp") are left alone.

Apply the same function to both sides of a comparison (configured keywords and the citizen's
text) so that they agree. `normalize` is idempotent.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

__all__ = ["ABBREVIATIONS", "normalize", "tokens"]

# Chat spelling -> full word. Every value is already normalised and is not itself a key, which
# keeps `normalize` idempotent. Kept out on purpose: "kk" (Kartu Keluarga in complaints, "kakak"
# elsewhere), "rs", "sd", "smp", "tk" (keywords), "g"/"y"/"n" (too ambiguous alone), and "dr"
# would be "dokter" before a name, but in chat it is nearly always "dari".
ABBREVIATIONS: Mapping[str, str] = {
    # negation
    "ga": "tidak",
    "gak": "tidak",
    "gk": "tidak",
    "gx": "tidak",
    "ngga": "tidak",
    "nggak": "tidak",
    "ngak": "tidak",
    "nggk": "tidak",
    "ngk": "tidak",
    "enggak": "tidak",
    "engga": "tidak",
    "kagak": "tidak",
    "ndak": "tidak",
    "ndk": "tidak",
    "tdk": "tidak",
    "tak": "tidak",
    "ora": "tidak",
    # places and addresses
    "jl": "jalan",
    "jln": "jalan",
    "gg": "gang",
    "kel": "kelurahan",
    "kec": "kecamatan",
    "kab": "kabupaten",
    "rmh": "rumah",
    "dpn": "depan",
    "blkg": "belakang",
    "sblh": "sebelah",
    "dkt": "dekat",
    "dket": "dekat",
    "ktr": "kantor",
    "kntr": "kantor",
    # time
    "udh": "sudah",
    "udah": "sudah",
    "sdh": "sudah",
    "blm": "belum",
    "blom": "belum",
    "belom": "belum",
    "skrg": "sekarang",
    "skrng": "sekarang",
    "skg": "sekarang",
    "kmrn": "kemarin",
    "kemaren": "kemarin",
    "bsk": "besok",
    "hr": "hari",
    "bln": "bulan",
    "thn": "tahun",
    "mgg": "minggu",
    "lg": "lagi",
    "lgi": "lagi",
    "sblm": "sebelum",
    "stlh": "setelah",
    "msh": "masih",
    "trs": "terus",
    # function words
    "yg": "yang",
    "yng": "yang",
    "dgn": "dengan",
    "dg": "dengan",
    "sm": "sama",
    "dr": "dari",
    "krn": "karena",
    "krna": "karena",
    "karna": "karena",
    "utk": "untuk",
    "untk": "untuk",
    "tp": "tapi",
    "tpi": "tapi",
    "jg": "juga",
    "jd": "jadi",
    "jdi": "jadi",
    "klo": "kalau",
    "kalo": "kalau",
    "aja": "saja",
    "sj": "saja",
    "bs": "bisa",
    "bgt": "banget",
    "bngt": "banget",
    "bnyk": "banyak",
    "byk": "banyak",
    "lbh": "lebih",
    "sy": "saya",
    "org": "orang",
    "tlg": "tolong",
    "tolongin": "tolong",
    "mhn": "mohon",
    "gmn": "bagaimana",
    "gimana": "bagaimana",
    "knp": "kenapa",
    "dmn": "dimana",
    "kpn": "kapan",
    "dll": "dan lain lain",
    "dsb": "dan sebagainya",
    "bpk": "bapak",
    "pdhl": "padahal",
    "thd": "terhadap",
}

_APOSTROPHE = re.compile(r"(?<=\w)['’`´](?=\w)")
_NON_WORD = re.compile(r"[\W_]+")
_ELONGATION = re.compile(r"([^\W\d_])\1{2,}")
# "lampu2", "anak2nya": a word of two or more letters, the digit 2, optionally a suffix.
_REDUPLICATION = re.compile(r"\b([^\W\d_]{2,})2([^\W\d_]*)\b")


def normalize(text: str) -> str:
    """The canonical form of `text`: see the module docstring. "" for blank text."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _APOSTROPHE.sub("", text)
    text = _NON_WORD.sub(" ", text)
    text = _ELONGATION.sub(r"\1", text)
    text = _REDUPLICATION.sub(r"\1 \1\2", text)
    return " ".join(ABBREVIATIONS.get(word, word) for word in text.split())


def tokens(text: str) -> list[str]:
    """The words of `normalize(text)`."""
    return normalize(text).split()
