"""HTML for the chat: everything from documents is escaped; cited sentences are highlighted."""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape

from kbqa.index.records import Passage
from kbqa.index.store.api import DocumentInfo
from kbqa.qa.answer import Answer, Citation, Claim
from kbqa.ui import render

PAYLOAD = '<script>alert(1)</script><img src=x onerror="alert(2)">'
DOC = f"Title {PAYLOAD}\nFirst sentence here. The cited sentence is this one. Last words."


def _listed(title: str, source: str, chunks: int) -> DocumentInfo:
    """A document as the store lists it (undated)."""
    return DocumentInfo("d", title, "", source, f"/{source}", "article", 0.0, "h", chunks)


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
    # in the rewrite, the card title and the document context, and the title in the plain text (for the copy
    # button and screen readers)
    assert html.count("&lt;script&gt;") == 5
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
    html = render.documents_html([_listed(PAYLOAD, "a<b>.txt", 2)])
    assert "<script" not in html and "a&lt;b&gt;.txt" in html
    assert "<script" not in render.notice_html(PAYLOAD)
    assert "no documents" in render.documents_html([])


def _attribute(html: str, name: str) -> str:
    """The (first) value of attribute `name` in `html`, unescaped as the browser reads it."""
    match = re.search(rf'{name}="([^"]*)"', html)
    assert match, f"no {name} in the HTML"
    return unescape(match.group(1))


def _passage(title: str, source: str, start: int = 0) -> Passage:
    return Passage("d2", source, title, "19:57 | 09/12/2023", "Paris là một thành phố.", start, start + 23, 0.4)


def test_plain_text_is_the_answer_with_markers_and_a_sources_list() -> None:
    answer = Answer(
        "Which?",
        "One. [1] Two. [2]",
        [Citation(1, _answer().passages[0]), Citation(2, _passage("B <b>", "b.txt"))],
        note="The quoted sentences are from Vietnamese articles.",
    )
    assert render.plain_text(answer) == (
        "One. [1] Two. [2]\n"
        "The quoted sentences are from Vietnamese articles.\n\n"
        "Sources:\n"
        f"[1] Title {PAYLOAD} — 09/12/2023 · docs/a.txt [62:126]\n"
        "[2] B <b> — 19:57 | 09/12/2023 · b.txt [0:23]"
    )


def test_the_copy_button_and_the_screen_reader_text_carry_the_plain_text() -> None:
    html = render.message_html(_answer(), "a3", lambda doc_id: DOC)
    plain = render.plain_text(_answer())
    assert _attribute(html, "data-copy") == plain and _attribute(html, "data-kbqa-plain") == plain
    assert "\n" not in html  # a newline inside the message would end Gradio's Markdown HTML block


def test_marks_are_emphasised_in_the_claims() -> None:
    passage = _answer().passages[0]
    claim = Claim("Ngày 9/12, hai nước <ký> thỏa thuận.", (1,), ((0, 9),))
    answer = Answer("Khi nào?", f"{claim.text} [1]", [Citation(1, passage)], [passage], claims=[claim])
    html = render.message_html(answer, "a4", lambda doc_id: None)
    assert '<strong class="kbqa-mark">Ngày 9/12</strong>, hai nước &lt;ký&gt; thỏa thuận. <a class="kbqa-cite"' in html


def test_not_found_shows_the_message_the_note_and_the_closest_passages_without_markers() -> None:
    closest = [_passage("Paris", "seeds/p.txt"), _passage("Lyon", "seeds/l.txt", 40)]
    answer = Answer(
        "Thủ đô của Pháp là gì?",
        "Không tìm thấy câu trả lời trong các bài viết.",
        [],
        closest,
        found=False,
        support=0.2,
        note="Một ghi chú.",
    )
    html = render.message_html(answer, "a5", lambda doc_id: None)
    assert "Không tìm thấy câu trả lời" in html and '<div class="kbqa-note">Một ghi chú.</div>' in html
    assert render.CLOSEST["vi"] in html and html.count('class="kbqa-card kbqa-closest"') == 2
    assert "kbqa-cite" not in html and 'class="kbqa-n"' not in html and "[1]" not in html
    plain = render.plain_text(answer)
    assert plain.startswith("Không tìm thấy câu trả lời trong các bài viết.\nMột ghi chú.\n\n")
    assert f"{render.CLOSEST['vi']}:\n- Paris — " in plain and "[1]" not in plain and "Sources" not in plain
    english = Answer("What is the capital of France?", "The articles don't answer this.", [], closest, found=False)
    assert render.CLOSEST["en"] in render.message_html(english, "a6", lambda doc_id: None)


def test_uploaded_files_are_shown_by_name_other_sources_as_stored(tmp_path) -> None:
    docs = tmp_path / "kbqa-docs"
    assert render.source_label(str(docs / "bài.txt"), docs) == "bài.txt"
    assert render.source_label("seeds/a.txt", docs) == "seeds/a.txt"
    assert render.source_label("kbqa-docs/x.md", "kbqa-docs") == "x.md"
    uploaded = Passage("d", str(docs / "up.txt"), "T", "", "text", 0, 4, 0.5)
    html = render.message_html(
        Answer("q", "text [1]", [Citation(1, uploaded)], [uploaded]), "a7", lambda d: None, None, docs
    )
    assert str(tmp_path) not in html and "up.txt [0:4]" in html
    listed = render.documents_html([_listed("T", str(docs / "up.txt"), 1)], docs)
    assert str(tmp_path) not in listed and "up.txt" in listed


def test_absolute_paths_are_scrubbed_from_messages() -> None:
    message = (
        "Upload failed: cannot read /tmp/gradio/3f2a/bài báo.txt; index /srv/data/.kbqa is locked; "
        "C:\\Users\\ann\\kbqa-docs\\x.md"
    )
    scrubbed = render.scrub_paths(message)
    assert "/tmp" not in scrubbed and "/srv" not in scrubbed and "Users" not in scrubbed
    assert "bài báo.txt" in scrubbed and ".kbqa is locked" in scrubbed and scrubbed.endswith("x.md")
    kept = "19:57 | 09/12/2023, and/or see https://example.org/a/b and kbqa-docs/x.txt"
    assert render.scrub_paths(kept) == kept


def test_exposure_warning_only_beyond_this_machine_without_auth() -> None:
    for host in ("127.0.0.1", "::1", "localhost", "[::1]"):
        assert render.exposure_warning(host, share=False, auth=None) is None
    assert "0.0.0.0" in render.exposure_warning("0.0.0.0", share=False, auth=None)
    assert "share link" in render.exposure_warning("127.0.0.1", share=True, auth=None)
    assert render.exposure_warning("0.0.0.0", share=True, auth=("ann", "pw")) is None
    assert "&lt;" in render.banner_html("<b>")


def test_pending_message_is_busy_and_says_what_it_does() -> None:
    html = render.pending_html("Reading 5 passages…", rewrite="Khi nào <Trung Quốc>?")
    assert 'aria-busy="true"' in html and "Reading 5 passages…" in html and "&lt;Trung Quốc&gt;" in html


def test_written_claims_not_supported_by_their_passage_are_flagged() -> None:
    base = _answer()
    passage = base.citations[0].passage
    claims = [
        Claim("The cited sentence is this one.", (1,), verified=True),
        Claim(f"Made up {PAYLOAD}.", (1,), verified=False),
        Claim("No citation at all.", (), verified=False),
    ]
    answer = Answer("q?", "…", [Citation(1, passage, verified=False)], [passage], claims=claims, note="2 of 3 …")
    html = render.message_html(answer, "a3", lambda doc_id: DOC)
    assert html.count('class="kbqa-unverified"') == 2 and "<script" not in html
    assert "⚠ not supported by the cited passage</span>" in html and "⚠ cites no passage</span>" in html
    assert '<details class="kbqa-card kbqa-card-unverified" id="a3-1" data-n="1">' in html
    assert '<div class="kbqa-note">2 of 3 …</div>' in html
    plain = render.plain_text(answer)
    assert plain.startswith(
        "The cited sentence is this one. [1] Made up " + PAYLOAD + ". [1] ⚠ not supported by the cited passage"
        " No citation at all. ⚠ cites no passage\n2 of 3 …"
    )


def test_the_model_status_line_is_escaped_and_one_line() -> None:
    assert render.llm_status_html("Answers <b>") == '<div class="kbqa-llm-status" role="status">Answers &lt;b&gt;</div>'
    html = render.llm_status_html("Answers quote.", "llm 'x<y>'\nmust be one of …")
    assert "kbqa-error" in html and "x&lt;y&gt;" in html and "\n" not in html and "unchanged: Answers quote." in html


def _dated(published: str | None) -> Passage:
    return Passage(
        "d3", "news/gia-vang.md", "Giá vàng", "22-08-2026", "Giá vàng tăng.", 0, 14, 0.8, published=published
    )


def test_the_lead_is_escaped_and_shown_before_the_claims() -> None:
    passage = _dated("2026-08-22T09:15:00+07:00")
    claim = Claim("Giá vàng tăng.", (1,))
    lead = f"Theo “Giá vàng {PAYLOAD}” ngày 22/8/2026:"
    answer = Answer(
        "Giá vàng?", f"{lead} Giá vàng tăng. [1]", [Citation(1, passage)], [passage], claims=[claim], lead=lead
    )
    html = render.message_html(answer, "a7", lambda doc_id: None)
    assert "<script" not in html and "<img" not in html
    text = html[html.index('<div class="kbqa-text">') :]
    assert text.index('<span class="kbqa-lead">Theo “Giá vàng &lt;script&gt;') < text.index("Giá vàng tăng. <a")
    assert render.plain_text(answer).startswith(f"{lead} Giá vàng tăng. [1]\n")
    assert render.claims_html(replace(answer, lead=""), "a7").startswith("Giá vàng tăng. <a")


def test_a_card_shows_the_publication_day_in_the_question_s_language_or_the_raw_date() -> None:
    card = render.card_html(_dated("2026-08-22T09:15:00+07:00"), [], "a8", None, lang="vi")
    badge = '<time class="kbqa-date" datetime="2026-08-22T09:15:00+07:00" title="Published">22/8/2026 09:15</time>'
    assert badge in card
    assert card.index("kbqa-date") < card.index("kbqa-meta")  # the badge starts the meta line
    english = render.card_html(_dated("2026-08-22T00:00:00+07:00"), [], "a8", None, lang="en")
    assert ">22 August 2026</time>" in english  # no time at midnight
    utc = render.card_html(_dated("2026-08-21T19:15:00+00:00"), [], "a8", None, lang="vi")
    assert ">22/8/2026 02:15</time>" in utc  # the day in the archive's zone (+07:00)
    raw = render.card_html(_dated(None), [], "a8", None, lang="vi")
    assert '<span class="kbqa-date kbqa-date-raw" title="Date as the page gives it">22-08-2026</span>' in raw
    assert "<time" not in raw
    undated = render.card_html(replace(_dated(None), date="<b>"), [], "a8", None)
    assert "&lt;b&gt;" in undated and "<b>" not in undated.replace('<b class="kbqa-title">', "")
    assert "kbqa-date" not in render.card_html(replace(_dated(None), date=""), [], "a8", None)


def test_the_sources_list_says_the_day_in_the_question_s_language() -> None:
    passage = _dated("2026-08-22T09:15:00+07:00")
    answer = Answer("Giá vàng hôm nay?", "Giá vàng tăng. [1]", [Citation(1, passage)], [passage])
    assert render.plain_text(answer).endswith("[1] Giá vàng — 22/8/2026 09:15 · news/gia-vang.md [0:14]")
    html = render.message_html(answer, "a9", lambda doc_id: None)
    assert ">22/8/2026 09:15</time>" in html
