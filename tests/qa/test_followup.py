"""Follow-up questions become standalone retrieval queries."""

from __future__ import annotations

import pytest

from kbqa.qa.followup import names, rewrite


@pytest.mark.parametrize(
    ("previous", "question", "query"),
    [
        ("Khi nào Mỹ đàm phán về AI?", "Còn Trung Quốc thì sao?", "Khi nào Trung Quốc đàm phán về AI?"),
        (
            "Hàn Quốc và Mỹ nhất trí hợp tác về những công nghệ nào?",
            "Thế còn Nhật Bản?",
            "Hàn Quốc và Nhật Bản nhất trí hợp tác về những công nghệ nào?",
        ),
        ("When did the US talk to China about AI?", "What about Russia?", "When did the US talk to Russia about AI?"),
        ("Which technologies did Korea and the US agree on?", "When did they agree?", "When did Korea and US agree?"),
        (
            "Khi nào Mỹ và Trung Quốc đàm phán về AI?",
            "Họ sẽ thảo luận về chủ đề gì?",
            "Mỹ và Trung Quốc sẽ thảo luận về chủ đề gì?",
        ),
        ("Khi nào Mỹ và Trung Quốc đàm phán về AI?", "Tại sao?", "Tại sao Mỹ Trung Quốc đàm phán AI?"),
        ("cần giữ ấm bộ phận nào", "Còn trẻ em thì sao?", "cần giữ ấm bộ phận trẻ em"),
    ],
)
def test_followups_are_rewritten(previous: str, question: str, query: str) -> None:
    result = rewrite(question, previous)
    assert result.query == query
    assert result.rewritten and result.question == question


@pytest.mark.parametrize(
    "question",
    [
        "Cần giữ ấm những bộ phận nào để tránh đột quỵ?",
        "Which technologies did Korea and the US agree on?",
        "Mỹ và Trung Quốc có những quan điểm khác nhau nào về vai trò của chính phủ trong việc quản lý AI?",
    ],
)
def test_questions_with_their_own_topic_are_kept(question: str) -> None:
    result = rewrite(question, "Khi nào Mỹ và Trung Quốc đàm phán về AI?")
    assert result.query == question and not result.rewritten


def test_first_question_is_kept_but_tidied() -> None:
    assert rewrite("  Còn Trung Quốc   thì sao? ", None).query == "Còn Trung Quốc thì sao?"


def test_names_skip_question_words_pronouns_and_topics() -> None:
    text = "Khi nào Mỹ và Trung Quốc đàm phán về AI?"
    assert [text[s:e] for s, e in names(text)] == ["Mỹ", "Trung Quốc"]
    text = "Which technologies did Korea and the US agree on?"
    assert [text[s:e] for s, e in names(text)] == ["Korea", "US"]
    assert names("Họ nói gì?") == []
