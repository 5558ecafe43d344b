"""PDF files: the text of each page via pypdf, pages kept apart so a citation can name the page."""

from __future__ import annotations

import io

from kbqa.errors import InputError


def extract_pdf(data: bytes, name: str) -> tuple[list[str], str]:
    """([text of each page], author) of a PDF; a damaged, encrypted or text-less PDF is an InputError."""
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(f"{name}: the PDF is encrypted (a password is needed)")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
        author = str(meta.author or "") if meta else ""
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on damaged files
        raise InputError(f"{name}: damaged or unreadable PDF ({type(exc).__name__})") from None
    if not any(p.strip() for p in pages):
        raise InputError(f"{name}: the PDF has no text layer (a scan? OCR it first)")
    return pages, author
