"""The embedded store's parts alone: the generation core, the records and their live rule, vectors, keyword files."""

from __future__ import annotations

import numpy as np
import pytest

from kbqa.errors import StoreLockedError
from kbqa.index import keyword
from kbqa.index.records import ChunkRecord, DocRecord
from kbqa.index.store.damage import IndexDamagedError
from kbqa.index.store.generation import (
    CURRENT,
    Manifest,
    WriteLock,
    kept_generations,
    new_data_folder,
    read_manifest,
    remove_stale,
    write_current,
)
from kbqa.index.store.keywords import KeywordFiles
from kbqa.index.store.records import Records
from kbqa.index.store.vectors import VECTORS, VectorFiles, open_index, read_rows, search

DIM = 4


def manifest(data: str, generation: int, chunks: int = 0, rows: int = 0) -> Manifest:
    return Manifest("test", DIM, 0, chunks, generation, 0.0, data=data, rows=rows)


def chunks_of(name: str, n: int = 2) -> tuple[DocRecord, list[ChunkRecord]]:
    return DocRecord(name, f"{name}.txt", f"Title {name}", f"text of {name}"), [
        ChunkRecord(name, i, 0, 4, f"{name} chunk {i} word{name}") for i in range(n)
    ]


def test_core_writes_current_atomically_and_cleans_what_current_does_not_name(tmp_path):
    assert read_manifest(tmp_path) is None
    first, second = new_data_folder(tmp_path), new_data_folder(tmp_path)
    assert (first.name, second.name) == ("data-000001", "data-000002")
    write_current(tmp_path, manifest(second.name, 3))
    assert read_manifest(tmp_path) == manifest(second.name, 3)
    (tmp_path / f"{CURRENT}.tmp-99").write_text("{", encoding="utf-8")
    remove_stale(tmp_path, keep=second.name)
    assert sorted(p.name for p in tmp_path.iterdir()) == [CURRENT, "data-000002"]
    (tmp_path / CURRENT).write_text("{", encoding="utf-8")
    with pytest.raises(IndexDamagedError, match="CURRENT is not valid JSON"):
        read_manifest(tmp_path)
    assert list(kept_generations(12)) == list(range(3, 13))


def test_core_lock_lets_one_writer_in(tmp_path):
    lock = WriteLock(tmp_path, wait=0)
    with pytest.raises(StoreLockedError, match="another process"):
        WriteLock(tmp_path, wait=0)
    lock.release()
    WriteLock(tmp_path, wait=0).release()


def test_records_live_rule_changes_recovery_and_pruning(tmp_path):
    records = Records.create(tmp_path)
    for n, name in enumerate(("a", "b")):
        doc, chunks = chunks_of(name)
        records.add(doc, chunks, [2 * n, 2 * n + 1], 1, f"/{name}.txt", doc.hash)
    records.commit()
    assert records.remove("a", 2) == [2] and records.remove("a", 2) == []
    doc, chunks = chunks_of("c")
    records.add(doc, chunks, [4, 5], 2, "/c.txt", "h")
    assert list(records.live_chunk_ids(1)) == [0, 1, 2, 3]  # generation 1 still sees what 2 removed
    assert list(records.live_chunk_ids(2)) == [2, 3, 4, 5]
    gone, added = records.changed_chunk_ids(1, 2)
    assert sorted(gone) == [0, 1] and sorted(added) == [4, 5]
    assert records.added_chunk_texts(2)[0] == [4, 5] and records.removed_chunk_ids(2) == [0, 1]
    assert records.document_hashes(2) == {"b": chunks_of("b")[0].hash, "c": "h"}
    assert records.document_text("a", 1) == "text of a" and records.document_text("a", 2) is None
    assert [d.doc_id for d in records.documents(2, listed=False)] == ["b", "c"]
    records.commit()
    records.recover(1)  # a killed writer's generation 2: undone
    assert list(records.live_chunk_ids(2)) == [0, 1, 2, 3]
    records.remove("a", 2)
    records.commit()
    records.prune(2)
    assert records.passages([0, 1, 2]).keys() == {2}  # removed rows are forgotten once pruned
    records.close()
    reader = Records(tmp_path, readonly=True)
    assert reader.has_marks and reader.chunk_texts(2)[1][0].startswith("Title b")
    reader.close()


def test_vectors_append_at_save_and_recover_cuts_a_killed_writers_rows(tmp_path):
    records = Records.create(tmp_path)
    doc, chunks = chunks_of("a", 3)
    vectors = np.eye(3, DIM, dtype=np.float32)
    files = VectorFiles(tmp_path, DIM, rows=0)
    ids = files.stage(vectors, 3)
    records.add(doc, chunks, ids, 1, "/a.txt", doc.hash)
    fields = files.save(manifest(tmp_path.name, 1, chunks=3), records)
    assert fields == {"rows": 3, "ann": ""}
    committed = manifest(tmp_path.name, 1, chunks=3, rows=3)
    assert np.array_equal(read_rows(tmp_path / VECTORS, DIM, 3, np.array([2, 0])), vectors[[2, 0]])
    index = open_index(tmp_path, committed, np.arange(3))
    assert search(index, vectors[1], 2)[0] == (1, pytest.approx(1.0))
    later = VectorFiles(tmp_path, DIM, rows=3)
    later.stage(np.ones((2, DIM), np.float32), 2)
    later.save(manifest(tmp_path.name, 2, chunks=5), records)  # killed before CURRENT named generation 2
    assert (tmp_path / VECTORS).stat().st_size == 5 * DIM * 4
    VectorFiles(tmp_path, DIM, rows=3).recover(committed)
    assert (tmp_path / VECTORS).stat().st_size == 3 * DIM * 4


def test_keyword_files_are_built_then_updated_per_generation(tmp_path):
    records = Records.create(tmp_path)
    doc, chunks = chunks_of("a")
    records.add(doc, chunks, [0, 1], 1, "/a.txt", doc.hash)
    KeywordFiles(tmp_path, previous=None).save(manifest(tmp_path.name, 1), records)
    records.commit()
    doc, chunks = chunks_of("b")
    records.remove("a", 2)
    records.add(doc, chunks, [2, 3], 2, "/b.txt", doc.hash)
    files = KeywordFiles(tmp_path, previous=1)
    files.save(manifest(tmp_path.name, 2), records)
    first, second = keyword.load(tmp_path, 1), keyword.load(tmp_path, 2)
    assert len(first) == 2 and first.search("worda", 5) and not first.search("wordb", 5)
    assert len(second) == 2 and [i for i, _ in second.search("wordb", 5)] in ([2, 3], [3, 2])
    assert not second.search("worda", 5)
    files.recover(manifest(tmp_path.name, 1))  # generation 2 was never committed: its keyword files go
    assert keyword.load(tmp_path, 2) is None and keyword.load(tmp_path, 1) is not None
