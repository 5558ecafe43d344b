"""The HNSW path of the store (lowered thresholds, real FAISS): recall vs exact, removals, refresh, reopening."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from kbqa.index.records import ChunkRecord, DocRecord
from kbqa.index.store import ann
from kbqa.index.store.embedded import Store, StoreWriter
from tests.engines import nearest

DIM = 32
PER_DOC = 10


@pytest.fixture(autouse=True)
def small_thresholds(monkeypatch):
    monkeypatch.setattr(ann, "EXACT_LIMIT", 1000)
    monkeypatch.setattr(ann, "TAIL_LIMIT", 200)


def vectors(n: int, seed: int) -> np.ndarray:
    """Clustered unit vectors (50 centres plus noise), like embeddings rather than uniform noise."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(0).standard_normal((50, DIM))
    x = centres[rng.integers(0, 50, n)] + 0.3 * rng.standard_normal((n, DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def add_docs(root, names: list[str], remove: list[str] = ()):
    with StoreWriter(root, "test", DIM) as writer:
        writer.remove(remove)
        for name in names:
            record = DocRecord(name, f"{name}.txt", name, f"text of {name}")
            chunks = [ChunkRecord(name, i, 0, 1, f"{name} {i}") for i in range(PER_DOC)]
            writer.add(record, chunks, vectors(PER_DOC, seed=zlib.crc32(name.encode())))
        return writer.commit()


def exact_top(store: Store, alive: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    table = np.fromfile(store.root / store.manifest.data / "vectors.f32", dtype=np.float32).reshape(-1, DIM)
    scores = table[alive] @ query
    return [int(alive[i]) for i in np.argsort(-scores)[:k]]


def alive_ids(store: Store) -> np.ndarray:
    names = {d.doc_id for d in store.documents()}
    rows = store.passages(list(range(store.manifest.rows)))
    return np.array(sorted(i for i, p in rows.items() if p.doc_id in names), dtype=np.int64)


def test_small_store_stays_exact(tmp_path):
    manifest = add_docs(tmp_path, [f"d{i}" for i in range(50)])
    assert manifest.ann == "" and not list((tmp_path / manifest.data).glob("ann-*"))
    assert type(Store(tmp_path).index).__name__ == "IndexIDMap2"


def test_large_store_searches_hnsw_with_recall_close_to_exact(tmp_path):
    manifest = add_docs(tmp_path, [f"d{i}" for i in range(300)])  # 3000 chunks
    assert manifest.ann and (tmp_path / manifest.data / manifest.ann).is_file()
    store = Store(tmp_path)
    assert isinstance(store.index, ann.AnnIndex) and store.index.ntotal == 3000
    alive = alive_ids(store)
    hits = []
    for query in vectors(50, seed=123):
        found = [hit.chunk_id for hit in store.search(query, 10)]
        hits.append(len(set(found) & set(exact_top(store, alive, query, 10))) / 10)
    assert np.mean(hits) >= 0.95


def test_removed_chunks_never_come_back_and_refresh_follows(tmp_path):
    add_docs(tmp_path, [f"d{i}" for i in range(150)])
    reader = Store(tmp_path)
    gone = [f"d{i}" for i in range(0, 150, 5)]  # 20% dead: below MAX_DEAD
    manifest = add_docs(tmp_path, ["new0", "new1"], remove=gone)
    assert manifest.ann == reader.manifest.ann  # a few changes: same HNSW file, exact tail and live mask
    assert reader.refresh() and reader.index.ntotal == manifest.chunks == (150 - 30 + 2) * PER_DOC
    for store in (reader, Store(tmp_path)):
        for query in vectors(40, seed=7):
            found = nearest(store, query, 30)
            assert len(found) == 30 and not {p.doc_id for p in found} & set(gone)
        new = vectors(PER_DOC, seed=zlib.crc32(b"new1"))[0]
        assert nearest(store, new, 1)[0].doc_id == "new1"  # found in the exact tail


def test_writer_extends_then_rebuilds_the_file_and_readers_reopen_it(tmp_path):
    first = add_docs(tmp_path, [f"d{i}" for i in range(120)])
    reader = Store(tmp_path)
    extended = add_docs(tmp_path, [f"e{i}" for i in range(25)])  # 250 newer rows > TAIL_LIMIT
    assert extended.ann != first.ann and ann.parse_name(extended.ann)[1:] == (1450, 1450)
    assert reader.refresh() and reader.index.tail.ntotal == 0 and reader.index.ntotal == 1450
    rebuilt = add_docs(tmp_path, [], remove=[f"d{i}" for i in range(60)])  # 600 of 1450 dead > MAX_DEAD
    assert ann.parse_name(rebuilt.ann)[2] == 850
    assert reader.refresh() and reader.index.ntotal == 850
    files = {p.name for p in (tmp_path / rebuilt.data).glob("ann-*")}
    assert files == {extended.ann, rebuilt.ann}  # the previous one stays for readers opening it right now
    reopened = Store(tmp_path)
    query = vectors(PER_DOC, seed=zlib.crc32(b"e3"))[2]
    assert nearest(reopened, query, 1)[0].doc_id == nearest(reader, query, 1)[0].doc_id == "e3"


def test_back_below_the_threshold_goes_exact(tmp_path):
    add_docs(tmp_path, [f"d{i}" for i in range(120)])
    manifest = add_docs(tmp_path, [], remove=[f"d{i}" for i in range(80)])  # 400 < EXACT_LIMIT / 2
    assert manifest.ann == "" and type(Store(tmp_path).index).__name__ == "IndexIDMap2"
