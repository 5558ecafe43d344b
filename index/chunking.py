"""Sentence-aware chunks with character offsets into a document's cleaned text."""

from __future__ import annotations

from kbqa.errors import InputError
from kbqa.index.records import ChunkRecord, DocRecord
from kbqa.text.sentences import split_sentences, trim


def _split_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut a sentence longer than `limit` at spaces (after a comma when possible)."""
    pieces: list[tuple[int, int]] = []
    while end - start > limit:
        window = text[start : start + limit]
        cut = max(window.rfind(", "), window.rfind("; "))
        cut = cut + 1 if cut > limit // 2 else window.rfind(" ")
        if cut <= 0:
            cut = limit
        pieces.append(trim(text, start, start + cut))
        start = start + cut
        while start < end and text[start].isspace():
            start += 1
    pieces.append((start, end))
    return pieces


def check_sizes(chunk_chars: int, overlap: int) -> None:
    """A one-line InputError for sizes no chunking can use (chunk_chars < 1 would cut forever)."""
    if chunk_chars < 1:
        raise InputError(f"setting 'chunk_chars' must be at least 1, got {chunk_chars}")
    if overlap < 0:
        raise InputError(f"setting 'chunk_overlap' must not be negative, got {overlap}")


def chunk_document(doc: DocRecord, chunk_chars: int, overlap: int) -> list[ChunkRecord]:
    """Pack consecutive sentences up to `chunk_chars`; consecutive chunks share `overlap` sentences."""
    check_sizes(chunk_chars, overlap)
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
