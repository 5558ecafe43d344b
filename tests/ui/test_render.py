"""HTML for the chat: everything from documents is escaped; cited sentences are highlighted."""

from __future__ import annotations

from index.records import Passage
from qa.answer import Answer, Citation
from ui import render

PAYLOAD = '<script>alert(1)</script><img src=x onerror="alert(2)">'
DOC = f"Title {PAYLOAD}\nFirst sentence here. The cited sentence is this one. Last words."


def _answer() -> Answer:
    start = DOC.index("First")
    passage = Passage("d1", "docs/a.txt", f"Title {PAYLOAD}", "09/12/2023", DOC[start:], start, len(DOC), 0.9)
    return Answer("q?", "The cited sentence is this one. [1]", [Citation(1, passage)], [passage])


def test_claims_split_an_extractive_answer() -> None:
    assert render.claims("A b c. [1] D e [x] f. [2] G. [1]") == [("A b c.", 1), ("D e [x] f.", 2), ("G.", 1)]


def test_highlight_escapes_and_marks_verbatim_sentences() -> None:
    html = render.highlight(f"x {PAYLOAD} y. Keep < this.", ["Keep < this."])
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and '<mark class="kbqa-hl">Keep &lt; this.</mark>' in html


def test_message_escapes_everything_from_documents() -> None:
    html = render.message_html(_answer(), "a1", lambda doc_id: DOC, rewrite=f"q {PAYLOAD}")
    assert "<script" not in html and "<img" not in html and 'onerror="' not in html
    assert html.count("&lt;script&gt;") == 3  # in the rewrite, the card title and the document context
    assert '<a class="kbqa-cite" href="#a1-1" data-n="1">[1]</a>' in html
    assert '<details class="kbqa-card" id="a1-1" data-n="1">' in html
    assert '<mark class="kbqa-hl">The cited sentence is this one.</mark>' in html
    assert '<span class="kbqa-passage">' in html  # the passage inside its document context
    assert "\n\n" not in html  # one HTML block for the chat's markdown


def test_card_without_document_text_shows_the_passage() -> None:
    html = render.message_html(_answer(), "a2", lambda doc_id: None)
    assert "kbqa-passage" not in html and "kbqa-hl" in html


def test_context_is_a_window_around_the_passage() -> None:
    doc = "word " * 1000 + "PASSAGE." + " tail" * 1000
    start = doc.index("PASSAGE.")
    html = render.context_html(doc, start, start + 8, ["PASSAGE."])
    assert html.startswith("… ") and html.endswith(" …")
    assert len(html) < 2 * render.CONTEXT_CHARS + 200


def test_documents_and_notices_are_escaped() -> None:
    html = render.documents_html([{"title": PAYLOAD, "source": "a<b>.txt", "date": "", "chunks": 2}])
    assert "<script" not in html and "a&lt;b&gt;.txt" in html
    assert "<script" not in render.notice_html(PAYLOAD)
    assert "no documents" in render.documents_html([])
