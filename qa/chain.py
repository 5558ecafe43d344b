"""The question-answering chain (retriever → answerer) as a LangChain Runnable, and its loaded-once host."""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda, RunnableParallel, RunnablePassthrough

from index.config import Settings
from index.embedders import get_embedder
from index.errors import InputError
from index.store import Store
from qa.answer import Answer, ExtractiveAnswerer
from qa.hybrid import HybridRetriever, StoreKeywords
from qa.retriever import to_passage


def build_chain(retriever: BaseRetriever, answerer: Callable[[dict], Answer]) -> Runnable:
    """question → {"question", "passages"} → answerer → Answer. Swap `answerer` for an LLM step later."""
    passages = retriever | RunnableLambda(lambda docs: [to_passage(d) for d in docs])
    return RunnableParallel(question=RunnablePassthrough(), passages=passages) | RunnableLambda(answerer)


class Assistant:
    """The store, the embedder and the answerer, loaded once and reused for every question."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.store)
        self.embedder = get_embedder(settings.embedder)
        self.store.check_embedder(self.embedder.id)
        self.answerer = ExtractiveAnswerer(self.embedder)
        self.keywords = StoreKeywords(self.store)

    def chain(self, k: int | None = None) -> Runnable:
        retriever = HybridRetriever(
            store=self.store, embedder=self.embedder, keyword=self.keywords, k=k or self.settings.k
        )
        return build_chain(retriever, self.answerer)

    def ask(self, question: str, k: int | None = None) -> Answer:
        """A cited answer to `question` from the `k` best passages."""
        question = " ".join(question.split())
        if not question:
            raise InputError("the question is empty")
        return self.chain(k).invoke(question)
