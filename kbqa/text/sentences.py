"""Sentence boundaries with character offsets, for Vietnamese and English text."""

from __future__ import annotations

import re

# Hand-written: Vietnamese sentence splitting needs little more than punctuation + capital letter, and
# the libraries that do it (underthesea: GPL-3.0; pyvi) neither return offsets nor handle scraped text.
_END = re.compile(r"[.!?…]+[\"”’'»)\]]*\s+|\n+")
_LAST_WORD = re.compile(r"(\w+)\W*$")
_ABBREV = {"tp", "ts", "ths", "pgs", "gs", "bs", "mr", "mrs", "ms", "dr", "st", "no", "vs", "ông", "bà", "q", "p"}


def _is_boundary(text: str, match: re.Match[str]) -> bool:
    if "\n" in match.group():
        return True
    nxt = text[match.end() : match.end() + 1]
    if not nxt or not (nxt.isupper() or nxt.isdigit() or nxt in "\"“‘'«([-–"):
        return False
    word = _LAST_WORD.search(text, max(0, match.start() - 40), match.start() + 1)  # bounded: not quadratic
    return not (word and (word.group(1).lower() in _ABBREV or (len(word.group(1)) == 1 and word.group(1).isupper())))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of `text`, whitespace excluded; newlines always split."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _END.finditer(text):
        if not _is_boundary(text, match):
            continue
        end = match.start() + len(match.group().rstrip())
        if text[start:end].strip():
            spans.append((start, end))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return [trim(text, s, e) for s, e in spans]


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
