"""Inputs that cost far more to read than their size: zip-bomb .docx files and huge HTML pages, made in code."""

from __future__ import annotations

import io
import os
import zipfile

MB = 1024 * 1024


def _base_docx() -> bytes:
    from docx import Document

    document = Document()
    document.add_paragraph("Bom")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def docx_with(
    body_parts: list[bytes] | None = None, repeat: int = 1, extra: dict[str, tuple[bytes, int]] | None = None
) -> bytes:
    """A .docx whose word/document.xml body is `body_parts` written `repeat` times (streamed into the zip), with
    `extra` members {name: (chunk, times)}."""
    base = zipfile.ZipFile(io.BytesIO(_base_docx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in base.infolist():
            if item.filename != "word/document.xml" or body_parts is None:
                archive.writestr(item.filename, base.read(item.filename))
                continue
            xml = base.read(item.filename)
            head, tail = xml.split(b"<w:body>", 1)
            with archive.open("word/document.xml", "w", force_zip64=True) as stream:
                stream.write(head + b"<w:body>")
                for _ in range(repeat):
                    for part in body_parts:
                        stream.write(part)
                stream.write(tail)
        for name, (chunk, times) in (extra or {}).items():
            with archive.open(name, "w", force_zip64=True) as stream:
                for _ in range(times):
                    stream.write(chunk)
    return out.getvalue()


def spaces_docx(mb: int = 200) -> bytes:
    """One run of `mb` MB of spaces (the field case: 2.9 MB of them took 5.8 GB)."""
    return docx_with([b'<w:p><w:r><w:t xml:space="preserve">', b" " * MB * mb, b"</w:t></w:r></w:p>"])


def deflate_bomb_docx(mb: int = 500) -> bytes:
    """`mb` MB of one short paragraph repeated (~1,000:1; the field case: 2.3 MB, 4.4 GB and growing after 600 s)."""
    paragraph = b"<w:p><w:r><w:t>bom</w:t></w:r></w:p>"
    return docx_with([paragraph * (MB // len(paragraph))], repeat=mb)


def media_bomb_docx(mb: int = 500) -> bytes:
    """A normal document plus a member of `mb` MB of zeros (~1,000:1) that nothing refers to."""
    return docx_with(extra={"word/media/image1.bin": (b"\0" * MB, mb)})


def empty_paragraphs_docx(count: int = 3_000_000) -> bytes:
    """`count` empty paragraphs (the field case: 60 KB, never finished)."""
    return docx_with([b"<w:p/>" * 1000], repeat=count // 1000)


def many_elements_docx(paragraphs: int) -> bytes:
    """Paragraphs of one numbered word each (3 elements each; compresses only ~10:1, so no ratio refusal)."""
    parts = [f"<w:p><w:r><w:t>{i:x}{os.urandom(2).hex()}</w:t></w:r></w:p>".encode() for i in range(paragraphs)]
    return docx_with(parts)


def wordy_docx(mb: int) -> bytes:
    """A document plus `mb` MB of random words (~5:1, like Word's XML): large unpacked without a high ratio."""
    import random

    words = [
        w.encode()
        for w in [
            "sông",
            "hồ",
            "phố",
            "cổ",
            "người",
            "dân",
            "xe",
            "máy",
            "mỗi",
            "sáng",
            "thành",
            "phố",
            "có",
            "nhiều",
            "và",
        ]
    ]
    chunk = b" ".join(random.Random(7).choices(words, k=MB // 5))[:MB]
    return docx_with(extra={"word/media/notes.txt": (chunk, mb)})


def table_html(rows: int = 50_000) -> str:
    """A page of one table of `rows` rows (the field case: 2.5 MB, never finished)."""
    body = "".join(f"<tr><td>hàng {i}</td><td>{i * 7}</td><td>ghi chú {i % 13}</td></tr>" for i in range(rows))
    return (
        "<html><head><title>Bảng số liệu</title></head><body><nav><a href='/'>Trang chủ</a></nav><article>"
        f"<h1>Bảng số liệu</h1><p>Bảng dưới đây liệt kê số liệu theo từng hàng.</p><table>{body}</table>"
        "</article><footer>Bản quyền</footer></body></html>"
    )


def large_html(mb: int = 12) -> str:
    """A page of `mb` M characters of paragraphs (12: ~17 MB in UTF-8; the field case: 17 MB, 303 s and 1.15 GB)."""
    para = "<p>" + "Thành phố có nhiều hồ và phố cổ, người dân đi xe máy mỗi sáng. " * 8 + "</p>"
    return (
        "<html><head><title>Trang lớn</title></head><body><article>"
        + para * (mb * MB // len(para))
        + "</article></body></html>"
    )


def tag_heavy_html(tags: int = 60_000) -> str:
    """A page of one short article in `tags` empty elements: over the extractor's tag budget, little text."""
    filler = "<div><span></span></div>" * (tags // 2)
    return (
        "<html><head><title>Trang nhiều thẻ</title></head><body><article><h1>Trang nhiều thẻ</h1>"
        f"<p>Hà Nội là thủ đô của Việt Nam, có nhiều hồ và phố cổ.</p>{filler}</article></body></html>"
    )
