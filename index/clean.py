"""Clean scraped article text: NFC, boilerplate and repeated lines out, teaser blocks split off."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from index.records import DocRecord

# Navigation and share-widget lines of Vietnamese (and English) news sites. Hand-written: no library
# knows these sites' plain-text leftovers (trafilatura works on HTML, and these files are already text).
BOILERPLATE = re.compile(
    r"""^(?:
        theo\s+dõi\b.{0,60}\btrên\b.{0,30}
      | (?:đọc|xem)\s+(?:thêm|tiếp|nhiều\s+nhất)
      | tin\s+(?:liên\s+quan|cùng\s+chuyên\s+mục|mới\s+nhất|khác)
      | bài\s+(?:liên\s+quan|viết\s+liên\s+quan)
      | phiên\s+bản\s+(?:di\s+động|mobile|đầy\s+đủ)
      | (?:chia\s+sẻ|bình\s+luận|in\s+bài|quay\s+lại|trở\s+về|về\s+trang\s+chủ|trang\s+chủ|lên\s+đầu\s+trang)
      | (?:share|tweet|print|related\s+articles?|read\s+more|advertisement|quảng\s+cáo)
    )\s*[:.…]*$""",
    re.IGNORECASE | re.VERBOSE,
)
DATE_LINE = re.compile(
    r"^(?:[^\d\n]{0,20})?(?:(?P<time>\d{1,2}:\d{2})\s*(?:\||,|-)?\s*)?"
    r"(?P<date>\d{1,2}/\d{1,2}/\d{4})(?:\s*(?:\||,|-)?\s*(?P<time2>\d{1,2}:\d{2}))?(?:\s*\(?GMT[+-]\d+\)?)?$"
)
SOURCE_LINE = re.compile(r"^\(\s*(?:theo|nguồn|source)\s*:?\s+[^()]{1,80}\)\.?$", re.IGNORECASE)
ELLIPSIS_END = re.compile(r"(?:\.\.\.|…)\s*$")
MAX_HEADLINE_CHARS = 250


@dataclass
class _Teaser:
    headline: str
    lines: list[str] = field(default_factory=list)


def normalize(text: str) -> str:
    """NFC (Vietnamese often arrives decomposed), unified newlines, no stray spaces or NBSPs."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00a0", " ").replace("\u200b", "").replace("\ufeff", "")
    return "\n".join(re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n"))


def is_icon_only(line: str) -> bool:
    """A line with no letter or digit: emoji, arrows, separators."""
    return not any(ch.isalnum() for ch in line)


def _is_boilerplate(line: str) -> bool:
    return is_icon_only(line) or bool(BOILERPLATE.match(line))


def _teaser_start(lines: list[str]) -> int | None:
    """Index of the first teaser block: a short headline shown twice, then a snippet ending in '…'."""
    for i in range(len(lines) - 2):
        headline = lines[i]
        if (
            lines[i + 1] == headline
            and len(headline) <= MAX_HEADLINE_CHARS
            and lines[i + 2] != headline
            and ELLIPSIS_END.search(lines[i + 2])
        ):
            return i
    return None


def _split_teasers(lines: list[str]) -> list[_Teaser]:
    """From the first teaser on, every headline-shown-twice starts a block; lines after it are its snippet."""
    blocks: list[_Teaser] = []
    i = 0
    while i < len(lines):
        if i + 1 < len(lines) and lines[i + 1] == lines[i] and len(lines[i]) <= MAX_HEADLINE_CHARS:
            blocks.append(_Teaser(lines[i]))
            i += 2
            continue
        if blocks:  # a line before the first block cannot occur: the region starts at a block
            blocks[-1].lines.append(lines[i])
        i += 1
    return blocks


def _dedupe(lines: list[str]) -> list[str]:
    """Drop a line equal to the one before it, and any later copy of a long line (captions, ledes)."""
    out: list[str] = []
    seen_long: set[str] = set()
    for line in lines:
        if out and line == out[-1]:
            continue
        if len(line) >= 40:
            if line in seen_long:
                continue
            seen_long.add(line)
        out.append(line)
    return out


def clean_document(raw: str, source: str) -> list[DocRecord]:
    """One file's text → its main article record, then one record per teaser block split off it."""
    lines = [line for line in normalize(raw).split("\n") if line and not _is_boilerplate(line)]
    start = _teaser_start(lines)
    main, teasers = (lines, []) if start is None else (lines[:start], _split_teasers(lines[start:]))
    main = _dedupe(main)

    date = source_line = ""
    body: list[str] = []
    for line in main:
        match = DATE_LINE.match(line)
        if match and not date:
            date = line
            continue
        if SOURCE_LINE.match(line) and not source_line:
            source_line = line
            continue
        body.append(line)
    if not body:
        return []
    title = re.sub(r"^#+\s*", "", body[0]).strip() or source
    records = [
        DocRecord(doc_id=source, source=source, title=title, text="\n".join(body), date=date, source_line=source_line)
    ]
    for n, teaser in enumerate(teasers, start=1):
        text = "\n".join(_dedupe([teaser.headline, *teaser.lines]))
        records.append(
            DocRecord(doc_id=f"{source}#related-{n}", source=source, title=teaser.headline, text=text, kind="related")
        )
    return records
