"""The question-answering chain (retriever → answerer) as a LangChain Runnable, and its loaded-once host."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kbqa.config import Settings
from kbqa.errors import InputError
from kbqa.index.embed.embedders import get_embedder
from kbqa.index.records import Passage
from kbqa.index.store.api import open_store
from kbqa.qa.answer import Answer, ExtractiveAnswerer
from kbqa.qa.followup import Rewrite, rewrite
from kbqa.qa.search import HybridSearch, StoreKeywords

if TYPE_CHECKING:
    from langchain_core.retrievers import BaseRetriever
    from langchain_core.runnables import Runnable


@dataclass(frozen=True)
class Retrieved:
    """A streamed answer's first event: the passages found, before the answer is made from them."""

    query: str
    passages: list[Passage]


@dataclass(frozen=True)
class Delta:
    """A piece of answer text as it is produced (an LLM's tokens; an extractive answer's claims)."""

    text: str


Event = Retrieved | Delta | Answer  # Assistant.stream yields Retrieved, then Deltas, then the Answer last


def build_chain(retriever: BaseRetriever, answerer: Callable[[dict], Answer]) -> Runnable:
    """question → {"question", "passages"} → answerer → Answer. Swap `answerer` for an LLM step later."""
    from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough

    from kbqa.qa.retriever import to_passage

    passages = retriever | RunnableLambda(lambda docs: [to_passage(d) for d in docs])
    return RunnableParallel(question=RunnablePassthrough(), passages=passages) | RunnableLambda(answerer)


class Assistant:
    """The store, the embedder, the search and the answerer, loaded once and reused for every question."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = open_store(settings.store)
        self.embedder = get_embedder(settings.embedder)
        self.store.check_embedder(self.embedder.id)
        self.keywords = StoreKeywords(self.store)
        self.search = HybridSearch(self.store, self.embedder, self.keywords, settings.k)
        self.answerer = ExtractiveAnswerer(self.embedder, evidence=self.search.evidence)
        if settings.llm:  # generative answers; the extractive answerer stays as the fallback
            from kbqa.qa.llm import GenerativeAnswerer, chat_model

            model = chat_model(settings.llm, settings.llm_base_url)
            self.answerer = GenerativeAnswerer(model, self.embedder, fallback=self.answerer)

    def use_llm(self, spec: str, base_url: str = "") -> None:
        """Answer with the chat model `spec` from the next question on ("": extractive), keeping the store, the
        embedder and the search. A bad spec or a missing package raises InputError and leaves the answerer as it was."""
        from dataclasses import replace

        spec, base_url = spec.strip(), base_url.strip()
        extractive = getattr(self.answerer, "fallback", self.answerer)  # an LLM answerer's fallback is extractive
        answerer = extractive
        if spec:
            from kbqa.qa.llm import GenerativeAnswerer, chat_model

            answerer = GenerativeAnswerer(chat_model(spec, base_url), self.embedder, fallback=extractive)
        self.answerer = answerer
        self.settings = replace(self.settings, llm=spec, llm_base_url=base_url)

    def rewrite(self, question: str, previous: str | None) -> Rewrite:
        """The standalone query for a chat turn following `previous` (the last turn's query): written by the LLM
        when one answers (kbqa.qa.llm.followup), else by the rules (kbqa.qa.followup)."""
        model = getattr(self.answerer, "model", None)
        if model is None:
            return rewrite(question, previous)
        from kbqa.qa.llm.followup import llm_rewrite

        return llm_rewrite(model, question, previous)

    def chain(self, k: int | None = None) -> Runnable:
        """The same search and answerer as `ask`, composed as a LangChain Runnable (for LLM answerers, tracing)."""
        from kbqa.qa.retriever import PassageRetriever

        return build_chain(PassageRetriever(searcher=self.search, k=k or self.settings.k), self.answerer)

    def stream(self, question: str, k: int | None = None, focus: str = "") -> Iterator[Event]:
        """Answer `question` step by step as the work is done: `Retrieved`, then `Delta`s of the answer text, then
        the `Answer` itself (always the last event). `focus`: see `ask`."""
        question = _clean_question(question, self.settings.max_question_chars)
        passages = self.search.search(question, k or self.settings.k)
        yield Retrieved(question, passages)
        inputs = {"question": question, "passages": passages, "focus": focus}
        if hasattr(self.answerer, "stream"):  # an LLM answerer: its tokens as they come, then the checked Answer
            for item in self.answerer.stream(inputs):
                yield item if isinstance(item, Answer) else Delta(item)
            return
        answer = self.answerer(inputs)
        for claim in answer.claims:
            yield Delta(claim.text)
        yield answer

    def ask(self, question: str, k: int | None = None, focus: str = "") -> Answer:
        """A cited answer to `question` from the `k` best passages. `focus` (a follow-up's "what about X?"): only
        passages that mention it are quoted.

        Calls the search and the answerer directly, without the Runnable plumbing: importing LangChain and its
        first invoke cost ~2 s of a cold `kbqa ask` (bench/RESULTS.md); `chain()` composes the same two steps."""
        question = _clean_question(question, self.settings.max_question_chars)
        passages = self.search.search(question, k or self.settings.k)
        return self.answerer({"question": question, "passages": passages, "focus": focus})


MAX_QUESTION_CHARS = Settings().max_question_chars  # the default; Assistant uses its settings' value


def _clean_question(question: str, limit: int = MAX_QUESTION_CHARS) -> str:
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
