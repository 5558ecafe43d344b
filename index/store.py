"""The on-disk index: generation-tagged SQLite records + append-only vectors, switched by an atomic rename.

Layout of a store folder:
  CURRENT                  the committed manifest (JSON), replaced atomically by each commit
  data-NNNNNN/meta.sqlite  documents and chunks (WAL); a document row lives from `gen_added` to `gen_removed`
  data-NNNNNN/vectors.f32  float32 rows, row i = the vector of chunk id i; only ever appended to
  data-NNNNNN/ann-*.faiss  above ann.EXACT_LIMIT live chunks: an HNSW index of rows up to the manifest's `ann` (ann.py)
  write.lock               held by the one writer

The embedding cache is not here: one per user is shared by every store (embed_cache.py).

A commit appends vectors, commits records tagged with the new generation, then renames CURRENT: readers
only see rows of generations up to the one CURRENT names, so they never see a half-written index. A writer
first undoes whatever a killed writer left beyond CURRENT. `--rebuild` writes a new data folder.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import os
import shutil
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from index import ann, keyword
from index.chunking import titled
from index.errors import EmbedderMismatchError, IndexMissingError, StoreLockedError
from index.health import IndexDamagedError, Problem, damaged, rebuild_fix, verify
from index.records import ChunkRecord, DocRecord, Passage

FORMAT = 2
CURRENT = "CURRENT"
KEEP_GENERATIONS = 10  # removed rows stay this many generations, so lagging readers can update incrementally
SCHEMA = """
CREATE TABLE documents (
    key INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, source TEXT NOT NULL, path TEXT NOT NULL, title TEXT NOT NULL,
    date TEXT NOT NULL, source_line TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL, hash TEXT NOT NULL,
    added REAL NOT NULL, gen_added INTEGER NOT NULL, gen_removed INTEGER, marks TEXT NOT NULL DEFAULT '[]',
    meta TEXT NOT NULL DEFAULT '{}'
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
ALIVE = "d.gen_added <= :g AND (d.gen_removed IS NULL OR d.gen_removed > :g)"
# `marks` (DocRecord.marks as JSON) came after FORMAT 2: a store made before lacks the column until a writer
# opens it and adds it, so readers check for it; no format bump, since an old store needs no rebuild
ADD_MARKS = "ALTER TABLE documents ADD COLUMN marks TEXT NOT NULL DEFAULT '[]'"
# `meta` (JSON: the format's author and a PDF's page starts) came after marks, the same way
ADD_META = "ALTER TABLE documents ADD COLUMN meta TEXT NOT NULL DEFAULT '{}'"


@dataclass(frozen=True)
class Manifest:
    """What a generation holds, where its files are and which embedder made its vectors."""

    embedder: str
    dim: int
    documents: int
    chunks: int
    generation: int
    created: float
    data: str = ""  # the data folder's name
    rows: int = 0  # rows of vectors.f32 that belong to this generation
    ann: str = ""  # the HNSW file in the data folder readers search ("" while exact search is fast enough)
    format: int = FORMAT


def _faiss():  # faiss is imported where used: `kbqa --help` and errors need not load it
    import faiss

    return faiss


def read_manifest(root: str | Path) -> Manifest | None:
    """The committed manifest of the store at `root`, or None when there is no index yet."""
    root = Path(root)

    def bad(what: str) -> Exception:
        return damaged(root, Problem(root / CURRENT, what, rebuild_fix(root)))

    try:
        data = json.loads((root / CURRENT).read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except ValueError:
        raise bad("is empty" if not (root / CURRENT).stat().st_size else "is not valid JSON (damaged)") from None
    except OSError as exc:
        raise bad(f"cannot be read ({exc.strerror})") from None
    if not isinstance(data, dict):
        raise bad("is not a manifest (damaged)")
    if data.get("format") != FORMAT:
        if isinstance(data.get("format"), int) and data["format"] < FORMAT:
            raise IndexMissingError(
                f"the index at {root} was made by an older kbqa: rebuild it with `kbqa index --rebuild`"
            )
        raise bad("is not a manifest (damaged)")
    try:
        manifest = Manifest(**data)
    except TypeError:
        raise bad("is not a manifest (damaged)") from None
    ints = (manifest.dim, manifest.documents, manifest.chunks, manifest.generation, manifest.rows)
    if (
        not all(isinstance(v, int) and v >= 0 for v in ints)
        or not isinstance(manifest.data, str)
        or not manifest.data.startswith("data-")
        or "/" in manifest.data
        or not isinstance(manifest.ann, str)
    ):
        raise bad("is not a manifest (damaged)")
    return manifest


def _current_or_none(root: Path) -> Manifest | None:
    try:
        return read_manifest(root)
    except IndexDamagedError:
        return None


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=60, check_same_thread=False)
    if readonly:
        db.execute("PRAGMA query_only = ON")
    return db


def _read_rows(path: Path, dim: int, rows: int, ids: np.ndarray) -> np.ndarray:
    """The vectors of chunk ids `ids` (rows of vectors.f32, which holds at least `rows` rows)."""
    if not len(ids):
        return np.zeros((0, dim), np.float32)
    table = np.memmap(path, dtype=np.float32, mode="r", shape=(rows, dim))
    out = np.ascontiguousarray(table[ids])
    if not np.isfinite(out).all():  # overwritten: a damaged store is named and repaired, never searched
        raise ValueError(f"{path} holds values that are not numbers")
    return out


def _ids(db: sqlite3.Connection, sql: str, params: dict) -> np.ndarray:
    return np.fromiter((r[0] for r in db.execute(sql, params)), dtype=np.int64)


CHUNKS_OF_DOCS = "FROM chunks c JOIN documents d ON d.key = c.doc_key WHERE "  # + a condition on d (and :g)


def _chunk_texts(db: sqlite3.Connection, where: str, generation: int) -> tuple[list[int], list[str]]:
    """(ids, texts as embedded and keyword-indexed: title first) of the chunks whose document matches `where`."""
    rows = db.execute(f"SELECT c.id, d.title, c.text {CHUNKS_OF_DOCS}{where}", {"g": generation}).fetchall()
    return [r[0] for r in rows], [titled(title, t) for _, title, t in rows]


def _has_marks(db: sqlite3.Connection) -> bool:
    """Whether the documents table has the `marks` and `meta` columns (a store written before them has not)."""
    return {"marks", "meta"} <= {row[1] for row in db.execute("PRAGMA table_info(documents)")}


def _page(meta_json: str, start: int) -> int:
    """The 1-based page of a PDF document holding offset `start` (0 for documents without pages)."""
    pages = json.loads(meta_json).get("pages") if meta_json and meta_json != "{}" else None
    return bisect.bisect_right(pages, start) if pages else 0


def _unquotable(marks_json: str, start: int, end: int) -> tuple[tuple[int, int], ...]:
    """The document's marks that meet the chunk [start, end), relative to the chunk and clipped to it."""
    spans = json.loads(marks_json) if marks_json else []
    return tuple((max(s, start) - start, min(e, end) - start) for s, e in spans if s < end and e > start)


def _reader(data: Path, manifest: Manifest) -> ann.ReadRows:
    return lambda ids: _read_rows(data / "vectors.f32", manifest.dim, manifest.rows, ids)


class Store:
    """A read-only view of one committed generation; `refresh()` moves to a newer one if there is.

    With `vectors=False` only the records are opened (listing documents needs no FAISS index).
    """

    def __init__(self, root: str | Path, vectors: bool = True) -> None:
        self.root = Path(root)
        self._vectors = vectors
        self._mutex = threading.RLock()  # the UI asks from several threads
        self.index = None
        self._db: sqlite3.Connection | None = None
        self._marks = False  # whether the documents table has the marks column (checked when (re)opened)
        self._load()

    def _load(self) -> None:
        for attempt in range(5):  # a rebuild may delete the data folder between our reads of CURRENT and the files
            manifest = read_manifest(self.root)
            if manifest is None:
                raise IndexMissingError(f"no index at {self.root}: build one with `kbqa index [PATH ...]`")
            data = self.root / manifest.data
            try:
                verify(self.root, load_ann=not self._vectors)  # cheap checks: a damaged file is named with its fix
                db = _connect(data / "meta.sqlite", readonly=True)
                index = self._build_index(db, data, manifest) if self._vectors else None
            except (IndexDamagedError, sqlite3.Error, ValueError, OSError, RuntimeError, EOFError):
                if attempt < 4 and _current_or_none(self.root) != manifest:  # a writer switched generations
                    time.sleep(0.1)
                    continue
                verify(self.root, deep=True)
                raise IndexDamagedError(
                    f"the index at {self.root} is unreadable; repair it with `kbqa index --rebuild PATHS`"
                ) from None
            old, self._db = self._db, db
            self.manifest, self.index = manifest, index
            self._marks = _has_marks(db)
            if old is not None:
                old.close()
            return
        verify(self.root, deep=True)
        raise IndexDamagedError(f"the index at {self.root} is unreadable; repair it with `kbqa index --rebuild PATHS`")

    @staticmethod
    def _build_index(db: sqlite3.Connection, data: Path, manifest: Manifest):
        """Exact search over the live vectors, or their HNSW file plus an exact tail (see ann.py)."""
        ids = np.sort(_ids(db, f"SELECT c.id {CHUNKS_OF_DOCS}{ALIVE}", {"g": manifest.generation}))
        return ann.open_index(data, manifest.ann, manifest.dim, ids, _reader(data, manifest))

    def refresh(self) -> bool:
        """Move to a newer committed generation if a writer made one; True if it did.

        Within the same data folder only the documents added and removed since are applied to the FAISS
        index (add_with_ids / remove_ids); otherwise everything is loaded again.
        """
        with self._mutex:
            manifest = read_manifest(self.root)
            if manifest is None or manifest.generation == self.manifest.generation:
                return False
            old = self.manifest
            if (
                not self._vectors
                or manifest.data != old.data
                or manifest.ann != old.ann
                or not 0 < manifest.generation - old.generation < KEEP_GENERATIONS
            ):
                self._load()
                return True
            try:
                self._apply(old.generation, manifest)
                self._marks = self._marks or _has_marks(self._db)  # a writer may have added the column since
            except (sqlite3.Error, ValueError, OSError):
                self._load()
            return True

    def _apply(self, since: int, manifest: Manifest) -> None:
        params = {"old": since, "new": manifest.generation}
        join = f"SELECT c.id {CHUNKS_OF_DOCS}"
        gone = _ids(self._db, join + "d.gen_removed > :old AND d.gen_removed <= :new AND d.gen_added <= :old", params)
        new = _ids(
            self._db,
            join + "d.gen_added > :old AND d.gen_added <= :new AND (d.gen_removed IS NULL OR d.gen_removed > :new)",
            params,
        )
        vectors = _read_rows(self.root / manifest.data / "vectors.f32", manifest.dim, manifest.rows, new)
        if len(gone):
            self.index.remove_ids(gone)
        if len(new):
            self.index.add_with_ids(vectors, new)
        self.manifest = manifest

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
        with self._mutex:
            if self.index is None or self.index.ntotal == 0:
                return []
            q = np.asarray(query, dtype=np.float32).reshape(1, -1)
            scores, ids = ann.search_one_thread(self.index, q, min(k, self.index.ntotal))
            hits = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
            rows = self.passages([i for i, _ in hits])
        return [replace(rows[i], score=s) for i, s in hits if i in rows]

    def chunk_texts(self) -> tuple[list[int], list[str]]:
        """(ids, texts as embedded and keyword-indexed) of this generation's chunks."""
        with self._mutex:
            return _chunk_texts(self._db, ALIVE, self.manifest.generation)

    def passages(self, chunk_ids: Sequence[int]) -> dict[int, Passage]:
        """Chunk id → passage with its document's metadata and unquotable spans (score 0)."""
        if not chunk_ids:
            return {}
        params = ",".join("?" * len(chunk_ids))
        with self._mutex:
            marks = "d.marks, d.meta" if self._marks else "'[]', '{}'"
            rows = self._db.execute(
                f'SELECT c.id, d.doc_id, d.source, d.title, d.date, c.text, c.start, c."end", {marks} FROM chunks c '
                f"JOIN documents d ON d.key = c.doc_key WHERE c.id IN ({params})",
                list(chunk_ids),
            ).fetchall()
        return {
            r[0]: Passage(
                r[1], r[2], r[3], r[4], r[5], r[6], r[7], 0.0, r[0], _unquotable(r[8], r[6], r[7]), _page(r[9], r[6])
            )
            for r in rows
        }

    def documents(self) -> list[dict]:
        """Every document with its chunk count, in source order."""
        with self._mutex:
            rows = self._db.execute(
                "SELECT d.doc_id, d.title, d.date, d.source, d.path, d.kind, d.added, "
                "(SELECT COUNT(*) FROM chunks c WHERE c.doc_key = d.key) "
                f"FROM documents d WHERE {ALIVE} ORDER BY d.source, d.key",
                {"g": self.manifest.generation},
            ).fetchall()
        keys = ("doc_id", "title", "date", "source", "path", "kind", "added", "chunks")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def document_hashes(self) -> dict[str, str]:
        """doc_id → the hash each of this generation's documents was stored under (build.indexed_hash)."""
        with self._mutex:
            rows = self._db.execute(
                f"SELECT d.doc_id, d.hash FROM documents d WHERE {ALIVE}", {"g": self.manifest.generation}
            )
            return dict(rows)

    def document_text(self, doc_id: str) -> str | None:
        """A document's cleaned text (the context of its passages' offsets)."""
        with self._mutex:
            row = self._db.execute(
                f"SELECT d.text FROM documents d WHERE d.doc_id = :id AND {ALIVE}",
                {"id": doc_id, "g": self.manifest.generation},
            ).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


@dataclass(frozen=True)
class StoredDoc:
    """A document as the writer sees it: enough to decide whether to keep, replace or remove it."""

    doc_id: str
    source: str
    path: str
    hash: str
    chunks: int


class StoreWriter:
    """Writes the next generation and switches to it atomically on `commit()`.

    Only one writer at a time: a second one waits on the lock (saying so) up to `wait` seconds, then fails.
    `embedder_id=None` keeps the index's embedder (for removals, which embed nothing).
    """

    def __init__(
        self, root: str | Path, embedder_id: str | None, dim: int | None, rebuild: bool = False, wait: float = 600
    ) -> None:
        from filelock import FileLock, Timeout

        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.root / "write.lock"))
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            if wait > 0:
                print(f"kbqa: waiting for another process writing {self.root} ...", file=sys.stderr, flush=True)
            try:
                self._lock.acquire(timeout=wait)
            except Timeout:
                raise StoreLockedError(f"{self.root} is being written by another process; try again later") from None
        try:
            self._open(embedder_id, dim, rebuild)
        except BaseException:
            self._lock.release()
            raise

    def _open(self, embedder_id: str | None, dim: int | None, rebuild: bool) -> None:
        try:
            previous = read_manifest(self.root)
        except IndexDamagedError:
            if not rebuild:
                raise
            previous = None  # a damaged CURRENT: the rebuild starts over (and removes every data folder)
        if previous is not None and not rebuild:
            verify(self.root, finite=True)  # appending to a damaged generation would leave it unreadable
        base = None if rebuild else previous
        if base is None and embedder_id is None:
            raise IndexMissingError(f"no index at {self.root}: build one with `kbqa index [PATH ...]`")
        if base and embedder_id is not None and base.embedder != embedder_id:
            raise EmbedderMismatchError(
                f"the index at {self.root} was built with embedder '{base.embedder}', not '{embedder_id}': "
                "use `kbqa index --rebuild` to rebuild it with the new one"
            )
        self.generation = (previous.generation if previous else 0) + 1
        self._cleanup_stale(keep=previous.data if previous else None)
        if base:
            self.data = self.root / base.data
            self.embedder_id, self.dim = base.embedder, base.dim
            self.db = _connect(self.data / "meta.sqlite", readonly=False)
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(documents)")}
            with self.db:  # a store from before marks/meta: readers see them empty until re-indexed
                for name, add in (("marks", ADD_MARKS), ("meta", ADD_META)):
                    if name not in columns:
                        self.db.execute(add)
            self._rows = base.rows
            self._recover(base)
            ann.remove_stale(self.data, keep=ann.committed(self.data, base.generation))
            self._counts = [base.documents, base.chunks]
        else:
            taken = [int(p.name.split("-")[1]) for p in self.root.glob("data-*") if p.name.split("-")[1].isdigit()]
            self.data = self.root / f"data-{max(taken, default=0) + 1:06d}"
            self.data.mkdir()
            self.embedder_id, self.dim = embedder_id, int(dim)
            self.db = _connect(self.data / "meta.sqlite", readonly=False)
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.executescript(SCHEMA)
            self._rows = 0
            self._counts = [0, 0]
        self._fresh = base is None
        self._base = base
        self._dirty = self._fresh
        self.db.execute("PRAGMA synchronous = FULL")
        self._pending: list[np.ndarray] = []
        self._next_id = self._rows

    def _recover(self, base: Manifest) -> None:
        """Undo what a killed writer left beyond the committed generation: its rows and its vectors."""
        g = base.generation
        with self.db:
            self.db.execute("DELETE FROM chunks WHERE doc_key IN (SELECT key FROM documents WHERE gen_added > ?)", (g,))
            self.db.execute("DELETE FROM documents WHERE gen_added > ?", (g,))
            self.db.execute("UPDATE documents SET gen_removed = NULL WHERE gen_removed > ?", (g,))
        keyword.prune(self.data, keep=range(g - KEEP_GENERATIONS + 1, g + 1))
        vectors = self.data / "vectors.f32"
        size = base.rows * base.dim * 4
        if vectors.exists() and vectors.stat().st_size > size:
            os.truncate(vectors, size)

    def _cleanup_stale(self, keep: str | None) -> None:
        """Remove data folders CURRENT does not name: old ones after a rebuild, or a killed rebuild's."""
        for path in self.root.glob("data-*"):
            if path.name != keep:
                shutil.rmtree(path, ignore_errors=True)
        for path in self.root.glob(f"{CURRENT}.tmp-*"):
            path.unlink(missing_ok=True)

    def _alive(self) -> str:
        return f"gen_added <= {self.generation} AND (gen_removed IS NULL OR gen_removed > {self.generation})"

    def documents(self) -> list[StoredDoc]:
        """The documents of the generation being written."""
        rows = self.db.execute(
            "SELECT d.doc_id, d.source, d.path, d.hash, (SELECT COUNT(*) FROM chunks c WHERE c.doc_key = d.key) "
            f"FROM documents d WHERE {self._alive()}"
        )
        return [StoredDoc(*row) for row in rows]

    def document_hashes(self) -> dict[str, str]:
        """doc_id → the hash each document of the generation being written was stored under."""
        return dict(self.db.execute(f"SELECT doc_id, hash FROM documents WHERE {self._alive()}"))

    def add(
        self,
        doc: DocRecord,
        chunks: Sequence[ChunkRecord],
        vectors: np.ndarray,
        path: str | None = None,
        stored_hash: str | None = None,
    ) -> None:
        """Add (or replace) a document with its chunks and their vectors.

        `path` is the file's resolved absolute path; by default `doc.source` resolved against the cwd.
        `stored_hash` is what `document_hashes` returns for it later; by default the document's content hash.
        """
        self.remove([doc.doc_id])
        path = path or str(Path(doc.source).resolve())
        key = self.db.execute(
            "INSERT INTO documents (doc_id, source, path, title, date, source_line, kind, text, hash, added, "
            "gen_added, marks, meta) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                doc.doc_id,
                doc.source,
                path,
                doc.title,
                doc.date,
                doc.source_line,
                doc.kind,
                doc.text,
                stored_hash or doc.hash,
                time.time(),
                self.generation,
                json.dumps([list(span) for span in doc.marks]),
                json.dumps({k: v for k, v in (("author", doc.author), ("pages", list(doc.pages))) if v}),
            ),
        ).lastrowid
        ids = range(self._next_id, self._next_id + len(chunks))
        self._next_id += len(chunks)
        self.db.executemany(
            'INSERT INTO chunks (id, doc_key, ord, start, "end", text, hash) VALUES (?,?,?,?,?,?,?)',
            [(i, key, c.ord, c.start, c.end, c.text, c.hash) for i, c in zip(ids, chunks, strict=True)],
        )
        if len(chunks):
            vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(chunks), self.dim)
            self._pending.append(vectors)
        self._counts[0] += 1
        self._counts[1] += len(chunks)
        self._dirty = True

    def remove(self, doc_ids: Iterable[str]) -> int:
        """Remove documents (their vectors leave readers' FAISS indexes); returns how many were there."""
        removed = 0
        for doc_id in doc_ids:
            rows = self.db.execute(
                "SELECT key, (SELECT COUNT(*) FROM chunks c WHERE c.doc_key = key) FROM documents "
                f"WHERE doc_id = ? AND {self._alive()}",
                (doc_id,),
            ).fetchall()
            for key, n_chunks in rows:
                self.db.execute("UPDATE documents SET gen_removed = ? WHERE key = ?", (self.generation, key))
                self._counts[0] -= 1
                self._counts[1] -= n_chunks
                self._dirty = True
                removed += 1
        return removed

    def commit(self) -> Manifest:
        """Append the vectors, commit the records, then switch CURRENT to the new generation atomically.

        A writer that changed nothing makes no new generation and returns the committed manifest."""
        if not self._dirty and self._base is not None:
            self.abort()
            return self._base
        vectors = self.data / "vectors.f32"
        with open(vectors, "ab") as out:
            for block in self._pending:
                out.write(block.tobytes())
            out.flush()
            os.fsync(out.fileno())
        ann_file = self._update_ann()
        self._update_keywords()
        self.db.commit()
        manifest = Manifest(
            self.embedder_id,
            self.dim,
            self._counts[0],
            self._counts[1],
            self.generation,
            time.time(),
            data=self.data.name,
            rows=self._next_id,
            ann=ann_file,
        )
        pointer = self.root / f"{CURRENT}.tmp-{os.getpid()}"
        pointer.write_text(json.dumps(asdict(manifest), indent=1), encoding="utf-8")
        _fsync(pointer)
        os.replace(pointer, self.root / CURRENT)
        _fsync(self.root)
        ann.remove_stale(self.data, keep={ann_file, self._base.ann if self._base else ""})
        self._prune()
        self.db.close()
        self._cleanup_stale(keep=self.data.name)
        self._lock.release()
        return manifest

    def _update_ann(self) -> str:
        """The HNSW file of the new generation (written now if it needs one, see ann.update), or ""."""
        previous = self._base.ann if self._base else ""
        if self._counts[1] < ann.EXACT_LIMIT // 2:
            return ""
        live = np.sort(_ids(self.db, f"SELECT c.id {CHUNKS_OF_DOCS}{ALIVE}", {"g": self.generation}))
        shape = Manifest(self.embedder_id, self.dim, 0, 0, self.generation, 0.0, self.data.name, self._next_id)
        return ann.update(
            self.data, self.generation, self.dim, self._next_id, live, previous, _reader(self.data, shape)
        )

    def _update_keywords(self) -> None:
        """Save the new generation's keyword index: the previous one plus a segment of the added chunks minus the
        removed ones, or (first commit, rebuild, previous index missing) built from every live chunk."""
        added = _chunk_texts(self.db, f"{ALIVE} AND d.gen_added = :g", self.generation)
        removed, _ = _chunk_texts(self.db, "d.gen_removed = :g AND d.gen_added < :g", self.generation)
        previous = self._base.generation if self._base else None
        if (
            previous is None
            or keyword.update_for_generation(self.data, previous, self.generation, added, removed) is None
        ):
            keyword.build_for_generation(self.data, self.generation, *_chunk_texts(self.db, ALIVE, self.generation))
        keyword.prune(self.data, keep=range(self.generation - KEEP_GENERATIONS + 1, self.generation + 1))

    def _prune(self) -> None:
        """Forget rows removed more than KEEP_GENERATIONS generations ago (their vectors stay in the file)."""
        old = self.generation - KEEP_GENERATIONS
        with contextlib.suppress(sqlite3.Error), self.db:
            self.db.execute(
                "DELETE FROM chunks WHERE doc_key IN (SELECT key FROM documents WHERE gen_removed <= ?)", (old,)
            )
            self.db.execute("DELETE FROM documents WHERE gen_removed <= ?", (old,))

    def abort(self) -> None:
        """Forget the uncommitted generation; the committed index is untouched."""
        with contextlib.suppress(sqlite3.Error):
            self.db.rollback()
            self.db.close()
        self._pending.clear()
        if self._fresh:  # a rebuild's new data folder: CURRENT does not name it
            shutil.rmtree(self.data, ignore_errors=True)
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
