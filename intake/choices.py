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
        "yes": "ya|y|iya|iyah|yes|yep|yup|yeah|ok|oke|okay|okey|benar|betul|bener|setuju|sip|siap|"
        "boleh|nggih|inggih|enggih|leres|iyo|he em|hooh|right|correct|sure|that s right|pas|"
        "cocok|tepat",
        "no": "tidak|no|n|nope|bukan|salah|ora|mboten|tidak setuju|dudu|sanes|wrong|not",
        "other": "tidak|no|n|nope|bukan|salah|mboten|dudu|sanes|wrong|not|lain|pilih lain|"
        "ganti|kategori lain|other|another|bukan itu",
        "agree": "ya|y|iya|yes|ok|oke|okay|setuju|boleh|lanjut|nggih|inggih|iyo|agree|sip|siap|"
        "bersedia|i agree|gas|monggo|mangga",
        "disagree": "tidak|no|n|ora|mboten|tolak|tidak setuju|tidak mau|emoh|i do not agree",
        "done": "selesai|done|sudah|cukup|beres|finish|finished|lanjut|rampung|wis|sudah semua|"
        "sampun|uwis|wes|wes rampung|sampun rampung|ok|oke|okay|that s all|thats all|next|"
        "itu saja|itu aja|sudah itu saja|sudah cukup",
        "skip": "lewati|skip|lewat|tidak ada|kosong|tanpa foto|tidak ada foto|tidak punya foto|"
        "tidak ono|tidak ono foto|mboten wonten|mboten wonten foto|mboten gadah|tidak duwe|"
        "tidak duwe foto|no photo|no photos|none|nothing|tidak usah|tidak perlu|ok|oke|"
        "tidak bisa foto|tidak sempat foto",
        "send": "kirim|send|ya|y|iya|yes|ok|oke|okay|benar|bener|setuju|kirimkan|nggih|inggih|"
        "leres|sip|siap|lanjut|gas|kirim saja|kirim sekarang|submit|go|sudah benar|sampun",
        "edit": "ubah|edit|ganti|koreksi|perbaiki|change|salah|revisi",
        "cancel": "batal|cancel|batalkan|tidak jadi|tidak sido|mboten sios",
        "more": "lainnya|lain|more|next|berikutnya|selanjutnya|kategori lain|lanjut",
        "normal": "biasa|normal|umum|biasa saja|tidak anonim|terbuka|public",
        "anonymous": "anonim|anonymous|anon|tanpa nama|rahasiakan nama|sembunyikan nama",
        "confidential": "rahasia|confidential|private|privat|dirahasiakan",
        "both": "anonim rahasia|anonim dan rahasia|keduanya|both|anonymous confidential",
    }.items()
}

# Words that carry no answer of their own: forms of address ("min" for the admin), particles,
# thanks and fillers, in Indonesian, Javanese and English chat style. "biasa aja min" is "biasa".
_FILLER_WORDS = (
    "min mimin admin kak kakak pak bu bapak ibu mas mbak mba bang gan sis om bro dek le nduk "
    "dong deh sih nih lah kok kah ya yah ah eh oh nah loh lho wah aduh waduh hehe wkwk haha "
    "saja mawon wae ae kan please pls plz thanks thank you makasih terima kasih suwun "
    "matur nuwun tq thx ty that thats is it its"
)
FILLERS = frozenset(_FILLER_WORDS.split()) | {"thank you", "terima kasih", "matur nuwun"}
_MAX_WORDS = 5  # longer answers are sentences, not a choice

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
    found = _one(text, choices, by_label)
    if found is not None:
        return found
    return _by_words(text, choices, by_label)


def _one(text: str, choices: Sequence[Choice], by_label: Mapping[str, Choice]) -> Choice | None:
    """A label, a synonym or a misspelt label (one whole answer)."""
    if text in by_label:
        return by_label[text]
    for choice in choices:
        if text in SYNONYMS.get(_synonym_key(choice.value), frozenset()):
            return choice
    best = process.extract(text, list(by_label), scorer=fuzz.ratio, limit=2)
    if best and best[0][1] >= FUZZY_CUTOFF and (len(best) == 1 or best[1][1] < best[0][1] - 5):
        return by_label[best[0][0]]
    return None


def _by_words(
    text: str, choices: Sequence[Choice], by_label: Mapping[str, Choice]
) -> Choice | None:
    """Short polite answers: "iya bener", "ok kirim min", "biasa aja", "nggih leres".

    Fillers ("min", "aja", "makasih") are dropped; what is left must be one choice, as a
    whole or word by word with every word agreeing on the same choice.
    """
    words = text.split()
    if len(words) > _MAX_WORDS:
        return None
    core = strip_fillers(text)
    if not core or core == text:
        if len(words) < 2:
            return None
    elif (found := _one(core, choices, by_label)) is not None:
        return found
    meant = {_one(word, choices, by_label) for word in core.split()}
    if len(meant) == 1 and None not in meant:
        return meant.pop()
    return None


def strip_fillers(text: str) -> str:
    """`text` (normalised) without forms of address, particles and thanks."""
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        pair = " ".join(words[i : i + 2])
        if pair in FILLERS:
            i += 2
            continue
        if words[i] not in FILLERS:
            out.append(words[i])
        i += 1
    return " ".join(out)


def _synonym_key(value: str) -> str:
    return value.rsplit(":", 1)[-1]
