"""The store alone: atomic commits, recovery from a writer killed mid-commit, the lock, incremental refresh.
Each test runs on both engines (tests/engines.py) unless marked EMBEDDED_ONLY; the PostgreSQL counterparts of
those are in test_pg_store.py."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from kbqa.errors import StoreLockedError
from kbqa.index.records import ChunkRecord, DocRecord
from kbqa.index.store.api import open_store, open_writer
from kbqa.index.store.embedded import Store, StoreWriter
from tests.engines import EMBEDDED_ONLY, nearest, vector_count, vector_ids

pytest_plugins = ["tests.engines"]  # store_location: a folder, then a PostgreSQL database

DIM = 8


def doc(name: str, n: int = 2) -> tuple[DocRecord, list[ChunkRecord], np.ndarray]:
    record = DocRecord(name, f"{name}.txt", f"Title {name}", f"text of {name}")
    chunks = [ChunkRecord(name, i, 0, 4, f"{name} chunk {i}") for i in range(n)]
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return record, chunks, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def write(root, add=(), remove=()) -> None:
    with open_writer(root, "test", DIM) as writer:
        writer.remove(remove)
        for name in add:
            writer.add(*doc(name))
        writer.commit()


def test_reader_sees_only_committed_generations_and_refreshes_incrementally(store_location):
    write(store_location, add=["a", "b"])
    reader = open_store(store_location)
    writer = open_writer(store_location, "test", DIM)
    writer.remove(["a"])
    writer.add(*doc("c"))
    assert not reader.refresh() and {d.doc_id for d in reader.documents()} == {"a", "b"}
    assert {d.doc_id for d in open_store(store_location).documents()} == {"a", "b"}  # uncommitted: invisible
    writer.commit()
    assert reader.refresh()
    fresh = open_store(store_location)
    assert {d.doc_id for d in reader.documents()} == {"b", "c"} == {d.doc_id for d in fresh.documents()}
    assert vector_ids(reader) == vector_ids(fresh) and vector_count(reader) == 4
    query = doc("c")[2][0]
    assert nearest(reader, query, 1)[0].doc_id == "c"


@EMBEDDED_ONLY  # CURRENT and vectors.f32: the embedded engine's files (PostgreSQL: a writer killed mid-commit)
def test_writer_killed_between_records_and_current_is_undone(store_location, monkeypatch):
    tmp_path = Path(store_location)
    write(tmp_path, add=["a"])
    real_replace = os.replace

    def crash(src, dst):
        if str(dst).endswith("CURRENT"):
            raise KeyboardInterrupt  # stands in for SIGKILL after vectors and records were written
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        write(tmp_path, add=["b"], remove=["a"])
    monkeypatch.setattr(os, "replace", real_replace)
    store = Store(tmp_path)
    assert [d.doc_id for d in store.documents()] == ["a"] and store.index.ntotal == 2
    write(tmp_path, add=["c"])  # the next writer drops the orphan rows and vectors, then appends its own
    store = Store(tmp_path)
    assert [d.doc_id for d in store.documents()] == ["a", "c"] and store.index.ntotal == 4
    assert (tmp_path / store.manifest.data / "vectors.f32").stat().st_size == 4 * DIM * 4


def test_second_writer_fails_with_one_line_when_not_waiting(store_location):
    write(store_location, add=["a"])
    with open_writer(store_location, "test", DIM), pytest.raises(StoreLockedError, match="another process"):
        open_writer(store_location, "test", DIM, wait=0)


def test_passages_carry_the_marked_lines_of_the_seeds_relative_to_the_passage(seed_store):
    store = open_store(seed_store.store, vectors=False)
    ids, _ = store.chunk_texts()
    passages = store.passages(ids).values()
    spans = {(p.doc_id, p.passage[s:e]) for p in passages for s, e in p.unquotable}
    us_china = "seeds/001_50a620779101e8ab.txt"
    assert (us_china, "Phạm Bích") in spans
    getty = next(text for doc, text in spans if doc == us_china and text.endswith("(Nguồn: Getty Images)"))
    assert getty.startswith("Ngoại trưởng Mỹ Antony Blinken vẫy tay chào") and "\n" not in getty
    korea = next(text for doc, text in spans if doc.startswith("seeds/000") and "(Nguồn: Yonhap)" in text)
    assert korea.startswith("Bộ trưởng Công nghiệp Hàn Quốc Lee Chang-yang") and korea.endswith("(Nguồn: Yonhap)")
    for p in passages:
        assert all(0 <= s < e <= len(p.passage) for s, e in p.unquotable)
        assert "unquotable" not in p.to_json()


def marked_doc(name: str) -> tuple[DocRecord, list[ChunkRecord], np.ndarray]:
    """A document whose title line and byline are marked, with one chunk that starts at the byline."""
    title = f"Title {name}"
    text = f"{title}\nPhạm Bích\nThe body of {name}."
    byline = text.index("Phạm Bích")
    record = DocRecord(name, f"{name}.txt", title, text, marks=((0, len(title)), (byline, byline + 9)))
    return record, [ChunkRecord(name, 0, byline, len(text), text[byline:])], doc(name, 1)[2]


@EMBEDDED_ONLY  # meta.sqlite of a store made before marks (a PostgreSQL store has had them from the start)
def test_a_store_without_the_marks_column_is_read_then_migrated_by_the_next_writer(store_location):
    tmp_path = Path(store_location)
    write(tmp_path, add=["a"])
    data = tmp_path / Store(tmp_path).manifest.data / "meta.sqlite"
    with sqlite3.connect(data) as db:  # the documents table as stores made before marks had it
        db.execute("ALTER TABLE documents DROP COLUMN marks")
    old = Store(tmp_path)
    assert [p.unquotable for p in old.passages([0, 1]).values()] == [(), ()]
    with StoreWriter(tmp_path, "test", DIM) as writer:
        writer.add(*marked_doc("b"))
        writer.commit()
    with sqlite3.connect(data) as db:
        assert "marks" in {row[1] for row in db.execute("PRAGMA table_info(documents)")}
    for reader in (old, Store(tmp_path)):
        assert reader.refresh() or reader is not old
        got = reader.passages([0, 1, 2])
        assert got[0].unquotable == got[1].unquotable == ()  # stored before: no marks until re-indexed
        assert got[2].unquotable == ((0, 9),) and got[2].passage[:9] == "Phạm Bích"


def test_the_store_hands_out_its_generations_keyword_index(store_location):
    write(store_location, add=["a", "b"])
    store = open_store(store_location)
    saved = store.keywords()
    assert len(saved) == 4 and {i for i, _ in saved.search("a chunk", 4)} == {0, 1, 2, 3}
    write(store_location, remove=["a"])
    assert store.refresh() and len(store.keywords()) == 2


@EMBEDDED_ONLY  # keyword-*.json files in the data folder (PostgreSQL keeps its postings in the same transaction)
def test_a_store_from_before_keyword_files_hands_out_none(store_location):
    tmp_path = Path(store_location)
    write(tmp_path, add=["a", "b"])
    store = Store(tmp_path)
    write(tmp_path, remove=["a"])
    assert store.refresh() and len(store.keywords()) == 2
    for path in (tmp_path / store.manifest.data).glob("keyword-*.json"):  # a store from before keyword files
        path.unlink()
    assert store.keywords() is None
