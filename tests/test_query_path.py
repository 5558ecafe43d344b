"""A question's path is typed calls through two contracts: `retriever.retrieve` then `answerer.answer`, one dense
search and one passage fetch per question, no `Any`, no attribute probing, nothing remembered between them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kbqa.qa.answer import Answer, ExtractiveAnswerer
from kbqa.qa.contracts import Answerer, Delta, Retrieval, Retriever

ROOT = Path(__file__).resolve().parents[1]
# the modules a question passes through, from the chat's service or the CLI's Assistant to the printed answer
PATH = [
    "qa/chain.py",
    "qa/contracts.py",
    "qa/search.py",
    "qa/rerank.py",
    "qa/retriever.py",
    "qa/answer/extractive.py",
    "qa/answer/records.py",
    "qa/answer/sentences.py",
    "qa/answer/marks.py",
    "qa/llm/answerer.py",
    "qa/llm/verify.py",
    "qa/llm/followup.py",
    "qa/render.py",
    "ui/service.py",
    "index/store/api.py",
]
QUESTION = "Hàn Quốc và Mỹ đồng ý hợp tác về những công nghệ nào?"


@pytest.mark.parametrize("module", PATH)
def test_the_path_has_no_any_and_no_attribute_probing(module: str) -> None:
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            assert node.id != "Any", f"{module}:{node.lineno}: Any"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in ("hasattr", "getattr"), f"{module}:{node.lineno}: {node.func.id}"


class Counting:
    """A store reader whose dense searches and passage fetches are counted (everything else passes through)."""

    def __init__(self, store) -> None:  # noqa: ANN001 - a StoreReader
        self.inner, self.searches, self.fetches = store, 0, 0

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.inner, name)

    def search(self, query, k, within=None):  # noqa: ANN001, ANN201
        self.searches += 1
        return self.inner.search(query, k, within)

    def passages(self, chunk_ids):  # noqa: ANN001, ANN201
        self.fetches += 1
        return self.inner.passages(chunk_ids)


def test_ask_is_the_answerer_on_the_retrieval_with_one_search_and_one_fetch(assistant) -> None:  # noqa: ANN001
    from kbqa.qa.search import HybridRetriever, StoreKeywords

    assert isinstance(assistant.retriever, Retriever) and isinstance(assistant.answerer, Answerer)
    counting = Counting(assistant.store)
    retriever = HybridRetriever(counting, assistant.embedder, StoreKeywords(assistant.store))
    retrieval = retriever.retrieve(QUESTION, 5)
    assert (counting.searches, counting.fetches) == (1, 1)
    assert isinstance(retrieval, Retrieval) and retrieval.query == QUESTION and len(retrieval.passages) == 5
    assert retrieval.evidence is not None and retrieval.evidence.terms
    answer = ExtractiveAnswerer(assistant.embedder).answer(QUESTION, retrieval)
    assert (counting.searches, counting.fetches) == (1, 1)  # the answerer searches nothing again
    asked = assistant.ask(QUESTION)
    assert asked == assistant.answer(retrieval)  # the answerer's answer said with its article's date:
    assert asked.claims == answer.claims and asked.answer == f"{asked.lead} {answer.answer}"
    assert answer.found and answer.citations[0].passage.doc_id == "seeds/000_f8aa576ae32182a5.txt"


def test_the_stream_is_the_retrieval_then_deltas_then_the_same_answer(assistant) -> None:  # noqa: ANN001
    first, *deltas, last = assistant.stream(QUESTION)
    assert isinstance(first, Retrieval) and isinstance(last, Answer) and deltas
    assert all(isinstance(d, Delta) for d in deltas)
    assert last == assistant.answer(first) == assistant.ask(QUESTION)
    assert last.claims == assistant.answerer.answer(QUESTION, first).claims
