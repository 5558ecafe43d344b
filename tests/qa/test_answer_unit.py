"""The extractive answerer's scoring and the chain's plumbing, on hand-made passages (no model)."""

from __future__ import annotations

from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from index.records import Passage
from qa.answer import NO_ANSWER, ExtractiveAnswerer, answer_type_bonus
from qa.chain import build_chain
from qa.retriever import to_document, to_passage


def _p(text: str, score: float, doc: str = "a.txt", title: str = "Tiêu đề") -> Passage:
    return Passage(doc, doc, title, "", text, 0, len(text), score)


def test_lexical_match_picks_the_answer_sentence_and_cites_it():
    passages = [
        _p("Thời tiết hôm nay đẹp trời ở Hà Nội. Giá vàng tăng mạnh trong phiên sáng nay.", 0.90),
        _p("Đội tuyển Việt Nam thắng Thái Lan 2-1 ở chung kết. Trận đấu diễn ra tối qua.", 0.89, "b.txt"),
    ]
    answer = ExtractiveAnswerer(max_sentences=1)({"question": "Đội tuyển Việt Nam thắng ai?", "passages": passages})
    assert answer.answer == "Đội tuyển Việt Nam thắng Thái Lan 2-1 ở chung kết. [1]"
    assert [c.passage.doc_id for c in answer.citations] == ["b.txt"]
    assert answer.passages == passages


def test_answer_types():
    assert answer_type_bonus("Khi nào họ họp?", "Họ họp vào đầu tháng 5.") > 0
    assert answer_type_bonus("Khi nào họ họp?", "Họ họp để bàn về AI.") < 0
    assert answer_type_bonus("Họ họp ở đâu?", "Họ họp để bàn về AI.") == 0
    assert answer_type_bonus("Có bao nhiêu người?", "Có 200 người.") > 0
    assert answer_type_bonus("Which fields?", "như sinh học, AI, chất bán dẫn và pin.") > 0


def test_no_passages_gives_no_answer_and_no_citations():
    answer = ExtractiveAnswerer()({"question": "Gì?", "passages": []})
    assert answer.answer == NO_ANSWER and answer.citations == []


def test_document_round_trip():
    p = _p("Một câu.", 0.5)
    assert to_passage(to_document(p)) == p


class _ListRetriever(BaseRetriever):
    docs: list[Document]

    def _get_relevant_documents(self, query, *, run_manager):
        return self.docs


def test_chain_passes_question_and_passages_to_the_answerer():
    p = _p("Hà Nội là thủ đô của Việt Nam.", 0.8)
    seen = {}

    def answerer(inputs):
        seen.update(inputs)
        return ExtractiveAnswerer()(inputs)

    answer = build_chain(_ListRetriever(docs=[to_document(p)]), answerer).invoke("Thủ đô của Việt Nam là gì?")
    assert seen == {"question": "Thủ đô của Việt Nam là gì?", "passages": [p]}
    assert answer.answer == "Hà Nội là thủ đô của Việt Nam. [1]"
    assert answer.to_json()["citations"][0]["n"] == 1


def test_only_a_sentence_that_refers_back_inherits_its_predecessors_match():
    from qa.answer import _candidates, _coverage

    passages = [
        _p("The Eiffel Tower stands in Paris. Bakers opened shops in 1890.", 0.9),
        _p("The Eiffel Tower is made of iron. It opened in 1889.", 0.9, "b.txt"),
    ]
    question = "When did the Eiffel Tower open?"
    tower1, bakers, tower2, it = _coverage(question, _candidates(passages))
    assert tower1 == tower2 > 0.5
    assert it > bakers  # same own match ("open"); only "It …" carries the tower named before it
    answer = ExtractiveAnswerer(max_sentences=2)({"question": question, "passages": passages})
    assert answer.answer.startswith("It opened in 1889. [")


def test_a_much_better_sentence_in_a_lower_ranked_document_wins():
    question = "Bệnh nhân được đưa đến bệnh viện nào?"
    passages = [
        _p("Bệnh nhân hồi phục tốt sau ca mổ. Gia đình rất vui.", 1.0, "top.txt"),
        _p("Ca mổ kéo dài ba giờ. Bệnh nhân được đưa đến Bệnh viện Chợ Rẫy lúc nửa đêm.", 0.8, "second.txt"),
    ]
    answer = ExtractiveAnswerer(max_sentences=1)({"question": question, "passages": passages})
    assert [c.passage.doc_id for c in answer.citations] == ["second.txt"]
    # with equal words, the better-ranked document's sentence wins
    passages[1] = _p("Bệnh nhân đã hồi phục tốt sau ca mổ. Gia đình rất vui.", 0.8, "second.txt")
    answer = ExtractiveAnswerer(max_sentences=1)({"question": question, "passages": passages})
    assert [c.passage.doc_id for c in answer.citations] == ["top.txt"]
