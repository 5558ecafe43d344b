"""A page too large for trafilatura (tags, characters) is read cheaply: lxml's text of its body, with a note."""

from __future__ import annotations

import logging
import re

logger = logging.getLogger(__name__)

# trafilatura takes ~40 µs a tag (a 25,000-row table: 75,000 tags, 3 s; 50,000 rows never finished in the field) and
# ~70 MB a MB of page; a news article has 1,000-5,000 tags and 30-300 KB
MAX_TAGS = 50_000
MAX_CHARS = 4_000_000
DROPPED = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "iframe", "svg")
BLOCKS = frozenset(
    ("p", "div", "tr", "li", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "br", "table", "ul", "ol", "section")
    + ("article", "main", "blockquote", "pre", "figure", "figcaption")
)
CELLS = frozenset(("td", "th"))


def start_tags(html: str) -> int:
    """Start tags in `html` (comments and declarations too: an upper bound), counted without parsing."""
    return html.count("<") - html.count("</")


def over_budget(html: str) -> str:
    """Why `html` is too large for the article extractor ("" when it is not)."""
    if len(html) > MAX_CHARS:
        return f"{len(html) / 1e6:.1f} million characters; the limit is {MAX_CHARS / 1e6:g} million"
    tags = start_tags(html)
    if tags > MAX_TAGS:
        return f"{tags:,} tags; the limit is {MAX_TAGS:,}"
    return ""


def plain_text(html: str) -> tuple[str, str]:
    """(text, title) of `html` without article extraction: the body's text, a line per block and table row, cells
    apart, scripts, styles, menus, headers, footers and asides left out."""
    import lxml.html
    from lxml import etree

    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, huge_tree=True)
    root = lxml.html.document_fromstring(html, parser=parser)
    title = " ".join((root.findtext(".//title") or "").split())
    etree.strip_elements(root, *DROPPED, with_tail=False)
    for element in root.iter(etree.Element):
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in BLOCKS:
            element.tail = "\n" + (element.tail or "")
        elif tag in CELLS:
            element.tail = " | " + (element.tail or "")
    body = root.find("body")
    text = (body if body is not None else root).text_content()
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip(" |") for line in text.split("\n"))
    return "\n".join(line for line in lines if line), title
