"""Word .docx files via python-docx: paragraphs and headings in order, tables as text."""

from __future__ import annotations

import io

from kbqa.errors import InputError
from kbqa.index.formats.html import Extracted


def _table_lines(table) -> list[str]:  # noqa: ANN001 - a docx.table.Table
    lines = []
    for row in table.rows:
        cells = list(dict.fromkeys(c.text.strip() for c in row.cells))  # merged cells repeat
        if any(cells):
            lines.append(" | ".join(cells))
    return lines


def extract_docx(data: bytes, name: str) -> Extracted:
    """The document's text (title first when the core properties or a Title/Heading style give one)."""
    from docx import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = Document(io.BytesIO(data))
        lines: list[str] = []
        heading = ""
        styles: dict[str | None, str] = {}  # style id -> name: python-docx looks a style up anew each time (~1 ms)
        for block in document.iter_inner_content():
            if isinstance(block, Paragraph):
                text = block.text.strip()
                style = ""
                if text and not heading:
                    style_id = block._p.style
                    if style_id not in styles:
                        styles[style_id] = (block.style.name if block.style is not None else "") or ""
                    style = styles[style_id]
                if text and not heading and (style == "Title" or style.startswith("Heading")):
                    heading = text
                lines.append(text)
            elif isinstance(block, Table):
                lines.extend(_table_lines(block))
        props = document.core_properties
        title = (props.title or "").strip() or heading
        date = props.created.date().isoformat() if props.created else ""
        author = (props.author or "").strip()
    except Exception as exc:  # noqa: BLE001 - python-docx raises many kinds on damaged files
        raise InputError(f"{name}: damaged or unreadable Word document ({type(exc).__name__})") from None
    text = "\n".join(lines)
    if not text.strip():
        raise InputError(f"{name}: the Word document has no text")
    return Extracted(text=text, title=title, date=date, author=author)
