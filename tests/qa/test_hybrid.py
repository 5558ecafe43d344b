"""Fusion on the real seed index with the real embedder: keyword search helps Vietnamese questions sharing
exact words with a passage, and is held back for English ones and for words the corpus lacks. The tests of
retrieval run on both store engines (tests/engines.py): the seed index in a folder, then in PostgreSQL."""

from __future__ import annotations

import pytest

from kbqa.index.embed.embedders import get_embedder
from kbqa.index.keyword import KeywordIndex
from kbqa.index.store.api import open_store
from kbqa.qa.retriever import PassageRetriever
from kbqa.qa.search import (
    DenseRetriever,
    FixedKeywords,
    HybridRetriever,
    KeywordRetriever,
    StoreKeywords,
    corpus_share,
    document_frequencies,
    fuse,
    is_vietnamese,
    keyword_weight,
    term_weights,
)

pytest_plugins = ["tests.engines"]  # seed_store and store_location: the embedded engine, then PostgreSQL

US_CHINA = "seeds/001_50a620779101e8ab.txt"
KOREA = "seeds/000_f8aa576ae32182a5.txt"


@pytest.fixture(scope="module")
def parts(seed_store):
    store = open_store(seed_store.store)
    embedder = get_embedder(seed_store)
    keyword = StoreKeywords(store).current()  # the engine's own keyword search, as the Assistant takes it
    assert len(keyword) == len(KeywordIndex.build(*store.chunk_texts()))
    yield store, embedder, keyword
    store.close()


@pytest.fixture(scope="module")
def retriever(parts):
    store, embedder, keyword = parts
    return HybridRetriever(store, embedder, FixedKeywords(keyword))


def search(retriever, question: str, k: int = 5):
    return retriever.retrieve(question, k).passages


def dense_ids(parts, question: str, k: int = 5) -> list[int]:
    store, embedder, _ = parts
    return [hit.chunk_id for hit in store.search(embedder.embed_query(question), k)]


def test_language():
    assert is_vietnamese("Ngoại trưởng Blinken rời sân bay nào?")
    assert is_vietnamese("ĐÀM PHÁN")
    assert not is_vietnamese("Which airport did Blinken leave from?")


def test_keyword_weight_by_language_and_coverage(parts):
    _, _, keyword = parts

    def weight(question: str) -> float:
        frequencies = document_frequencies(question, keyword)
        return keyword_weight(question, corpus_share(term_weights(frequencies, len(keyword)), frequencies))

    vietnamese = weight("Ngoại trưởng Blinken rời sân bay Hồng Kiều ngày nào?")
    english = weight("Which airport did Secretary Blinken leave from?")
    unknown = weight("xyzzy plugh")
    assert vietnamese > 2 * english > 0
    assert unknown == 0.0


def test_vietnamese_exact_words_rank_their_passage_first(parts, retriever):
    question = "Ngoại trưởng Blinken vẫy tay chào ở sân bay Hồng Kiều ngày nào?"
    top = search(retriever, question)[0]
    assert top.doc_id == US_CHINA
    assert "Hồng Kiều" in top.passage
    assert top.chunk_id in dense_ids(parts, question, 30)  # the chunk is a dense candidate too


def test_english_question_keeps_the_dense_answer(parts, retriever):
    question = "Which technologies did Korea and the US agree to cooperate on?"
    hybrid = search(retriever, question)
    assert hybrid[0].chunk_id == dense_ids(parts, question)[0]
    assert hybrid[0].doc_id == KOREA


def test_no_keyword_evidence_means_dense_order(parts, retriever):
    question = "xyzzy plugh frobnicate"
    assert [p.chunk_id for p in search(retriever, question)] == dense_ids(parts, question)


def test_fuse_weight_zero_keeps_dense_and_keyword_can_promote():
    dense = [(1, 0.90), (2, 0.89), (3, 0.80)]
    keyword = [(3, 12.0), (9, 3.0)]
    assert [c for c, _ in fuse(dense, keyword, 0.0, 3)] == [1, 2, 3]
    assert [c for c, _ in fuse(dense, keyword, 5.0, 4)] == [3, 9, 1, 2]


def test_langchain_interface(retriever):
    docs = PassageRetriever(retriever=retriever, k=5).invoke("Mỹ và Trung Quốc đàm phán về AI khi nào?")
    assert docs and docs[0].metadata["doc_id"] == US_CHINA


def test_the_retrieval_carries_its_evidence_and_the_single_retrievers_none(parts, retriever):
    store, embedder, keyword = parts
    question = "Ngoại trưởng Blinken vẫy tay chào ở sân bay Hồng Kiều ngày nào?"
    hybrid = retriever.retrieve(question, 5)
    assert hybrid.query == question and len(hybrid.passages) == 5
    evidence = hybrid.evidence
    assert evidence is not None and evidence.terms and 0 < evidence.corpus_share <= 1
    assert evidence.dense_top >= evidence.dense_second > 0 and evidence.bm25_top > 0
    dense = DenseRetriever(store, embedder).retrieve(question, 5)
    assert dense.evidence is None and [p.chunk_id for p in dense.passages] == dense_ids(parts, question)
    words = KeywordRetriever(store, FixedKeywords(keyword)).retrieve(question, 5)
    assert words.evidence is None and [p.chunk_id for p in words.passages] == [
        c for c, _ in keyword.search(question, 5)
    ]
    assert [p.score for p in words.passages] == [s for _, s in keyword.search(question, 5)]


def test_keyword_index_follows_new_generations(tmp_path, store_location):
    from kbqa.config import Settings
    from kbqa.index.build import add_paths, build_index
    from kbqa.qa.search import StoreKeywords

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Giá lúa tăng\nGiá lúa tại An Giang tăng thêm 500 đồng mỗi kg.\n", encoding="utf-8")
    settings = Settings(store=store_location)
    build_index([docs], settings)
    store = open_store(settings.store)
    keywords = StoreKeywords(store)
    retriever = HybridRetriever(store, get_embedder(settings), keywords)
    question = "Tuyến tàu điện Nhổn có bao nhiêu toa?"
    assert keywords.current().search(question, 5) == []
    new = tmp_path / "b.txt"
    new.write_text("Tàu điện Nhổn chạy thử\nMỗi đoàn tàu điện Nhổn có bốn toa.\n", encoding="utf-8")
    add_paths([new], settings)
    top = search(retriever, question, 2)[0]
    assert top.doc_id.endswith("b.txt") and "bốn toa" in top.passage
    assert keywords.current().search(question, 5)
    store.close()


def test_large_store_builds_keyword_index_in_background(parts):
    import time

    from kbqa.qa.search import StoreKeywords

    store, embedder, _ = parts
    keywords = StoreKeywords(store)
    keywords.INLINE_CHUNKS = 0  # as if the store were large
    retriever = HybridRetriever(store, embedder, keywords)
    question = "xyzzy Hồng Kiều"
    first = search(retriever, question, 3)  # dense only while the index is built
    assert first and [p.chunk_id for p in first] in (
        [p.chunk_id for p in search(retriever, question, 3)],
        dense_ids(parts, question, 3),
    )
    for _ in range(100):
        if keywords.current() is not None:
            break
        time.sleep(0.1)
    assert keywords.current().search("Hồng Kiều", 1)
