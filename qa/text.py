"""Word tokens of Vietnamese and English text for lexical matching (syllables and syllable pairs)."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)
# Function words that carry no topic: Vietnamese question words and particles, English stop words.
STOPWORDS = frozenset(
    [
        "và",
        "của",
        "là",
        "có",
        "được",
        "cho",
        "các",
        "những",
        "một",
        "này",
        "đó",
        "khi",
        "thì",
        "mà",
        "với",
        "về",
        "trong",
        "ra",
        "vào",
        "đã",
        "sẽ",
        "đang",
        "để",
        "từ",
        "tại",
        "theo",
        "như",
        "nào",
        "gì",
        "ai",
        "đâu",
        "bao",
        "nhiêu",
        "sao",
        "không",
        "hay",
        "hoặc",
        "cũng",
        "rất",
        "nhiều",
        "ở",
        "bị",
        "do",
        "nên",
        "vì",
        "thế",
        "nó",
        "họ",
        "ông",
        "bà",
        "người",
        "cái",
        "việc",
        "điều",
        "the",
        "a",
        "an",
        "of",
        "to",
        "in",
        "on",
        "for",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "did",
        "do",
        "does",
        "what",
        "which",
        "who",
        "whom",
        "when",
        "where",
        "why",
        "how",
        "with",
        "by",
        "at",
        "from",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "as",
        "into",
        "about",
        "than",
        "then",
        "there",
        "their",
        "they",
        "he",
        "she",
        "we",
        "you",
        "i",
    ]
)


def _stem(token: str) -> str:
    """English inflections off (opened → open, talks → talk); Vietnamese syllables never inflect."""
    if token.isascii() and len(token) > 4:
        for suffix in ("ing", "ed", "es", "s"):
            if token.endswith(suffix) and len(token) - len(suffix) >= 3:
                return token[: -len(suffix)]
    return token


def syllables(text: str) -> list[str]:
    """Lower-cased NFC word tokens (syllables for Vietnamese), English ones stemmed."""
    return [_stem(t) for t in _WORD.findall(unicodedata.normalize("NFC", text).lower())]


def terms(text: str) -> set[str]:
    """Content syllables plus adjacent syllable pairs (Vietnamese words are mostly two syllables)."""
    tokens = syllables(text)
    singles = {t for t in tokens if t not in STOPWORDS}
    pairs = {f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False) if not (a in STOPWORDS and b in STOPWORDS)}
    return singles | pairs
