"""Which language a question or an answer is written in (kbqa.text.language.language_of)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kbqa.text.language import is_vietnamese, language_of
from kbqa.text.sentences import split_sentences

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hàn Quốc và Mỹ nhất trí hợp tác về những công nghệ nào?", "vi"),
        ("Dunbar là ai?", "vi"),  # a name and two Vietnamese function words
        ("Sultan Moulay Ismai là ai?", "vi"),
        ("Which technologies did Korea and the US agree on?", "en"),
        ("What did Nguyễn Phú Trọng say about corruption?", "en"),  # Vietnamese names in an English question
        ("They were treated at Bệnh viện Chợ Rẫy in Hồ Chí Minh City [1].", "en"),
        ("SJC gold rose 500,000 dong at Công ty Vàng bạc Đá quý Sài Gòn [1].", "en"),  # lower-case name words
        ("Cuối năm 2018, Cafferkey mang thai một cặp song sinh nam.", "vi"),  # many syllables without diacritics
        ("Nhau bong non là gì?", "vi"),
        ("The doctors found the patient had a mảnh xương cắm vào thực quản lâu ngày [2].", "vi"),
        ("Korea and the US agreed on AI, semiconductors and batteries [1].", "en"),
        ("COVID-19", "en"),
    ],
)
def test_language_of(text, expected):
    assert language_of(text) == expected


def test_a_text_of_numbers_and_names_is_in_neither_language():
    assert language_of("2,6 kg. [5]", default=None) is None and language_of("2,6 kg. [5]") == "en"
    assert language_of("21/12 [3]", default=None) is None and language_of("Trung Quốc. [2]", default=None) is None


def test_every_sentence_of_the_vietnamese_seed_is_vietnamese():
    text = (SEEDS / "000_f8aa576ae32182a5.txt").read_text(encoding="utf-8")
    sentences = [text[a:b] for a, b in split_sentences(text)]
    assert len(sentences) > 10
    assert [s for s in sentences if is_vietnamese(s) and language_of(s) != "vi"] == []
