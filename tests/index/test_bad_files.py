"""Bad inputs: each gives the correct content or a one-line InputError naming the file, never a traceback."""

from __future__ import annotations

import contextlib
import io
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kbqa.config import Settings
from kbqa.errors import InputError
from kbqa.index.chunking import chunk_document
from kbqa.index.clean import clean_document
from kbqa.index.formats import load_bytes, load_file
from kbqa.index.formats.limits import DEFAULT_LIMITS, Limits
from kbqa.index.formats.sniff import sniff
from kbqa.index.formats.text import decode, split_long_lines
from kbqa.index.loaders import read_files
from tests.index import samples

WESTERN = "Un café naïve — “quoted” and ‘single’ – résumé, 5 €, Œuvre, déjà vu.\nSecond line: façade."


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _error(path: Path) -> str:
    with pytest.raises(InputError) as err:
        list(read_files([path]))
    message = str(err.value)
    assert "\n" not in message and str(path) in message, message
    return message


def _docs(path: Path):
    (raw,) = list(read_files([path]))
    return clean_document(raw.text, raw.source, date=raw.date, author=raw.author, pages=raw.pages)


# --- encodings ---------------------------------------------------------------------------------------------


def test_latin1_file(tmp_path: Path) -> None:
    text = "Un café naïve, déjà vu à la façade.\nGarçon, crème brûlée."
    (doc,) = _docs(_write(tmp_path, "l1.txt", text.encode("latin-1")))
    assert doc.text == text
    assert "naďve" not in doc.text


def test_cp1252_file_with_smart_quotes(tmp_path: Path) -> None:
    (doc,) = _docs(_write(tmp_path, "w.txt", WESTERN.encode("cp1252")))
    assert doc.text == WESTERN


def test_short_latin1_word_not_cp1250() -> None:
    assert decode("naïve".encode("latin-1"), "x") == "naïve"
    assert decode("café".encode("cp1252"), "x") == "café"


def test_cp1258_vietnamese() -> None:
    import unicodedata

    text = "Hà Nội là thủ đô của nước Việt Nam, người dân rất thân thiện và mến khách."
    data = b""
    for ch in text:  # cp1258 writes tones as combining marks after a base letter (ô, ư, đ are precomposed)
        try:
            data += ch.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            tones = "".join(c for c in parts if c in "\u0300\u0301\u0303\u0309\u0323")
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
            data += (base + tones).encode("cp1258")
    assert unicodedata.normalize("NFC", decode(data, "x")) == unicodedata.normalize("NFC", text)


def test_utf8_bom_and_utf16(tmp_path: Path) -> None:
    (doc,) = _docs(_write(tmp_path, "bom.txt", "\ufeffTiêu đề\nNội dung."))
    assert doc.title == "Tiêu đề"
    (doc,) = _docs(_write(tmp_path, "u16.txt", "Tiêu đề\nNội dung.".encode("utf-16")))
    assert doc.text == "Tiêu đề\nNội dung."


def test_nul_and_control_characters_stripped(tmp_path: Path) -> None:
    data = "Tiêu\x00 đề\x07\nNội\x1b dung\x0b có\x7f ký tự\x85 lạ.\r\nDòng\tba.\x0c".encode()
    (doc,) = _docs(_write(tmp_path, "ctl.txt", data))
    assert doc.title == "Tiêu đề"
    assert all(ch in "\n\t" or ord(ch) >= 32 for ch in doc.text)
    assert not any(0x7F <= ord(ch) <= 0x9F for ch in doc.text)
    assert "Nội dung có ký tự lạ." in doc.text


# --- content sniffed, not the extension ----------------------------------------------------------------------


def test_html_saved_as_txt(tmp_path: Path) -> None:
    (doc, *_) = _docs(_write(tmp_path, "page.txt", samples.vn_news_html()))
    assert doc.title == samples.ARTICLE_TITLE
    assert "<html" not in doc.text and "<head>" not in doc.title
    assert samples.ARTICLE_PARAS[0] in doc.text


def test_pdf_saved_as_txt(tmp_path: Path) -> None:
    (doc,) = _docs(_write(tmp_path, "report.txt", samples.make_pdf([["Hidden PDF title."], ["Page two."]])))
    assert doc.title == "Hidden PDF title." and "%PDF" not in doc.text and len(doc.pages) == 2


def test_docx_saved_as_txt(tmp_path: Path) -> None:
    (doc,) = _docs(_write(tmp_path, "doc.txt", samples.make_docx()))
    assert doc.title == "Báo cáo tài chính quý I"


def test_sniff_kinds() -> None:
    assert sniff(b"%PDF-1.7\n...", ".txt") == "pdf"
    assert sniff(b"  <!DOCTYPE html><html>", ".md") == "html"
    assert sniff(b"<html><body>x</body></html>", ".txt") == "html"
    assert sniff(b"\xef\xbb\xbf<head><title>x</title></head>", ".txt") == "html"
    assert sniff(b"# Title\ntext", ".md") == "markdown"
    assert sniff(b"plain <b>text</b> mentioning <html> later", ".txt") == "text"
    assert sniff(b"\x00\x01\x02\x03" * 100, ".txt") == "binary"


# --- damaged and hostile files ---------------------------------------------------------------------------------


def test_empty_file_gives_no_documents(tmp_path: Path) -> None:
    assert _docs(_write(tmp_path, "empty.txt", b"")) == []
    assert _docs(_write(tmp_path, "blank.md", b"  \n\n\t\n")) == []


def test_binary_garbage_named_txt(tmp_path: Path) -> None:
    import hashlib

    data = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(200))  # 6,400 random-looking bytes
    assert "not a text file" in _error(_write(tmp_path, "garbage.txt", data))


def test_truncated_pdf(tmp_path: Path) -> None:
    data = samples.make_pdf([["Some text on a page."]])
    message = _error(_write(tmp_path, "cut.pdf", data[: len(data) // 3]))
    assert "PDF" in message


def test_pdf_without_text(tmp_path: Path) -> None:
    assert "no text layer" in _error(_write(tmp_path, "scan.pdf", samples.make_pdf([[]])))


def test_zip_garbage_named_docx(tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "not word")
    assert "not a Word" in _error(_write(tmp_path, "fake.docx", out.getvalue()))


def test_corrupt_docx(tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<not-xml")
    assert "Word document" in _error(_write(tmp_path, "bad.docx", out.getvalue()))


def test_truncated_docx(tmp_path: Path) -> None:
    data = samples.make_docx()
    _error(_write(tmp_path, "cut.docx", data[: len(data) // 2]))


def test_html_without_article(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "empty.html", "<!DOCTYPE html><html><head></head><body></body></html>"))
    assert "no article text" in message


def test_oversize_file_refused_naming_the_limit(tmp_path: Path) -> None:
    path = _write(tmp_path, "big.txt", b"a " * 600_000)
    with pytest.raises(InputError) as err:
        list(read_files([path], Limits.from_settings(Settings(max_file_mb=1))))
    message = str(err.value)
    assert "too large" in message and "1 MB" in message and "\n" not in message
    assert list(read_files([path]))  # within the default 20 MB


def test_missing_file_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        load_file(tmp_path / "gone.txt")
    assert "gone.txt" in str(err.value) and "\n" not in str(err.value)


def test_five_megabyte_single_line_is_bounded(tmp_path: Path) -> None:
    text = "".join(f"Câu số {i} nói về kinh tế năm nay " for i in range(160_000))[:5_000_000]
    path = _write(tmp_path, "one-line.txt", text)
    tracemalloc.start()
    started = time.perf_counter()
    (raw,) = list(read_files([path]))
    docs = clean_document(raw.text, raw.source, date=raw.date, author=raw.author, pages=raw.pages)
    chunks = chunk_document(docs[0], 1000, 1)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(docs[0].title) <= DEFAULT_LIMITS.max_title_chars
    assert max(len(line) for line in docs[0].text.split("\n")) <= DEFAULT_LIMITS.max_line_chars
    assert len(chunks) > 1000
    assert peak < 400 * 1024 * 1024, peak  # was 5 GB in issue 12
    assert seconds < 60


def test_long_title_capped(tmp_path: Path) -> None:
    (doc,) = _docs(_write(tmp_path, "t.txt", "Tiêu đề " * 200 + "\nNội dung."))
    assert len(doc.title) <= DEFAULT_LIMITS.max_title_chars and doc.title.endswith("…")


def test_split_long_lines_keeps_all_text() -> None:
    line = "word " * 10_000
    out = split_long_lines(line, 1000)
    assert all(len(part) <= 1000 for part in out.split("\n"))
    assert out.replace("\n", " ").split() == line.split()


# --- properties ----------------------------------------------------------------------------------------------

_SUFFIXES = st.sampled_from([".txt", ".md", ".html", ".htm", ".pdf", ".docx"])
_PREFIXES = st.sampled_from(
    [b"", b"%PDF-1.4\n", b"<!DOCTYPE html><html>", b"PK\x03\x04", b"---\ntitle: x\n", b"\xff\xfe"]
)
_FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FAST
@given(prefix=_PREFIXES, body=st.binary(max_size=2000), suffix=_SUFFIXES)
def test_property_loading_any_bytes_only_input_errors(prefix: bytes, body: bytes, suffix: str) -> None:
    try:
        text = load_bytes(prefix + body, suffix, "f" + suffix).text
    except InputError as exc:
        assert "\n" not in str(exc) and ("f" + suffix) in str(exc)
        return
    assert all(ch in "\n\t" or not (ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F) for ch in text)
    assert all(len(line) <= DEFAULT_LIMITS.max_line_chars for line in text.split("\n"))


@_FAST
@given(data=st.binary(max_size=3000))
def test_property_decode_never_raises_other_errors(data: bytes) -> None:
    with contextlib.suppress(InputError):
        assert isinstance(decode(data, "x"), str)


_TEXTS = st.lists(
    st.sampled_from(
        list('abc ĐđàáạẢ.!?…,;:-–()"“”\n\t\r\x00\x07')
        + ["Ảnh: AFP", "(Theo VnExpress)", "15/03/2024", "Tin liên quan", "Xem thêm"]
    ),
    max_size=300,
).map("".join)


@_FAST
@given(text=_TEXTS, chunk_chars=st.integers(5, 300), overlap=st.integers(0, 3))
def test_property_clean_and_chunk_offsets_index_the_text(text: str, chunk_chars: int, overlap: int) -> None:
    for doc in clean_document(text, "p.txt"):
        assert len(doc.title) <= DEFAULT_LIMITS.max_title_chars
        for start, end in doc.marks:
            assert 0 <= start <= end <= len(doc.text)
        for chunk in chunk_document(doc, chunk_chars, overlap):
            assert 0 <= chunk.start <= chunk.end <= len(doc.text)
            assert doc.text[chunk.start : chunk.end] == chunk.text


@_FAST
@given(pages=st.lists(st.text(alphabet=st.sampled_from(list("ab .\n\x00")), max_size=80), min_size=1, max_size=5))
def test_property_page_starts_are_monotone_offsets(pages: list[str]) -> None:
    starts, offset = [], 0
    for page in pages:
        starts.append(offset)
        offset += len(page) + 1
    for doc in clean_document("\n".join(pages), "p.pdf", pages=tuple(starts)):
        if doc.kind == "article":
            assert len(doc.pages) == len(pages)
            assert list(doc.pages) == sorted(doc.pages)
            assert all(0 <= s <= len(doc.text) for s in doc.pages)


# --- more bad inputs, one row each: (file name, bytes, expected: text that must be in the title/text, or the
# start of the InputError message after the file name) --------------------------------------------------------


def _encrypted_pdf(password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(samples.make_pdf([["Encrypted body text."]]))))
    writer.encrypt(user_password=password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


CASES = [
    ("locked.pdf", lambda: _encrypted_pdf("secret"), "error", "the PDF is encrypted"),
    ("open.pdf", lambda: _encrypted_pdf(""), "text", "Encrypted body text."),
    ("junk-header.pdf", lambda: b"%PDF-1.4\n" + b"\x00garbage" * 50, "error", "damaged or unreadable PDF"),
    ("pdf-magic-only.txt", lambda: b"%PDF-", "error", "damaged or unreadable PDF"),
    (
        "script-only.html",
        lambda: b"<html><head><script>var a=1;</script></head><body></body></html>",
        "error",
        "no article text",
    ),
    ("not-zip.docx", lambda: b"PK\x03\x04" + b"\x00" * 100, "error", "a zip archive but not"),
    ("empty-zip.docx", lambda: b"PK\x05\x06" + b"\x00" * 18, "error", "a zip archive but not"),
    ("text-named.pdf", lambda: "Tiêu đề thật\nNội dung bình thường.".encode(), "text", "Nội dung bình thường."),
    ("text-named.docx", lambda: b"Plain title\nPlain body text.", "text", "Plain body text."),
    ("unclosed.md", lambda: "---\ntitle: Không đóng\nNội dung vẫn đọc được.".encode(), "text", "Nội dung vẫn"),
    ("unclosed-fence.md", lambda: "Tiêu đề\nTrước mã.\n```\ncode()\n".encode(), "text", "Trước mã."),
    ("only-front-matter.md", lambda: b"---\ntitle: x\n---\n", "text", ""),
    ("only-code.md", lambda: b"```\nprint(1)\n```\n", "text", ""),
    ("crlf.txt", lambda: "Tiêu đề\r\nDòng hai.\r\n".encode(), "text", "Tiêu đề\nDòng hai."),
    ("cr-only.txt", lambda: b"Title\rSecond line.\r", "text", "Title\nSecond line."),
    ("nul-heavy.txt", lambda: b"\x00" * 1000, "error", "not a text file"),
    ("elf.txt", lambda: b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200, "error", "not a text file"),
    ("png.md", lambda: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 300, "error", "not a text file"),
    (
        "xhtml.txt",
        lambda: ('<?xml version="1.0"?>\n' + samples.vn_news_html().split("\n", 1)[1]).encode(),
        "text",
        samples.ARTICLE_PARAS[1],
    ),
    ("decomposed.txt", lambda: "Ha\u0300 No\u0323\u0302i\nNội dung.".encode(), "text", "Hà Nội"),
]


@pytest.mark.parametrize(("name", "make", "outcome", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_table(tmp_path: Path, name: str, make, outcome: str, expected: str) -> None:
    path = _write(tmp_path, name, make())
    if outcome == "error":
        message = _error(path)
        assert message.startswith(f"{path}: {expected}"), message
        return
    docs = _docs(path)
    if not expected:
        assert docs == []
        return
    assert expected in docs[0].text


def test_a_folder_of_every_format_builds_an_index(tmp_path: Path, fresh_settings) -> None:
    from kbqa.index.build import update_index

    folder = tmp_path / "docs"
    folder.mkdir()
    _write(folder, "news.html", samples.vn_news_html())
    _write(folder, "report.pdf", samples.make_pdf([["Quarterly report."], ["Second page text."]]))
    _write(folder, "finance.docx", samples.make_docx())
    _write(folder, "guide.md", "---\ntitle: Hướng dẫn\n---\nCài đặt bằng pip.\n```\npip install x\n```\n")
    _write(folder, "plain.txt", "Tiêu đề\nNội dung thường.")
    report = update_index([folder], fresh_settings, sync=True, show_progress=False)
    assert report.files == 5 and report.documents == 5
