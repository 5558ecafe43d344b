"""The query path's contracts: what retrieval hands the answerer, and the Retriever and Answerer protocols."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from kbqa.index.records import Passage

if TYPE_CHECKING:
    from kbqa.qa.answer.records import Answer
    from kbqa.qa.when import When


@dataclass(frozen=True)
class Evidence:
    """What retrieval learnt about a query, for the answerer's support score: the corpus IDF of each query term
    (a term no chunk holds has the highest), the IDF share of the terms the corpus holds, the best dense cosines,
    the best BM25 score and whether dense and keyword search agreed on the top chunk."""

    terms: dict[str, float] = field(default_factory=dict)
    corpus_share: float = 0.0
    dense_top: float = 0.0
    dense_second: float = 0.0
    bm25_top: float = 0.0
    agree: bool = False
    absent: frozenset[str] = frozenset()  # the query's terms no chunk holds


@dataclass(frozen=True)
class Retrieval:
    """A query and the passages found for it, best first, with what retrieval learnt on the way (`evidence`: None
    when the retriever measured nothing the answerer can use, e.g. passages given directly). `when`: the time the
    search was limited to or ordered by (a date range, "latest"); `archive`: the first and last publication time the
    store holds, set when the date range held no article (so the answer can say what the archive covers);
    `question`: the question as asked, when the query searched is not it (its date words left out).
    `topic_in_window`: for a search limited to a time (a window of days, "latest"), whether the window holds the
    question's topic (None: no window); whether the archive answers at all is then the whole archive's question."""

    query: str
    passages: list[Passage]
    evidence: Evidence | None = None
    when: When | None = None
    archive: tuple[str | None, str | None] | None = None
    question: str = ""
    topic_in_window: bool | None = None

    @property
    def asked(self) -> str:
        """The question as asked."""
        return self.question or self.query

    def top(self, k: int) -> Retrieval:
        """The same retrieval with its first `k` passages only."""
        return self if len(self.passages) <= k else replace(self, passages=self.passages[:k])

    def focused(self, focus: str) -> Retrieval:
        """Only the passages that mention `focus` (a follow-up's "what about X?"), or all when none does."""
        if not focus:
            return self
        focus = focus.lower()
        named = [p for p in self.passages if focus in p.passage.lower()]
        return replace(self, passages=named) if named else self


@dataclass(frozen=True)
class Delta:
    """A piece of answer text as it is produced (an LLM's tokens; an extractive answer's claims). The texts of an
    answer's Deltas, concatenated, are its text so far."""

    text: str


@runtime_checkable
class Retriever(Protocol):
    """Finds the passages for a query: hybrid, dense-only and keyword-only search implement it
    (kbqa.qa.search)."""

    def retrieve(self, query: str, k: int, when: When | None = None) -> Retrieval:
        """The `k` best passages for `query`, best first; with `when`, only those published in its date range (a
        day of tolerance each side), and with its recency intent the newest on-topic ones first."""
        ...


@runtime_checkable
class Answerer(Protocol):
    """Makes a cited answer (or "not found") from a retrieval: the extractive answerer quotes, the generative one
    writes through a chat model (kbqa.qa.answer, kbqa.qa.llm). `focus`: a follow-up's "what about X?" — only
    passages naming X are used."""

    def answer(self, question: str, retrieval: Retrieval, focus: str = "") -> Answer:
        """The answer to `question` from `retrieval`'s passages."""
        ...

    def stream(self, question: str, retrieval: Retrieval, focus: str = "") -> Iterator[Delta | Answer]:
        """The answer text as it is made (`Delta`s), then the `Answer` itself, always last."""
        ...
