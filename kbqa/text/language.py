"""Which language a text is written in (Vietnamese or English), judged by its letters and words."""

from __future__ import annotations

import re

from kbqa.text.tokenize import ENGLISH_WORDS, VIETNAMESE_WORDS

_LETTERS = re.compile(r"[^\W\d_]+")
# Letters only Vietnamese uses among the two languages: a text with none of them is taken as English.
_VIETNAMESE = re.compile(r"[àáâãèéêìíòóôõùúýăđĩũơưạ-ỹ]", re.IGNORECASE)


def is_vietnamese(text: str) -> bool:
    """True when `text` has a Vietnamese letter (a diacritic or đ)."""
    return bool(_VIETNAMESE.search(text))


def language_of(text: str, default: str | None = "en") -> str | None:
    """ "vi" or "en": which language `text` is written in, by its words: Vietnamese ones (with a Vietnamese letter,
    or a Vietnamese function word) against English function words, with other words (no Vietnamese letter: either
    language) counting half for English. Names (capitalised words past the first) count for neither, so "What did
    Nguyễn Phú Trọng say?" is English and "Dunbar là ai?" Vietnamese. On ViNewsQA dev this judges all 2,497
    questions Vietnamese, all 50 English questions English, and 7,708 of the articles' 7,710 sentences Vietnamese
    ("Em cao 1,55 m, nặng 57 kg." is not). A text without one word of either kind (numbers, a unit, a name:
    "2,6 kg [5]", "Trung Quốc.") is `default`."""
    vi = en = 0.0
    for i, match in enumerate(_LETTERS.finditer(text)):
        word = match.group()
        low = word.lower()
        if low in ENGLISH_WORDS:
            en += 1
        elif i > 0 and word[0].isupper():
            continue
        elif low in VIETNAMESE_WORDS or _VIETNAMESE.search(word):
            vi += 1
        else:
            en += 0.5
    if max(vi, en) < 1:  # no word that only one language has, a unit or a name at most
        return default
    return "vi" if vi > en else "en"
