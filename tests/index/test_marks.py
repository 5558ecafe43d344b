"""Marks: titles, captions, bylines, source lines, nav and teaser snippets stay in the text but are not claims."""

from __future__ import annotations

from kbqa.index.clean import clean_document, mark_spans
from kbqa.index.records import DocRecord, Passage
from tests.conftest import SEEDS

SEED_000 = SEEDS / "000_f8aa576ae32182a5.txt"
SEED_001 = SEEDS / "001_50a620779101e8ab.txt"
KOREA_CAPTION = (
    "Bộ trưởng Công nghiệp Hàn Quốc Lee Chang-yang (thứ 2 từ trái sang) chụp ảnh cùng các quan chức của Doosan, "
    "NuScale Power và Ngân hàng Xuất nhập khẩu trong sự kiện hợp tác năng lượng sạch và công nghiệp tiên tiến tại "
    "Washington, ngày 25/4/2023. (Nguồn: Yonhap)"
)
GETTY_CAPTION = (
    "Ngoại trưởng Mỹ Antony Blinken vẫy tay chào khi chuẩn bị rời Sân bay quốc tế Hồng Kiều, Thượng Hải đến "
    "Bắc Kinh, ngày 25/4. (Nguồn: Getty Images)"
)


def _clean(path):
    return clean_document(path.read_text(encoding="utf-8"), f"seeds/{path.name}")


def marked(doc: DocRecord) -> list[str]:
    return [doc.text[s:e] for s, e in doc.marks]


def marked_text(text: str) -> list[str]:
    """What is marked in a hand-made article (its first line is the title)."""
    (doc,) = clean_document(text, "x.txt")
    return marked(doc)[1:] if doc.marks and doc.marks[0][0] == 0 else marked(doc)


def test_korea_article_title_and_caption_are_marked_and_its_source_line_is_metadata():
    (main,) = _clean(SEED_000)
    assert marked(main) == [main.title, KOREA_CAPTION]  # the whole caption line, its "(Nguồn: Yonhap)" included
    assert main.source_line == "(theo Yonhap)" and "(theo Yonhap)" not in main.text
    lede = "Hàn Quốc và Mỹ ngày 9/12 đã nhất trí tăng cường hợp tác về các công nghệ thế hệ mới"
    start = main.text.index(lede)
    assert not any(s < start + len(lede) and start < e for s, e in main.marks)


def test_us_china_article_byline_and_getty_caption_are_marked_and_its_paragraphs_are_not():
    main = _clean(SEED_001)[0]
    assert marked(main) == [main.title, "Phạm Bích", GETTY_CAPTION]
    for line in main.text.split("\n")[1:]:
        if line not in ("Phạm Bích", GETTY_CAPTION):
            start = main.text.index(line)
            assert not any(s < start + len(line) and start < e for s, e in main.marks), line


def test_teaser_headlines_and_truncated_snippets_are_marked():
    _, *teasers = _clean(SEED_001)
    stroke = teasers[0]
    assert marked(stroke) == [
        "Ba bộ phận trên cơ thể cần giữ ấm kết hợp ăn uống, tránh nguy cơ đột quỵ trong mùa Đông",
        "Giữ ấm vùng đầu, cổ, bụng và lòng bàn chân, kết hợp chế độ ăn uống lành mạnh, giúp ngăn ngừa nguy cơ "
        "đột quỵ ...",
    ]
    for teaser in teasers:
        assert marked(teaser)[0] == teaser.title
        for line in teaser.text.split("\n"):
            if line.endswith(("...", "…")):
                assert line in marked(teaser)


def test_ordinary_sentences_are_not_marked():
    text = (
        "Giá vàng tăng mạnh\n\n"
        "Ngày 25/4/2023, giá vàng trong nước tăng 500.000 đồng/lượng so với phiên trước.\n"
        "Người dân xếp hàng chụp ảnh cùng nhau trước cửa hàng vàng trên phố Trần Nhân Tông.\n"
        "Ông Minh cho biết nguồn cung vàng miếng đang thiếu, nên giá có thể còn tăng.\n"
        "Theo Ngân hàng Nhà nước, hai bên đã thống nhất kế hoạch bình ổn thị trường trong tháng 5.\n"
        "Bức ảnh do anh Nam đăng tải đã thu hút hàng nghìn lượt chia sẻ trên mạng xã hội.\n"
        "Theo số liệu (nguồn: Tổng cục Thống kê), xuất khẩu vàng tăng 7% trong quý I.\n"
        "Tên lửa được phóng lúc 8h (theo giờ địa phương) từ bãi phóng ở Hawaii.\n"
        "Hà Nội và TP Hồ Chí Minh là hai thị trường lớn nhất."
    )
    assert marked_text(text) == []


def test_inline_captions_credits_and_closing_bylines_of_flattened_paragraphs():
    text = (
        "Xe khách lật trên quốc lộ 6\n\n"
        "Vào khoảng 6h sáng ngày 6/2, một xe khách bị lật trên quốc lộ 6. Xe khách lật nghiêng sau tai nạn. "
        "Ảnh: T.V.Giang Theo đó, lực lượng chức năng đã có mặt điều tiết giao thông.\n"
        "Các đại biểu tham dự buổi họp báo ngày 6/2 (Ảnh: TTXVN) Lễ hội diễn ra từ ngày 8/3 tại Buôn Ma Thuột. "
        "Giá thép giảm 2% trong tuần. Nguồn: VITIC/Reuters\n"
        "Vụ việc đang được cơ quan chức năng xác minh làm rõ./. >>> Rà soát quy hoạch chăn nuôi lợn\n"
        "Hiện, xe khách gặp nạn đã được di chuyển khỏi hiện trường. Nhị Tiến (Theo Dân trí)"
    )
    assert marked_text(text) == [
        "Xe khách lật nghiêng sau tai nạn. Ảnh: T.V.Giang",
        "Các đại biểu tham dự buổi họp báo ngày 6/2 (Ảnh: TTXVN)",
        "Nguồn: VITIC/Reuters",
        ">>> Rà soát quy hoạch chăn nuôi lợn",
        "Nhị Tiến (Theo Dân trí)",
    ]


def test_a_photo_placeholder_after_a_sentence_is_marked_alone():
    text = "Tiêu đề\n\nMỗi năm khoa Ngoại tiếp nhận khoảng 15 đến 20 ca. (Ảnh minh họa) Qua khai thác, được biết thêm."
    assert marked_text(text) == ["(Ảnh minh họa)"]


def test_byline_source_and_illustration_lines():
    text = (
        "Tiêu đề bài viết\n\nĐức Phạm - Tiến Tuấn\nĐoạn mở đầu của bài báo nói về một sự kiện quan trọng.\n"
        "Ảnh minh họa\nNội dung chính của bài báo, với nhiều chi tiết cụ thể.\n(theo TTXVN)\n(Nguồn: Yonhap)\n"
        "Theo Reuters"
    )
    assert clean_document(text, "x.txt")[0].source_line == "(theo TTXVN)"  # the first one is metadata
    assert marked_text(text) == ["Đức Phạm - Tiến Tuấn", "Ảnh minh họa", "(Nguồn: Yonhap)", "Theo Reuters"]


def test_mark_kinds_are_named_for_measuring():
    lines = ["Tiêu đề", "Phạm Bích", "Nội dung. Ảnh: AFP", "Xem thêm: tin khác"]
    assert [kind for *_, kind in mark_spans(lines)] == ["title", "byline", "caption", "nav"]


def test_marks_change_the_hash_and_stay_out_of_the_json():
    doc = DocRecord("d", "d.txt", "T", "T\nbody")
    assert doc.hash != DocRecord("d", "d.txt", "T", "T\nbody", marks=((0, 1),)).hash
    passage = Passage("d", "d.txt", "T", "", "T\nbody", 0, 6, 0.5, 3, ((0, 1),))
    assert "unquotable" not in passage.to_json() and "chunk_id" not in passage.to_json()
