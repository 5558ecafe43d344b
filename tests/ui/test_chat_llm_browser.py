"""The chat with a real local LLM, in a real browser: the model is set in the page's settings (`openai:local` on
llama-cpp-python's OpenAI-compatible server, tests/llm_fixture.py), its tokens show as they come, then the checked
answer replaces them. Skipped, with the reason, when the fixture model or llama-cpp-python is missing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

from tests import llm_fixture
from tests.ui.test_chat_browser import KOREA_US, WAIT, _by, ask, card_titles, click
from tests.ui.test_service_llm import MADE_UP, REPLY

# slow: a real LLM in a real browser, ~70 s on 2 cores
pytestmark = pytest.mark.slow

gguf = llm_fixture.gguf  # the fixtures (a server per module), shared with tests/qa/test_llm_server.py
server_url = llm_fixture.server_url

QUESTION = "Hàn Quốc và Mỹ nhất trí hợp tác về những công nghệ nào?"
NOT_FOUND = {"vi": "Không tìm thấy câu trả lời trong các bài viết.", "en": "The articles don't answer this."}
FALLBACK = "could not be reached"

# Every text the streaming message shows, recorded in the page as it changes (a poll from the test could miss a
# fast stream; the page's own observer cannot).
RECORD_STREAM = """
window.kbqaStreamed = [];
const chat = document.getElementById("kbqa-chat");
new MutationObserver(() => {
  for (const el of chat.querySelectorAll(".kbqa-streaming .kbqa-text")) {
    const text = el.textContent;
    const seen = window.kbqaStreamed;
    if (text && seen[seen.length - 1] !== text) seen.push(text);
  }
}).observe(chat, {subtree: true, childList: true, characterData: true});
"""


@pytest.fixture(scope="module")
def local_llm(server_url: str) -> str:
    """The local server's OpenAI-compatible base URL."""
    return f"{server_url}/v1"


@pytest.fixture(scope="module")
def llm_page(browser, chat_url):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(chat_url)
    WebDriverWait(browser, WAIT).until(lambda d: d.find_elements(_by().CSS_SELECTOR, "#kbqa-question textarea"))
    return browser


def _field(driver, elem_id: str):
    return driver.find_element(_by().CSS_SELECTOR, f"#{elem_id} textarea, #{elem_id} input")


def _status(driver) -> str:
    """The model setting's status line (not Gradio's progress overlay on it)."""
    return driver.find_element(_by().CSS_SELECTOR, "#kbqa-llm-status .kbqa-llm-status").text


def set_llm(driver, spec: str, base_url: str) -> str:
    """Open Settings, type the model spec and the server URL, apply them; the status line it leads to."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    if (
        not driver.find_elements(_by().ID, "kbqa-llm-apply")
        or not driver.find_element(_by().ID, "kbqa-llm-apply").is_displayed()
    ):
        toggle = driver.find_element(_by().XPATH, "//*[@id='kbqa-settings']//*[normalize-space(text())='Settings']")
        click(driver, toggle)
        WebDriverWait(driver, WAIT).until(lambda d: _field(d, "kbqa-llm").is_displayed())
    before = _status(driver)
    for elem_id, value in (("kbqa-llm", spec), ("kbqa-llm-url", base_url)):
        field = _field(driver, elem_id)
        field.send_keys(Keys.CONTROL, "a")  # as a user would: clear() sets the value without an input event
        field.send_keys(Keys.DELETE)
        field.send_keys(value)
    click(driver, driver.find_element(_by().ID, "kbqa-llm-apply"))
    WebDriverWait(driver, WAIT, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda d: _status(d) != before
    )
    return _status(driver)


def test_a_bad_model_setting_is_one_line_in_the_page(llm_page, chat_service) -> None:
    status = set_llm(llm_page, "gpt-4o", "")
    assert "must be one of" in status and "\n" not in status
    assert chat_service.settings.llm == "" and "unchanged" in status


class SlowFakeChat(GenericFakeChatModel):
    """LangChain's fake chat model, one word every few milliseconds: a stream the page can be seen to follow."""

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for chunk in super()._stream(*args, **kwargs):
            time.sleep(0.02)
            yield chunk


def test_a_model_set_in_the_page_streams_token_by_token_then_the_flagged_answer(
    llm_page, chat_service, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kbqa.qa.llm

    monkeypatch.setattr(kbqa.qa.llm, "chat_model", lambda spec, base_url="", **kw: SlowFakeChat(messages=iter([REPLY])))
    assert "fake:slow" in set_llm(llm_page, "fake:slow", "")
    try:
        llm_page.execute_script(RECORD_STREAM)
        answer = ask(llm_page, QUESTION)
        streamed = llm_page.execute_script("return window.kbqaStreamed")
    finally:
        assert "extractive" in set_llm(llm_page, "", "")
    # the first words (held back until their language is known, qa.llm.answerer.PROBE_LETTERS), then token by token
    assert len(streamed) >= 10 and REPLY.startswith(streamed[0]) and len(streamed[0]) < 60 and streamed[-1] == REPLY
    assert all(b.startswith(a) and b != a for a, b in zip(streamed, streamed[1:], strict=False))
    assert card_titles(answer)[0] == KOREA_US and answer.find_elements(_by().CSS_SELECTOR, "a.kbqa-cite")
    flagged = answer.find_elements(_by().CSS_SELECTOR, ".kbqa-text .kbqa-unverified")
    assert [f.text for f in flagged] == [MADE_UP.removesuffix(" [1].") + "."]
    flags = answer.find_elements(_by().CSS_SELECTOR, ".kbqa-text .kbqa-flag")
    assert [f.text for f in flags] == ["⚠ not supported by the cited passage"]
    assert answer.find_element(_by().CSS_SELECTOR, ".kbqa-note").text.startswith("1 of 2 sentences")
    assert not llm_page.find_elements(_by().CSS_SELECTOR, "#kbqa-chat .kbqa-streaming")


def test_the_local_llm_set_in_the_page_streams_its_reply_then_the_checked_answer(
    llm_page, chat_service, local_llm: str
) -> None:
    question = QUESTION
    extractive = chat_service.assistant.ask(question)
    assert extractive.found  # what the page would show without the model
    status = set_llm(llm_page, "openai:local", local_llm)
    try:
        assert f"openai:local at {local_llm}" in status and "⚠" not in status
        llm_page.execute_script(RECORD_STREAM)
        answer = ask(llm_page, question)
        streamed = llm_page.execute_script("return window.kbqaStreamed")
    finally:
        assert "extractive" in set_llm(llm_page, "", "")
    text = answer.find_element(_by().CSS_SELECTOR, ".kbqa-text").text
    notes = [n.text for n in answer.find_elements(_by().CSS_SELECTOR, ".kbqa-note")]
    print(f"\nstreamed {len(streamed)} states; last: {streamed[-1] if streamed else None!r}\nanswer: {text!r} {notes}")
    assert not any(FALLBACK in n for n in notes), notes  # the model answered, not the extractive fallback
    assert text != extractive.answer  # written by the model, not quoted
    if "kbqa-not-found" in answer.get_attribute("class"):  # the 0.5B model may say the passages do not answer
        assert text in NOT_FOUND.values() and not answer.find_elements(_by().CSS_SELECTOR, "a.kbqa-cite")
        return
    # the text grew token by token in the message, then the answer with its sources replaced it
    assert len(streamed) >= 3 and len(streamed[-1]) > len(streamed[0]), streamed
    assert answer.find_elements(_by().CSS_SELECTOR, "a.kbqa-cite") and card_titles(answer)
    assert not llm_page.find_elements(_by().CSS_SELECTOR, "#kbqa-chat .kbqa-streaming")
    flagged = answer.find_elements(_by().CSS_SELECTOR, ".kbqa-text .kbqa-unverified")
    flags = answer.find_elements(_by().CSS_SELECTOR, ".kbqa-text .kbqa-flag")
    assert len(flags) == len(flagged)  # each sentence its passage does not support is marked, and said so
    unsupported = [n for n in notes if "sentences are not supported" in n]
    assert (int(unsupported[0].split()[0]) if unsupported else 0) == len(flagged)
