"""Search as a LangChain retriever: a question in, `Document`s with passage metadata out."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from kbqa.index.records import Passage


def to_document(passage: Passage) -> Document:
    """A passage as a LangChain Document (text in page_content, every other field in metadata)."""
    meta = {k: v for k, v in passage.__dict__.items() if k != "passage"}
    return Document(page_content=passage.passage, metadata=meta)


def to_passage(document: Document) -> Passage:
    """The inverse of `to_document`."""
    return Passage(passage=document.page_content, **document.metadata)


class PassageRetriever(BaseRetriever):
    """Wraps any searcher with `search(query, k) -> list[Passage]` (e.g. kbqa.qa.search.HybridSearch)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: Any
    k: int = 5

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [to_document(p) for p in self.searcher.search(query, self.k)]
