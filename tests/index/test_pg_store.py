"""The PostgreSQL + pgvector store against a real server: records, dense and keyword search, generations,
failed and concurrent writers, and three processes sharing one database."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kbqa.config import Settings
from kbqa.errors import EmbedderMismatchError, IndexMissingError, StoreLockedError
from kbqa.index.records import ChunkRecord, DocRecord, Passage
from kbqa.index.store.postgres.store import open_store, open_writer
from tests.engines import nearest

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
    return {d.doc_id for d in store.documents()}


def posted_chunks(conn) -> set[int]:
    """The chunk ids found in any postings block of the store (all generations)."""
    from kbqa.index.store.postgres.keywords import decode

    return {int(i) for chunks, tfs in conn.execute("SELECT chunks, tfs FROM postings") for i in decode(chunks, tfs)[0]}


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
    assert nearest(reader, doc("a")[2][0], 1)[0].doc_id == "a"
    assert reader.refresh() and names(reader) == {"b", "c"} == names(open_store(pg_url))
    hit = nearest(reader, doc("c")[2][0], 1)[0]
    assert hit.doc_id == "c" and hit.score == pytest.approx(1.0, abs=1e-5)
    assert all(p.doc_id != "a" for p in nearest(reader, doc("a")[2][0], 10))
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
    assert store.documents()[0].path == "/abs/p.txt" and store.documents()[0].chunks == 3
    ids, texts = store.chunk_texts()
    assert ids == [0, 1, 2] and texts[0].startswith("Title p\np chunk 0")


def test_keyword_search_matches_the_embedded_keyword_index(pg_url):
    from kbqa.index.keyword import KeywordIndex

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


def test_document_frequencies_stay_right_past_the_cache_size(pg_url, monkeypatch):
    """The reader's postings cache forgets terms when full: a term cached before must still be answered (kbqa
    eval on ViNewsQA dev failed with a KeyError at the 371st question when the cache was emptied)."""
    from kbqa.index.keyword import KeywordIndex
    from kbqa.index.store.postgres import keywords as pg_keywords

    monkeypatch.setattr(pg_keywords, "CACHED_POSTINGS", 3)
    with open_writer(pg_url, "test", DIM) as writer:
        writer.add(*doc("kr", n=2, text="Hàn Quốc và Mỹ hợp tác về công nghệ bán dẫn trí tuệ nhân tạo"))
        writer.commit()
    store = open_store(pg_url)
    keywords, embedded = store.keywords(), KeywordIndex.build(*store.chunk_texts())
    # each query shares terms with the one before, so some of its terms are cached when the cache is emptied
    for query in ("Hàn Quốc hợp tác", "Hàn Quốc bán dẫn", "bán dẫn trí tuệ nhân tạo", "nhân tạo Mỹ hợp tác"):
        for term in keywords.query_terms(query):
            assert keywords.document_frequency(term) == embedded.document_frequency(term), term
        terms = embedded.query_terms(query)
        assert keywords.document_frequencies(terms) == {t: embedded.document_frequency(t) for t in terms}


def test_a_terms_blocks_are_merged_and_keyword_search_stays_that_of_the_embedded_index(pg_url):
    """One commit per article: the terms every article shares get a block per commit until they have MERGE_AT,
    then one merged block without the removed articles' postings; rankings stay the embedded index's."""
    import psycopg

    from kbqa.index.keyword import KeywordIndex, term_ids
    from kbqa.index.store.postgres.keywords import MERGE_AT, decode

    for n in range(MERGE_AT + 4):
        write(pg_url, add=[f"d{n}"], remove=["d1"] if n == 3 else ())
    with psycopg.connect(pg_url) as conn:
        conn.execute("SET search_path TO kbqa, public")
        most = conn.execute(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM postings WHERE gen_removed IS NULL GROUP BY term) AS t"
        ).fetchone()[0]
        (chunk,) = (int(i) for i in term_ids(["chunk"]))
        blocks = conn.execute("SELECT chunks, tfs FROM postings WHERE term = %s AND gen_removed IS NULL", (chunk,))
        live = {int(i) for c, f in blocks for i in decode(c, f)[0]}
    assert 2 <= most <= MERGE_AT  # "chunk" and "text" are in every article: merged once, then blocks again
    assert live == set(range(2 * (MERGE_AT + 4))) - {2, 3}  # d1's chunks (2, 3), removed before the merge, left out
    store = open_store(pg_url)
    keywords, embedded = store.keywords(), KeywordIndex.build(*store.chunk_texts())
    for query in ("chunk text", "d5 chunk 1", "text of d1", "Title d11"):
        ours, theirs = keywords.search(query, 10), embedded.search(query, 10)
        assert [c for c, _ in ours] == [c for c, _ in theirs], query
        assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-6)


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


def test_a_second_writer_waits_or_fails_with_one_line(pg_url, caplog):
    caplog.set_level(logging.INFO, logger="kbqa")  # the notice the CLI shows as `kbqa: waiting for …`
    write(pg_url, add=["a"])
    first = open_writer(pg_url, "test", DIM)
    with pytest.raises(StoreLockedError, match="another process"):
        open_writer(pg_url, "test", DIM, wait=0)
    with pytest.raises(StoreLockedError):
        open_writer(pg_url, "test", DIM, wait=0.3)
    assert "waiting for another process" in caplog.text
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


# --- with the real default embedder, through the same steps as index/build.py ---

ROOT = Path(__file__).resolve().parents[2]
ARTICLES = {
    "metro": (
        "Hà Nội khởi công tuyến metro số 5",
        "Sáng 15/3, thành phố Hà Nội khởi công tuyến đường sắt đô thị số 5 dài 39 km với 20 nhà ga. "
        "Tuyến dự kiến khai thác thương mại năm 2030, phục vụ khoảng 500.000 lượt khách mỗi ngày.",
    ),
    "caphe": (
        "Giá cà phê Tây Nguyên lập đỉnh mới",
        "Giá cà phê nhân xô tại Đắk Lắk tăng lên 120.000 đồng mỗi kg, cao nhất từ trước tới nay. "
        "Nông dân Tây Nguyên cho biết sản lượng vụ này giảm vì hạn hán kéo dài.",
    ),
    "bao": (
        "Bão số 3 đổ bộ vào miền Trung",
        "Bão số 3 đổ bộ vào Quảng Ngãi với sức gió cấp 12, gây mưa lớn trên diện rộng. "
        "Hơn 30.000 hộ dân được sơ tán khỏi vùng nguy hiểm trước khi bão vào bờ.",
    ),
    "bongda": (
        "Đội tuyển bóng đá nữ giành vé dự World Cup",
        "Đội tuyển bóng đá nữ Việt Nam thắng Đài Bắc Trung Hoa 2-1 và lần đầu giành vé dự World Cup. "
        "Huấn luyện viên Mai Đức Chung gọi đây là kỳ tích của bóng đá nữ.",
    ),
    "dienmattroi": (
        "Điện mặt trời mái nhà được gỡ vướng",
        "Bộ Công Thương trình quy định mới cho điện mặt trời mái nhà tự sản xuất, tự tiêu thụ. "
        "Doanh nghiệp được bán phần điện dư cho lưới điện quốc gia với giá bằng không.",
    ),
    "lua": (
        "Xuất khẩu gạo đạt kỷ lục 8 triệu tấn",
        "Việt Nam xuất khẩu 8 triệu tấn gạo trong năm, thu về gần 5 tỷ USD. "
        "Philippines và Indonesia là hai thị trường mua gạo lớn nhất của Việt Nam.",
    ),
}


def write_articles(folder: Path, names: Sequence[str]) -> list[Path]:
    """Articles as .txt files: title line, blank line, text."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        title, text = ARTICLES[name]
        (folder / f"{name}.txt").write_text(f"{title}\n\n{text}\n", encoding="utf-8")
        paths.append(folder / f"{name}.txt")
    return paths


def index_files(location: str, paths: Sequence[Path | str], sync: bool = True) -> tuple[list[str], int, Any]:
    """What `kbqa index` does (index/build.py), on the store at `location`: documents whose stored hash differs
    are chunked, embedded (the session's cache) and added; with `sync`, documents no longer produced are removed.
    (changed doc ids, removed count, manifest)"""
    from kbqa.config import Settings
    from kbqa.index.build import embed_chunks, indexed_hash, load_documents
    from kbqa.index.chunking import chunk_document, embedding_text
    from kbqa.index.embed.cache import EmbeddingCache, cache_path
    from kbqa.index.embed.embedders import get_embedder

    settings = Settings()
    embedder = get_embedder(settings)
    docs = load_documents(paths).docs
    cache = EmbeddingCache(cache_path(settings.cache), embedder.id, embedder.dim)
    try:
        with open_writer(location, embedder.id, embedder.dim, wait=120) as writer:
            existing = writer.document_hashes()
            produced = {d.doc_id for d, _ in docs}
            removed = writer.remove([i for i in existing if i not in produced]) if sync else 0
            changed = [(d, p) for d, p in docs if existing.get(d.doc_id) != indexed_hash(d, settings)]
            for doc_, path in changed:
                chunks = chunk_document(doc_, settings.chunk_chars, settings.chunk_overlap)
                texts = [embedding_text(doc_, c) for c in chunks]
                vectors, _, _ = embed_chunks(embedder, texts, cache, False, [len(texts)])
                writer.add(doc_, chunks, vectors, path=path, stored_hash=indexed_hash(doc_, settings))
            manifest = writer.commit()
    finally:
        cache.close()
    return [d.doc_id for d, _ in changed], removed, manifest


def cited(passages: Sequence[Passage]) -> list[tuple]:
    """What a citation shows of each passage (and its score, rounded as the JSON output rounds it)."""
    fields = ("doc_id", "source", "title", "date", "passage", "start", "end", "unquotable", "page", "published")
    return [(*(getattr(p, f) for f in fields), round(p.score, 3)) for p in passages]


QUESTIONS = [
    "Hàn Quốc và Mỹ nhất trí hợp tác về những công nghệ nào?",
    "Khi nào Mỹ và Trung Quốc đàm phán về AI?",
    "Which technologies did Korea and the US agree on?",
    "TikTok",
]


def test_seed_citations_match_the_embedded_engine(seed_settings, pg_url, monkeypatch):
    from kbqa.index.embed.embedders import get_embedder
    from kbqa.index.keyword import KeywordIndex
    from kbqa.index.store.embedded import Store
    from kbqa.qa.search import FixedKeywords, HybridRetriever

    monkeypatch.chdir(ROOT)  # sources as seed_settings recorded them: seeds/<file>
    changed, _, manifest = index_files(pg_url, ["seeds"])
    embedded = Store(seed_settings.store)
    assert len(changed) == manifest.documents == embedded.manifest.documents
    assert manifest.chunks == embedded.manifest.chunks and manifest.embedder == embedded.manifest.embedder
    pg = open_store(pg_url)
    pg.check_embedder(embedded.manifest.embedder)
    assert pg.chunk_texts() == embedded.chunk_texts()
    assert [replace(d, added=0.0) for d in pg.documents()] == [replace(d, added=0.0) for d in embedded.documents()]
    assert pg.document_hashes() == embedded.document_hashes()
    embedder = get_embedder(seed_settings)
    ours = HybridRetriever(pg, embedder, FixedKeywords(pg.keywords()))
    theirs = HybridRetriever(embedded, embedder, FixedKeywords(KeywordIndex.build(*embedded.chunk_texts())))
    for question in QUESTIONS:
        query = embedder.embed_query(question)
        assert cited(nearest(pg, query, 8)) == cited(nearest(embedded, query, 8)), question
        mine, other = ours.retrieve(question, 5), theirs.retrieve(question, 5)
        assert cited(mine.passages) == cited(other.passages), question
        a, b = mine.evidence, other.evidence
        assert a.terms == pytest.approx(b.terms) and (a.corpus_share, a.bm25_top) == pytest.approx(
            (b.corpus_share, b.bm25_top)
        )
        assert (a.absent, a.agree) == (b.absent, b.agree)
    doc_id = pg.documents()[0].doc_id
    assert pg.document_text(doc_id) == embedded.document_text(doc_id)
    first = ours.retrieve(QUESTIONS[0], 5)
    assert len(first.passages) == 5 and first.evidence.bm25_top > 0


def test_change_and_remove_by_content_hash(pg_url, tmp_path):
    folder = tmp_path / "articles"
    write_articles(folder, ["metro", "caphe", "bao"])
    changed, removed, first = index_files(pg_url, [folder])
    assert len(changed) == 3 and removed == 0 and first.documents == 3
    store = open_store(pg_url)
    hashes = store.document_hashes()
    assert index_files(pg_url, [folder])[:2] == ([], 0)  # unchanged: nothing written, no new generation
    assert open_store(pg_url).manifest.generation == first.generation
    (folder / "caphe.txt").write_text("Giá cà phê giảm mạnh\n\nGiá hồ tiêu Gia Lai giảm còn 90.000 đồng.\n")
    changed, removed, second = index_files(pg_url, [folder])
    assert changed == [str(folder / "caphe.txt")] and removed == 0 and second.documents == 3
    assert store.refresh()
    new_hashes = store.document_hashes()
    assert {k for k in hashes if hashes[k] != new_hashes[k]} == {str(folder / "caphe.txt")}
    assert store.keywords().search("Đắk Lắk", 5) == []  # the old text is gone from keyword search
    (hit,) = [p for p in store.passages([c for c, _ in store.keywords().search("hồ tiêu Gia Lai", 5)]).values()]
    assert hit.passage.startswith("Giá cà phê giảm mạnh") and (hit.start, hit.end) == (0, len(hit.passage))
    assert hit.passage == store.document_text(hit.doc_id)[hit.start : hit.end]
    (folder / "bao.txt").unlink()
    changed, removed, third = index_files(pg_url, [folder])
    assert changed == [] and removed == 1 and (third.documents, third.generation) == (2, first.generation + 2)
    assert store.refresh() and {d.source for d in store.documents()} == {
        str(folder / "metro.txt"),
        str(folder / "caphe.txt"),
    }
    from kbqa.index.embed.embedders import get_embedder

    query = get_embedder(Settings(embedder=open_store(pg_url).manifest.embedder)).embed_query("Bão số 3 đổ bộ vào đâu?")
    assert all("Bão" not in p.title for p in nearest(store, query, 10))
    assert store.keywords().search("bão Quảng Ngãi", 5) == []


def test_a_reader_during_a_commit_sees_the_old_generation_until_it_is_committed(pg_url):
    write(pg_url, add=["a", "b"])
    reader = open_store(pg_url)
    writer = open_writer(pg_url, "test", DIM)
    writer.remove(["a"])
    writer.add(*doc("c", text="lựu đạn"))
    inside, release = threading.Event(), threading.Event()
    real_commit = writer.conn.commit

    def slow_commit() -> None:  # the store row is updated; the transaction is not committed yet
        inside.set()
        release.wait(30)
        real_commit()

    writer.conn.commit = slow_commit
    thread = threading.Thread(target=writer.commit)
    thread.start()
    assert inside.wait(30)
    fresh = open_store(pg_url)
    for store in (reader, fresh):
        assert not store.refresh() and store.manifest.generation == 1 and names(store) == {"a", "b"}
        assert store.keywords().search("lựu đạn", 5) == [] and len(store.search(doc("c")[2][0], 10)) == 4
    release.set()
    thread.join(30)
    assert reader.refresh() and names(reader) == {"b", "c"} and reader.manifest.generation == 2
    assert {reader.passages([c])[c].doc_id for c, _ in reader.keywords().search("lựu đạn", 5)} == {"c"}


def test_readers_never_see_a_mix_of_generations(pg_url):
    write(pg_url, add=["g0-a", "g0-b"])
    rounds, errors, seen = 15, [], set()
    done = threading.Event()

    def writer_loop() -> None:
        try:
            for g in range(1, rounds + 1):
                with open_writer(pg_url, "test", DIM, wait=30) as writer:
                    writer.remove([f"g{g - 1}-a", f"g{g - 1}-b"])
                    for part in ("a", "b"):
                        writer.add(*doc(f"g{g}-{part}", n=g % 3 + 1, text=f"round{g} text"))
                    writer.commit()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(repr(exc))
        finally:
            done.set()

    def check(store) -> None:
        m = store.manifest
        docs = store.documents()
        prefix = f"g{m.generation - 1}-"
        assert {d.doc_id for d in docs} == {prefix + "a", prefix + "b"}, (m, docs)
        assert (len(docs), sum(d.chunks for d in docs)) == (m.documents, m.chunks)
        ids = store.chunk_texts()[0]
        assert len(ids) == m.chunks
        assert {p.doc_id for p in nearest(store, doc(prefix + "a")[2][0], 20)} == {prefix + "a", prefix + "b"}
        hits = store.keywords().search(f"round{m.generation - 1} text", 20)
        assert sorted(c for c, _ in hits) == sorted(ids)
        seen.add(m.generation)

    thread = threading.Thread(target=writer_loop)
    thread.start()
    reader = open_store(pg_url)
    try:
        while not done.is_set():
            reader.refresh()
            check(reader)
            check(open_store(pg_url))
    finally:
        thread.join(60)
    assert not errors
    reader.refresh()
    check(reader)
    assert reader.manifest.generation == rounds + 1 and len(seen) >= 3


def _adder(url: str, folder: str, *names: str) -> None:
    """A process adding articles one commit each (subprocess of the three-process test)."""
    for name in names:
        paths = write_articles(Path(folder), [name])
        index_files(url, paths, sync=False)


def _asker(url: str, stop: str) -> None:
    """A process asking until `stop` exists; checks each generation it sees is whole, prints what it saw."""
    import json

    from kbqa.index.embed.embedders import get_embedder
    from kbqa.qa.search import FixedKeywords, HybridRetriever

    store = open_store(url)
    embedder = get_embedder(Settings(embedder=store.manifest.embedder))
    seen = []
    while True:
        finished = Path(stop).exists()
        store.refresh()
        m = store.manifest
        docs = store.documents()
        assert (len(docs), sum(d.chunks for d in docs)) == (m.documents, m.chunks)
        titles = {d.title for d in docs}
        keywords = store.keywords()
        for name in ("caphe", "lua"):
            question = ARTICLES[name][0]
            dense = nearest(store, embedder.embed_query(question), 3)
            hits = store.passages([c for c, _ in keywords.search(question, 3)])
            assert {p.title for p in dense} | {p.title for p in hits.values()} <= titles
            if question in titles:  # its own title finds it first, by meaning and by keywords
                best = keywords.search(question, 1)[0][0]
                assert dense[0].title == question == hits[best].title, (name, dense, hits)
        # hybrid search refreshes the store itself (so it goes last): documents are only added here, so its
        # passages are among those of the generation it moved to
        fused = HybridRetriever(store, embedder, FixedKeywords(keywords)).retrieve(ARTICLES["lua"][0], 3).passages
        assert {p.title for p in fused} <= {d.title for d in store.documents()}
        if not seen or seen[-1] != [m.generation, len(docs)]:
            seen.append([m.generation, len(docs)])
        if finished:
            break
    print(json.dumps(seen))


@pytest.mark.slow
def test_three_processes_two_adding_one_asking(pg_url, tmp_path):
    import json
    import subprocess

    index_files(pg_url, write_articles(tmp_path / "start", ["metro"]))
    stop = tmp_path / "stop"

    def run(*args: str) -> subprocess.Popen:
        code = f"import sys; from tests.index.test_pg_store import {args[0]}; {args[0]}(*sys.argv[1:])"
        return subprocess.Popen(
            [sys.executable, "-c", code, *args[1:]], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )

    asker = run("_asker", pg_url, str(stop))
    adders = [
        run("_adder", pg_url, str(tmp_path / "one"), "caphe", "bao", "bongda"),
        run("_adder", pg_url, str(tmp_path / "two"), "dienmattroi", "lua"),
    ]
    outputs = [p.communicate(timeout=300) for p in adders]
    assert [p.returncode for p in adders] == [0, 0], outputs
    stop.touch()
    out, err = asker.communicate(timeout=120)
    assert asker.returncode == 0, err.decode()[-3000:]
    seen = json.loads(out)
    store = open_store(pg_url)
    assert store.manifest.generation == 6 and store.manifest.documents == 6
    assert {d.title for d in store.documents()} == {title for title, _ in ARTICLES.values()}
    assert seen[-1] == [6, 6] and [g for g, _ in seen] == sorted(g for g, _ in seen)
    assert all(n == g for g, n in seen)  # every generation adds one document: none seen half-added
    for title, _ in ARTICLES.values():
        hits = store.keywords().search(title, 1)
        assert store.passages([hits[0][0]])[hits[0][0]].title == title


def test_above_the_exact_limit_search_goes_through_the_hnsw_index(pg_url, monkeypatch):
    from kbqa.index.store.postgres import store as pg_store

    rng = np.random.default_rng(7)
    vectors = {}
    with open_writer(pg_url, "test", DIM) as writer:
        for n in range(60):
            record, chunks, _ = doc(f"d{n}", n=5)
            block = rng.standard_normal((5, DIM)).astype(np.float32)
            vectors[f"d{n}"] = block / np.linalg.norm(block, axis=1, keepdims=True)
            writer.add(record, chunks, vectors[f"d{n}"])
        writer.commit()
    write(pg_url, remove=[f"d{n}" for n in range(0, 60, 2)])  # removed rows stay, tagged, for lagging readers
    monkeypatch.setattr(pg_store, "EXACT_LIMIT", 10)
    store = open_store(pg_url)
    live = {name: v for name, v in vectors.items() if int(name[1:]) % 2}
    for query in rng.standard_normal((5, DIM)).astype(np.float32):
        query /= np.linalg.norm(query)
        exact = sorted(((float(v @ query), name) for name, block in live.items() for v in block), reverse=True)
        hits = nearest(store, query, 10)
        assert [p.doc_id for p in hits] == [name for _, name in exact[:10]]
        assert [p.score for p in hits] == pytest.approx([s for s, _ in exact[:10]], abs=1e-5)
    assert "chunks_embedding" in store.explain_search(query, 10)
    monkeypatch.setattr(pg_store, "EXACT_LIMIT", 20_000)
    assert "chunks_embedding" not in store.explain_search(query, 10)  # exact, as the embedded engine


def _killed_writer(url: str) -> None:
    """A writer that stages changes, says so, then waits to be killed (subprocess of the crash test)."""
    import time

    writer = open_writer(url, "test", DIM)
    writer.remove(["a"])
    for name in ("x", "y"):
        writer.add(*doc(name))
    print("staged", flush=True)
    time.sleep(120)


def test_a_writer_killed_mid_write_leaves_the_previous_state_and_the_lock(pg_url):
    import signal
    import subprocess

    write(pg_url, add=["a", "b"])
    code = "import sys; from tests.index.test_pg_store import _killed_writer; _killed_writer(sys.argv[1])"
    proc = subprocess.Popen([sys.executable, "-c", code, pg_url], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "staged"
        with pytest.raises(StoreLockedError):
            open_writer(pg_url, "test", DIM, wait=0)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    with open_writer(pg_url, "test", DIM, wait=30) as writer:  # the server let go of the dead writer's lock
        assert set(writer.document_hashes()) == {"a", "b"}
        writer.add(*doc("c"))
        manifest = writer.commit()
    assert manifest.generation == 2 and names(open_store(pg_url)) == {"a", "b", "c"}


def test_a_document_added_twice_by_one_writer_is_stored_once(pg_url, monkeypatch):
    from kbqa.index.store.postgres import writer as pg_writer

    monkeypatch.setattr(pg_writer, "FLUSH_CHUNKS", 3)  # rows are buffered, then copied, in the same transaction
    with open_writer(pg_url, "test", DIM) as writer:
        writer.add(*doc("a", n=2, text="alpha"))
        writer.add(*doc("b", n=4))
        writer.add(*doc("a", n=2, text="omega"))
        assert sorted((d.doc_id, d.chunks) for d in writer.documents()) == [("a", 2), ("b", 4)]
        manifest = writer.commit()
    assert (manifest.documents, manifest.chunks) == (2, 6)
    store = open_store(pg_url)
    assert store.document_text("a") == "omega" and len(store.chunk_texts()[0]) == 6
    assert store.keywords().search("alpha", 5) == []
    assert len(store.keywords().search("omega", 5)) == 2


def test_the_store_interface_opens_this_engine_for_a_postgresql_url(pg_url):
    from kbqa.index.store import api as store_api

    with store_api.open_writer(pg_url, "test", DIM) as writer:
        assert isinstance(writer, store_api.StoreWriterAPI)
        writer.add(*doc("a"))
        manifest = writer.commit()
    assert isinstance(manifest, store_api.Manifest)
    store = store_api.open_store(pg_url, vectors=False)
    assert isinstance(store, store_api.StoreReader) and isinstance(store.keywords(), store_api.KeywordSearch)
    assert names(store) == {"a"}
    secret = pg_url.replace("postgres:@", "postgres:s3cret@")
    with pytest.raises(Exception, match="cannot connect|password") as failed:  # noqa: PT011
        store_api.open_store(secret.replace("host=", "host=/nonexistent"))
    assert "s3cret" not in str(failed.value)


def test_a_store_of_another_format_asks_for_a_rebuild(pg_url):
    import psycopg

    write(pg_url, add=["a"])
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE kbqa.store SET format = 99")
    with pytest.raises(IndexMissingError, match="another kbqa.*--rebuild"):
        open_store(pg_url)
    with pytest.raises(IndexMissingError, match="another kbqa"):
        open_writer(pg_url, "test", DIM)
    with open_writer(pg_url, "test", DIM, rebuild=True) as writer:
        writer.add(*doc("b"))
        writer.commit()
    store = open_store(pg_url)
    assert names(store) == {"b"} and store.manifest.generation == 1


def test_removed_rows_are_kept_for_lagging_readers_then_pruned(pg_url):
    import psycopg

    from kbqa.index.store.postgres.schema import KEEP_GENERATIONS

    write(pg_url, add=["a", "b"])
    lagging = open_store(pg_url)
    write(pg_url, remove=["a"])

    def rows() -> tuple[int, int, int]:
        with psycopg.connect(pg_url) as conn:
            conn.execute("SET search_path TO kbqa, public")
            docs, chunks = conn.execute(
                "SELECT (SELECT count(*) FROM documents WHERE doc_id = 'a'), "
                "(SELECT count(*) FROM chunks c JOIN documents d ON d.key = c.doc_key WHERE d.doc_id = 'a')"
            ).fetchone()
            return docs, chunks, len({0, 1} & posted_chunks(conn))  # a's chunks are 0 and 1

    for n in range(KEEP_GENERATIONS - 1):
        write(pg_url, add=[f"x{n}"])
    assert rows()[:2] == (1, 2) and names(lagging) == {"a", "b"}  # still there for a reader of generation 1
    assert lagging.keywords().search("a chunk", 5) and nearest(lagging, doc("a")[2][0], 1)[0].doc_id == "a"
    write(pg_url, add=["last"])
    assert rows() == (0, 0, 0)
    assert "a" not in names(open_store(pg_url))


def test_kbqa_index_and_ask_on_the_server_answer_as_the_embedded_engine(assistant, seed_settings, pg_url, monkeypatch):
    from kbqa.config import Settings
    from kbqa.index.build import build_index
    from kbqa.qa.chain import Assistant

    monkeypatch.chdir(ROOT)
    settings = Settings(store=pg_url)
    first = build_index(["seeds"], settings)
    assert first.manifest.chunks == open_store(pg_url).manifest.chunks > 0
    again = build_index(["seeds"], settings)
    assert again.chunks == 0 and again.unchanged == first.documents and again.manifest.generation == 1
    ours = Assistant(settings)
    for question in QUESTIONS:
        mine, theirs = ours.ask(question).to_json(), assistant.ask(question).to_json()
        for answer in (mine, theirs):
            for item in answer["citations"] + answer["passages"]:
                item["score"] = round(item["score"], 3)
            answer["support"] = round(answer["support"], 3)
        assert mine == theirs, question


def test_without_the_pg_extra_the_store_is_a_one_line_error(monkeypatch):
    from kbqa.errors import InputError

    monkeypatch.setitem(sys.modules, "psycopg_pool", None)  # as in a kbqa installed without `[pg]`
    with pytest.raises(InputError, match=r"needs psycopg_pool.*\.\[pg\]"):
        open_store("postgresql://kbqa@localhost/news")


def _killed_in_commit(url: str) -> None:
    """A writer killed inside commit(): the store row names the new generation, the transaction is not
    committed yet (subprocess of the crash test below)."""
    import time

    writer = open_writer(url, "test", DIM)
    writer.remove(["a"])
    for name in ("x", "y"):
        writer.add(*doc(name))

    def hang() -> None:
        print("committing", flush=True)
        time.sleep(120)

    writer.conn.commit = hang
    writer.commit()


def test_a_writer_killed_mid_commit_leaves_the_previous_state_and_no_rows(pg_url):
    """The counterpart of test_store's writer killed between its records and CURRENT (embedded engine only)."""
    import signal
    import subprocess

    import psycopg

    from tests.engines import vector_count

    write(pg_url, add=["a", "b"])
    reader = open_store(pg_url)
    code = "import sys; from tests.index.test_pg_store import _killed_in_commit; _killed_in_commit(sys.argv[1])"
    proc = subprocess.Popen([sys.executable, "-c", code, pg_url], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "committing"
        assert not reader.refresh() and names(open_store(pg_url)) == {"a", "b"}  # nothing of it is visible
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    for store in (reader, open_store(pg_url)):
        assert not store.refresh() and store.manifest.generation == 1 and names(store) == {"a", "b"}
        assert vector_count(store) == store.manifest.chunks == 4
        assert {p.doc_id for p in nearest(store, doc("x")[2][0], 10)} == {"a", "b"}
        assert {store.passages([c])[c].doc_id for c, _ in store.keywords().search("chunk", 10)} == {"a", "b"}
    with psycopg.connect(pg_url) as conn:  # the server rolled the dead writer's rows back: none are left over
        conn.execute("SET search_path TO kbqa, public")
        counts = conn.execute("SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks)").fetchone()
        assert (*counts, len(posted_chunks(conn))) == (2, 4, 4)
    with open_writer(pg_url, "test", DIM, wait=30) as writer:  # the next writer goes on from generation 1
        writer.add(*doc("c"))
        manifest = writer.commit()
    store = open_store(pg_url)
    assert manifest.generation == 2 and names(store) == {"a", "b", "c"}
    assert store.chunk_texts()[0] == list(range(6))  # chunk ids go on where the committed ones ended


def test_a_writer_that_waited_while_the_first_made_the_store_goes_on_from_its_commit(pg_url, caplog):
    """The second writer's connection looked for the store before the first one created it (as `kbqa add` reads
    the committed hashes first), and its transaction began before the first one committed: it must still see the
    store (it took the new store for none, restarted at generation 1 and reused chunk id 0)."""
    caplog.set_level(logging.INFO, logger="kbqa")
    first = open_writer(pg_url, "test", DIM)  # a fresh database: this writer creates the tables
    first.add(*doc("a"))
    done, errors = [], []

    def second() -> None:
        try:
            with pytest.raises(IndexMissingError):
                open_store(pg_url)  # no index yet: update_index reads no committed hashes
            with open_writer(pg_url, "test", DIM, wait=30) as writer:
                done.append(set(writer.document_hashes()))
                writer.add(*doc("b"))
                done.append(writer.commit().generation)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(repr(exc))

    thread = threading.Thread(target=second)
    thread.start()
    for _ in range(300):  # until the second writer waits for the lock
        if "waiting for another process" in caplog.text:
            break
        thread.join(0.01)
    first.commit()
    thread.join(30)
    assert not errors and done == [{"a"}, 2]
    store = open_store(pg_url)
    assert names(store) == {"a", "b"} and store.manifest.generation == 2
    assert store.chunk_texts()[0] == [0, 1, 2, 3]


def test_check_finds_chunks_whose_postings_are_missing(pg_url):
    """`kbqa check` on a server adds up each live chunk's term frequencies in the live blocks against its token
    count: a deleted block is named, a sound store passes."""
    import psycopg

    from kbqa.index.keyword import term_ids
    from kbqa.index.store.api import check_store

    write(pg_url, add=["a", "b"])
    write(pg_url, remove=["a"])  # a's postings stay in live blocks for lagging readers: not a finding
    assert check_store(pg_url).problems == ()
    (term,) = (int(i) for i in term_ids(["b"]))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("SET search_path TO kbqa, public")
        assert conn.execute("DELETE FROM postings WHERE term = %s", (term,)).rowcount == 1
    (problem,) = check_store(pg_url).problems
    assert "2 chunk(s) whose keyword postings do not add up" in problem and "kbqa index --rebuild" in problem
