"""LangChain adapters at the edge: a `Retriever` as a BaseRetriever, and retriever → answerer as a Runnable."""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import ConfigDict

from kbqa.config import Settings
from kbqa.index.records import Passage
from kbqa.qa.answer import Answer
from kbqa.qa.contracts import Retrieval, Retriever


def to_document(passage: Passage) -> Document:
    """A passage as a LangChain Document (text in page_content, every other field in metadata)."""
    meta = {k: v for k, v in passage.__dict__.items() if k != "passage"}
    return Document(page_content=passage.passage, metadata=meta)


def to_passage(document: Document) -> Passage:
    """The inverse of `to_document`."""
    return Passage(passage=document.page_content, **document.metadata)


class PassageRetriever(BaseRetriever):
    """Any kbqa `Retriever` (e.g. kbqa.qa.search.HybridRetriever) as a LangChain retriever of Documents."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Retriever
    k: int = Settings.k  # the k setting's default

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [to_document(p) for p in self.retriever.retrieve(query, self.k).passages]


def build_chain(retrieve: Callable[[str], Retrieval], answer: Callable[[Retrieval], Answer]) -> Runnable[str, Answer]:
    """question → `retrieve(question)` → `answer(retrieval)`, as a Runnable (for tracing and composing with other
    LangChain steps): e.g. `Assistant.retrieve` and `Assistant.answer`, or a `Retriever` and an `Answerer`."""
    return RunnableLambda(retrieve) | RunnableLambda(answer)
