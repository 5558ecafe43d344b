"""The embedded store's vectors: vectors.f32 (row i = chunk id i, only ever appended to) and its ANN index.

Readers search the live rows exactly, or through the generation's HNSW file plus an exact tail (ann.py);
the writer stages vectors, appends them at commit and writes the new generation's HNSW file when needed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from kbqa.index.store import ann
from kbqa.index.store.generation import Manifest

VECTORS = "vectors.f32"


def read_rows(path: Path, dim: int, rows: int, ids: np.ndarray) -> np.ndarray:
    """The vectors of chunk ids `ids` (rows of vectors.f32, which holds at least `rows` rows)."""
    if not len(ids):
        return np.zeros((0, dim), np.float32)
    table = np.memmap(path, dtype=np.float32, mode="r", shape=(rows, dim))
    out = np.ascontiguousarray(table[ids])
    if not np.isfinite(out).all():  # overwritten: a damaged store is named and repaired, never searched
        raise ValueError(f"{path} holds values that are not numbers")
    return out


def _reader(data: Path, dim: int, rows: int) -> ann.ReadRows:
    return lambda ids: read_rows(data / VECTORS, dim, rows, ids)


# --- reading


def open_index(data: Path, manifest: Manifest, live: np.ndarray) -> Any:
    """The searchable index of a generation's live chunk ids `live` (sorted): exact, or HNSW + exact tail."""
    return ann.open_index(data, manifest.ann, manifest.dim, live, _reader(data, manifest.dim, manifest.rows))


def can_follow(old: Manifest, new: Manifest) -> bool:
    """Whether an index opened at `old` can be brought to `new` by `apply` (same vectors file and HNSW file)."""
    return new.data == old.data and new.ann == old.ann


def apply(index: Any, data: Path, manifest: Manifest, gone: np.ndarray, added: np.ndarray) -> None:
    """Bring `index` to generation `manifest`: drop the chunk ids `gone`, add the vectors of `added`."""
    vectors = read_rows(data / VECTORS, manifest.dim, manifest.rows, added)
    if len(gone):
        index.remove_ids(gone)
    if len(added):
        index.add_with_ids(vectors, added)


def search(index: Any, query: np.ndarray, k: int, within: np.ndarray | None = None) -> list[tuple[int, float]]:
    """The `k` nearest (chunk id, score) to `query` (an L2-normalised vector), best first; with `within` (chunk
    ids), the `k` nearest of those (fewer only when fewer of them are live)."""
    if index is None or index.ntotal == 0:
        return []
    q = np.asarray(query, dtype=np.float32).reshape(1, -1)
    if within is not None:
        within = np.unique(np.asarray(within, dtype=np.int64))  # sorted, each once
        within = within[within >= 0]
        if not len(within) or k < 1:
            return []
    scores, ids = ann.search_one_thread(index, q, min(k, index.ntotal), within)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


# --- writing


class VectorFiles:
    """The writer's vectors (a GenerationFiles part): rows staged by `stage`, appended and synced by `save`,
    which also writes the HNSW file the new generation needs."""

    def __init__(self, data: Path, dim: int, rows: int, previous_ann: str = "") -> None:
        self.data, self.dim, self.previous = Path(data), dim, previous_ann
        self.next_id = rows  # the id (row) of the next chunk
        self._pending: list[np.ndarray] = []

    def stage(self, vectors: np.ndarray, n: int) -> range:
        """Stage the vectors of `n` new chunks; their chunk ids (rows)."""
        if n:
            self._pending.append(np.ascontiguousarray(vectors, dtype=np.float32).reshape(n, self.dim))
        ids = range(self.next_id, self.next_id + n)
        self.next_id += n
        return ids

    def recover(self, base: Manifest) -> None:
        """Cut rows and HNSW files a killed writer left beyond `base`."""
        vectors = self.data / VECTORS
        size = base.rows * base.dim * 4
        if vectors.exists() and vectors.stat().st_size > size:
            os.truncate(vectors, size)
        ann.remove_stale(self.data, keep=ann.committed(self.data, base.generation))

    def save(self, draft: Manifest, records: Any) -> dict[str, Any]:
        """Append the staged rows (synced), then the HNSW file of generation `draft` ("" for exact search)."""
        with open(self.data / VECTORS, "ab") as out:
            for block in self._pending:
                out.write(block.tobytes())
            out.flush()
            os.fsync(out.fileno())
        name = ""
        if draft.chunks >= ann.EXACT_LIMIT // 2:
            live = records.live_chunk_ids(draft.generation)
            read = _reader(self.data, self.dim, self.next_id)
            name = ann.update(self.data, draft.generation, self.dim, self.next_id, live, self.previous, read)
        return {"rows": self.next_id, "ann": name}

    def committed(self, manifest: Manifest) -> None:
        """Delete HNSW files other than the new generation's and the previous one's."""
        ann.remove_stale(self.data, keep={manifest.ann, self.previous})

    def abort(self) -> None:
        self._pending.clear()
