"""The embedded store's records: documents and chunks in SQLite (meta.sqlite), every query, and the "live" rule.

A document row lives from `gen_added` to `gen_removed`: generation g sees the rows ALIVE says (`:g`), so a writer
adds rows tagged with its new generation and readers of older generations never see them.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from kbqa.index.chunking import titled
from kbqa.index.records import ChunkRecord, DocRecord, Passage
from kbqa.index.store.rows import (
    DOCUMENT_COLUMNS,
    PASSAGE_COLUMNS,
    STORED_CHUNK_COLUMNS,
    STORED_COLUMNS,
    DocumentInfo,
    StoredDocument,
    document_info,
    passage,
    stored_document,
    without_published,
)

META = "meta.sqlite"
TABLES = {"documents", "chunks"}
SCHEMA = """
CREATE TABLE documents (
    key INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, source TEXT NOT NULL, path TEXT NOT NULL, title TEXT NOT NULL,
    date TEXT NOT NULL, source_line TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL, hash TEXT NOT NULL,
    added REAL NOT NULL, gen_added INTEGER NOT NULL, gen_removed INTEGER, marks TEXT NOT NULL DEFAULT '[]',
    meta TEXT NOT NULL DEFAULT '{}', published TEXT
);
CREATE INDEX documents_id ON documents(doc_id);
CREATE INDEX documents_path ON documents(path);
CREATE INDEX documents_added ON documents(gen_added);
CREATE INDEX documents_removed ON documents(gen_removed);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY, doc_key INTEGER NOT NULL REFERENCES documents(key), ord INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE INDEX chunks_doc ON chunks(doc_key);
"""
ALIVE = "d.gen_added <= :g AND (d.gen_removed IS NULL OR d.gen_removed > :g)"  # the one "live" rule
CHUNKS_OF_DOCS = "FROM chunks c JOIN documents d ON d.key = c.doc_key WHERE "  # + a condition on d (and :g)
# `marks` (DocRecord.marks as JSON) came after FORMAT 2: a store made before lacks the column until a writer
# opens it and adds it, so readers check for it; no format bump, since an old store needs no rebuild
ADD_MARKS = "ALTER TABLE documents ADD COLUMN marks TEXT NOT NULL DEFAULT '[]'"
# `meta` (JSON: the format's author and a PDF's page starts) came after marks, the same way
ADD_META = "ALTER TABLE documents ADD COLUMN meta TEXT NOT NULL DEFAULT '{}'"
# `published` (the document's publication time, ISO 8601 with its offset; NULL when unknown) came after meta, the
# same way: documents get it when they are next written (their hash changes when a time is found)
ADD_PUBLISHED = "ALTER TABLE documents ADD COLUMN published TEXT"
# a document's publication time in seconds since the epoch (SQLite reads the offset); NULL when unknown
EPOCH = "CAST(strftime('%s', d.published) AS INTEGER)"


def connect(path: Path, readonly: bool) -> sqlite3.Connection:
    """A connection to a records file (query-only for readers)."""
    db = sqlite3.connect(path, timeout=60, check_same_thread=False)
    if readonly:
        db.execute("PRAGMA query_only = ON")
    return db


class Records:
    """The records of one data folder. Readers pass the generation they see; a writer writes one generation."""

    def __init__(self, data: Path, readonly: bool = True) -> None:
        self.db = connect(Path(data) / META, readonly=readonly)
        self.has_marks = False
        self.has_published = False
        self.check_columns()

    @classmethod
    def create(cls, data: Path) -> Records:
        """New, empty records in `data`, for a writer."""
        db = connect(Path(data) / META, readonly=False)
        db.execute("PRAGMA journal_mode = WAL")
        db.executescript(SCHEMA)
        db.close()
        return cls.for_writer(data)

    @classmethod
    def for_writer(cls, data: Path) -> Records:
        """The records of `data` opened for writing, with columns added since they were made (empty until the
        documents are re-indexed), every write synced to disk."""
        records = cls(data, readonly=False)
        with records.db:
            for name, add in (("marks", ADD_MARKS), ("meta", ADD_META), ("published", ADD_PUBLISHED)):
                if name not in records._columns():
                    records.db.execute(add)
        records.check_columns()
        records.db.execute("PRAGMA synchronous = FULL")
        return records

    def _columns(self) -> set[str]:
        return {row[1] for row in self.db.execute("PRAGMA table_info(documents)")}

    def check_columns(self) -> None:
        """Note whether the documents table has the `marks` and `meta` columns, and `published` (a writer may add
        them later)."""
        if self.has_marks and self.has_published:
            return
        columns = self._columns()
        self.has_marks = self.has_marks or {"marks", "meta"} <= columns
        self.has_published = self.has_published or "published" in columns

    def _published(self, columns: str) -> str:
        return columns if self.has_published else without_published(columns)

    def _ids(self, sql: str, params: dict) -> np.ndarray:
        return np.fromiter((r[0] for r in self.db.execute(sql, params)), dtype=np.int64)

    # --- what a generation sees

    def live_chunk_ids(self, generation: int) -> np.ndarray:
        """The sorted ids of the chunks of generation `generation`."""
        return np.sort(self._ids(f"SELECT c.id {CHUNKS_OF_DOCS}{ALIVE}", {"g": generation}))

    def changed_chunk_ids(self, old: int, new: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids gone, ids added) between generations `old` and `new` (new > old)."""
        params = {"old": old, "new": new}
        join = f"SELECT c.id {CHUNKS_OF_DOCS}"
        gone = self._ids(join + "d.gen_removed > :old AND d.gen_removed <= :new AND d.gen_added <= :old", params)
        added = self._ids(
            join + "d.gen_added > :old AND d.gen_added <= :new AND (d.gen_removed IS NULL OR d.gen_removed > :new)",
            params,
        )
        return gone, added

    def _chunk_texts(self, where: str, generation: int) -> tuple[list[int], list[str]]:
        rows = self.db.execute(f"SELECT c.id, d.title, c.text {CHUNKS_OF_DOCS}{where}", {"g": generation}).fetchall()
        return [r[0] for r in rows], [titled(title, t) for _, title, t in rows]

    def chunk_texts(self, generation: int) -> tuple[list[int], list[str]]:
        """(ids, texts as embedded and keyword-indexed: title first) of generation `generation`'s chunks."""
        return self._chunk_texts(ALIVE, generation)

    def added_chunk_texts(self, generation: int) -> tuple[list[int], list[str]]:
        """(ids, texts) of the live chunks that generation `generation` added."""
        return self._chunk_texts(f"{ALIVE} AND d.gen_added = :g", generation)

    def removed_chunk_ids(self, generation: int) -> list[int]:
        """The ids of chunks of earlier generations that generation `generation` removed."""
        return self._chunk_texts("d.gen_removed = :g AND d.gen_added < :g", generation)[0]

    def passages(self, chunk_ids: Sequence[int]) -> dict[int, Passage]:
        """Chunk id → passage with its document's metadata and unquotable spans (score 0)."""
        if not chunk_ids:
            return {}
        params = ",".join("?" * len(chunk_ids))
        columns = PASSAGE_COLUMNS if self.has_marks else PASSAGE_COLUMNS.replace("d.marks, d.meta", "'[]', '{}'")
        columns = self._published(columns)
        rows = self.db.execute(
            f"SELECT {columns} FROM chunks c JOIN documents d ON d.key = c.doc_key WHERE c.id IN ({params})",
            list(chunk_ids),
        ).fetchall()
        return {r[0]: passage(r) for r in rows}

    def documents(self, generation: int, listed: bool = True) -> list[DocumentInfo]:
        """Every document of the generation with its chunk count: in source order if `listed`, else as stored."""
        order = " ORDER BY d.source, d.key" if listed else ""
        columns = self._published(DOCUMENT_COLUMNS)
        rows = self.db.execute(f"SELECT {columns} FROM documents d WHERE {ALIVE}{order}", {"g": generation})
        return [document_info(row) for row in rows]

    def document_hashes(self, generation: int) -> dict[str, str]:
        """doc_id → the hash each document of the generation was stored under."""
        return dict(self.db.execute(f"SELECT d.doc_id, d.hash FROM documents d WHERE {ALIVE}", {"g": generation}))

    def dated_chunks(self, generation: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, publication times in seconds since the epoch) of the generation's chunks whose document has a
        publication time, in id order."""
        if not self.has_published:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        rows = self.db.execute(
            f"SELECT c.id, {EPOCH} {CHUNKS_OF_DOCS}{ALIVE} AND {EPOCH} IS NOT NULL ORDER BY c.id", {"g": generation}
        ).fetchall()
        table = np.asarray(rows, dtype=np.int64).reshape(-1, 2)
        return np.ascontiguousarray(table[:, 0]), np.ascontiguousarray(table[:, 1])

    def published_range(self, generation: int) -> tuple[str | None, str | None]:
        """The earliest and latest publication time of the generation's documents, (None, None) when none has one."""
        if not self.has_published:
            return None, None
        ends = []
        for order in ("ASC", "DESC"):
            row = self.db.execute(
                f"SELECT d.published FROM documents d WHERE {ALIVE} AND {EPOCH} IS NOT NULL "
                f"ORDER BY {EPOCH} {order} LIMIT 1",
                {"g": generation},
            ).fetchone()
            ends.append(row[0] if row else None)
        return ends[0], ends[1]

    def document_text(self, doc_id: str, generation: int) -> str | None:
        """A document's cleaned text, if the generation holds it."""
        row = self.db.execute(
            f"SELECT d.text FROM documents d WHERE d.doc_id = :id AND {ALIVE}", {"id": doc_id, "g": generation}
        ).fetchone()
        return row[0] if row else None

    def document_records(self, generation: int, batch: int = 500) -> Iterator[StoredDocument]:
        """Each document of the generation as it was written, with its chunks and their ids, in the order they
        were added (a migration reads the store through this)."""
        extra = self._published(("d.marks, d.meta" if self.has_marks else "'[]', '{}'") + ", d.published")
        docs = self.db.execute(
            f"SELECT {STORED_COLUMNS}, {extra} FROM documents d WHERE {ALIVE} ORDER BY d.key", {"g": generation}
        )
        while rows := docs.fetchmany(batch):
            keys = [r[0] for r in rows]
            chunks: dict[int, list[tuple]] = {k: [] for k in keys}
            marks = ",".join("?" * len(keys))
            sql = f"SELECT {STORED_CHUNK_COLUMNS} FROM chunks WHERE doc_key IN ({marks}) ORDER BY id"
            for row in self.db.execute(sql, keys):
                chunks[row[0]].append(row[1:])
            for row in rows:
                yield stored_document(row, chunks[row[0]])

    # --- writing generation `generation` (one transaction, committed by the writer)

    def add(
        self,
        doc: DocRecord,
        chunks: Sequence[ChunkRecord],
        chunk_ids: Sequence[int],
        generation: int,
        path: str,
        stored_hash: str,
    ) -> None:
        """Add a document row and its chunk rows (ids `chunk_ids`, rows of the vectors file) to `generation`."""
        key = self.db.execute(
            "INSERT INTO documents (doc_id, source, path, title, date, source_line, kind, text, hash, added, "
            "gen_added, marks, meta, published) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                doc.doc_id,
                doc.source,
                path,
                doc.title,
                doc.date,
                doc.source_line,
                doc.kind,
                doc.text,
                stored_hash,
                time.time(),
                generation,
                json.dumps([list(span) for span in doc.marks]),
                json.dumps({k: v for k, v in (("author", doc.author), ("pages", list(doc.pages))) if v}),
                doc.published,
            ),
        ).lastrowid
        self.db.executemany(
            'INSERT INTO chunks (id, doc_key, ord, start, "end", text, hash) VALUES (?,?,?,?,?,?,?)',
            [(i, key, c.ord, c.start, c.end, c.text, c.hash) for i, c in zip(chunk_ids, chunks, strict=True)],
        )

    def remove(self, doc_id: str, generation: int) -> list[int]:
        """Mark the document's live rows removed in `generation`; the chunk count of each row removed."""
        rows = self.db.execute(
            "SELECT d.key, (SELECT COUNT(*) FROM chunks c WHERE c.doc_key = d.key) FROM documents d "
            f"WHERE d.doc_id = :id AND {ALIVE}",
            {"id": doc_id, "g": generation},
        ).fetchall()
        for key, _ in rows:
            self.db.execute("UPDATE documents SET gen_removed = ? WHERE key = ?", (generation, key))
        return [n for _, n in rows]

    def recover(self, generation: int) -> None:
        """Undo the rows a killed writer left beyond the committed `generation`."""
        with self.db:
            self.db.execute(
                "DELETE FROM chunks WHERE doc_key IN (SELECT key FROM documents WHERE gen_added > ?)", (generation,)
            )
            self.db.execute("DELETE FROM documents WHERE gen_added > ?", (generation,))
            self.db.execute("UPDATE documents SET gen_removed = NULL WHERE gen_removed > ?", (generation,))

    def prune(self, removed_by: int) -> None:
        """Forget rows removed in generation `removed_by` or before (their vectors stay in the file)."""
        with contextlib.suppress(sqlite3.Error), self.db:
            self.db.execute(
                "DELETE FROM chunks WHERE doc_key IN (SELECT key FROM documents WHERE gen_removed <= ?)", (removed_by,)
            )
            self.db.execute("DELETE FROM documents WHERE gen_removed <= ?", (removed_by,))

    def commit(self) -> None:
        self.db.commit()

    def rollback(self) -> None:
        """Drop the uncommitted rows and close (errors ignored: the committed records are untouched)."""
        with contextlib.suppress(sqlite3.Error):
            self.db.rollback()
            self.db.close()

    def close(self) -> None:
        self.db.close()
