"""Understanding an answer to a question with fixed choices.

Channels render choices as buttons, list rows or numbered options. Whatever the citizen does,
press a button (we get the choice's value), type its number ("1"), type its label or a
synonym ("ya", "Y", "lewati"), or misspell it ("setujuu"), the answer lands here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from rapidfuzz import fuzz, process

from intake.normalize import normalize
from intake.types import Choice

# Words citizens type for the common answers, in Indonesian, English and Javanese.
# `normalize` has already turned chat spellings (gak, ga, tdk...) into "tidak".
SYNONYMS: Mapping[str, frozenset[str]] = {
    key: frozenset(phrase.strip() for phrase in phrases.split("|"))
    for key, phrases in {
        "yes": "ya|y|iya|yes|yup|ok|oke|okay|benar|betul|bener|setuju|sip|siap|boleh|nggih|"
        "inggih|enggih|leres|iyo",
        "no": "tidak|no|n|nope|bukan|salah|ora|mboten|tidak setuju",
        "agree": "ya|y|iya|yes|ok|oke|setuju|boleh|lanjut|nggih|inggih|iyo|agree",
        "disagree": "tidak|no|n|ora|mboten|tolak|tidak setuju",
        "done": "selesai|done|sudah|cukup|beres|finish|lanjut|rampung|wis|sudah semua",
        "skip": "lewati|skip|lewat|tidak ada|kosong|tanpa foto|tidak ada foto|tidak punya foto",
        "send": "kirim|send|ya|y|iya|yes|ok|oke|benar|setuju|kirimkan",
        "edit": "ubah|edit|ganti|koreksi|perbaiki",
        "cancel": "batal|cancel|batalkan",
        "more": "lainnya|lain|more|next|berikutnya|selanjutnya",
    }.items()
}

_NUMBER = re.compile(r"^(?:no\.?\s*|nomor\s*|pilih\s*)?(\d{1,2})[.)]?$")
FUZZY_CUTOFF = 85


def match_choice(answer: str, choices: Sequence[Choice], *, synonyms_of: str = "") -> Choice | None:
    """The choice an answer means, or None when it is not clearly one of them.

    `answer` is a button's value or whatever the citizen typed. A choice whose value (or the
    part after "prefix:") is a key of SYNONYMS also answers to those words.
    """
    if not choices:
        return None
    for choice in choices:
        if answer == choice.value:
            return choice
    text = normalize(answer)
    if not text:
        return None
    number = _NUMBER.match(text)
    if number:
        index = int(number.group(1)) - 1
        return choices[index] if 0 <= index < len(choices) else None
    by_label = {normalize(c.label): c for c in choices}
    if text in by_label:
        return by_label[text]
    for choice in choices:
        words = SYNONYMS.get(_synonym_key(choice.value), frozenset())
        if text in words:
            return choice
    best = process.extract(text, list(by_label), scorer=fuzz.ratio, limit=2)
    if best and best[0][1] >= FUZZY_CUTOFF and (len(best) == 1 or best[1][1] < best[0][1] - 5):
        return by_label[best[0][0]]
    return None


def _synonym_key(value: str) -> str:
    return value.rsplit(":", 1)[-1]
