"""The index as a LangChain retriever: a question in, `Document`s with passage metadata out."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from index.records import Passage


def to_document(passage: Passage) -> Document:
    """A passage as a LangChain Document (text in page_content, every other field in metadata)."""
    meta = {k: v for k, v in passage.__dict__.items() if k != "passage"}
    return Document(page_content=passage.passage, metadata=meta)


def to_passage(document: Document) -> Passage:
    """The inverse of `to_document`."""
    return Passage(passage=document.page_content, **document.metadata)


class StoreRetriever(BaseRetriever):
    """Dense retrieval over a `Store` with an `Embedder`; picks up a newer index generation per question."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Any
    embedder: Any
    k: int = 5

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        self.store.refresh()
        return [to_document(p) for p in self.store.search(self.embedder.embed_query(query), self.k)]
