"""The PostgreSQL + pgvector store against a real server: records, dense and keyword search, generations,
failed and concurrent writers, and three processes sharing one database."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from index.errors import EmbedderMismatchError, IndexMissingError, StoreLockedError
from index.pg_store import open_store, open_writer
from index.records import ChunkRecord, DocRecord

pytest_plugins = ["tests.pgfixture"]  # the `pg_url` fixture: a fresh database on a real server

DIM = 8


def doc(name: str, n: int = 2, text: str = "") -> tuple[DocRecord, list[ChunkRecord], np.ndarray]:
    body = text or f"text of {name}"
    record = DocRecord(name, f"{name}.txt", f"Title {name}", body, marks=((0, 4),), pages=(0, 5) if n > 2 else ())
    chunks = [ChunkRecord(name, i, 0, 4, f"{name} chunk {i} {body}") for i in range(n)]
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return record, chunks, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def write(url: str, add=(), remove=()) -> None:
    with open_writer(url, "test", DIM) as writer:
        writer.remove(remove)
        for name in add:
            writer.add(*doc(name))
        writer.commit()


def names(store) -> set[str]:
    return {d["doc_id"] for d in store.documents()}


def test_no_index_until_a_writer_commits(pg_url):
    with pytest.raises(IndexMissingError, match="no index at"):
        open_store(pg_url)
    writer = open_writer(pg_url, "test", DIM)
    writer.add(*doc("a"))
    writer.abort()
    with pytest.raises(IndexMissingError):
        open_store(pg_url)
    with pytest.raises(IndexMissingError):
        open_writer(pg_url, None, None)  # a removal needs an index


def test_reader_sees_only_committed_generations(pg_url):
    write(pg_url, add=["a", "b"])
    reader = open_store(pg_url)
    assert reader.manifest.generation == 1 and reader.manifest.documents == 2 and reader.manifest.chunks == 4
    writer = open_writer(pg_url, "test", DIM)
    writer.remove(["a"])
    writer.add(*doc("c"))
    assert not reader.refresh() and names(reader) == {"a", "b"}
    assert names(open_store(pg_url)) == {"a", "b"}  # uncommitted work is invisible
    manifest = writer.commit()
    assert manifest.generation == 2 and (manifest.documents, manifest.chunks) == (2, 4)
    assert names(reader) == {"a", "b"}  # until it refreshes, a reader keeps its generation
    assert reader.search(doc("a")[2][0], 1)[0].doc_id == "a"
    assert reader.refresh() and names(reader) == {"b", "c"} == names(open_store(pg_url))
    hit = reader.search(doc("c")[2][0], 1)[0]
    assert hit.doc_id == "c" and hit.score == pytest.approx(1.0, abs=1e-5)
    assert all(p.doc_id != "a" for p in reader.search(doc("a")[2][0], 10))
    assert reader.document_text("c") == "text of c" and reader.document_text("a") is None


def test_passages_carry_offsets_marks_and_pages(pg_url):
    with open_writer(pg_url, "test", DIM) as writer:
        writer.add(*doc("p", n=3), path="/abs/p.txt", stored_hash="h1")
        writer.commit()
    store = open_store(pg_url)
    passages = store.passages(store.chunk_texts()[0])
    first = passages[min(passages)]
    assert (first.start, first.end, first.unquotable, first.page, first.title) == (0, 4, ((0, 4),), 1, "Title p")
    assert store.document_hashes() == {"p": "h1"}
    assert store.documents()[0]["path"] == "/abs/p.txt" and store.documents()[0]["chunks"] == 3
    ids, texts = store.chunk_texts()
    assert ids == [0, 1, 2] and texts[0].startswith("Title p\np chunk 0")


def test_keyword_search_matches_the_embedded_keyword_index(pg_url):
    from index.keyword import KeywordIndex

    texts = {
        "vn": "Hà Nội khởi công tuyến metro số 5 dài 39 km",
        "kr": "Hàn Quốc và Mỹ hợp tác về công nghệ bán dẫn",
        "ai": "Mỹ và Trung Quốc đàm phán về trí tuệ nhân tạo",
    }
    with open_writer(pg_url, "test", DIM) as writer:
        for name, text in texts.items():
            writer.add(*doc(name, n=2, text=text))
        writer.commit()
    write(pg_url, remove=["vn"])
    store = open_store(pg_url)
    keywords = store.keywords()
    embedded = KeywordIndex.build(*store.chunk_texts())
    assert len(keywords) == len(embedded) == 4
    for query in ("Mỹ hợp tác công nghệ", "trí tuệ nhân tạo Trung Quốc", "metro Hà Nội", "không có gì"):
        ours, theirs = keywords.search(query, 10), embedded.search(query, 10)
        assert [c for c, _ in ours] == [c for c, _ in theirs], query
        assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-5)
        assert keywords.query_terms(query) == embedded.query_terms(query)
        for term in keywords.query_terms(query):
            assert keywords.document_frequency(term) == embedded.document_frequency(term)
    assert keywords.search("metro", 5) == []  # its document was removed


def test_embedder_is_checked_and_rebuild_starts_over(pg_url):
    write(pg_url, add=["a"])
    with pytest.raises(EmbedderMismatchError, match="built with embedder 'test'"):
        open_writer(pg_url, "other", DIM)
    with pytest.raises(EmbedderMismatchError, match="--embedder other"):
        open_store(pg_url).check_embedder("other")
    old = open_store(pg_url)
    with open_writer(pg_url, "other", DIM, rebuild=True) as writer:
        writer.add(*doc("b"))
        writer.commit()
    assert names(old) == {"a"}  # a reader of the old generation is not pulled from under
    store = open_store(pg_url)
    assert names(store) == {"b"} and store.manifest.embedder == "other"
    with open_writer(pg_url, "wide", 2 * DIM, rebuild=True) as writer:  # another dim: a new vector column
        record, chunks, vectors = doc("w")
        writer.add(record, chunks, np.hstack([vectors, vectors]) / np.sqrt(2))
        writer.commit()
    store = open_store(pg_url)
    assert names(store) == {"w"} and store.manifest.dim == 2 * DIM and len(store.search(np.ones(2 * DIM), 5)) == 2


def test_a_writer_failing_mid_commit_leaves_the_previous_state(pg_url):
    write(pg_url, add=["a", "b"])
    writer = open_writer(pg_url, "test", DIM)
    writer.remove(["a"])
    writer.add(*doc("c"))
    with pytest.raises(Exception), writer:  # noqa: B017, PT011
        writer.add(*doc("bad"))
        writer.conn.execute("SELECT 1/0")  # the database refuses a statement in the middle of the write
    store = open_store(pg_url)
    assert names(store) == {"a", "b"} and store.manifest.generation == 1
    write(pg_url, add=["d"])  # the next writer goes on from the committed generation
    assert names(open_store(pg_url)) == {"a", "b", "d"}


def test_a_second_writer_waits_or_fails_with_one_line(pg_url, capsys):
    write(pg_url, add=["a"])
    first = open_writer(pg_url, "test", DIM)
    with pytest.raises(StoreLockedError, match="another process"):
        open_writer(pg_url, "test", DIM, wait=0)
    with pytest.raises(StoreLockedError):
        open_writer(pg_url, "test", DIM, wait=0.3)
    assert "waiting for another process" in capsys.readouterr().err
    done = []

    def second() -> None:
        with open_writer(pg_url, "test", DIM, wait=30) as writer:  # sees the first writer's commit
            done.append(set(writer.document_hashes()))
            writer.add(*doc("c"))
            writer.commit()

    thread = threading.Thread(target=second)
    thread.start()
    first.add(*doc("b"))
    thread.join(0.5)
    assert thread.is_alive() and not done  # serialised: waits while the first writer holds the lock
    first.commit()
    thread.join(30)
    assert done == [{"a", "b"}]
    store = open_store(pg_url)
    assert names(store) == {"a", "b", "c"} and store.manifest.generation == 3
