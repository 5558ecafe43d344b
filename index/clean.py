"""Clean scraped article text: NFC, boilerplate and repeated lines out, teaser blocks split off."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from kbqa.index.dates import published_time
from kbqa.index.formats.limits import DEFAULT_LIMITS, Limits
from kbqa.index.records import DocRecord
from kbqa.text.sentences import split_sentences

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
_DATED_LINE = re.compile(r"^\D{0,20}\d{1,2}/\d{1,2}/\d{4}\b[\d\s:,|()GMT+\-]*$")
SOURCE_LINE = re.compile(r"^\(\s*(?:theo|nguồn|source)\s*:?\s+[^()]{1,80}\)\.?$", re.IGNORECASE)
ELLIPSIS_END = re.compile(r"(?:\.\.\.|…)\s*$")
MAX_HEADLINE_CHARS = 250

# Marks: spans that stay searchable but are never quoted as claims. Hand-written like the patterns above: the
# conventions are those of Vietnamese news sites' text (a caption followed by "Ảnh: X" or "(Nguồn: X)", a
# byline after the lede or at the very end, "(Theo X)"), which no library knows, and which a model would
# need labelled pages to learn. Each pattern was checked on the seeds and on news_vi; ordinary sentences that
# merely contain "ảnh", "nguồn" or "theo" do not match (tests/index/test_marks.py).
# upper-case letters (Vietnamese ones included: "Đ", "Ả"), as a character class; `re` has no \p{Lu}
_UP = "[" + "".join(ch for ch in map(chr, range(0x41, 0x1F00)) if ch.isupper() and ch.isalpha()) + "]"
_PHOTO = r"(?:[Ảả]nh(?:\s+minh\s+h(?:ọa|oạ))?|Nguồn\s+ảnh|Ảnh\s*/\s*Video|Photo|Video|Clip|Nguồn|Source)"
# "(Ảnh: TTXVN)", "(Nguồn: Yonhap)", "(Ảnh minh họa: Getty)", "(Ảnh minh họa)": a credit closes a caption
CREDIT_PAREN = re.compile(
    rf"\(\s*{_PHOTO}\s*[:\-–]\s*[^()\n]{{1,80}}\)|\(\s*[Ảả]nh\s+minh\s+h(?:ọa|oạ)\s*\)"
    rf"(?=\s*[.:]?\s*$|\s*[.:]?\s+{_UP}|\s*[.:]?\s+\d)"
)
# "… tại Seoul. Ảnh: AFP/TTXVN", "… - Ảnh: Báo X": bare credits; capitalised, so "đăng ảnh: …" is not one
CREDIT_BARE = re.compile(
    r"(?:(?<=^)|(?<=[\s.!?…)\"”\-–]))(?P<label>Ảnh(?:\s+minh\s+h(?:ọa|oạ))?|Nguồn\s+ảnh|Ảnh\s*/\s*Video|Photo"
    r"|Nguồn)\s*:\s*"
)
ILLUSTRATION = re.compile(rf"(?:(?<=^)|(?<=[.!?…]\s))\(?Ảnh\s+minh\s+h(?:ọa|oạ)\)?\.?(?=\s*$|\s+{_UP})")
# "(Theo Daily Mail)", "(theo Shape)" closing a sentence: the article's source; "(theo giờ địa phương)" is not
THEO_PAREN = re.compile(
    rf"\(\s*(?:Theo\s+[^()\n]{{1,80}}|theo\s+{_UP}[^()\n]{{0,40}})\)(?=\s*[.:]?\s*$|\s*[.:]?\s+{_UP}|\s*[.:]?\s+\d)"
)
BARE_SOURCE_LINE = re.compile(rf"^(?:[Tt]heo|Nguồn|Source)\s*:?\s+{_UP}[^,;!?]{{0,50}}$")
# a caption of a video, a link to another article, "read more": the sentence they start is not a claim
VIDEO_SENTENCE = re.compile(r"^(?:Video|Clip)\s*:")
NAV_SENTENCE = re.compile(
    r"^(?:>{2,}|-{1,2}>|»|(?:Xem|Đọc)\s+(?:thêm|tiếp|video|clip)\b|Mời\s+(?:quý\s+)?(?:độc\s+giả|bạn\s+đọc)"
    r"\s+(?:xem|theo\s+dõi)\b|TIN\s+LIÊN\s+QUAN|Tin\s+liên\s+quan\s*:)"
)
NAV_INLINE = re.compile(r"(?<=\s)(?:>{2,}|-{1,2}>)\s")
# a credit's name ends where a sentence visibly starts: at one of these words, or at a lower-case word
_STARTER_WORDS = (
    "Theo Ngày Sáng Chiều Tối Trưa Đêm Hôm Ông Bà Anh Chị Em Trước Sau Tại Trong Khi Vào Các Những Một Hiện "
    "Đây Đó Nhưng Tuy Cùng Với Lúc Cụ Năm Tháng Để Do Vì Nếu Như Còn Từ Bên Mới Về Đến Trên Dưới Tôi Chúng "
    "Họ Bạn Ngoài Đồng Riêng Thế Vậy Không Có Là Được Này Nhiều Ngay Chiếc Người Hai Ba Bốn Lực Cơ Khoảng "
    "Bác Vụ Sự Việc Mỗi Tất Cả Toàn Đặc Biệt Chính Nhờ Lần Đầu Phía Thời Mặc Dù Song Đáng Tiếp Cũng Ai "
    "Thậm Ngược Chỉ Thực"
)
_STARTERS = frozenset(_STARTER_WORDS.split())
_NAME_SUFFIX = re.compile(rf"\s*\((?:[Tt]heo\b[^()]{{0,60}}|T/[Hh]|TH|[Tt]ổng\s+hợp|{_UP}[^()]{{0,30}})\)\s*$")
MAX_BYLINE_CHARS = 60


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


def _is_name(text: str) -> bool:
    """A byline: 1–6 capitalised words (names, "PV", "TTXVN/Tin Tức"), maybe "A - B", maybe "(Theo X)"/"(T/h)"."""
    text = _NAME_SUFFIX.sub("", text).strip().rstrip(".-–").strip()
    if not text or len(text) > MAX_BYLINE_CHARS or any(ch.isdigit() for ch in text):
        return False
    words = [w for w in re.split(r"\s+|\s*[-–]\s*", text) if w]
    if not 1 <= len(words) <= 6:
        return False
    for word in words:
        letters = [ch for ch in word if ch.isalpha()]
        if not letters or not letters[0].isupper() or re.search(r"[,;:!?\"“”]", word):
            return False
    return True


def _is_byline(text: str) -> bool:
    return _is_name(text) or bool(re.fullmatch(rf"[Tt]heo\s+{_UP}[^,;!?.]{{0,50}}\.?", text))


def _credit_end(line: str, pos: int) -> int:
    """Where the credit name starting at `pos` ends (a name has no full stop and no sentence-start word)."""
    rest = line[pos:]
    if len(rest) <= MAX_BYLINE_CHARS and not re.search(r"[.!?…]\s", rest):
        return len(line)  # the credit ends the line
    stop = re.match(r"[^.!?\n]{1,40}?[.!?](?=\s|$)", rest)
    if stop and not any(w in _STARTERS or w[0].islower() for w in stop.group().split()[1:]):
        return pos + stop.end()
    end, taken, by_lower = pos, 0, False
    for token in re.finditer(r"\S+", rest):
        word = token.group()
        first = next((ch for ch in word if ch.isalnum()), "")
        if taken and (word in _STARTERS or (first and not first.isupper() and not first.isdigit())):
            by_lower = word not in _STARTERS
            break
        taken += 1
        end = pos + token.end()
        if word[-1] in ".,;" or taken == 5:
            break
    if by_lower and taken >= 2:  # the last capitalised word started the next sentence: "Ảnh: LA Bị hại …"
        end = pos + [t.end() for t in re.finditer(r"\S+", rest)][taken - 2]
    return end


def _nav_end(line: str, start: int, end: int) -> int:
    """Where a link or "watch the video" text starting at `start` ends, at most at `end` (its sentence's end):
    at a colon after "Xem video …:", or before a sentence-start word following a lower-case word, since a
    link's headline often has no full stop and runs into the next sentence."""
    text = line[start:end]
    if (
        (colon := text.find(":")) > 0
        and re.match(r"\S*\s*(?:Xem|Mời)\b(?!\s+thêm\s*:)", text)
        and text[colon + 1 :].strip()
    ):
        return start + colon + 1
    previous = ""
    for token in re.finditer(r"\S+", text):
        if token.group() in _STARTERS and previous[-1:].isalpha() and previous[-1:].islower():
            return start + len(text[: token.start()].rstrip())
        previous = token.group()
    return end


def _sentence_start(line: str, end: int) -> int:
    """The start of the sentence of `line` that ends at `end` (the caption before a credit)."""
    prefix = line[:end].rstrip(" -–—")
    spans = split_sentences(prefix)
    return spans[-1][0] if spans else end


def _line_marks(line: str, position: int, last: bool, kind: str) -> list[tuple[int, int, str]]:
    """(start, end, what) marks of one line of a document's body; `position` 0 is the title line."""
    if position == 0:  # the title, unless the text has none and starts with a paragraph
        return [(0, len(line), "title")] if len(line) <= MAX_HEADLINE_CHARS else []
    if kind == "related" and ELLIPSIS_END.search(line):
        return [(0, len(line), "snippet")]  # a teaser's truncated snippet: a claim cut off mid-sentence
    if SOURCE_LINE.match(line) or BARE_SOURCE_LINE.match(line):
        return [(0, len(line), "source")]
    if (position <= 2 or last) and len(line) <= MAX_BYLINE_CHARS and _is_byline(line):
        return [(0, len(line), "byline")]
    marks: list[tuple[int, int, str]] = []
    for match in CREDIT_PAREN.finditer(line):
        if ILLUSTRATION.fullmatch(match.group()) and re.search(r"[.!?…][\"”]?\s*$", line[: match.start()]):
            start = match.start()  # "… 20 ca. (Ảnh minh họa)": a photo placeholder after a sentence, not its caption
        else:
            start = _sentence_start(line, match.start()) if match.start() else 0
        marks.append((start, match.end(), "caption"))
    for match in CREDIT_BARE.finditer(line):
        end = _credit_end(line, match.end())
        if match.group("label") == "Nguồn":  # "Nguồn: VITIC/Reuters": the source of what precedes, not a caption
            marks.append((match.start(), end, "source"))
        else:
            marks.append((_sentence_start(line, match.start()) if match.start() else 0, end, "caption"))
    for match in ILLUSTRATION.finditer(line):
        marks.append((match.start(), match.end(), "caption"))
    for match in THEO_PAREN.finditer(line):
        marks.append((match.start(), match.end(), "source"))
    sentences = split_sentences(line)
    for start, end in sentences:
        sentence = line[start:end]
        if VIDEO_SENTENCE.match(sentence):
            marks.append((start, end, "caption"))
        elif NAV_SENTENCE.match(sentence):
            marks.append((start, _nav_end(line, start, end), "nav"))
    for match in NAV_INLINE.finditer(line):
        end = next((e for s, e in sentences if s <= match.start() < e), len(line))
        marks.append((match.start(), _nav_end(line, match.start(), end), "nav"))
    if last and len(sentences) > 1:  # "… ./. Thắng Quang", "… PV.", "… Theo Trí Thức Trẻ": a closing byline
        start, end = sentences[-1]
        if _is_byline(line[start:end]):
            marks.append((start, end, "byline"))
    return marks


def mark_spans(lines: list[str], kind: str = "article") -> list[tuple[int, int, str]]:
    """(start, end, what) spans of the text `"\\n".join(lines)` that are not claims, sorted, overlaps merged.

    `what` (title, caption, byline, source, nav, snippet) is for measuring; records keep the spans only.
    """
    found: list[tuple[int, int, str]] = []
    offset = 0
    for i, line in enumerate(lines):
        for start, end, what in _line_marks(line, i, i == len(lines) - 1, kind):
            if end > start:
                found.append((offset + start, offset + end, what))
        offset += len(line) + 1
    merged: list[tuple[int, int, str]] = []
    for start, end, what in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]), merged[-1][2])
        else:
            merged.append((start, end, what))
    return merged


def _marks(lines: list[str], kind: str = "article") -> tuple[tuple[int, int], ...]:
    return tuple((start, end) for start, end, _ in mark_spans(lines, kind))


def _page_starts(body: list[str], kept: list[tuple[str, int]], pages: int) -> tuple[int, ...]:
    """Offsets in "\\n".join(body) where each of `pages` pages starts. `kept` is (line, page) of every line the
    body was picked from, in order; body lines are a subsequence of it (cleaning drops lines, never reorders)."""
    line_pages: list[int] = []
    j = 0
    for line in body:
        while j < len(kept) and kept[j][0] != line:
            j += 1
        line_pages.append(kept[j][1] if j < len(kept) else (line_pages[-1] if line_pages else 0))
        j += 1
    starts: list[int] = []
    offset = 0
    total = len("\n".join(body))
    k = 0
    offsets = []
    for line in body:
        offsets.append(offset)
        offset += len(line) + 1
    for page in range(pages):
        while k < len(body) and line_pages[k] < page:
            k += 1
        starts.append(offsets[k] if k < len(body) else total)
    return tuple(starts)


def _line_pages(text: str, pages: tuple[int, ...]) -> list[int]:
    """The 0-based page of each line of `text`, given the offsets where pages start."""
    import bisect

    out: list[int] = []
    offset = 0
    for line in text.split("\n"):
        out.append(max(0, bisect.bisect_right(pages, offset) - 1))
        offset += len(line) + 1
    return out


def clean_document(
    raw: str,
    source: str,
    *,
    date: str = "",
    author: str = "",
    pages: tuple[int, ...] = (),
    published: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[DocRecord]:
    """One file's text → its main article record, then one record per teaser block split off it.

    `date`, `author` and `pages` (offsets in `raw` where each PDF page starts) come from the file's format
    (kbqa.index.loaders.RawFile). The title is the first line, capped; `limits` (from the settings) cap titles and
    lines. `published` (ISO 8601) is the publication time the format found; when None, it is looked for in `date`,
    the datelines at the top of the text and the source's name (kbqa.index.dates). Teaser blocks have none.
    """
    from kbqa.index.formats.text import cap_title as _cap
    from kbqa.index.formats.text import tidy

    def cap_title(title: str) -> str:
        return _cap(title, limits.max_title_chars)

    text = tidy(raw, limits.max_line_chars)  # controls out, over-long lines split (a no-op on a loader's text)
    if pages and text != raw:  # tidy each page on its own so the page starts stay known
        bounds = [*pages, len(raw)]
        parts = [tidy(raw[a:b], limits.max_line_chars) for a, b in zip(bounds, bounds[1:], strict=False)]
        text = "".join(parts)
        pages = tuple(sum(len(p) for p in parts[:i]) for i in range(len(parts)))
    page_of_line = _line_pages(text, pages) if pages else []
    normalized = normalize(text).split("\n")
    if page_of_line and len(page_of_line) != len(normalized):
        page_of_line = []
    kept = [
        (line, page_of_line[i] if page_of_line else 0)
        for i, line in enumerate(normalized)
        if line and not _is_boilerplate(line)
    ]
    lines = [line for line, _ in kept]
    start = _teaser_start(lines)
    main, teasers = (lines, []) if start is None else (lines[:start], _split_teasers(lines[start:]))
    main = _dedupe(main)

    line_date = source_line = ""
    body: list[str] = []
    for n, line in enumerate(main):
        match = DATE_LINE.match(line)
        if date and n < 3 and len(line) <= 60 and _DATED_LINE.search(line):  # "Thứ sáu, 15/3/2024, 08:30 (GMT+7)"
            line_date = line_date or line  # the format's metadata gave the date: the page's date line is chrome
            continue
        if match and not line_date:
            line_date = line
            continue
        if SOURCE_LINE.match(line) and not source_line:
            source_line = line
            continue
        body.append(line)
    if not body:
        return []
    title = cap_title(re.sub(r"^#+\s*", "", body[0]).strip()) or source
    if published is None:
        published = published_time(meta_date=date, text="\n".join(main), title=title, source=source)
    records = [
        DocRecord(
            doc_id=source,
            source=source,
            title=title,
            text="\n".join(body),
            date=cap_title(date) if date else line_date,
            source_line=source_line,
            marks=_marks(body),
            author=cap_title(author) if author else "",
            pages=_page_starts(body, kept, len(pages)) if page_of_line else (),
            published=published,
        )
    ]
    for n, teaser in enumerate(teasers, start=1):
        lines = _dedupe([teaser.headline, *teaser.lines])
        records.append(
            DocRecord(
                doc_id=f"{source}#related-{n}",
                source=source,
                title=cap_title(teaser.headline),
                text="\n".join(lines),
                kind="related",
                marks=_marks(lines, "related"),
            )
        )
    return records
