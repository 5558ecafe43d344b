"""Sentence rerank of fused passages: the passage whose single sentence holds the question's terms moves up."""

from __future__ import annotations

from kbqa.index.records import Passage
from kbqa.qa.rerank import DEPTH, best_sentence, rerank, term_weights


def _p(text: str, score: float, doc: str) -> Passage:
    return Passage(doc, doc, "Tiêu đề", "", text, 0, len(text), score)


WEIGHTS = term_weights({"bệnh_viện": 3, "bệnh": 5, "viện": 4, "chợ_rẫy": 1, "chợ": 2, "rẫy": 1}, 100)
QUESTION_TERMS = set(WEIGHTS)
SPREAD = _p("Bệnh nhân được chuyển viện trong đêm. Người nhà đi chợ. Nông dân làm rẫy.", 1.0, "spread.txt")
ONE_SENTENCE = _p("Bệnh nhân được đưa đến Bệnh viện Chợ Rẫy ngay trong đêm. Ca mổ kéo dài ba giờ.", 0.9, "one.txt")


def test_best_sentence_is_the_share_held_by_one_sentence():
    assert best_sentence(ONE_SENTENCE.passage, WEIGHTS) == 1.0
    assert 0 < best_sentence(SPREAD.passage, WEIGHTS) < 0.5
    assert best_sentence("Trời mưa to.", WEIGHTS) == 0.0
    assert best_sentence("Trời mưa to.", {}) == 0.0


def test_rerank_promotes_the_passage_answering_in_one_sentence():
    out = rerank([SPREAD, ONE_SENTENCE], WEIGHTS, strength=1.0)
    assert [p.doc_id for p in out] == ["one.txt", "spread.txt"]
    assert out[0].score > out[1].score


def test_no_strength_keeps_the_fused_order_and_scores():
    assert rerank([SPREAD, ONE_SENTENCE], WEIGHTS, strength=0.0) == [SPREAD, ONE_SENTENCE]


def test_only_the_top_depth_passages_move():
    tail = [_p("Trời mưa to.", 0.5 - i / 100, f"t{i}.txt") for i in range(DEPTH)]
    late = _p(ONE_SENTENCE.passage, 0.1, "late.txt")  # answers in one sentence, but below the top DEPTH
    out = rerank(tail + [late], WEIGHTS, strength=1.0)
    assert out[-1].doc_id == "late.txt" and len(out) == DEPTH + 1
