"""Tell a file's format from its first bytes, trusting the extension only for plain text kinds."""

from __future__ import annotations

import io
import re
import zipfile

from kbqa.index.formats.limits import BINARY_CONTROL_SHARE, SNIFF_BYTES

_HTML_START = re.compile(
    rb"^(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)[\s>]", re.I | re.S
)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_TEXT_CONTROLS = set(b"\t\n\r\f\x1b")


def _strip_bom(head: bytes) -> bytes:
    for bom in _BOMS:
        if head.startswith(bom):
            return head[len(bom) :]
    return head


def looks_binary(head: bytes) -> bool:
    """Many control bytes (NUL etc.) in the start: not text in any single-byte or UTF-8 encoding."""
    if not head or head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text is full of NULs
        return False
    controls = sum(1 for b in head if b < 32 and b not in _TEXT_CONTROLS)
    return controls > max(8, len(head) * BINARY_CONTROL_SHARE)


def is_docx(data: bytes) -> bool:
    """A zip archive holding word/document.xml."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def sniff(data: bytes, suffix: str) -> str:
    """ "pdf", "docx", "zip" (another archive), "html", "markdown", "text" or "binary"."""
    head = data[:SNIFF_BYTES]
    stripped = _strip_bom(head).lstrip()
    if stripped.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "docx" if is_docx(data) else "zip"
    if _HTML_START.match(stripped[:1024]):
        return "html"
    if looks_binary(head):
        return "binary"
    if suffix in (".html", ".htm") and re.search(rb"<(?:p|div|article|title|h1)[\s>]", head, re.I):
        return "html"
    if suffix in (".md", ".markdown"):
        return "markdown"
    return "text"
