"""Markdown: front matter to metadata, fenced code blocks dropped (never quoted as an answer)."""

from __future__ import annotations

import re

from kbqa.index.formats.html import Extracted

_FRONT = re.compile(r"\A(?:\ufeff)?---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_TITLE_KEYS = ("title",)
_DATE_KEYS = ("date", "published", "pubdate", "created")
_AUTHOR_KEYS = ("author", "authors", "byline")


def _value(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        raw = raw[1:-1]
    return raw.strip().strip("[]").strip()


def front_matter(text: str) -> tuple[dict[str, str], str]:
    """({key: value} of a leading `---` block of `key: value` lines, the text after it)."""
    match = _FRONT.match(text)
    if not match:
        return {}, text
    meta: dict[str, str] = {}
    for line in match.group(1).split("\n"):
        kv = _KEY.match(line)
        if kv:
            meta.setdefault(kv.group(1).lower(), _value(kv.group(2)))
    return meta, text[match.end() :]


def drop_code(text: str) -> str:
    """The text without fenced (``` or ~~~) code blocks; an unclosed fence runs to the end."""
    out: list[str] = []
    fence = ""
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if fence:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = ""
            continue
        if match:
            fence = match.group(1)
            continue
        out.append(line)
    return "\n".join(out)


def _first(meta: dict[str, str], keys: tuple[str, ...]) -> str:
    return next((meta[k] for k in keys if meta.get(k)), "")


def extract_markdown(text: str) -> Extracted:
    """The body text (code out) and the front matter's title, date and author; any line ending (CRLF, CR)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    meta, body = front_matter(text)
    return Extracted(
        text=drop_code(body),
        title=_first(meta, _TITLE_KEYS),
        date=_first(meta, _DATE_KEYS),
        author=_first(meta, _AUTHOR_KEYS),
    )
