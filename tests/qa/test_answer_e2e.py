"""End to end on seeds/ with the real default embedder: the right article and passage are cited."""

from __future__ import annotations

import pytest

from index.errors import InputError
from qa.answer import Answer

KOREA = "seeds/000_f8aa576ae32182a5.txt"
US_CHINA = "seeds/001_50a620779101e8ab.txt"
STROKE_TITLE = "Ba bộ phận trên cơ thể cần giữ ấm kết hợp ăn uống, tránh nguy cơ đột quỵ trong mùa Đông"


def assert_citations_verbatim(answer: Answer) -> None:
    """Every [n] in the text exists, and the sentence before it is verbatim in passage n."""
    by_n = {c.n: c.passage for c in answer.citations}
    pieces = answer.answer.split(" [")
    assert len(pieces) > 1, answer.answer
    sentence = pieces[0]
    for piece in pieces[1:]:
        n_text, _, rest = piece.partition("]")
        n = int(n_text)
        assert n in by_n
        assert sentence.strip() in by_n[n].passage
        sentence = rest
    assert set(by_n) == set(range(1, len(by_n) + 1))


@pytest.mark.parametrize(
    "question",
    ["Which technologies did Korea and the US agree on?", "Hàn Quốc và Mỹ nhất trí hợp tác về những công nghệ nào?"],
)
def test_korea_us_technologies(assistant, question):
    answer = assistant.ask(question)
    assert_citations_verbatim(answer)
    first = answer.citations[0].passage
    assert first.doc_id == KOREA and first.source == KOREA
    assert first.title == "Hàn Quốc, Mỹ nhất trí tăng cường hợp tác về công nghệ thế hệ mới"
    assert first.date == "19:57 | 09/12/2023"
    for tech in ("sinh học", "trí tuệ nhân tạo (AI)", "chất bán dẫn", "pin", "năng lượng"):
        assert tech in first.passage
    assert "chất bán dẫn" in answer.answer


def test_us_china_talks_in_early_may(assistant):
    answer = assistant.ask("Khi nào Mỹ và Trung Quốc đàm phán về AI?")
    assert_citations_verbatim(answer)
    cited = [c.passage for c in answer.citations if "đầu tháng 5" in c.passage.passage]
    assert cited and cited[0].doc_id == US_CHINA
    assert "đầu tháng 5" in answer.answer


def test_stroke_teaser_is_cited_under_its_own_title(assistant):
    answer = assistant.ask("Cần giữ ấm những bộ phận nào để tránh đột quỵ?")
    assert_citations_verbatim(answer)
    first = answer.citations[0].passage
    assert first.doc_id == f"{US_CHINA}#related-1"
    assert first.title == STROKE_TITLE
    for c in answer.citations:
        if "đột quỵ" in c.passage.passage:
            assert c.passage.title != "Mỹ và Trung Quốc đàm phán AI: Cơ hội hợp tác hay nguy cơ va chạm?"


def test_passages_come_in_rank_order_with_offsets(assistant):
    answer = assistant.ask("Hàn Quốc và Mỹ nhất trí hợp tác về những công nghệ nào?", k=4)
    assert len(answer.passages) == 4
    scores = [p.score for p in answer.passages]
    assert scores == sorted(scores, reverse=True)
    for p in answer.passages:
        assert assistant.store.document_text(p.doc_id)[p.start : p.end] == p.passage


def test_empty_question_is_an_input_error(assistant):
    with pytest.raises(InputError, match="empty"):
        assistant.ask("   ")


def test_the_runnable_chain_gives_the_same_answer_as_ask(assistant):
    question = "Which technologies did Korea and the US agree on?"
    assert assistant.chain(k=4).invoke(question) == assistant.ask(question, k=4)
