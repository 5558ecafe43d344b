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


def _nul_share(half: bytes) -> float:
    return half.count(0) / len(half) if half else 0.0


def utf16_without_bom(data: bytes) -> str | None:
    """ "utf-16-le" or "utf-16-be" when `data` (no BOM) is UTF-16 text by its NUL pattern: the high bytes of Latin
    characters (ASCII, Vietnamese letters below U+0100) are NUL on one side of every pair and never on the other,
    and the sample decodes; else None. Text without a Latin character (CJK) is left to the other tests."""
    sample = data[:SNIFF_BYTES]
    sample = sample[: len(sample) // 2 * 2]
    if len(sample) < 8:
        return None
    even, odd = _nul_share(sample[0::2]), _nul_share(sample[1::2])
    order = "utf-16-le" if odd >= 0.3 and even <= 0.02 else "utf-16-be" if even >= 0.3 and odd <= 0.02 else None
    if order is None:
        return None
    try:
        text = sample.decode(order)
    except UnicodeDecodeError as exc:  # a surrogate pair cut at the sample's end is fine; one elsewhere is not
        text = sample[: exc.start].decode(order) if exc.start >= len(sample) - 2 else ""
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f")
    return order if text and controls <= len(text) * 0.02 else None


def looks_binary(head: bytes) -> bool:
    """Many control bytes (NUL etc.) in the start: not text in any single-byte or UTF-8 encoding."""
    if not head or head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text is full of NULs
        return False
    if utf16_without_bom(head):
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
