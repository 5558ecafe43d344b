"""HTML pages: the article's main text, title, date and author via trafilatura (boilerplate left out)."""

from __future__ import annotations

from dataclasses import dataclass

from kbqa.errors import InputError


@dataclass(frozen=True)
class Extracted:
    """What a page yields: its main text and metadata ("" when unknown)."""

    text: str
    title: str = ""
    date: str = ""
    author: str = ""
    published: str | None = None  # ISO 8601 (kbqa.index.dates), when the format's metadata or markup tells


def extract_html(html: str, name: str) -> Extracted:
    """The page's article: trafilatura drops nav menus, related-article blocks, scripts and footers. A page over
    the extractor's budget (html_budget: tags, characters) is read as its body's plain text, with a note."""
    import logging

    from kbqa.index.formats.html_budget import over_budget

    why = over_budget(html)
    if why:
        return _plain(html, name, why)
    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    logging.getLogger("htmldate").setLevel(logging.CRITICAL)
    try:
        doc = trafilatura.bare_extraction(
            html,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            favor_precision=True,
            date_extraction_params={"extensive_search": True, "original_date": True, "outputformat": "%Y-%m-%d"},
        )
        if doc is None or not (doc.text or "").strip():  # precision too strict for a short page: try recall
            doc = trafilatura.bare_extraction(
                html, with_metadata=True, include_comments=False, favor_recall=True, include_links=False
            )
    except Exception as exc:  # noqa: BLE001 - any parser failure is one bad file, not a crash
        raise InputError(f"{name}: cannot parse HTML ({type(exc).__name__})") from None
    if doc is None or not (doc.text or "").strip():
        raise InputError(f"{name}: no article text found in the HTML page")
    from kbqa.index.dates import published_time

    title, date = doc.title or "", doc.date or ""
    published = published_time(meta_date=date, text=doc.text, title=title, source=name, html=html)
    return Extracted(text=doc.text, title=title, date=date, author=doc.author or "", published=published)


def _plain(html: str, name: str, why: str) -> Extracted:
    """The page's whole text (no article extraction), noted once in the log."""
    import logging

    from kbqa.index.formats.html_budget import plain_text

    try:
        text, title = plain_text(html)
    except Exception as exc:  # noqa: BLE001 - any parser failure is one bad file, not a crash
        raise InputError(f"{name}: cannot parse HTML ({type(exc).__name__})") from None
    if not text.strip():
        raise InputError(f"{name}: no text found in the HTML page")
    logging.getLogger(__name__).warning(
        "%s: page too large for article extraction (%s): its whole text was read", name, why
    )
    return Extracted(text=text, title=title)
