"""Record types passed between the stages: documents, chunks and retrieved passages."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass


def text_hash(text: str) -> str:
    """A short, stable content hash (sha256, hex, 32 chars)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class DocRecord:
    """One cleaned document: a file's main article, or a teaser block split off from it."""

    doc_id: str
    source: str  # the file's path as given to `kbqa index`
    title: str
    text: str  # cleaned text; chunk offsets point into it
    date: str = ""
    source_line: str = ""  # e.g. "(theo Yonhap)"
    kind: str = "article"  # "article" or "related" (a teaser block split off a scraped page)
    # (start, end) spans of `text` that are searchable but never quoted as claims: the title line, photo
    # captions, bylines, source and credit lines, nav leftovers, teaser snippets (see clean.mark_spans)
    marks: tuple[tuple[int, int], ...] = ()
    author: str = ""  # from the format's metadata (HTML, DOCX, PDF, Markdown front matter); "" when unknown
    # a PDF's pages: offsets in `text` where page 1, 2, … starts (page of offset o: bisect_right(pages, o));
    # () for formats without pages
    pages: tuple[int, ...] = ()
    # when it was published: ISO 8601 with its offset (kbqa.index.dates), None when unknown
    published: str | None = None

    @property
    def hash(self) -> str:
        """Content, marks and metadata: a cleaner that marks differently, or finds the publication time, re-stores
        the document (vectors stay cached)."""
        marks = ";".join(f"{s},{e}" for s, e in self.marks)
        extra = ""  # only when set, so documents without them keep their hashes
        if self.author or self.pages or self.published:
            extra = f"\n{self.author}\n{','.join(map(str, self.pages))}"
        if self.published:
            extra += f"\n{self.published}"
        return text_hash(f"{self.title}\n{self.date}\n{self.source_line}\n{marks}\n{self.text}{extra}")

    def page_of(self, offset: int) -> int:
        """The 1-based page holding `offset` of `text` (0 when the document has no pages)."""
        import bisect

        return bisect.bisect_right(self.pages, offset) if self.pages else 0


@dataclass(frozen=True)
class ChunkRecord:
    """A span of a document's cleaned text, the unit that is embedded and retrieved."""

    doc_id: str
    ord: int
    start: int
    end: int
    text: str

    @property
    def hash(self) -> str:
        return text_hash(self.text)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its document's metadata and its retrieval score."""

    doc_id: str
    source: str
    title: str
    date: str
    passage: str
    start: int
    end: int
    score: float
    chunk_id: int = -1
    # the document's marks (DocRecord.marks) that meet this passage, relative to `passage` and clipped to it:
    # text there (title, caption, byline, source line, nav, teaser snippet) is context, never a claim to quote
    unquotable: tuple[tuple[int, int], ...] = ()
    page: int = 0  # 1-based page of a PDF document where the passage starts; 0 when the format has no pages
    published: str | None = None  # the document's publication time (DocRecord.published), None when unknown

    def to_json(self) -> dict:
        """The passage as the JSON fields the CLI prints (the documented format: no chunk id, no marks; `page`
        null for formats without pages; `published` ISO 8601 or null, beside `date`, the page's own text)."""
        out = asdict(self)
        out.pop("chunk_id")
        out.pop("unquotable")
        out["page"] = self.page or None
        out["score"] = round(float(self.score), 4)
        keys = [key for key in out if key != "published"]
        keys.insert(keys.index("date") + 1, "published")
        return {key: out[key] for key in keys}
