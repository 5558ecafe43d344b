"""Keyword index on real text: BM25 scores equal the bm25s library's, add/remove/save/load behave."""

from __future__ import annotations

from pathlib import Path

import bm25s
import pytest

from kbqa.index import keyword
from kbqa.index.chunking import chunk_document
from kbqa.index.clean import clean_document
from kbqa.index.keyword import KeywordIndex
from kbqa.text.tokenize import bigram_tokens, pyvi_tokens, syllable_tokens

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


@pytest.fixture(scope="module")
def chunks() -> list[str]:
    """The chunks of the seed articles (main articles and their teasers)."""
    out = []
    for path in sorted(SEEDS.glob("*.txt")):
        for doc in clean_document(path.read_text(encoding="utf-8"), path.name):
            out.extend(c.text for c in chunk_document(doc, 700, 1))
    assert len(out) > 10
    return out


def test_tokens_syllables_pairs_and_stopwords():
    assert syllable_tokens("Các nhà khoa học của Mỹ") == ["nhà", "khoa", "học", "mỹ"]
    assert "khoa_học" in bigram_tokens("Các nhà khoa học của Mỹ")
    assert "của" not in bigram_tokens("Các nhà khoa học của Mỹ")


def test_pyvi_segments_words():
    pytest.importorskip("pyvi")
    assert "khoa_học" in pyvi_tokens("Các nhà khoa học của Mỹ")


def test_scores_equal_bm25s(chunks):
    index = KeywordIndex.build(list(range(len(chunks))), chunks)
    reference = bm25s.BM25()  # Lucene BM25, k1=1.5, b=0.75: the same formula
    reference.index([bigram_tokens(c) for c in chunks], show_progress=False)
    query = "Ngoại trưởng Blinken rời sân bay Hồng Kiều"
    tokens = [t for t in dict.fromkeys(bigram_tokens(query)) if t in reference.vocab_dict]
    ids, scores = reference.retrieve([tokens], k=5, show_progress=False)
    ours = index.search(query, 5)  # only chunks sharing a term; bm25s also lists zero scores
    expected = [(int(c), float(s)) for c, s in zip(ids[0], scores[0], strict=True) if s > 0]
    assert len(ours) == len(expected) >= 2
    assert [c for c, _ in ours] == [c for c, _ in expected]
    assert [s for _, s in ours] == pytest.approx([s for _, s in expected], rel=1e-4)
    assert "Hồng Kiều" in chunks[ours[0][0]]


def test_no_shared_term_no_hit(chunks):
    index = KeywordIndex.build(list(range(len(chunks))), chunks)
    assert index.search("xyzzy plugh", 5) == []
    assert index.document_frequency("xyzzy") == 0


def test_add_remove_save_load(chunks, tmp_path):
    half = len(chunks) // 2
    index = KeywordIndex.build(list(range(half)), chunks[:half])
    index.save(tmp_path, "keyword.json")
    target, word = len(chunks) - 1, "Mexico"
    assert word in chunks[target] and not any(word in c for c in chunks[:half])
    before = {c for c, _ in index.search(word, 50)}
    assert target not in before

    loaded = KeywordIndex.load(tmp_path, "keyword.json")
    loaded.add(list(range(half, len(chunks))), chunks[half:])
    assert target in {c for c, _ in loaded.search(word, 50)}
    loaded.remove([target])
    assert target not in {c for c, _ in loaded.search(word, 50)}
    loaded.save(tmp_path, "keyword.json")
    assert len(list(tmp_path.glob("kw-*"))) == 2  # the first segment is kept, the new one appended

    again = KeywordIndex.load(tmp_path, "keyword.json")
    assert len(again) == len(chunks) - 1
    assert again.search(word, 50) == loaded.search(word, 50)
    full = KeywordIndex.build(
        [i for i in range(len(chunks)) if i != target], [c for i, c in enumerate(chunks) if i != target]
    )
    assert [c for c, _ in again.search(word, 50)] == [c for c, _ in full.search(word, 50)]


def test_many_segments_merge_on_save(chunks, tmp_path):
    index = KeywordIndex()
    for i, text in enumerate(chunks[: keyword.MERGE_AT + 3]):
        index.add([i], [text])
    expected = index.search("Mỹ Trung Quốc AI", 10)
    index.save(tmp_path)
    loaded = KeywordIndex.load(tmp_path)
    assert len(loaded._segments) == 1
    found = loaded.search("Mỹ Trung Quốc AI", 10)
    assert [c for c, _ in found] == [c for c, _ in expected]
    assert [s for _, s in found] == pytest.approx([s for _, s in expected])


def test_generations_share_segments(chunks, tmp_path):
    half = len(chunks) // 2
    keyword.build_for_generation(tmp_path, 1, list(range(half)), chunks[:half])
    assert keyword.load(tmp_path, 2) is None
    assert keyword.update_for_generation(tmp_path, 5, 6, ([], []), []) is None
    updated = keyword.update_for_generation(
        tmp_path, 1, 2, (list(range(half, len(chunks))), chunks[half:]), removed=[0]
    )
    first, second = keyword.load(tmp_path, 1), keyword.load(tmp_path, 2)
    assert len(first) == half and len(second) == len(chunks) - 1 == len(updated)
    assert len(list(tmp_path.glob("kw-*"))) == 2
    assert 0 in {c for c, _ in first.search(chunks[0], 5)}
    assert 0 not in {c for c, _ in second.search(chunks[0], 50)}


def test_prune_keeps_what_kept_generations_use(chunks, tmp_path):
    half = len(chunks) // 2
    keyword.build_for_generation(tmp_path, 1, list(range(half)), chunks[:half])
    keyword.update_for_generation(tmp_path, 1, 2, ([half], [chunks[half]]), removed=[])
    keyword.build_for_generation(tmp_path, 3, list(range(len(chunks))), chunks)  # e.g. a rebuild
    (tmp_path / "kw-000009.tmp-123").mkdir()  # a killed writer's half-written segment
    keyword.prune(tmp_path, keep=[2, 3])
    assert keyword.load(tmp_path, 1) is None
    assert len(keyword.load(tmp_path, 2)) == half + 1 and len(keyword.load(tmp_path, 3)) == len(chunks)
    assert sorted(p.name for p in tmp_path.glob("kw-*")) == ["kw-000000", "kw-000001", "kw-000002"]
    keyword.prune(tmp_path, keep=[3])
    assert [p.name for p in tmp_path.glob("kw-*")] == ["kw-000002"]
    assert keyword.load(tmp_path, 3).search(chunks[0], 1)[0][0] == 0


def test_building_in_blocks_gives_the_same_index(chunks, monkeypatch):
    ids = list(range(len(chunks)))
    whole = KeywordIndex.build(ids, chunks)
    monkeypatch.setattr(keyword, "TOKENIZE_BLOCK", 3)  # many blocks, merged into one segment
    blocks = KeywordIndex.build(ids, chunks)
    for query in ("công nghệ Hàn Quốc", "đột quỵ giữ ấm", "trí tuệ nhân tạo Mỹ"):
        assert blocks.search(query, 10) == whole.search(query, 10) != []
