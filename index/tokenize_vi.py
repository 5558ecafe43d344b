"""Keyword-search tokens for Vietnamese and English text: syllables, syllable bigrams, or pyvi words."""

from __future__ import annotations

from collections.abc import Callable

from qa.text import STOPWORDS, syllables

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
        from index.errors import InputError

        raise InputError(f"unknown tokenizer '{name}' (use one of {', '.join(TOKENIZERS)})") from None
