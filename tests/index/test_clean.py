"""Cleaning of scraped pages, on the real seed files."""

from __future__ import annotations

import unicodedata

from kbqa.index.clean import clean_document, normalize
from tests.conftest import SEEDS

SEED_000 = SEEDS / "000_f8aa576ae32182a5.txt"
SEED_001 = SEEDS / "001_50a620779101e8ab.txt"


def _clean(path):
    return clean_document(path.read_text(encoding="utf-8"), f"seeds/{path.name}")


def test_teasers_are_split_into_their_own_records():
    main, *teasers = _clean(SEED_001)
    assert main.title == "Mỹ và Trung Quốc đàm phán AI: Cơ hội hợp tác hay nguy cơ va chạm?"
    assert len(teasers) == 23
    stroke = teasers[0]
    assert stroke.title == "Ba bộ phận trên cơ thể cần giữ ấm kết hợp ăn uống, tránh nguy cơ đột quỵ trong mùa Đông"
    assert stroke.kind == "related" and stroke.doc_id == "seeds/001_50a620779101e8ab.txt#related-1"
    assert "Giữ ấm vùng đầu, cổ, bụng và lòng bàn chân" in stroke.text
    assert stroke.text.count(stroke.title) == 1  # the headline shown twice is kept once
    for teaser in teasers:  # nothing of a teaser stays in the main article
        assert teaser.title not in main.text
        assert teaser.text.split("\n")[-1] not in main.text
    assert "đột quỵ" not in main.text and "Tử vi" not in main.text


def test_boilerplate_and_repeated_lines_are_gone():
    main, *teasers = _clean(SEED_001)
    everything = "\n".join(r.text for r in [main, *teasers])
    for junk in ("Theo dõi Baoquocte.vn trên", "Đọc thêm", "Phiên bản di động"):
        assert junk not in everything
    caption = "Ngoại trưởng Mỹ Antony Blinken vẫy tay chào khi chuẩn bị rời Sân bay quốc tế Hồng Kiều"
    assert main.text.count(caption) == 1
    assert len(set(main.text.split("\n"))) == len(main.text.split("\n"))


def test_main_article_is_intact():
    main = _clean(SEED_001)[0]
    raw = SEED_001.read_text(encoding="utf-8")
    body = raw[: raw.index("Ba bộ phận")]
    paragraphs = [line for line in body.split("\n") if len(line) > 80]
    assert len(paragraphs) == 10
    for paragraph in paragraphs:  # every real paragraph survives, verbatim
        assert paragraph in main.text
    assert "Các cuộc đàm phán dự kiến diễn ra vào đầu tháng 5" in main.text
    assert main.text.rstrip().endswith("dẫn đến một tương lai tốt đẹp hơn cho AI.")


def test_metadata_date_source_and_icon_lines():
    (main,) = _clean(SEED_000)
    assert main.title == "Hàn Quốc, Mỹ nhất trí tăng cường hợp tác về công nghệ thế hệ mới"
    assert main.date == "19:57 | 09/12/2023"
    assert main.source_line == "(theo Yonhap)"
    assert main.source == "seeds/000_f8aa576ae32182a5.txt"
    assert "📞" not in main.text and "19:57" not in main.text.split("\n")[1]
    assert main.text.startswith(main.title)


def test_decomposed_vietnamese_is_nfc():
    decomposed = unicodedata.normalize("NFD", "Hàn Quốc và Mỹ nhất trí hợp tác")
    assert decomposed != unicodedata.normalize("NFC", decomposed)
    (doc,) = clean_document(decomposed + "\n\nNội dung bài viết đầy đủ ở đây.", "x.txt")
    assert doc.title == "Hàn Quốc và Mỹ nhất trí hợp tác"
    assert unicodedata.is_normalized("NFC", doc.text)
    assert normalize("a\u00a0 b\r\nc") == "a b\nc"


def test_empty_or_boilerplate_only_text_gives_no_record():
    assert clean_document("📞\n\nĐọc thêm\n\n", "x.txt") == []
