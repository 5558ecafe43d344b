"""Keyword-search tokens for Vietnamese and English text: syllables, syllable bigrams, or pyvi words."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

_WORD = re.compile(r"\w+", re.UNICODE)
# Function words that carry no topic: Vietnamese question words and particles, and English stop words.
VIETNAMESE_WORDS = frozenset(
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
    ]
)
ENGLISH_WORDS = frozenset(
    [
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
STOPWORDS = VIETNAMESE_WORDS | ENGLISH_WORDS


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


Tokenizer = Callable[[str], list[str]]


def syllable_tokens(text: str) -> list[str]:
    """Content syllables (lower-cased, NFC, English stemmed), stop words out."""
    return [t for t in syllables(text) if t not in STOPWORDS]


def bigram_tokens(text: str) -> list[str]:
    """Content syllables plus each pair of adjacent syllables ("khoa_học"): most Vietnamese words are two
    syllables, so a pair matches a word without a segmenter. Pairs of two stop words are dropped."""
    tokens = syllables(text)
    singles = [t for t in tokens if t not in STOPWORDS]
    pairs = [f"{a}_{b}" for a, b in zip(tokens, tokens[1:], strict=False) if a not in STOPWORDS or b not in STOPWORDS]
    return singles + pairs


def overlap(a: str, b: str) -> float:
    """How much two texts share: the Jaccard similarity of their content tokens (syllables and syllable pairs)."""
    x, y = set(bigram_tokens(a)), set(bigram_tokens(b))
    return len(x & y) / len(x | y) if x and y else 0.0


def pyvi_tokens(text: str) -> list[str]:
    """Words segmented by pyvi's CRF model (MIT; optional: `pip install pyvi`), stop words out."""
    from pyvi import ViTokenizer  # imported here: optional, and slow to import

    words = ViTokenizer.tokenize(text).lower().split()
    return [w for w in words if any(c.isalnum() for c in w) and w not in STOPWORDS]


TOKENIZERS: dict[str, Tokenizer] = {"syllable": syllable_tokens, "bigram": bigram_tokens, "pyvi": pyvi_tokens}
DEFAULT_TOKENIZER = "bigram"


def get_tokenizer(name: str) -> Tokenizer:
    """The tokenizer called `name` (one of TOKENIZERS)."""
    try:
        return TOKENIZERS[name]
    except KeyError:
        from kbqa.errors import InputError

        raise InputError(f"unknown tokenizer '{name}' (use one of {', '.join(TOKENIZERS)})") from None
