"""What an answer is: claims quoted or written from passages, their citations, and whether it was found at all."""

from __future__ import annotations

from dataclasses import dataclass, field

from kbqa.index.records import Passage
from kbqa.qa.when import When
from kbqa.text.language import language_of

NOT_FOUND = {"vi": "Không tìm thấy câu trả lời trong các bài viết.", "en": "The articles don't answer this."}
VIETNAMESE_SOURCES = "The quoted sentences are from Vietnamese articles."
NO_PASSAGES = {"vi": "Chỉ mục chưa có bài viết nào.", "en": "The index holds no articles yet."}


def language(text: str) -> str:
    """ "vi" or "en": the language of `text` (a question: the language its answer is written in)."""
    return language_of(text) or "en"


@dataclass(frozen=True)
class Citation:
    """[n] in the answer text points at this passage. `verified`: whether the passage was checked to support
    the sentences citing it (None: not checked; an extractive quote is verbatim, so it needs no check)."""

    n: int
    passage: Passage
    verified: bool | None = None

    def to_json(self) -> dict:
        out = {"n": self.n, **self.passage.to_json()}
        if self.verified is not None:
            out["verified"] = self.verified
        return out


@dataclass(frozen=True)
class Claim:
    """One sentence of an answer and the passages it cites. `marks`: (start, end) spans of `text` holding the
    words that answer the question (a date for "when", a number for "how many"), where they could be found.
    `verified`: whether a passage it cites was checked to support it (None: not checked, as for a verbatim quote);
    a written (LLM) sentence with False is flagged."""

    text: str
    cites: tuple[int, ...]
    marks: tuple[tuple[int, int], ...] = ()
    verified: bool | None = None

    def to_json(self) -> dict:
        out = {"text": self.text, "cites": list(self.cites), "marks": [list(m) for m in self.marks]}
        if self.verified is not None:
            out["verified"] = self.verified
        return out


@dataclass(frozen=True)
class Answer:
    """A cited answer, or (found=False) the statement that the articles don't answer, with the closest passages.

    `answer` is the text shown: the claims, each followed by its [n] markers, or the not-found message.
    `support` (0–1) is how well the passages support the answer; below the answerer's threshold, found=False.
    `note` is a line to show beside the answer (e.g. that English questions get quotes in Vietnamese).
    `lead`: the words before the claims saying when the cited article was published (part of `answer`), if any."""

    question: str
    answer: str
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    found: bool = True
    support: float = 1.0
    note: str = ""
    claims: list[Claim] = field(default_factory=list)
    lead: str = ""
    when: When | None = None  # the time the question asked about, as retrieval read it
    also: list[Passage] = field(default_factory=list)  # the cited story as other outlets told it (syndication)

    def to_json(self) -> dict:
        """The JSON object `kbqa ask --json` prints. When found is false, `passages` are the closest ones."""
        return {
            "question": self.question,
            "found": self.found,
            "support": round(float(self.support), 3),
            "answer": self.answer,
            "note": self.note,
            "claims": [c.to_json() for c in self.claims],
            "citations": [c.to_json() for c in self.citations],
            "passages": [p.to_json() for p in self.passages],
            "when": self.when.to_json() if self.when is not None else None,
            "also_reported": [p.to_json() for p in self.also],
        }


def compose(question: str, passages: list[Passage], claims: list[tuple[str, int, tuple]], **extra) -> Answer:
    """An answer quoting `claims` ((sentence, passage index, marks) in answer order): passages are numbered
    [1], [2], … in order of first citation."""
    numbers: dict[int, int] = {}
    made: list[Claim] = []
    for text, rank, marks in claims:
        n = numbers.setdefault(rank, len(numbers) + 1)
        made.append(Claim(text, (n,), tuple(marks)))
    citations = [Citation(n, passages[rank]) for rank, n in numbers.items()]
    text = " ".join(f"{c.text} {''.join(f'[{n}]' for n in c.cites)}" for c in made)
    return Answer(question, text, citations, passages, claims=made, **extra)


def not_found(question: str, passages: list[Passage], support: float, note: str = "", archive: bool = False) -> Answer:
    """The articles don't answer `question`: the message in its language; `passages` are the closest ones.
    `archive`: the index has articles, none of them from the time asked about (else no passages means none at all)."""
    lang = language(question)
    message = NOT_FOUND[lang] if passages or archive else NO_PASSAGES[lang]
    return Answer(question, message, [], passages, found=False, support=support, note=note)
