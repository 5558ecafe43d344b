"""The chat with an LLM answerer, on LangChain's fake chat models (which stream token by token): the model setting,
its tokens as they come, the checked answer with its flags, and what a bad setting or an unreachable model does."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from kbqa.config import Settings
from kbqa.errors import InputError
from kbqa.qa.answer import Answer
from kbqa.qa.contracts import Delta, Retrieval
from kbqa.qa.llm.answerer import PROBE_LETTERS
from kbqa.ui import app as chat_app
from kbqa.ui.service import ChatService

QUESTION = "Hàn Quốc và Mỹ nhất trí hợp tác về những công nghệ nào?"
KOREA_US_DOC = "seeds/000_f8aa576ae32182a5.txt"
SUPPORTED = (
    "Hàn Quốc và Mỹ đã nhất trí tăng cường hợp tác về các công nghệ thế hệ mới, như sinh học, trí tuệ nhân tạo (AI), "
    "chất bán dẫn, công nghệ pin và năng lượng [1]."
)
MADE_UP = "Hai nước cũng sẽ xây 2030 nhà máy điện hạt nhân trên Mặt Trăng [1]."
REPLY = f"{SUPPORTED} {MADE_UP}"


def fake_model(*replies: str) -> GenericFakeChatModel:
    """A chat model that streams each reply (one per question) word by word."""
    return GenericFakeChatModel(messages=iter([AIMessage(content=r) for r in replies]))


@pytest.fixture
def llm_service(chat_service: ChatService, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatService]:
    """The module's chat service, whose model specs `fake:<n>` name fake models replying REPLY; extractive again
    after the test."""
    import kbqa.qa.llm

    real = kbqa.qa.llm.chat_model

    def chat_model(spec: str, base_url: str = "", **kwargs):
        return fake_model(REPLY) if spec.startswith("fake:") else real(spec, base_url, **kwargs)

    monkeypatch.setattr(kbqa.qa.llm, "chat_model", chat_model)
    yield chat_service
    chat_service.set_llm("", "")


def test_the_model_setting_starts_as_the_chat_was_started(chat_service: ChatService) -> None:
    assert chat_service.settings.llm == "" and "extractive" in chat_service.llm_status()
    service = ChatService(Settings(store="nowhere", llm="openai:local", llm_base_url="http://h/v1"))
    assert service.llm_status() == "Answers are written by openai:local at http://h/v1; every citation is checked."


def test_llm_tokens_arrive_in_order_then_the_checked_answer_with_citations(llm_service: ChatService) -> None:
    status = llm_service.set_llm(" fake:1 ", "http://127.0.0.1:9/v1")
    assert "fake:1 at http://127.0.0.1:9/v1" in status
    assert llm_service.assistant.answerer.fallback is not None  # the store and embedder were not reloaded
    events = list(llm_service.stream(QUESTION, None))
    assert isinstance(events[1], Retrieval) and isinstance(events[-1], Answer)
    deltas = [e.text for e in events[2:-1]]
    assert all(isinstance(e, Delta) for e in events[2:-1])
    assert len(deltas) > 20 and "".join(deltas) == REPLY  # token by token, in order, nothing lost or added
    answer = events[-1]
    assert answer.found and answer.citations[0].passage.doc_id == KOREA_US_DOC
    assert [c.verified for c in answer.claims] == [True, False]  # the made-up sentence is flagged
    assert "1 of 2 sentences" in answer.note


def test_extractive_deltas_are_claims_spaced_as_shown(chat_service: ChatService) -> None:
    events = list(chat_service.stream(QUESTION, None))
    text = "".join(e.text for e in events if isinstance(e, Delta))
    assert text == " ".join(c.text for c in events[-1].claims)


def test_a_bad_spec_or_a_missing_package_is_one_line_and_keeps_the_answerer(
    llm_service: ChatService, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_service.set_llm("fake:1")
    before = llm_service.assistant.answerer
    with pytest.raises(InputError, match="must be one of") as bad:
        llm_service.set_llm("gpt-4o")
    monkeypatch.setitem(sys.modules, "langchain_ollama", None)  # as if langchain-ollama were not installed
    with pytest.raises(InputError, match="needs the package langchain-ollama") as missing:
        llm_service.set_llm("ollama:qwen2.5:7b")
    for error in (bad, missing):
        assert "\n" not in str(error.value)
    assert llm_service.assistant.answerer is before and llm_service.settings.llm == "fake:1"


def test_an_empty_spec_goes_back_to_extractive(llm_service: ChatService) -> None:
    llm_service.set_llm("fake:1")
    extractive = llm_service.assistant.answerer.fallback
    assert "extractive" in llm_service.set_llm("  ", "http://ignored/v1")
    assert llm_service.assistant.answerer is extractive
    assert llm_service.ask(QUESTION, None).answer.citations[0].passage.doc_id == KOREA_US_DOC


def test_an_unreachable_model_gives_the_extractive_answer_with_a_note(chat_service: ChatService) -> None:
    from tests.ui.conftest import free_port

    pytest.importorskip("langchain_openai")
    try:  # a real client, a port nobody listens on
        chat_service.set_llm("openai:local", f"http://127.0.0.1:{free_port()}/v1")
        answer = chat_service.ask(QUESTION, None).answer
    finally:
        chat_service.set_llm("", "")
    assert answer.note.startswith("The language model could not be reached (") and "\n" not in answer.note
    assert answer.found and answer.citations[0].passage.doc_id == KOREA_US_DOC


def _function(page, name: str):
    return next(f.fn for f in page.fns.values() if f.name == name)


def test_the_page_streams_the_tokens_then_shows_the_answer_flagged(llm_service: ChatService) -> None:
    page = chat_app.build_app(llm_service)
    status = _function(page, "choose_llm")("fake:1", "")
    assert "kbqa-error" not in status and "fake:1" in status
    shown = [history[-1]["content"] for _, history, _ in _function(page, "respond")(QUESTION, [], [], 5)]
    writing = [html for html in shown if "Writing…" in html]
    # the reply's first words (held back until their language is known), then one token at a time
    first = writing[0].split('<div class="kbqa-text">')[1].split("</div>")[0]
    assert len(writing) > 20 and REPLY.startswith(first) and PROBE_LETTERS <= sum(c.isalpha() for c in first) < 60
    assert "Mặt Trăng [1].</div>" in writing[-1]  # then the whole reply, before it is checked
    assert all(len(a) <= len(b) for a, b in zip(writing, writing[1:], strict=False))  # it grows as tokens come
    final = shown[-1]
    assert "kbqa-streaming" not in final and 'class="kbqa-cite"' in final and 'class="kbqa-card' in final
    flags = final.count('<span class="kbqa-flag" role="note">⚠ not supported by the cited passage</span>')
    assert flags == 1 and final.count('class="kbqa-unverified"') == 1  # the made-up sentence only
    assert "Mặt Trăng. [1] ⚠ not supported by the cited passage" in final  # in the copied and read-out text too
    assert '<div class="kbqa-note">1 of 2 sentences' in final


def test_the_page_says_a_bad_spec_in_one_line_and_keeps_the_answerer(llm_service: ChatService) -> None:
    page = chat_app.build_app(llm_service)
    choose = _function(page, "choose_llm")
    choose("fake:1", "")
    status = choose("llamacpp:/no/such/model.gguf", "")
    assert "kbqa-error" in status and "no such model file" in status and "\n" not in status
    assert "fake:1" in status and llm_service.settings.llm == "fake:1"


def test_the_model_setting_is_locked_on_a_page_exposed_without_a_password(chat_service: ChatService) -> None:
    page = chat_app.build_app(chat_service, banner="Warning: exposed")
    assert not [f for f in page.fns.values() if f.name == "choose_llm"]
    boxes = [b for b in page.blocks.values() if getattr(b, "elem_id", None) in ("kbqa-llm", "kbqa-llm-url")]
    assert len(boxes) == 2 and not any(b.interactive for b in boxes)
