"""The assistant: a store, an embedder, a retriever and an answerer, loaded once; a question goes through them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from kbqa.config import Settings
from kbqa.errors import InputError
from kbqa.index.embed.embedders import get_embedder
from kbqa.index.store.api import open_store
from kbqa.qa.answer import Answer, ExtractiveAnswerer
from kbqa.qa.answer.dated import dated
from kbqa.qa.answer.syndication import with_others
from kbqa.qa.contracts import Answerer, Delta, Retrieval, Retriever
from kbqa.qa.followup import Rewrite, rewrite
from kbqa.qa.search import HybridRetriever, StoreKeywords
from kbqa.qa.timeline import NOW, Period, is_recent, query_of, when_of

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable

Event = Retrieval | Delta | Answer  # Assistant.stream yields the Retrieval, then Deltas, then the Answer last


class Assistant:
    """The store, the embedder, the retriever and the answerer, loaded once and reused for every question: a
    question's path is `answerer.answer(question, retriever.retrieve(question, k))`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = open_store(settings.store, pool_size=settings.pg_pool, settings=settings)
        self.embedder = get_embedder(settings)
        self.store.check_embedder(self.embedder.id)
        self.retriever: Retriever = HybridRetriever(self.store, self.embedder, StoreKeywords(self.store))
        self.extractive = ExtractiveAnswerer(self.embedder)  # the answerer, or an LLM answerer's fallback
        # the newest article's best sentence, once the whole archive's answer says the archive covers the topic
        self.newest = ExtractiveAnswerer(self.embedder, threshold=0.0)
        self.llm: BaseChatModel | None = None
        self.answerer: Answerer = self.extractive
        if settings.llm:  # generative answers; the extractive answerer stays as the fallback
            self.use_llm(settings.llm, settings.llm_base_url)

    def use_llm(self, spec: str, base_url: str = "") -> None:
        """Answer with the chat model `spec` from the next question on ("": extractive), keeping the store, the
        embedder and the retriever. A bad spec or a missing package raises InputError and leaves the answerer as
        it was."""
        spec, base_url = spec.strip(), base_url.strip()
        llm = None
        answerer: Answerer = self.extractive
        if spec:
            from kbqa.qa.llm import GenerativeAnswerer, chat_model

            llm = chat_model(spec, base_url, timeout=self.settings.llm_timeout, max_tokens=self.settings.llm_max_tokens)
            answerer = GenerativeAnswerer(llm, self.embedder, fallback=self.extractive)
        self.llm, self.answerer = llm, answerer
        self.settings = replace(self.settings, llm=spec, llm_base_url=base_url)

    def rewrite(self, question: str, previous: str | None) -> Rewrite:
        """The standalone query for a chat turn following `previous` (the last turn's query): written by the LLM
        when one answers (kbqa.qa.llm.followup), else by the rules (kbqa.qa.followup)."""
        if self.llm is None:
            return rewrite(question, previous)
        from kbqa.qa.llm.followup import llm_rewrite

        return llm_rewrite(self.llm, question, previous)

    def chain(self, k: int | None = None) -> Runnable:
        """The same retriever and answerer as `ask`, composed as a LangChain Runnable (question → Answer)."""
        from kbqa.qa.retriever import build_chain

        return build_chain(lambda question: self.retrieve(question, k), self.answer)

    def retrieve(self, question: str, k: int | None = None, period: Period = NOW) -> Retrieval:
        """The passages for `question` (cleaned, see `clean_question`), best first, limited to the time it asks
        about (its own dates, read against `period.as_of`, or `period`'s window) and newest first when it asks for
        the latest."""
        question = clean_question(question, self.settings.max_question_chars)
        when = when_of(question, period)
        # an archive with no dated article cannot be searched by time: its date words stay in the query
        dated = when is not None and self.store.published_range() != (None, None)
        query = query_of(question, when) if dated else question
        retrieval = self.retriever.retrieve(query, k or self.settings.k, when)
        return retrieval if query == question else replace(retrieval, question=question)

    def stream(self, question: str, k: int | None = None, focus: str = "", period: Period = NOW) -> Iterator[Event]:
        """Answer `question` step by step as the work is done: the `Retrieval`, then `Delta`s of the answer text,
        then the `Answer` itself (always the last event, led by its article's date). `focus`, `period`: see `ask`."""
        retrieval = self.retrieve(question, k, period)
        yield retrieval
        if self.answerer is self.extractive:  # quotes: the answer is made whole, then streamed claim by claim
            answer = self.answer(retrieval, focus)
            yield from (Delta(f" {c.text}" if n else c.text) for n, c in enumerate(answer.claims))
            yield answer
            return
        for event in self.answerer.stream(retrieval.query, retrieval, focus):
            yield self._finished(event, retrieval) if isinstance(event, Answer) else event

    def ask(self, question: str, k: int | None = None, focus: str = "", period: Period = NOW) -> Answer:
        """A cited answer to `question` from the `k` best passages, led by when its article was published.
        `focus` (a follow-up's "what about X?"): only passages that mention it are quoted. `period`: the reference
        time for "today" and a window of days (see qa/timeline.py).

        Calls the retriever and the answerer directly, without the Runnable plumbing: importing LangChain and its
        first invoke cost ~2 s of a cold `kbqa ask` (bench/RESULTS.md); `chain()` composes the same two steps."""
        return self.answer(self.retrieve(question, k, period), focus)

    def answer(self, retrieval: Retrieval, focus: str = "") -> Answer:
        """The answerer's answer from `retrieval`, said with its article's date and the story's other outlets. For a
        question limited to a time ("latest", a date), whether the archive answers is asked of the whole search
        (`retrieval.topic`, set when the window holds the topic), and the window's best sentence answers it:
        bench_time's tune half, 9 of 20 "latest" questions had their newest brief judged too weak alone while the
        archive answered the topic."""
        answer = self.answerer.answer(retrieval.query, retrieval, focus)
        in_window = retrieval.topic_in_window
        if in_window is None or (in_window and answer.found) or self.answerer is not self.extractive:
            return self._finished(answer, retrieval)
        whole = self.extractive.answer(
            retrieval.query, self.retriever.retrieve(retrieval.query, self.settings.k), focus
        )
        if in_window and whole.found and retrieval.passages:
            answer = self.newest.answer(retrieval.query, retrieval, focus)  # the window's best sentence answers
        elif not in_window and whole.found and not is_recent(retrieval.when):
            # nothing of that time is on the topic: a date in a question may be the event's, reported later ("doanh
            # số năm 2016" in a 2017 article); the whole archive's answer, said with its own date and a note
            answer = whole
        return self._finished(answer, retrieval)

    @staticmethod
    def _finished(answer: Answer, retrieval: Retrieval) -> Answer:
        return with_others(dated(answer, retrieval), retrieval)


MAX_QUESTION_CHARS = Settings().max_question_chars  # the default; Assistant uses its settings' value


def clean_question(question: str, limit: int = MAX_QUESTION_CHARS) -> str:
    """One line of printable text: bytes that were not valid UTF-8 (kept by Python as lone surrogates) become
    U+FFFD, control characters go, whitespace runs become one space; empty or over-long questions are refused."""
    try:  # argv and stdin keep undecodable bytes as U+DC80..U+DCFF (surrogateescape): get the bytes back
        raw = question.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # other lone surrogates (e.g. from JSON)
        raw = question.encode("utf-8", "surrogatepass")
    question = raw.decode("utf-8", "replace")
    question = "".join(c if c.isprintable() or c.isspace() else " " for c in question)
    question = " ".join(question.split())
    if not question:
        raise InputError("the question is empty")
    if len(question) > limit:  # a question, not a document (and a long one would embed for seconds)
        raise InputError(f"the question is {len(question):,} characters long; the limit is {limit:,}")
    return question
