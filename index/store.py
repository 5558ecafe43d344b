"""The on-disk index: FAISS vectors + SQLite records per generation, switched by an atomic rename."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.errors import EmbedderMismatchError, IndexMissingError, StoreLockedError
from index.records import ChunkRecord, DocRecord, Passage

FORMAT = 1
CURRENT = "CURRENT"
SCHEMA = """
CREATE TABLE documents (
    doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, title TEXT NOT NULL, date TEXT NOT NULL,
    source_line TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL, hash TEXT NOT NULL, added REAL NOT NULL
);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(doc_id), ord INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE INDEX chunks_doc ON chunks(doc_id);
"""


@dataclass(frozen=True)
class Manifest:
    """What a generation holds and which embedder made its vectors."""

    embedder: str
    dim: int
    documents: int
    chunks: int
    generation: int
    created: float
    format: int = FORMAT


def _faiss():  # faiss is imported where used: `kbqa --help` and errors need not load it
    import faiss

    return faiss


def _read_current(root: Path) -> Path | None:
    try:
        name = json.loads((root / CURRENT).read_text(encoding="utf-8"))["dir"]
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (ValueError, KeyError):
        raise IndexMissingError(
            f"the index at {root} is damaged (bad {CURRENT}); rebuild it with `kbqa index`"
        ) from None
    return root / name


class Store:
    """A read-only view of one committed generation; `refresh()` moves to a newer one if there is."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._gen_dir: Path | None = None
        self._load()

    def _load(self) -> None:
        for attempt in range(3):  # a writer may switch generations between our reads of CURRENT and the files
            gen_dir = _read_current(self.root)
            if gen_dir is None:
                raise IndexMissingError(f"no index at {self.root}: build one with `kbqa index [PATH ...]`")
            try:
                manifest = Manifest(**json.loads((gen_dir / "manifest.json").read_text(encoding="utf-8")))
                index = _faiss().read_index(str(gen_dir / "vectors.faiss"))
                db = sqlite3.connect(f"file:{gen_dir / 'meta.sqlite'}?mode=ro", uri=True, check_same_thread=False)
            except (FileNotFoundError, sqlite3.OperationalError, RuntimeError):
                if attempt == 2:
                    raise IndexMissingError(
                        f"the index at {self.root} is unreadable; rebuild it with `kbqa index`"
                    ) from None
                time.sleep(0.05)
                continue
            self.manifest, self.index, self._db, self._gen_dir = manifest, index, db, gen_dir
            return

    def refresh(self) -> bool:
        """Load a newer committed generation if a writer made one; True if it did."""
        if _read_current(self.root) == self._gen_dir:
            return False
        old = self._db
        self._load()
        old.close()
        return True

    def check_embedder(self, embedder_id: str) -> None:
        """A one-line error when the index was built by another embedder than `embedder_id`."""
        if self.manifest.embedder != embedder_id:
            raise EmbedderMismatchError(
                f"the index at {self.root} was built with embedder '{self.manifest.embedder}', not '{embedder_id}': "
                f"rebuild it with `kbqa index --rebuild --embedder {embedder_id}` "
                f"or ask with --embedder {self.manifest.embedder}"
            )

    def search(self, query: np.ndarray, k: int) -> list[Passage]:
        """The `k` passages nearest to `query` (an L2-normalised vector), best first."""
        if self.index.ntotal == 0:
            return []
        scores, ids = self.index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), min(k, self.index.ntotal))
        hits = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        rows = self.passages([i for i, _ in hits])
        return [Passage(**{**rows[i].__dict__, "score": s}) for i, s in hits if i in rows]

    def passages(self, chunk_ids: Sequence[int]) -> dict[int, Passage]:
        """Chunk id → passage with its document's metadata (score 0)."""
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        rows = self._db.execute(
            f'SELECT c.id, c.doc_id, d.source, d.title, d.date, c.text, c.start, c."end" FROM chunks c '
            f"JOIN documents d ON d.doc_id = c.doc_id WHERE c.id IN ({marks})",
            list(chunk_ids),
        ).fetchall()
        return {r[0]: Passage(r[1], r[2], r[3], r[4], r[5], r[6], r[7], 0.0, r[0]) for r in rows}

    def documents(self) -> list[dict]:
        """Every document with its chunk count, in source order."""
        rows = self._db.execute(
            "SELECT d.doc_id, d.title, d.date, d.source, d.kind, d.added, COUNT(c.id) FROM documents d "
            "LEFT JOIN chunks c ON c.doc_id = d.doc_id GROUP BY d.doc_id ORDER BY d.source, d.rowid"
        ).fetchall()
        keys = ("doc_id", "title", "date", "source", "kind", "added", "chunks")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def document_text(self, doc_id: str) -> str | None:
        """A document's cleaned text (the context of its passages' offsets)."""
        row = self._db.execute("SELECT text FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return row[0] if row else None


class StoreWriter:
    """Builds the next generation beside the current one and switches to it atomically on `commit()`.

    Only one writer at a time: a second one waits on the lock (saying so) up to `wait` seconds.
    """

    def __init__(self, root: str | Path, embedder_id: str, dim: int, rebuild: bool = False, wait: float = 600) -> None:
        from filelock import FileLock, Timeout

        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.root / "write.lock"))
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            print(f"kbqa: waiting for another process writing {self.root} ...", file=sys.stderr)
            try:
                self._lock.acquire(timeout=wait)
            except Timeout:
                raise StoreLockedError(f"{self.root} is being written by another process; try again later") from None
        try:
            self._open(embedder_id, dim, rebuild)
        except BaseException:
            self._lock.release()
            raise

    def _open(self, embedder_id: str, dim: int, rebuild: bool) -> None:
        faiss = _faiss()
        self._cleanup_stale()
        current = None if rebuild else _read_current(self.root)
        previous = Manifest(**json.loads((current / "manifest.json").read_text())) if current else None
        if previous and previous.embedder != embedder_id:
            raise EmbedderMismatchError(
                f"the index at {self.root} was built with embedder '{previous.embedder}', not '{embedder_id}': "
                "use `kbqa index --rebuild` to rebuild it with the new one"
            )
        last = _read_current(self.root)
        self.generation = (int(last.name.split("-")[1]) if last else 0) + 1
        self._tmp = self.root / f"gen-{self.generation:06d}.tmp-{os.getpid()}"
        self._tmp.mkdir()
        self.embedder_id, self.dim = embedder_id, dim
        if current:
            shutil.copyfile(current / "meta.sqlite", self._tmp / "meta.sqlite")
            self.index = faiss.read_index(str(current / "vectors.faiss"))
        else:
            self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.db = sqlite3.connect(self._tmp / "meta.sqlite")
        if not current:
            self.db.executescript(SCHEMA)
        self._next_id = (self.db.execute("SELECT MAX(id) FROM chunks").fetchone()[0] or -1) + 1

    def _cleanup_stale(self) -> None:
        """Remove half-written generations left by a killed writer (we hold the lock: none is live)."""
        for path in self.root.glob("gen-*.tmp-*"):
            shutil.rmtree(path, ignore_errors=True)

    def document_hashes(self) -> dict[str, str]:
        """doc_id → content hash of the documents in the generation being written."""
        return dict(self.db.execute("SELECT doc_id, hash FROM documents"))

    def add(self, doc: DocRecord, chunks: Sequence[ChunkRecord], vectors: np.ndarray) -> None:
        """Add (or replace) a document with its chunks and their vectors."""
        self.remove([doc.doc_id])
        self.db.execute(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?)",
            (doc.doc_id, doc.source, doc.title, doc.date, doc.source_line, doc.kind, doc.text, doc.hash, time.time()),
        )
        ids = np.arange(self._next_id, self._next_id + len(chunks), dtype=np.int64)
        self._next_id += len(chunks)
        self.db.executemany(
            'INSERT INTO chunks (id, doc_id, ord, start, "end", text, hash) VALUES (?,?,?,?,?,?,?)',
            [(int(i), c.doc_id, c.ord, c.start, c.end, c.text, c.hash) for i, c in zip(ids, chunks, strict=True)],
        )
        if len(chunks):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    def remove(self, doc_ids: Iterable[str]) -> int:
        """Remove documents and their vectors; returns how many documents were there."""
        removed = 0
        for doc_id in doc_ids:
            ids = [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))]
            if ids:
                self.index.remove_ids(np.asarray(ids, dtype=np.int64))
            self.db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
            removed += self.db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,)).rowcount
        return removed

    def commit(self) -> Manifest:
        """Write the generation's files, fsync them, and switch CURRENT to it with an atomic rename."""
        faiss = _faiss()
        docs = self.db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        self.db.commit()
        self.db.close()
        faiss.write_index(self.index, str(self._tmp / "vectors.faiss"))
        manifest = Manifest(self.embedder_id, self.dim, docs, int(self.index.ntotal), self.generation, time.time())
        (self._tmp / "manifest.json").write_text(json.dumps(manifest.__dict__, indent=1), encoding="utf-8")
        for name in ("vectors.faiss", "meta.sqlite", "manifest.json"):
            _fsync(self._tmp / name)
        final = self.root / f"gen-{self.generation:06d}"
        os.replace(self._tmp, final)
        pointer = self.root / f"{CURRENT}.tmp-{os.getpid()}"
        pointer.write_text(json.dumps({"dir": final.name}), encoding="utf-8")
        _fsync(pointer)
        os.replace(pointer, self.root / CURRENT)
        _fsync(self.root)
        self._prune(keep={final.name})
        self._lock.release()
        return manifest

    def _prune(self, keep: set[str]) -> None:
        """Drop generations older than the previous one (a reader that just opened it may still use it)."""
        gens = sorted(p for p in self.root.glob("gen-*") if ".tmp-" not in p.name)
        for path in gens[:-2]:
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)

    def abort(self) -> None:
        """Forget the uncommitted generation; the committed index is untouched."""
        with contextlib.suppress(sqlite3.Error):
            self.db.close()
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._lock.release()

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is not None and self._lock.is_locked:
            self.abort()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
