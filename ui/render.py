"""Answers for the chat: HTML (escaped text, [n] markers, source cards) and the plain text copied or read out."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path

from kbqa.index.records import Passage
from kbqa.index.store.api import DocumentInfo
from kbqa.qa.answer import Answer, Citation, Claim, language
from kbqa.qa.answer.dated import day_text
from kbqa.qa.timeline import ZONE, published

CONTEXT_CHARS = 1200  # document text shown on each side of a passage when its card is opened
_CLAIM = re.compile(r"(.+?) \[(\d+)\](?= |$)", re.DOTALL)
_MARKER = re.compile(r"\[(\d+)\]")
CLOSEST = {"vi": "Đoạn gần nhất (không phải câu trả lời)", "en": "Closest passages (not an answer)"}
LOOPBACK_NAMES = {"localhost"}
# An absolute path (POSIX or Windows) not inside a word, URL or date ("09/12/2023", "and/or", "http://x/y"):
# error messages must not show where the server keeps its files.
_ABSOLUTE_PATH = re.compile(
    r"(?<![\w.:/\\~-])(?:[A-Za-z]:[\\/]|/)(?:[^\s'\"<>|:;,()\[\]\\/]+[\\/])*([^\s'\"<>|:;,()\[\]\\/]+)"
)


def attr(text: str) -> str:
    """`text` for a double-quoted attribute: escaped, newlines as &#10; (a raw newline, or a blank line, in the
    message would end Gradio's Markdown HTML block and show the rest as text)."""
    return escape(text, quote=True).replace("\r", "").replace("\n", "&#10;")


def text_html(text: str) -> str:
    """Escaped text with newlines as <br> (the chat renders it as one HTML block: no blank lines)."""
    return escape(text).replace("\n", "<br>")


def claims(answer_text: str) -> list[tuple[str, int]]:
    """(sentence, n) for each "sentence [n]" of an extractive answer."""
    return [(m.group(1).strip(), int(m.group(2))) for m in _CLAIM.finditer(answer_text)]


def cited_sentences(answer: Answer) -> dict[int, list[str]]:
    """n → the answer's sentences citing [n] (from its claims; parsed from the text for an answer without)."""
    out: dict[int, list[str]] = {}
    pairs = [(c.text, n) for c in answer.claims for n in c.cites] if answer.claims else claims(answer.answer)
    for sentence, n in pairs:
        out.setdefault(n, []).append(sentence)
    return out


def highlight(text: str, phrases: Sequence[str], cls: str = "kbqa-hl") -> str:
    """`text` escaped, each occurrence of each phrase wrapped in <mark class=cls>."""
    spans = sorted(
        (m.start(), m.end()) for p in phrases if p for m in re.finditer(re.escape(p), text)
    )  # verbatim substrings
    return _wrap(text, spans, f'<mark class="{cls}">', "</mark>")


def _wrap(text: str, spans: Sequence[tuple[int, int]], open_tag: str, close_tag: str) -> str:
    """`text` escaped, each (start, end) span (sorted; overlapping ones skipped) wrapped in the tags."""
    out, pos = [], 0
    for start, end in spans:
        if start < pos or end <= start:
            continue
        out.append(text_html(text[pos:start]))
        out.append(f"{open_tag}{text_html(text[start:end])}{close_tag}")
        pos = end
    out.append(text_html(text[pos:]))
    return "".join(out)


def _marker(n: int | str, anchor: str) -> str:
    return f'<a class="kbqa-cite" href="#{anchor}-{n}" data-n="{n}">[{n}]</a>'


def answer_html(text: str, anchor: str) -> str:
    """The answer text escaped, each [n] a link to source card n of the answer `anchor`."""
    return _MARKER.sub(lambda m: _marker(m.group(1), anchor), text_html(text))


def claims_html(answer: Answer, anchor: str) -> str:
    """The answer's claims, the words that answer the question emphasised, each claim followed by its [n] links
    (the answer text with its markers for an answer without claims). A written (LLM) claim that its cited passage
    was found not to support is underlined and flagged (`flag`). The answer's lead (when its article was
    published) comes first: it is part of the answer text, not of a claim."""
    if not answer.claims:
        return answer_html(answer.answer, anchor)
    parts = [f'<span class="kbqa-lead">{text_html(answer.lead)}</span>'] if answer.lead else []
    for claim in answer.claims:
        text = _wrap(claim.text, sorted(claim.marks), '<strong class="kbqa-mark">', "</strong>")
        markers = "".join(f" {_marker(n, anchor)}" for n in claim.cites)
        if claim.verified is False:
            reason = escape(flag(claim))
            text = f'<span class="kbqa-unverified" title="{reason}">{text}</span>'
            markers += f' <span class="kbqa-flag" role="note">⚠ {reason}</span>'
        parts.append(text + markers)
    return " ".join(parts)


def flag(claim: Claim) -> str:
    """Why a claim is flagged: it cites no passage, or the passage it cites does not support it."""
    return "cites no passage" if not claim.cites else "not supported by the cited passage"


def answer_plain(answer: Answer) -> str:
    """The answer's text as shown (without markup): the lead and the claims with their [n] and flags, or the
    answer text."""
    if not answer.found or not answer.claims:
        return answer.answer
    parts = [answer.lead] if answer.lead else []
    for claim in answer.claims:
        markers = "".join(f" [{n}]" for n in claim.cites)
        parts.append(claim.text + markers + (f" ⚠ {flag(claim)}" if claim.verified is False else ""))
    return " ".join(parts)


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


def source_label(source: str, docs_dir: str | Path | None = None) -> str:
    """The source as shown: as stored, except that a file uploaded into `docs_dir` is shown by its name only
    (the server's folders are nobody's business)."""
    if docs_dir is not None:
        path, folder = Path(source), Path(docs_dir)
        if path.is_absolute() or folder.is_absolute():
            path, folder = path.absolute(), folder.absolute()
        if path.parent == folder:
            return path.name
    return source


def day_label(p: Passage, lang: str = "en") -> str:
    """When the passage's article was published, in `lang`: 22/8/2026 or 22 August 2026, with the time (09:15)
    unless it is midnight; the page's own date text when the publication time is unknown ("" when neither)."""
    moment = published(p)
    if moment is None:
        return p.date
    local = moment.astimezone(ZONE)
    clock = f" {local:%H:%M}" if (local.hour, local.minute) != (0, 0) else ""
    return day_text(local, lang) + clock


def date_html(p: Passage, lang: str = "en") -> str:
    """The card's date badge (escaped; "" without a date): the publication day, its ISO time in `datetime`."""
    label = day_label(p, lang)
    if not label:
        return ""
    if published(p) is None:  # the page's own words, not a time kbqa could read
        return f'<span class="kbqa-date kbqa-date-raw" title="Date as the page gives it">{escape(label)}</span>'
    return f'<time class="kbqa-date" datetime="{attr(p.published or "")}" title="Published">{escape(label)}</time>'


def passage_label(p: Passage, docs_dir: str | Path | None = None, lang: str = "en") -> str:
    """ "title — date · source [start:end]": a passage's one-line reference in plain text."""
    where = f"{source_label(p.source, docs_dir)}{f' p. {p.page}' if p.page else ''} [{p.start}:{p.end}]"
    return f"{p.title} — {' · '.join(x for x in (day_label(p, lang), where) if x)}"


def card_html(
    citation: Citation | Passage,
    phrases: Sequence[str],
    anchor: str,
    doc_text: str | None,
    docs_dir: str | Path | None = None,
    index: int = 0,
    lang: str = "en",
) -> str:
    """A source card: title, the date badge (the publication day in `lang`) and file; the passage with the cited
    sentences highlighted; and, when opened, the passage in its document context. A bare Passage (a closest
    passage of a not-found answer) gets a card without a [n]: nothing cites it."""
    n = citation.n if isinstance(citation, Citation) else None
    p = citation.passage if isinstance(citation, Citation) else citation
    where = f"{source_label(p.source, docs_dir)}{f' p. {p.page}' if p.page else ''} [{p.start}:{p.end}]"
    meta = escape(where)
    context = (
        context_html(doc_text, p.start, p.end, phrases)
        if doc_text is not None and doc_text[p.start : p.end] == p.passage
        else highlight(p.passage, phrases)
    )
    if n is None:
        opening = f'<details class="kbqa-card kbqa-closest" id="{anchor}-c{index}"><summary>'
    else:
        unverified = isinstance(citation, Citation) and citation.verified is False
        cls = "kbqa-card kbqa-card-unverified" if unverified else "kbqa-card"
        opening = f'<details class="{cls}" id="{anchor}-{n}" data-n="{n}"><summary><span class="kbqa-n">[{n}]</span> '
        if unverified:
            meta += ' · <span class="kbqa-flag">⚠ does not support every sentence citing it</span>'
    return (
        f'{opening}<b class="kbqa-title">{escape(p.title)}</b>'
        f'<span class="kbqa-byline">{date_html(p, lang)} <span class="kbqa-meta">{meta}</span></span>'
        f'<span class="kbqa-snippet">{highlight(p.passage, phrases)}</span></summary>'
        f'<div class="kbqa-context" title="The passage in its document">{context}</div></details>'
    )


def plain_text(answer: Answer, docs_dir: str | Path | None = None) -> str:
    """The answer as plain text (what the copy button copies and screen readers read): the answer with its [n]
    markers, the note, then "Sources:" with one "[n] title — date · source [start:end]" line per citation; a
    not-found answer lists its closest passages instead, without numbers."""
    lines, lang = [answer_plain(answer)], language(answer.question)
    if answer.note:
        lines.append(answer.note)
    if answer.found and answer.citations:
        lines += ["", "Sources:"]
        lines += [f"[{c.n}] {passage_label(c.passage, docs_dir, lang)}" for c in answer.citations]
    elif not answer.found and answer.passages:
        lines += ["", f"{closest_label(answer)}:"]
        lines += [f"- {passage_label(p, docs_dir, lang)}" for p in answer.passages]
    return "\n".join(lines)


def closest_label(answer: Answer) -> str:
    """The heading over a not-found answer's closest passages, in the answer's language."""
    return CLOSEST[language(answer.question)]


def rewrite_html(rewrite: str | None) -> str:
    return f'<div class="kbqa-rewrite">🔎 Searched for: <i>{escape(rewrite)}</i></div>' if rewrite else ""


def copy_button(text: str) -> str:
    """Our copy button (Gradio's would copy the message's HTML): the plain text rides in an escaped attribute."""
    return (
        f'<button type="button" class="kbqa-copy" data-copy="{attr(text)}"'
        ' title="Copy the answer and its sources as text" aria-label="Copy answer as text">Copy</button>'
    )


def message_html(
    answer: Answer,
    anchor: str,
    document_text: Callable[[str], str | None],
    rewrite: str | None = None,
    docs_dir: str | Path | None = None,
) -> str:
    """The whole chat message: the rewritten query (if any), the answer with its markers and its note, its source
    cards (for a not-found answer: the message, the note and the closest passages, labelled as such), a copy
    button; `data-kbqa-plain` holds the plain text that screen readers are given instead of the markup."""
    plain, lang = plain_text(answer, docs_dir), language(answer.question)
    state = "found" if answer.found else "not-found"
    parts = [f'<div class="kbqa-answer kbqa-{state}" id="{anchor}" data-kbqa-plain="{attr(plain)}">']
    parts.append(rewrite_html(rewrite))
    parts.append(
        f'<div class="kbqa-text">{claims_html(answer, anchor) if answer.found else text_html(answer.answer)}</div>'
    )
    if answer.note:
        parts.append(f'<div class="kbqa-note">{text_html(answer.note)}</div>')
    if answer.found and answer.citations:
        cited = cited_sentences(answer)
        parts.append('<div class="kbqa-sources">')
        for c in answer.citations:
            doc = document_text(c.passage.doc_id)
            parts.append(card_html(c, cited.get(c.n, []), anchor, doc, docs_dir, lang=lang))
        parts.append("</div>")
    elif not answer.found and answer.passages:
        parts.append(f'<div class="kbqa-closest-label">{escape(closest_label(answer))}</div>')
        parts.append('<div class="kbqa-sources kbqa-closest-list">')
        for i, p in enumerate(answer.passages, 1):
            parts.append(card_html(p, [], anchor, document_text(p.doc_id), docs_dir, index=i, lang=lang))
        parts.append("</div>")
    parts.append(f'<div class="kbqa-actions">{copy_button(plain)}</div></div>')
    return "".join(parts)


def pending_html(status: str, rewrite: str | None = None, text: str = "") -> str:
    """The assistant's message while it works: the rewrite, the answer text so far, and what it is doing
    ("Searching…", "Reading 5 passages…"); aria-busy until the answer replaces it."""
    status_html = f'<div class="kbqa-status" role="status">{escape(status)}</div>' if status else ""
    plain = attr(text or status)
    return (
        f'<div class="kbqa-answer kbqa-streaming" aria-busy="true" data-kbqa-plain="{plain}">{rewrite_html(rewrite)}'
        f'<div class="kbqa-text">{text_html(text)}</div>{status_html}</div>'
    )


def partial_html(text: str, rewrite: str | None = None) -> str:
    """A message while the answer streams in: the rewrite and the text so far."""
    return pending_html("", rewrite, text)


def user_html(question: str) -> str:
    """The user's question, escaped, with its plain text for screen readers."""
    shown = text_html(question) if question else "…"
    return f'<div class="kbqa-question" data-kbqa-plain="{attr(question)}">{shown}</div>'


def notice_html(message: str, kind: str = "error") -> str:
    """An error or status line in the chat (escaped)."""
    icon = {"error": "⚠️", "ok": "✅", "info": "ℹ️"}.get(kind, "")
    return f'<div class="kbqa-notice kbqa-{kind}" data-kbqa-plain="{attr(message)}">{icon} {text_html(message)}</div>'


def scrub_paths(message: str) -> str:
    """`message` with every absolute path cut to its last part (an upload's temporary path, the documents
    folder, the store): a chat message must not show the server's file system."""
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1), message)


def _document_item(d: DocumentInfo, docs_dir: str | Path | None) -> str:
    meta = " · ".join(escape(x) for x in (source_label(d.source, docs_dir), d.date, f"{d.chunks} passage(s)") if x)
    return f'<li><b>{escape(d.title)}</b><br><span class="kbqa-meta">{meta}</span></li>'


def documents_html(documents: list[DocumentInfo], docs_dir: str | Path | None = None) -> str:
    """The documents in the index as an escaped list: title, then file, date and passage count."""
    if not documents:
        return '<p class="kbqa-empty">The index holds no documents yet: upload one above.</p>'
    items = "".join(_document_item(d, docs_dir) for d in documents)
    return f'<ul class="kbqa-docs" title="{len(documents)} document(s)">{items}</ul>'


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable only from this machine (127.0.0.1 and the rest of 127/8, ::1, localhost)."""
    host = host.strip().strip("[]")
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, share: bool, auth: object | None) -> str | None:
    """A warning when the chat is reachable beyond this machine without a password (None when it is not)."""
    if auth:
        return None
    if share:
        return (
            "Warning: this chat has a public share link and no password: anyone with the link can ask, upload and"
            " remove documents. Use --auth user:pass."
        )
    if not is_loopback(host):
        return (
            f"Warning: this chat listens on {host} without a password: anyone who can reach this machine can ask,"
            " upload and remove documents. Use --auth user:pass."
        )
    return None


def banner_html(warning: str) -> str:
    """The exposure warning at the top of the page (escaped)."""
    return f'<div class="kbqa-banner" role="alert">⚠️ {text_html(warning)}</div>'


def llm_status_html(status: str, error: str = "") -> str:
    """The line under the chat's model setting: how questions are answered, or (escaped, one line) why the model
    asked for could not be used, with the answerer that stays."""
    if error:
        line = " ".join(error.split())
        return (
            f'<div class="kbqa-llm-status kbqa-error" role="alert">⚠️ {escape(line)}'
            f' <span class="kbqa-meta">(unchanged: {escape(status)})</span></div>'
        )
    return f'<div class="kbqa-llm-status" role="status">{escape(status)}</div>'
