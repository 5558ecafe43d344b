"""The extractive answerer on hand-made passages (no model): choice, abstention, marks, and the chain's plumbing."""

from __future__ import annotations

import numpy as np

from kbqa.index.records import Passage
from kbqa.qa.answer import ExtractiveAnswerer
from kbqa.qa.answer.marks import answer_marks
from kbqa.qa.answer.records import NOT_FOUND, VIETNAMESE_SOURCES
from kbqa.qa.answer.sentences import FEATURES, candidates, question_kinds
from kbqa.qa.contracts import Delta, Retrieval
from kbqa.qa.retriever import PassageRetriever, build_chain, to_document, to_passage


def _p(text: str, score: float, doc: str = "a.txt", title: str = "Tiêu đề") -> Passage:
    return Passage(doc, doc, title, "", text, 0, len(text), score)


def answer(question: str, passages: list[Passage], focus: str = ""):
    return ExtractiveAnswerer().answer(question, Retrieval(question, passages), focus)


def test_lexical_match_picks_the_one_answer_sentence_and_cites_it():
    passages = [
        _p("Thời tiết hôm nay đẹp trời ở Hà Nội. Giá vàng tăng mạnh trong phiên sáng nay.", 0.90),
        _p("Đội tuyển Việt Nam thắng Thái Lan 2-1 ở chung kết. Trận đấu diễn ra tối qua.", 0.89, "b.txt"),
    ]
    got = answer("Đội tuyển Việt Nam thắng Thái Lan với tỉ số bao nhiêu?", passages)
    assert got.found
    assert got.answer == "Đội tuyển Việt Nam thắng Thái Lan 2-1 ở chung kết. [1]"
    assert [c.passage.doc_id for c in got.citations] == ["b.txt"]
    assert len(got.claims) == 1 and got.claims[0].cites == (1,)


def test_captions_credits_titles_and_teaser_snippets_are_never_quoted():
    title = "Hàn Quốc và Mỹ hợp tác công nghệ"
    text = (
        f"{title}\n"
        "Bộ trưởng Lee chụp ảnh cùng các quan chức Mỹ về hợp tác công nghệ tại Washington. (Nguồn: Yonhap)\n"
        "Hàn Quốc và Mỹ nhất trí hợp tác công nghệ bán dẫn ...\n"
        "Hàn Quốc và Mỹ nhất trí hợp tác về công nghệ sinh học và chất bán dẫn."
    )
    passages = [_p(text, 1.0, title=title)]
    quotable = [c.text for c in candidates("Hàn Quốc và Mỹ hợp tác công nghệ gì?", passages) if c.quotable]
    assert quotable == ["Hàn Quốc và Mỹ nhất trí hợp tác về công nghệ sinh học và chất bán dẫn."]
    # spans the cleaner marked (Passage.unquotable) are not quoted either
    marked = Passage("a", "a", "T", "", "Phạm Bích\nHai bên ký thỏa thuận.", 0, 30, 1.0, unquotable=((0, 9),))
    assert [c.text for c in candidates("Ai viết?", [marked]) if c.quotable] == ["Hai bên ký thỏa thuận."]


def test_unrelated_passages_give_not_found_in_the_questions_language_with_the_closest_passages():
    passages = [_p("Giá vàng tăng mạnh trong phiên sáng nay.", 0.5), _p("Trời mưa to ở Huế.", 0.4, "b.txt")]
    vi = answer("Thủ đô của Pháp là gì?", passages)
    assert not vi.found and vi.answer == NOT_FOUND["vi"] and vi.citations == [] and vi.claims == []
    assert vi.passages == passages and vi.support < ExtractiveAnswerer().threshold
    data = vi.to_json()
    assert data["found"] is False and data["passages"] and data["citations"] == []
    assert answer("What is the capital of France?", passages).answer == NOT_FOUND["en"]
    assert answer("Gì?", []).found is False


def test_english_over_english_text_has_no_vietnamese_note():
    passages = [_p("Korea and the US agreed on AI cooperation in Seoul.", 1.0)]
    english_over_english = answer("Which cooperation did Korea and the US agree on?", passages)
    assert english_over_english.found and english_over_english.note == ""
    assert VIETNAMESE_SOURCES.startswith("The quoted sentences are from Vietnamese")


def test_a_follow_up_focus_quotes_only_passages_that_mention_it():
    passages = [
        _p("Hàn Quốc và Mỹ nhất trí hợp tác về chất bán dẫn và pin.", 1.0, "korea.txt"),
        _p("Mỹ và Trung Quốc nhất trí hợp tác về công nghệ trí tuệ nhân tạo.", 0.5, "china.txt"),
    ]
    question = "Hàn Quốc và Trung Quốc nhất trí hợp tác về những công nghệ nào?"
    assert answer(question, passages).citations[0].passage.doc_id == "korea.txt"
    focused = answer(question, passages, focus="Trung Quốc")
    assert [c.passage.doc_id for c in focused.citations] == ["china.txt"]
    assert not answer(question, passages[:1], focus="Trung Quốc").found


def test_marks_hold_the_kind_of_answer_asked_for():
    sentence = "Các cuộc đàm phán dự kiến diễn ra vào đầu tháng 5 tại Geneva."
    (start, end), *_ = answer_marks("Khi nào Mỹ và Trung Quốc đàm phán về AI?", sentence)
    assert sentence[start:end] == "đầu tháng 5"
    (start, end), *_ = answer_marks("Có bao nhiêu kỹ sư được đào tạo?", "Phần Lan sẽ đào tạo 500 kỹ sư.")
    assert "500" in "Phần Lan sẽ đào tạo 500 kỹ sư."[start:end]
    spans = answer_marks("Ai chủ trì cuộc đối thoại?", "Cuộc đối thoại do ông Cho Tae-yong chủ trì.")
    assert [("Cuộc đối thoại do ông Cho Tae-yong chủ trì."[s:e]) for s, e in spans] == ["Cho Tae-yong"]
    assert answer_marks("Hai bên hợp tác về AI ra sao?", "Hai bên hợp tác chặt chẽ.") == ()
    assert "who" not in question_kinds("Khi nào Mỹ đàm phán về AI?")  # "AI" is not "ai" (who)


def test_the_sentence_after_a_restatement_can_answer():
    passages = [
        _p(
            "Ủy ban đạo đức y tế của thành phố Thâm Quyến đã tiến hành điều tra nghiên cứu của ông He. "
            "Họ cho rằng tổ chức phê chuẩn đã không tuân thủ các yêu cầu phê duyệt.",
            1.0,
        )
    ]
    cands = candidates("Ủy ban đạo đức y tế của thành phố Thâm Quyến có ý kiến như thế nào?", passages)
    restated, after = cands
    assert after.features[FEATURES.index("prev_cov")] == restated.features[FEATURES.index("cov")] > 0.5
    assert after.features[FEATURES.index("prev_x_uncov")] > restated.features[FEATURES.index("prev_x_uncov")]


def test_document_round_trip():
    p = _p("Một câu.", 0.5)
    assert to_passage(to_document(p)) == p


class _ListRetriever:
    """A Retriever over fixed passages that records what it was asked."""

    def __init__(self, passages: list[Passage]) -> None:
        self.passages, self.asked = passages, []

    def retrieve(self, query: str, k: int) -> Retrieval:
        self.asked.append((query, k))
        return Retrieval(query, self.passages[:k])


def test_chain_passes_the_question_and_its_retrieval_to_the_answerer():
    p = _p("Hà Nội là thủ đô của Việt Nam.", 0.8)
    retriever = _ListRetriever([p])
    answerer = ExtractiveAnswerer()
    chain = build_chain(lambda question: retriever.retrieve(question, 3), lambda r: answerer.answer(r.query, r))
    got = chain.invoke("Thủ đô của Việt Nam là gì?")
    assert retriever.asked == [("Thủ đô của Việt Nam là gì?", 3)]
    assert got.answer == "Hà Nội là thủ đô của Việt Nam. [1]" and got.question == "Thủ đô của Việt Nam là gì?"
    assert got.to_json()["citations"][0]["n"] == 1
    docs = PassageRetriever(retriever=retriever, k=1).invoke("Thủ đô?")
    assert [to_passage(d) for d in docs] == [p]


def test_the_extractive_stream_gives_its_claims_then_the_answer():
    passages = [_p("Hà Nội là thủ đô của Việt Nam. Thành phố có hơn 8 triệu dân vào năm 2023.", 0.8)]
    question = "Thủ đô của Việt Nam là gì và có bao nhiêu dân?"
    *deltas, last = ExtractiveAnswerer().stream(question, Retrieval(question, passages))
    assert last == answer(question, passages) and all(isinstance(d, Delta) for d in deltas)
    assert "".join(d.text for d in deltas) == " ".join(c.text for c in last.claims) != ""


class _CountingEmbedder:
    """Unit-test embedder: a fixed vector per text (its words hashed), and a record of what was embedded."""

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(64, np.float32)
        for word in text.lower().split():
            v[hash(word) % 64] += 1.0
        return v / max(float(np.linalg.norm(v)), 1e-9)

    def embed_passages(self, texts, progress=None):
        self.embedded.extend(texts)
        return np.stack([self._vector(t) for t in texts])

    def embed_query(self, text):
        return self._vector(text)


def test_cross_lingual_questions_embed_at_most_semantic_max_sentences():
    from kbqa.qa.answer.extractive import SEMANTIC_MAX

    sentences = [f"Câu số {i} nói về thời tiết ở Hà Nội, trời mưa nhiều và lạnh vào buổi sáng." for i in range(12)]
    passages = [_p(" ".join(sentences[i : i + 4]), 0.9 - i / 100) for i in range(0, 12, 4)]
    embedder = _CountingEmbedder()
    question = "What is the weather like?"
    ExtractiveAnswerer(embedder).answer(question, Retrieval(question, passages))
    assert 0 < len(embedder.embedded) <= SEMANTIC_MAX < 12
