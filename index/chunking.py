"""Sentence-aware chunks with character offsets into a document's cleaned text."""

from __future__ import annotations

import re

from kbqa.index.records import ChunkRecord, DocRecord

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
    return [_trim(text, s, e) for s, e in spans]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _split_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut a sentence longer than `limit` at spaces (after a comma when possible)."""
    pieces: list[tuple[int, int]] = []
    while end - start > limit:
        window = text[start : start + limit]
        cut = max(window.rfind(", "), window.rfind("; "))
        cut = cut + 1 if cut > limit // 2 else window.rfind(" ")
        if cut <= 0:
            cut = limit
        pieces.append(_trim(text, start, start + cut))
        start = start + cut
        while start < end and text[start].isspace():
            start += 1
    pieces.append((start, end))
    return pieces


def chunk_document(doc: DocRecord, chunk_chars: int, overlap: int) -> list[ChunkRecord]:
    """Pack consecutive sentences up to `chunk_chars`; consecutive chunks share `overlap` sentences."""
    sentences = [p for s, e in split_sentences(doc.text) for p in _split_long(doc.text, s, e, chunk_chars)]
    chunks: list[ChunkRecord] = []
    i = 0
    while i < len(sentences):
        j = i + 1
        while j < len(sentences) and sentences[j][1] - sentences[i][0] <= chunk_chars:
            j += 1
        start, end = sentences[i][0], sentences[j - 1][1]
        chunks.append(ChunkRecord(doc.doc_id, len(chunks), start, end, doc.text[start:end]))
        if j >= len(sentences):
            break
        i = max(j - overlap, i + 1)
    return chunks


def titled(title: str, text: str) -> str:
    """A chunk's text as it is embedded and keyword-indexed: the title gives context unless the text starts with it."""
    return text if text.startswith(title) else f"{title}\n{text}"


def embedding_text(doc: DocRecord, chunk: ChunkRecord) -> str:
    """What is embedded for a chunk (see `titled`)."""
    return titled(doc.title, chunk.text)
