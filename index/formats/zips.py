"""Zip-based formats (.docx): inflated size, ratio, member and XML element counts checked while streaming."""

from __future__ import annotations

import io
import logging
import zipfile

from kbqa.errors import InputError
from kbqa.index.formats.limits import Limits

logger = logging.getLogger(__name__)

MAX_MEMBERS = 10_000  # a real .docx has a few dozen parts
MAX_RATIO = 100  # inflated : compressed, past RATIO_FLOOR bytes of one member (Word's XML is ~5-20:1)
RATIO_FLOOR = 1024 * 1024
# start tags in word/document.xml: ~10 a paragraph, so ~50,000 paragraphs; python-docx reads ~50,000 tags a second
MAX_XML_ELEMENTS = 500_000
XML_PARTS = ("word/document.xml",)
CHUNK = 1024 * 1024


def _start_tags(chunk: bytes, after_lt: bool) -> int:
    """Start tags (and comments, PIs: an upper bound) in `chunk`; `after_lt`: the previous chunk ended in '<'."""
    count = chunk.count(b"<") - chunk.count(b"</")
    return count - 1 if after_lt and chunk.startswith(b"/") else count


def check_zip(data: bytes, name: str, limits: Limits) -> None:
    """InputError (one line) when the zip in `data` would inflate past limits.max_inflated_bytes, holds a member
    inflating more than MAX_RATIO:1, more than MAX_MEMBERS members, or a document part of more than
    MAX_XML_ELEMENTS elements. Members are inflated in chunks and counted as they come (the sizes a zip declares
    may lie); nothing is kept."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                raise InputError(
                    f"{name}: too many parts in the archive ({len(members):,}; the limit is {MAX_MEMBERS:,})"
                )
            total = 0
            for member in members:
                if member.is_dir():
                    continue
                inflated, elements, after_lt = 0, 0, False
                counting = member.filename in XML_PARTS
                with archive.open(member) as stream:
                    while chunk := stream.read(CHUNK):
                        inflated += len(chunk)
                        total += len(chunk)
                        if total > limits.max_inflated_bytes:
                            raise InputError(limits.inflated_message(name, total))
                        if inflated > RATIO_FLOOR and inflated > MAX_RATIO * max(member.compress_size, 1):
                            raise InputError(
                                f"{name}: too large when unpacked ({member.filename} inflates more than "
                                f"{MAX_RATIO}:1; a zip bomb?)"
                            )
                        if counting:
                            elements += _start_tags(chunk, after_lt)
                            after_lt = chunk.endswith(b"<")
                            if elements > MAX_XML_ELEMENTS:
                                raise InputError(
                                    f"{name}: too many elements in {member.filename} (more than "
                                    f"{MAX_XML_ELEMENTS:,}; the limit is {MAX_XML_ELEMENTS:,})"
                                )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise InputError(f"{name}: damaged or unreadable Word document ({type(exc).__name__})") from None
    except RuntimeError as exc:  # an encrypted member
        raise InputError(f"{name}: unreadable Word document ({exc})") from None
    logger.debug("%s: %d parts, %d bytes inflated", name, len(members), total)
