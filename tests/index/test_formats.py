"""Each input format read from a sample file the test writes: text in, boilerplate out, metadata kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from kbqa.errors import InputError
from kbqa.index.chunking import chunk_document
from kbqa.index.clean import clean_document
from kbqa.index.formats import load_file
from kbqa.index.loaders import SUPPORTED_SUFFIXES, find_files, read_files
from tests.index import samples


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _one(path: Path):
    (raw,) = list(read_files([path]))
    docs = clean_document(raw.text, raw.source, date=raw.date, author=raw.author, pages=raw.pages)
    assert docs
    return docs[0]


def test_html_vietnamese_news_article_in_boilerplate_out(tmp_path: Path) -> None:
    doc = _one(_write(tmp_path, "bai-viet.html", samples.vn_news_html()))
    for para in samples.ARTICLE_PARAS:
        assert para in doc.text
    for junk in [*samples.NAV_ITEMS, *samples.RELATED, samples.FOOTER, "trackingCode", "quảng cáo", "<"]:
        assert junk not in doc.text, junk
    assert doc.title == samples.ARTICLE_TITLE
    assert doc.date == "2024-03-15"
    assert doc.author == "Minh Anh"
    assert doc.text.startswith(samples.ARTICLE_TITLE)
    assert "Thứ sáu" not in doc.text  # the page's date line: the date is in the metadata


def test_htm_suffix_and_fragment(tmp_path: Path) -> None:
    page = "<title>Tin ngắn</title><div><p>" + "Giá xăng giảm 500 đồng mỗi lít từ chiều nay. " * 5 + "</p></div>"
    doc = _one(_write(tmp_path, "tin.htm", page))
    assert "Giá xăng giảm 500 đồng" in doc.text and "<p>" not in doc.text


def test_pdf_text_and_page_starts(tmp_path: Path) -> None:
    pages = [["Annual report 2024.", "Revenue grew by ten percent."], ["Costs fell on page two."], ["Outlook: stable."]]
    path = _write(tmp_path, "report.pdf", samples.make_pdf(pages))
    loaded = load_file(path)
    assert loaded.format == "pdf" and len(loaded.pages) == 3
    doc = _one(path)
    assert doc.title == "Annual report 2024."
    assert len(doc.pages) == 3 and doc.pages[0] == 0
    for n, lines in enumerate(pages, start=1):
        at = doc.text.index(lines[0])
        assert doc.pages[n - 1] == at
        assert doc.page_of(at) == n
    assert doc.page_of(doc.text.index("Outlook")) == 3
    # every chunk's offsets index the text, and its page is known
    for chunk in chunk_document(doc, 30, 0):
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert 1 <= doc.page_of(chunk.start) <= 3


def test_docx_paragraphs_headings_tables(tmp_path: Path) -> None:
    doc = _one(_write(tmp_path, "bao-cao.docx", samples.make_docx()))
    assert doc.title == "Báo cáo tài chính quý I"
    assert "Doanh thu quý I của công ty đạt 1.200 tỷ đồng" in doc.text
    assert "\nChi phí\n" in doc.text
    assert "Lợi nhuận ròng | 180 tỷ đồng" in doc.text
    assert doc.author == "Lê Thu Hà"


def test_markdown_front_matter_is_metadata_and_code_is_dropped(tmp_path: Path) -> None:
    text = (
        '---\ntitle: "Hướng dẫn cài đặt"\ndate: 2024-05-01\nauthor: Trần Bình\ntags: [a, b]\n---\n'
        "Cài đặt gói bằng pip trong môi trường ảo.\n\n```bash\npip install kbqa\nrm -rf /\n```\n"
        "Sau đó chạy lệnh index.\n~~~\nsecret code\n~~~\n"
    )
    doc = _one(_write(tmp_path, "guide.md", text))
    assert doc.title == "Hướng dẫn cài đặt"
    assert doc.date == "2024-05-01" and doc.author == "Trần Bình"
    assert "Cài đặt gói bằng pip" in doc.text and "Sau đó chạy lệnh index." in doc.text
    for gone in ("---", "title:", "tags:", "pip install kbqa", "rm -rf", "secret code", "```"):
        assert gone not in doc.text


def test_markdown_without_front_matter_uses_heading(tmp_path: Path) -> None:
    doc = _one(_write(tmp_path, "note.md", "# Ghi chú họp\nNội dung cuộc họp sáng nay.\n"))
    assert doc.title == "Ghi chú họp"


def test_txt_as_before(tmp_path: Path) -> None:
    doc = _one(_write(tmp_path, "a.txt", "Tiêu đề bài\n15/03/2024\nNội dung chính của bài viết.\n"))
    assert doc.title == "Tiêu đề bài" and doc.date == "15/03/2024" and doc.pages == () and doc.author == ""


def test_find_files_accepts_new_suffixes(tmp_path: Path) -> None:
    for suffix in SUPPORTED_SUFFIXES:
        _write(tmp_path, f"a{suffix}", "x")
    _write(tmp_path, "b.xlsx", "x")
    found = {p.suffix for p in find_files([tmp_path])}
    assert found == set(SUPPORTED_SUFFIXES)


def test_unsupported_type_message_lists_suffixes(tmp_path: Path) -> None:
    path = _write(tmp_path, "sheet.xlsx", "x")
    with pytest.raises(InputError) as err:
        find_files([path])
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    for suffix in (".txt", ".md", ".html", ".htm", ".pdf", ".docx"):
        assert suffix in message


def test_a_pdf_answer_cites_its_page(tmp_path: Path) -> None:
    from kbqa.config import Settings
    from kbqa.index.build import build_index
    from kbqa.qa.chain import Assistant
    from kbqa.qa.render import answer_text

    filler = [f"Section {i} of the report lists the dikes, pumps and canals of district {i}." for i in range(30)]
    pages = [
        ["Annual report of the river authority.", *filler],
        [
            "Water levels.",
            *(f"Gauge {i} at the ferry of commune {i} is read twice a day by hand." for i in range(25)),
            "In 2023 the Mekong river fell to its lowest level in forty years.",
        ],
    ]
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "report.pdf").write_bytes(samples.make_pdf(pages))
    settings = Settings(store=str(tmp_path / ".kbqa"))
    build_index([tmp_path / "docs"], settings)
    answer = Assistant(settings).ask("When did the Mekong river fall to its lowest level in forty years?")
    holding = [p for p in answer.passages if "lowest level in forty years" in p.passage]
    assert holding and holding[0].page == 2  # the chunk holding it starts on page 2 (repeated lines are dropped)
    assert {p.page for p in answer.passages} <= {1, 2}
    assert answer.to_json()["passages"][0]["page"] in (1, 2)
    assert " p. " in answer_text(answer)
