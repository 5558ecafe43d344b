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
# A search restricted to a set of chunks (`within`) scores this many of them or fewer exactly (the HNSW file's
# vectors, the others skipped by a selector: 0.9 ms for 2,000 of 50,000, 5 ms for 8,000); more go through the
# graph with the selector and twice the efSearch (recall@10 0.995 for 8,000 or 25,000 of 50,000, 1.4 and 3.4 ms;
# 0.87 for 2,000), and exactly again when it finds fewer than k
WITHIN_EXACT = 4_000
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


def search_one_thread(
    index, query: np.ndarray, k: int, within: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """`index.search` on one OpenMP thread: for one query, threads only wait on each other (on 2 shared cores,
    exact search at 20k: 16 ms with 2 threads, 2.8 ms with 1). The setting is per calling thread; restored after.
    `within` (sorted unique chunk ids): only those chunks are searched."""
    faiss = _faiss()
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        if within is None:
            return index.search(query, k)
        if isinstance(index, AnnIndex):
            return index.search(query, k, within)
        return _search_selected(index, query, k, within)
    finally:
        faiss.omp_set_num_threads(threads)


def _selector(ids: np.ndarray):  # noqa: ANN202 - a faiss.IDSelectorBatch (it copies the ids)
    faiss = _faiss()
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    return faiss.IDSelectorBatch(len(ids), faiss.swig_ptr(ids))


def _search_selected(index, query: np.ndarray, k: int, within: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An exact index (IndexIDMap) searched over the chunk ids `within` only: their `k` best, shaped (1, k)."""
    if not len(within) or k < 1:
        return np.zeros((1, 0), np.float32), np.zeros((1, 0), np.int64)
    params = _faiss().SearchParameters(sel=_selector(within))
    return index.search(query, min(k, len(within)), params=params)


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
        faiss = _faiss()
        self._storage = faiss.downcast_index(hnsw.index).storage  # the HNSW file's vectors, by position
        self._labels = faiss.vector_to_array(hnsw.id_map)  # position → chunk id
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

    def search(self, query: np.ndarray, k: int, within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The `k` best (scores, chunk ids) over both parts, shaped (1, k) like faiss's; -1 pads. `within` (sorted
        unique chunk ids): only those live chunks are searched, and k of them are found when k are live."""
        if within is not None:
            return self._search_within(query, k, within)
        faiss = _faiss()
        params = faiss.SearchParametersHNSW(efSearch=max(EF_SEARCH, k), sel=self._sel)
        scores, ids = self.hnsw.search(query, k, params=params)
        if self.tail.ntotal:
            more = self.tail.search(query, min(k, self.tail.ntotal))
            scores, ids = np.hstack([scores, more[0]]), np.hstack([ids, more[1]])
        return _best(scores, ids, k)

    def _search_within(self, query: np.ndarray, k: int, within: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        faiss = _faiss()
        old = within[within < self.covered]
        old = old[self.alive[old]]
        batch = _selector(old)  # referenced here until the searches below are done
        scores, ids = np.zeros((1, 0), np.float32), np.zeros((1, 0), np.int64)
        if len(old) > WITHIN_EXACT:  # the graph search skips the other chunks
            params = faiss.SearchParametersHNSW(efSearch=max(2 * EF_SEARCH, k), sel=batch)
            scores, ids = self.hnsw.search(query, k, params=params)
        if len(old) and int((ids >= 0).sum()) < min(k, len(old)):  # few, or too few found: each one scored
            translated = faiss.IDSelectorTranslated(self.hnsw.id_map, batch)
            params = faiss.SearchParameters(sel=translated)
            scores, rows = self._storage.search(query, min(k, len(old)), params=params)
            ids = np.where(rows >= 0, self._labels[np.maximum(rows, 0)], -1)
        new = within[within >= self.covered]
        if len(new) and self.tail.ntotal:
            more = _search_selected(self.tail, query, k, new)
            scores, ids = np.hstack([scores, more[0]]), np.hstack([ids, more[1]])
        return _best(scores, ids, k)

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


def _best(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The `k` best of (1, n) scores and ids, best first (-1 ids last)."""
    order = np.argsort(-np.where(ids >= 0, scores, -np.inf), axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, order, 1), np.take_along_axis(ids, order, 1)


def open_index(data: Path, name: str, dim: int, live: np.ndarray, read: ReadRows):
    """The reader's index of a generation: exact over `live` without an HNSW file `name`, else an AnnIndex."""
    if not name:
        return exact_index(dim, read(live), live)
    faiss = _faiss()
    _, covered, _ = parse_name(name)
    hnsw = faiss.read_index(str(data / name), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    newer = live[np.searchsorted(live, covered) :]
    return AnnIndex(hnsw, covered, live, exact_index(dim, read(newer), newer))
