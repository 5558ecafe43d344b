"""Sentence-aware chunking with offsets into the cleaned text."""

from __future__ import annotations

from kbqa.index.chunking import chunk_document
from kbqa.index.clean import clean_document
from kbqa.index.records import DocRecord
from kbqa.text.sentences import split_sentences
from tests.conftest import SEEDS


def test_sentences_split_on_vietnamese_punctuation_not_abbreviations():
    text = "TP. Hồ Chí Minh có 10.000 người. Ông nói: “Tốt lắm!” Sau đó… Bà đi về? Có\nDòng mới"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "TP. Hồ Chí Minh có 10.000 người.",
        "Ông nói: “Tốt lắm!”",
        "Sau đó…",
        "Bà đi về?",
        "Có",
        "Dòng mới",
    ]


def test_chunks_cover_the_document_with_offsets_and_overlap():
    for path in sorted(SEEDS.glob("*.txt")):
        for doc in clean_document(path.read_text(encoding="utf-8"), path.name):
            chunks = chunk_document(doc, chunk_chars=700, overlap=1)
            assert chunks and chunks[0].start == 0 and chunks[-1].end == len(doc.text.rstrip())
            for a, b in zip(chunks, chunks[1:], strict=False):
                assert b.start < a.end  # one sentence of overlap
                assert b.start > a.start
            for chunk in chunks:
                assert doc.text[chunk.start : chunk.end] == chunk.text
                assert chunk.doc_id == doc.doc_id
                assert len(chunk.text) <= 700 or len(split_sentences(chunk.text)) == 1


def test_a_sentence_longer_than_a_chunk_is_cut_at_spaces():
    words = " ".join(f"từ{i}," for i in range(400))
    doc = DocRecord("d", "d.txt", "t", words)
    chunks = chunk_document(doc, chunk_chars=300, overlap=0)
    assert len(chunks) > 5
    assert all(len(c.text) <= 300 for c in chunks)
    assert all(doc.text[c.start : c.end] == c.text for c in chunks)
