"""Answers as HTML for the chat: escaped text, [n] markers, source cards with the cited sentences highlighted."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from html import escape

from qa.answer import Answer, Citation

CONTEXT_CHARS = 1200  # document text shown on each side of a passage when its card is opened
_CLAIM = re.compile(r"(.+?) \[(\d+)\](?= |$)", re.DOTALL)
_MARKER = re.compile(r"\[(\d+)\]")


def text_html(text: str) -> str:
    """Escaped text with newlines as <br> (the chat renders it as one HTML block: no blank lines)."""
    return escape(text).replace("\n", "<br>")


def claims(answer_text: str) -> list[tuple[str, int]]:
    """(sentence, n) for each "sentence [n]" of an extractive answer."""
    return [(m.group(1).strip(), int(m.group(2))) for m in _CLAIM.finditer(answer_text)]


def cited_sentences(answer: Answer) -> dict[int, list[str]]:
    """n → the answer's sentences citing [n]."""
    out: dict[int, list[str]] = {}
    for sentence, n in claims(answer.answer):
        out.setdefault(n, []).append(sentence)
    return out


def highlight(text: str, phrases: Sequence[str], cls: str = "kbqa-hl") -> str:
    """`text` escaped, each occurrence of each phrase wrapped in <mark class=cls>."""
    spans = sorted(
        (m.start(), m.end()) for p in phrases if p for m in re.finditer(re.escape(p), text)
    )  # verbatim substrings
    out, pos = [], 0
    for start, end in spans:
        if start < pos:
            continue
        out.append(text_html(text[pos:start]))
        out.append(f'<mark class="{cls}">{text_html(text[start:end])}</mark>')
        pos = end
    out.append(text_html(text[pos:]))
    return "".join(out)


def answer_html(text: str, anchor: str) -> str:
    """The answer text escaped, each [n] a link to source card n of the answer `anchor`."""
    return _MARKER.sub(
        lambda m: f'<a class="kbqa-cite" href="#{anchor}-{m.group(1)}" data-n="{m.group(1)}">[{m.group(1)}]</a>',
        text_html(text),
    )


def context_html(doc_text: str, start: int, end: int, phrases: Sequence[str]) -> str:
    """The passage [start:end] inside its document, with up to CONTEXT_CHARS of text around it."""
    lo = max(0, start - CONTEXT_CHARS)
    hi = min(len(doc_text), end + CONTEXT_CHARS)
    if lo > 0:
        lo = doc_text.find(" ", lo, start) + 1 or lo
    if hi < len(doc_text):
        hi = doc_text.rfind(" ", end, hi) if doc_text.rfind(" ", end, hi) > 0 else hi
    before = ("… " if lo > 0 else "") + doc_text[lo:start]
    after = doc_text[end:hi] + (" …" if hi < len(doc_text) else "")
    passage = highlight(doc_text[start:end], phrases)
    return f'{text_html(before)}<span class="kbqa-passage">{passage}</span>{text_html(after)}'


def card_html(citation: Citation, phrases: Sequence[str], anchor: str, doc_text: str | None) -> str:
    """A source card: title, date and file; the passage with the cited sentences highlighted; and, when
    opened, the passage in its document context."""
    p = citation.passage
    meta = " · ".join(escape(x) for x in (p.date, f"{p.source} [{p.start}:{p.end}]") if x)
    context = (
        context_html(doc_text, p.start, p.end, phrases)
        if doc_text is not None and doc_text[p.start : p.end] == p.passage
        else highlight(p.passage, phrases)
    )
    return (
        f'<details class="kbqa-card" id="{anchor}-{citation.n}" data-n="{citation.n}">'
        f'<summary><span class="kbqa-n">[{citation.n}]</span> <b class="kbqa-title">{escape(p.title)}</b>'
        f' <span class="kbqa-meta">{meta}</span>'
        f'<span class="kbqa-snippet">{highlight(p.passage, phrases)}</span></summary>'
        f'<div class="kbqa-context" title="The passage in its document">{context}</div></details>'
    )


def message_html(
    answer: Answer, anchor: str, document_text: Callable[[str], str | None], rewrite: str | None = None
) -> str:
    """The whole chat message: the rewritten query (if any), the answer with its markers, its source cards."""
    cited = cited_sentences(answer)
    parts = [f'<div class="kbqa-answer" id="{anchor}">']
    if rewrite:
        parts.append(f'<div class="kbqa-rewrite">🔎 Searched for: <i>{escape(rewrite)}</i></div>')
    parts.append(f'<div class="kbqa-text">{answer_html(answer.answer, anchor)}</div>')
    if answer.citations:
        parts.append('<div class="kbqa-sources">')
        for c in answer.citations:
            parts.append(card_html(c, cited.get(c.n, []), anchor, document_text(c.passage.doc_id)))
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def partial_html(text: str, rewrite: str | None = None) -> str:
    """A message while the answer streams in: the rewrite and the text so far."""
    head = f'<div class="kbqa-rewrite">🔎 Searched for: <i>{escape(rewrite)}</i></div>' if rewrite else ""
    return f'<div class="kbqa-answer kbqa-streaming">{head}<div class="kbqa-text">{text_html(text)}</div></div>'


def notice_html(message: str, kind: str = "error") -> str:
    """An error or status line in the chat (escaped)."""
    icon = {"error": "⚠️", "ok": "✅", "info": "ℹ️"}.get(kind, "")
    return f'<div class="kbqa-notice kbqa-{kind}">{icon} {text_html(message)}</div>'


def _document_item(d: dict) -> str:
    meta = " · ".join(escape(x) for x in (d["source"], d["date"], f"{d['chunks']} passage(s)") if x)
    return f'<li><b>{escape(d["title"])}</b><br><span class="kbqa-meta">{meta}</span></li>'


def documents_html(documents: list[dict]) -> str:
    """The documents in the index as an escaped list: title, then file, date and passage count."""
    if not documents:
        return '<p class="kbqa-empty">The index holds no documents yet: upload one above.</p>'
    items = "".join(_document_item(d) for d in documents)
    return f'<ul class="kbqa-docs" title="{len(documents)} document(s)">{items}</ul>'
