"""Which language a citizen writes in, when they have not said (English or not).

Only a guess from common words: a short message in English ("the drain is blocked") should get
the English texts without pressing "English" first. Indonesian and Javanese chat share few
function words with English, so counting them is enough to tell the two apart.
"""

from __future__ import annotations

from intake.normalize import normalize

_ENGLISH_WORDS = (
    "the a an is are was were there this that it its my our in on at of to for from and with "
    "has have been not no please hello hi good morning near street road broken since week "
    "days again every i we you they he she want report"
)
_LOCAL_WORDS = (
    "di ke dari yang dan ini itu ada tidak sudah belum saya kami min pak bu kak mas mbak "
    "jalan rumah depan sejak lagi banget sekali tolong mohon kok ya nggih mboten sampun niku "
    "wonten dalan omah"
)
_ENGLISH = frozenset(_ENGLISH_WORDS.split())
_INDONESIAN = frozenset(_LOCAL_WORDS.split())


def looks_english(text: str) -> bool:
    """True when `text` reads as English: at least two English function words and more
    English than Indonesian/Javanese ones."""
    words = normalize(text).split()
    english = sum(word in _ENGLISH for word in words)
    local = sum(word in _INDONESIAN for word in words)
    return english >= 2 and english > 2 * local
