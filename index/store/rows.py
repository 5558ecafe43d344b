"""What a store's rows become: the records its interface returns, decoded the same way by every engine."""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from kbqa.index.dates import iso
from kbqa.index.records import ChunkRecord, DocRecord, Passage

# The columns each row decoder below reads, in its order (`d`: documents, `c`: chunks); each engine adds its own
# FROM and WHERE (their parameter styles differ)
DOCUMENT_COLUMNS = (
    "d.doc_id, d.title, d.date, d.source, d.path, d.kind, d.added, d.hash, "
    "(SELECT count(*) FROM chunks c WHERE c.doc_key = d.key), d.published"
)
PASSAGE_COLUMNS = 'c.id, d.doc_id, d.source, d.title, d.date, c.text, c.start, c."end", d.marks, d.meta, d.published'
STORED_COLUMNS = "d.key, d.doc_id, d.source, d.title, d.text, d.date, d.source_line, d.kind, d.path, d.hash"
STORED_CHUNK_COLUMNS = 'doc_key, id, ord, start, "end", text'
PUBLISHED = "d.published"  # a store made before the column reads NULL in its place (`without_published`)
# `kbqa list --json`'s keys
LISTED = ("doc_id", "title", "date", "published", "source", "path", "kind", "added", "chunks")


def without_published(columns: str) -> str:
    """`columns` for a store whose documents table has no `published` column yet: NULL in its place."""
    return columns.replace(PUBLISHED, "NULL")


def published_text(value: str | datetime | None) -> str | None:
    """A stored publication time as the ISO 8601 string the records carry (PostgreSQL's timestamptz comes back
    as a datetime: expressed in Vietnamese time, as kbqa.index.dates writes it), None when unknown."""
    if value is None or value == "":
        return None
    return iso(value) if isinstance(value, datetime) else str(value)


@dataclass(frozen=True)
class DocumentInfo:
    """One document of a generation as the store lists it (`documents()`, reader and writer alike)."""

    doc_id: str
    title: str
    date: str
    source: str  # the file as given to `kbqa index`
    path: str  # its resolved absolute path
    kind: str
    added: float  # when it was written (seconds since the epoch)
    hash: str  # what it was stored under (build.indexed_hash)
    chunks: int
    published: str | None = None  # ISO 8601 (DocRecord.published), None when unknown

    def to_json(self) -> dict[str, str | float | int | None]:
        """The listing as `kbqa list --json` prints it (before formatting `added`): every field but the hash."""
        return {key: getattr(self, key) for key in LISTED}


@dataclass(frozen=True)
class StoredDocument:
    """One document of a generation as it was written (a migration copies these): with its chunks and their ids."""

    doc: DocRecord
    chunks: list[ChunkRecord]
    chunk_ids: list[int]
    path: str
    stored_hash: str


def document_info(row: Sequence) -> DocumentInfo:
    """A DocumentInfo from a row of DOCUMENT_COLUMNS."""
    doc_id, title, date, source, path, kind, added, stored, chunks, published = row
    return DocumentInfo(
        doc_id, title, date, source, path, kind, float(added), stored, int(chunks), published_text(published)
    )


def unquotable(marks_json: str, start: int, end: int) -> tuple[tuple[int, int], ...]:
    """The document's marks that meet the chunk [start, end), relative to the chunk and clipped to it."""
    spans = json.loads(marks_json) if marks_json else []
    return tuple((max(s, start) - start, min(e, end) - start) for s, e in spans if s < end and e > start)


def page(meta_json: str, start: int) -> int:
    """The 1-based page of a PDF document holding offset `start` (0 for documents without pages)."""
    pages = json.loads(meta_json).get("pages") if meta_json and meta_json != "{}" else None
    return bisect.bisect_right(pages, start) if pages else 0


def passage(row: Sequence, score: float = 0.0) -> Passage:
    """A Passage (with its unquotable spans and page) from a row of PASSAGE_COLUMNS."""
    cid, doc_id, source, title, date, text, start, end, marks, meta, published = row
    return Passage(doc_id, source, title, date, text, start, end, score, cid, unquotable(marks, start, end),
                   page(meta, start), published_text(published))  # fmt: skip


def document_record(
    doc_id: str,
    source: str,
    title: str,
    text: str,
    date: str,
    line: str,
    kind: str,
    marks: str,
    meta: str,
    published: str | datetime | None = None,
) -> DocRecord:
    """A DocRecord from a stored row (marks and meta as JSON), as the writer was given it."""
    extra = json.loads(meta) if meta else {}
    spans = tuple((int(s), int(e)) for s, e in (json.loads(marks) if marks else []))
    return DocRecord(doc_id, source, title, text, date, line, kind, spans, extra.get("author", ""),
                     tuple(extra.get("pages", ())), published_text(published))  # fmt: skip


def stored_document(row: Sequence, chunk_rows: Sequence[Sequence]) -> StoredDocument:
    """A StoredDocument from a row of STORED_COLUMNS followed by marks, meta and published, and its chunks' rows
    of STORED_CHUNK_COLUMNS without doc_key (id, ord, start, end, text), in id order."""
    _, doc_id, source, title, text, date, line, kind, path, stored, marks, meta, published = row
    doc = document_record(doc_id, source, title, text, date, line, kind, marks, meta, published)
    chunks = [ChunkRecord(doc_id, o, s, e, t) for _, o, s, e, t in chunk_rows]
    return StoredDocument(doc, chunks, [int(c[0]) for c in chunk_rows], path, stored)
