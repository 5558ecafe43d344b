"""Vector search by index size: exact below EXACT_LIMIT live vectors, else a persisted HNSW file plus an exact tail."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

EXACT_LIMIT = 20_000  # live vectors searched exactly (IndexFlatIP) up to here: ~4 ms a query at 20k, see bench
TAIL_LIMIT = 5_000  # newer rows than the HNSW file are searched exactly; the writer extends the file beyond this
MAX_DEAD = 0.25  # the writer rebuilds the HNSW file from live rows when this share of its vectors is removed
HNSW_M = 32
EF_CONSTRUCTION = 40
EF_SEARCH = 256
_NAME = re.compile(r"ann-(\d+)-r(\d+)-n(\d+)\.faiss$")

ReadRows = Callable[[np.ndarray], np.ndarray]  # chunk ids → their vectors (rows of vectors.f32)


def _faiss():
    import faiss

    return faiss


def ann_name(generation: int, rows: int, vectors: int) -> str:
    """The file name of the HNSW index a generation wrote: it covers rows < `rows` and holds `vectors` of them."""
    return f"ann-{generation:06d}-r{rows}-n{vectors}.faiss"


def parse_name(name: str) -> tuple[int, int, int]:
    """(generation, rows covered, vectors held) of an HNSW file name."""
    match = _NAME.fullmatch(name)
    if match is None:
        raise ValueError(f"not an ANN file name: {name}")
    return int(match[1]), int(match[2]), int(match[3])


def file_problem(data: Path, name: str, deep: bool, load: bool) -> str | None:
    """What is wrong with the HNSW file `name` in data folder `data` (its name, presence, size; if `load`, that it
    loads, memory-mapped unless `deep`, and holds the vectors its name says), or None."""
    path = data / name
    try:
        _, _, held = parse_name(name)
    except ValueError:
        return "is not a valid ANN file name"
    if not path.is_file():
        return "is missing"
    if path.stat().st_size == 0:
        return "is empty"
    if not load:
        return None
    faiss = _faiss()
    try:  # memory-mapped unless `deep`: costs little at every open
        index = faiss.read_index(str(path), 0 if deep else faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    except Exception as exc:  # noqa: BLE001 - faiss raises RuntimeError with its C++ message
        return f"cannot be loaded ({str(exc).strip().splitlines()[0][:80] if str(exc).strip() else type(exc).__name__})"
    if index.ntotal != held:
        return f"holds {index.ntotal} vectors, its name says {held}"
    return None


def exact_index(dim: int, vectors: np.ndarray, ids: np.ndarray):
    """An exact inner-product index of `vectors` labelled with chunk `ids` (supports add and remove)."""
    faiss = _faiss()
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if len(ids):
        index.add_with_ids(vectors, ids)
    return index


def build_hnsw(dim: int, vectors: np.ndarray, ids: np.ndarray):
    """An HNSW (M=32) inner-product index of `vectors` labelled with chunk `ids`."""
    faiss = _faiss()
    hnsw = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = EF_CONSTRUCTION
    index = faiss.IndexIDMap2(hnsw)
    if len(ids):
        index.add_with_ids(vectors, ids)
    return index


def search_one_thread(index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """`index.search` on one OpenMP thread: for one query, threads only wait on each other (on 2 shared cores,
    exact search at 20k: 16 ms with 2 threads, 2.8 ms with 1). The setting is per calling thread; restored after."""
    faiss = _faiss()
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return index.search(query, k)
    finally:
        faiss.omp_set_num_threads(threads)


def _write_atomic(index, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    _faiss().write_index(index, str(tmp))
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def update(data: Path, generation: int, dim: int, rows: int, live: np.ndarray, previous: str, read: ReadRows) -> str:
    """The writer's step: the HNSW file the new generation uses ("" for exact search), written if needed.

    `live`: the new generation's sorted live chunk ids; `previous`: the committed generation's file name. The
    previous file is kept while few of its vectors are dead and few rows are newer than it; otherwise it is
    extended with the newer live rows, or rebuilt from the live rows when too many of its vectors are dead."""
    if len(live) < (EXACT_LIMIT // 2 if previous else EXACT_LIMIT):
        return ""
    if previous:
        _, covered, held = parse_name(previous)
        dead = held - int(np.searchsorted(live, covered))
        newer = live[np.searchsorted(live, covered) :]
        if dead <= MAX_DEAD * held:
            if len(newer) < TAIL_LIMIT:
                return previous
            index = _faiss().read_index(str(data / previous))
            index.add_with_ids(read(newer), newer)
            name = ann_name(generation, rows, held + len(newer))
            _write_atomic(index, data / name)
            return name
    index = build_hnsw(dim, read(live), live)
    name = ann_name(generation, rows, len(live))
    _write_atomic(index, data / name)
    return name


def committed(data: Path, generation: int) -> set[str]:
    """The HNSW files in `data` of generations up to `generation` (later ones are a killed writer's)."""
    return {p.name for p in data.glob("ann-*.faiss") if _NAME.fullmatch(p.name) and parse_name(p.name)[0] <= generation}


def remove_stale(data: Path, keep: set[str]) -> None:
    """Delete HNSW files (and unfinished ones) not named in `keep`."""
    for path in data.glob("ann-*.faiss*"):
        if path.name not in keep:
            path.unlink(missing_ok=True)


class AnnIndex:
    """Live vectors: an HNSW file (memory-mapped) over rows < `covered`, filtered by a live mask, plus an exact
    index of newer live rows. Duck-types the faiss calls the store makes (ntotal, search, add/remove_ids)."""

    def __init__(self, hnsw, covered: int, live: np.ndarray, tail) -> None:
        self.hnsw, self.covered, self.tail = hnsw, covered, tail
        self.alive = np.zeros(covered, dtype=bool)
        self.alive[live[live < covered]] = True
        self._select()

    def _select(self) -> None:
        faiss = _faiss()
        self._bits = np.packbits(self.alive, bitorder="little")  # the selector reads this buffer: keep it
        self._sel = faiss.IDSelectorBitmap(len(self._bits), faiss.swig_ptr(self._bits))
        self._count = int(self.alive.sum())

    @property
    def ntotal(self) -> int:
        return self._count + self.tail.ntotal

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The `k` best (scores, chunk ids) over both parts, shaped (1, k) like faiss's; -1 pads."""
        faiss = _faiss()
        params = faiss.SearchParametersHNSW(efSearch=max(EF_SEARCH, k), sel=self._sel)
        scores, ids = self.hnsw.search(query, k, params=params)
        if self.tail.ntotal:
            more = self.tail.search(query, min(k, self.tail.ntotal))
            scores, ids = np.hstack([scores, more[0]]), np.hstack([ids, more[1]])
        order = np.argsort(-np.where(ids >= 0, scores, -np.inf), axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, order, 1), np.take_along_axis(ids, order, 1)

    def add_with_ids(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """New rows go to the exact tail (their ids are beyond the HNSW file's rows)."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) and ids.min() < self.covered:
            raise ValueError("chunk ids below the ANN file's rows cannot be added again")
        self.tail.add_with_ids(vectors, ids)

    def remove_ids(self, ids: np.ndarray) -> int:
        """Drop chunk ids: masked out of the HNSW search, removed from the tail."""
        ids = np.asarray(ids, dtype=np.int64)
        old = ids[ids < self.covered]
        self.alive[old] = False
        self._select()
        return len(old) + self.tail.remove_ids(ids[ids >= self.covered])


def open_index(data: Path, name: str, dim: int, live: np.ndarray, read: ReadRows):
    """The reader's index of a generation: exact over `live` without an HNSW file `name`, else an AnnIndex."""
    if not name:
        return exact_index(dim, read(live), live)
    faiss = _faiss()
    _, covered, _ = parse_name(name)
    hnsw = faiss.read_index(str(data / name), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    newer = live[np.searchsorted(live, covered) :]
    return AnnIndex(hnsw, covered, live, exact_index(dim, read(newer), newer))
