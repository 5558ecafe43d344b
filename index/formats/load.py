"""One file → its text and metadata, whatever its format; every failure is a one-line InputError."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

from kbqa.errors import InputError
from kbqa.index.formats.limits import DEFAULT_LIMITS, Limits
from kbqa.index.formats.sniff import sniff
from kbqa.index.formats.text import cap_title, decode, tidy

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")


@dataclass(frozen=True)
class LoadedText:
    """A file's text and what its format told: title (already the text's first line), date, author, for a PDF
    the offsets in the text where each page starts, and for HTML the publication time its markup gives (ISO)."""

    text: str
    date: str = ""
    author: str = ""
    pages: tuple[int, ...] = ()
    format: str = "text"
    published: str | None = None


def _titled(text: str, title: str, limits: Limits) -> str:
    """The text with its title as the first line (the cleaner's convention), unless it starts with it already."""
    title = cap_title(tidy(title, limits.max_line_chars).replace("\n", " "), limits.max_title_chars) if title else ""
    first = next((line.strip() for line in text.split("\n") if line.strip()), "")
    if not title or not first or first.lstrip("# ").strip() == title:  # a title alone is not a document
        return text
    return f"{title}\n{text}"


def load_bytes(data: bytes, suffix: str, name: str, limits: Limits = DEFAULT_LIMITS) -> LoadedText:
    """Read `data` (a file named `name`, extension `suffix`) as the format its content shows; `limits` (from the
    settings) cap its titles and lines."""
    lines = limits.max_line_chars
    kind = sniff(data, suffix.lower())
    if kind == "binary":
        raise InputError(f"{name}: not a text file (binary content)")
    if kind == "zip":
        raise InputError(f"{name}: a zip archive but not a Word .docx document")
    if kind == "pdf":
        from kbqa.index.formats.pdf import extract_pdf

        pages, author = extract_pdf(data, name)
        starts: list[int] = []
        texts: list[str] = []
        offset = 0
        for page in pages:
            page = tidy(page, lines).strip("\n")
            starts.append(offset)
            texts.append(page)
            offset += len(page) + 1
        return LoadedText("\n".join(texts), author=author, pages=tuple(starts), format="pdf")
    if kind == "docx":
        from kbqa.index.formats.docx import extract_docx
        from kbqa.index.formats.zips import check_zip

        check_zip(data, name, limits)  # before python-docx holds the whole document
        doc = extract_docx(data, name)
        return LoadedText(
            _titled(tidy(doc.text, lines), doc.title, limits), date=doc.date, author=doc.author, format="docx"
        )
    text = decode(data, name)
    if kind == "html":
        from kbqa.index.formats.html import extract_html

        doc = extract_html(text, name)
        return LoadedText(
            _titled(tidy(doc.text, lines), doc.title, limits),
            date=doc.date,
            author=doc.author,
            format="html",
            published=doc.published,
        )
    if kind == "markdown":
        from kbqa.index.formats.markdown import extract_markdown

        doc = extract_markdown(text)
        return LoadedText(
            _titled(tidy(doc.text, lines), doc.title, limits), date=doc.date, author=doc.author, format="markdown"
        )
    return LoadedText(tidy(text, lines), format="text")


def _special(mode: int) -> str:
    """What a file that is not a regular file is ("" for a regular one): reading a FIFO would wait forever."""
    kinds = (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
        (stat.S_ISSOCK, "a socket"),
    )
    if stat.S_ISREG(mode):
        return ""
    return next((kind for test, kind in kinds if test(mode)), "not a regular file")


def load_file(path: Path, name: str | None = None, limits: Limits = DEFAULT_LIMITS) -> LoadedText:
    """Read the file at `path` (refused over limits.max_file_bytes), named `name` in messages."""
    name = name or str(path)
    try:
        info = path.stat()
        special = _special(info.st_mode)
        if special:  # checked before any open(): opening a FIFO blocks until a writer comes
            raise InputError(f"{name}: not a regular file ({special})")
        size = info.st_size
        if size > limits.max_file_bytes:
            raise InputError(limits.file_size_message(name, size))
        with path.open("rb") as handle:
            data = handle.read(limits.max_file_bytes + 1)  # the file may have grown since stat
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or type(exc).__name__}") from None
    if len(data) > limits.max_file_bytes:
        raise InputError(limits.file_size_message(name, len(data)))
    return load_bytes(data, path.suffix, name, limits)
