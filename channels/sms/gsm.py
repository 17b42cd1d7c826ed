"""SMS encodings and segments (3GPP TS 23.038 / GSM 03.38).

An SMS is sent in GSM-7 when every character is in the GSM default alphabet (or its extension
table, whose characters count twice); otherwise the whole message goes as UCS-2. One segment
holds 160 GSM-7 characters or 70 UCS-2 code units; a concatenated message spends part of each
segment on its header, leaving 153 and 67. Every segment is billed, so we count them.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

# The default alphabet, in code order (0x1B is the escape to the extension table).
_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
BASIC = frozenset(_BASIC) - {"\x1b"}
EXTENSION = frozenset("\x0c^{}\\[~]|€")  # each costs an escape plus the character

SINGLE_GSM, PART_GSM = 160, 153
SINGLE_UCS2, PART_UCS2 = 70, 67

# Characters phones and keyboards produce that have a plain GSM-7 equivalent.
_APPROXIMATIONS = {
    "\u2026": "...",  # …
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "`": "'",
    "\u00b4": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u2022": "*",
    "\u00b7": "*",
    "\u00a0": " ",
    "\u2007": " ",
    "\u2009": " ",
    "\u200a": " ",
    "\u202f": " ",
    "\t": " ",
    "\u00d7": "x",
    "\u2192": "->",
    "\u00b0": "o",
    "\u00b2": "2",
    "\u00b3": "3",
    "\u00a9": "(c)",
    "\u00ae": "(R)",
    "\u2122": "TM",
}
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\ufe0e\ufe0f")


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


def is_gsm7(text: str) -> bool:
    return all(ch in BASIC or ch in EXTENSION for ch in text)


def encoding(text: str) -> Encoding:
    return Encoding.GSM7 if is_gsm7(text) else Encoding.UCS2


def _units(text: str, enc: Encoding) -> list[int]:
    """The size of each character: septets (GSM-7) or UTF-16 code units (UCS-2)."""
    if enc is Encoding.GSM7:
        return [2 if ch in EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def length(text: str) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) the text takes."""
    return sum(_units(text, encoding(text)))


def segments(text: str) -> int:
    """How many SMS segments the text is sent (and billed) as; an empty text is one."""
    enc = encoding(text)
    units = _units(text, enc)
    single, part = (SINGLE_GSM, PART_GSM) if enc is Encoding.GSM7 else (SINGLE_UCS2, PART_UCS2)
    if sum(units) <= single:
        return 1
    # An escape pair or a surrogate pair is never split across two segments.
    count, used = 1, 0
    for size in units:
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return count


def to_gsm(text: str) -> str:
    """`text` in GSM-7 where that loses nothing a reader needs.

    Typographic punctuation becomes its plain form, accented letters lose accents the GSM
    alphabet lacks, and emoji and other symbols are dropped. Letters of other scripts are kept
    (the message then goes as UCS-2): a name in Arabic script must not vanish.
    """
    out: list[str] = []
    for ch in text:
        if ch in BASIC or ch in EXTENSION:
            out.append(ch)
        elif ch in _APPROXIMATIONS:
            out.append(_APPROXIMATIONS[ch])
        elif ch in _INVISIBLE:
            continue
        else:
            out.append(_approximate(ch))
    result = "".join(out)
    # Dropped emoji leave double spaces and trailing blanks behind.
    lines = [_squeeze(line).rstrip() for line in result.split("\n")]
    return "\n".join(lines).strip()


def _approximate(ch: str) -> str:
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if base and all(c in BASIC or c in EXTENSION for c in base):
        return base
    category = unicodedata.category(ch)
    if category.startswith(("S", "C")):
        return ""  # emoji and other symbols, controls, private use
    if category.startswith("Z"):
        return " "
    return ch  # a letter, digit or mark of another script: keep it, UCS-2 it is


def _squeeze(line: str) -> str:
    while "  " in line:
        line = line.replace("  ", " ")
    return line


def split(text: str, max_segments: int) -> list[str]:
    """Cut `text` into messages of at most `max_segments` segments each.

    Cuts at a line break, else a space, in the second half of a piece where possible.
    """
    pieces: list[str] = []
    rest = text
    while segments(rest) > max_segments:
        cut = _fit(rest, max_segments)
        window = rest[:cut]
        at = cut
        for sep in ("\n", " "):
            i = window.rfind(sep)
            if i >= cut // 2:
                at = i
                break
        head = rest[:at].rstrip()
        if head:
            pieces.append(head)
        rest = rest[at:].lstrip()
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def _fit(text: str, max_segments: int) -> int:
    """The largest n such that text[:n] fits `max_segments` segments (at least 1)."""
    low, high = 1, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if segments(text[:mid]) <= max_segments:
            low = mid
        else:
            high = mid - 1
    return low
