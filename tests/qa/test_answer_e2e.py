"""End to end on seeds/ with the real default embedder: the right article and passage are cited."""

from __future__ import annotations

import pytest

from kbqa.errors import InputError
from kbqa.qa.answer import Answer, language
from kbqa.qa.answer.records import NOT_FOUND, VIETNAMESE_SOURCES

pytest_plugins = ["tests.engines"]  # seed_copy: the seed index in a folder, then in a PostgreSQL database

KOREA = "seeds/000_f8aa576ae32182a5.txt"
US_CHINA = "seeds/001_50a620779101e8ab.txt"
STROKE_TITLE = "Ba bộ phận trên cơ thể cần giữ ấm kết hợp ăn uống, tránh nguy cơ đột quỵ trong mùa Đông"


def assert_citations_verbatim(answer: Answer) -> None:
    """Every [n] in the text exists, and the sentence before it is verbatim in passage n."""
    by_n = {c.n: c.passage for c in answer.citations}
    assert answer.answer.startswith(answer.lead)  # "According to the article on 9 December 2023:", then quotes
    pieces = answer.answer.removeprefix(answer.lead).split(" [")
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
    assert answer.found
    assert_citations_verbatim(answer)
    assert answer.citations[0].passage.published == "2023-12-09T19:57:00+07:00"  # the page's "19:57 | 09/12/2023"
    assert "9 December 2023" in answer.lead if question.startswith("Which") else "ngày 9/12/2023" in answer.lead
    assert len(answer.claims) == 1  # one sentence answers it
    first = answer.citations[0].passage
    assert first.doc_id == KOREA and first.source == KOREA
    assert first.title == "Hàn Quốc, Mỹ nhất trí tăng cường hợp tác về công nghệ thế hệ mới"
    assert first.date == "19:57 | 09/12/2023"
    for tech in ("sinh học", "trí tuệ nhân tạo (AI)", "chất bán dẫn", "pin", "năng lượng"):
        assert tech in answer.answer
    claim = answer.claims[0]
    assert any("chất bán dẫn" in claim.text[s:e] for s, e in claim.marks)  # the list is marked as the answer
    english = question.startswith("Which")
    assert (answer.note == VIETNAMESE_SOURCES) is english


def test_us_china_talks_are_answered_with_a_time(assistant):
    answer = assistant.ask("Khi nào Mỹ và Trung Quốc đàm phán về AI?")
    assert answer.found
    assert_citations_verbatim(answer)
    assert {c.passage.doc_id for c in answer.citations} == {US_CHINA}
    assert any(claim.marks for claim in answer.claims)  # a time expression is marked
    assert "tuần tới" in answer.answer or "đầu tháng 5" in answer.answer


@pytest.mark.parametrize("question", ["Thủ đô của Pháp là gì?", "What is the capital of France?"])
def test_questions_the_articles_do_not_answer_get_not_found(assistant, question):
    answer = assistant.ask(question)
    assert not answer.found
    assert answer.answer == NOT_FOUND[language(question)]
    assert answer.citations == [] and answer.claims == []
    assert answer.passages  # the closest passages are still given
    assert answer.to_json()["found"] is False


def test_a_teaser_snippet_is_not_quoted_the_teaser_is_the_closest_passage(assistant):
    answer = assistant.ask("Cần giữ ấm những bộ phận nào để tránh đột quỵ?")
    assert not answer.found  # its only source is a teaser snippet cut off with "…": never quoted as a claim
    top = answer.passages[0]
    assert top.doc_id == f"{US_CHINA}#related-1" and top.title == STROKE_TITLE


@pytest.mark.parametrize(
    "question",
    [
        "Bộ trưởng Công nghiệp Hàn Quốc chụp ảnh cùng ai?",
        "Phạm Bích",
        "Ngoại trưởng Mỹ Antony Blinken vẫy tay chào ở đâu?",
        "Nguồn ảnh của bài Hàn Quốc Mỹ là gì?",
    ],
)
def test_captions_and_source_lines_are_never_quoted(assistant, question):
    answer = assistant.ask(question, k=10)
    for claim in answer.claims:
        assert "(Nguồn:" not in claim.text and "(theo" not in claim.text
        assert "chụp ảnh cùng" not in claim.text and "vẫy tay chào" not in claim.text
        assert claim.text != "Phạm Bích"


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


def test_the_china_follow_up_cites_the_china_article(assistant):
    from kbqa.qa.followup import rewrite

    first = "Hàn Quốc và Mỹ nhất trí hợp tác về những công nghệ nào?"
    turn = rewrite("Còn Trung Quốc thì sao?", first)
    assert turn.focus == "Trung Quốc"
    answer = assistant.ask(turn.query, focus=turn.focus)
    assert answer.found
    assert_citations_verbatim(answer)
    assert {c.passage.doc_id for c in answer.citations} == {US_CHINA}
    assert all("Trung Quốc" in c.passage.passage for c in answer.citations)


def test_a_removed_article_is_no_longer_an_answer(seed_copy):  # on both store engines (tests/engines.py)
    from kbqa.index.build import remove_documents
    from kbqa.qa.chain import Assistant

    settings = seed_copy
    question = "Hàn Quốc và Mỹ nhất trí hợp tác về những công nghệ nào?"
    assert Assistant(settings).ask(question).found
    remove_documents([KOREA], settings)
    answer = Assistant(settings).ask(question)
    assert not answer.found, answer.answer
    assert all(p.doc_id != KOREA for p in answer.passages)
