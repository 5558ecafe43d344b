"""End to end in a real browser: questions in two languages, a follow-up, upload and removal, an XSS payload, the
question shown at once with progress, the plain-text copy, not-found answers, no server paths."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kbqa.qa.timeline import NOW, Period

# slow: a real browser, ~25 s on 2 cores
pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

WAIT = 180  # seconds a step may take on a busy 2-core machine; no assertion depends on timing
KOREA_US = "Hàn Quốc, Mỹ nhất trí tăng cường hợp tác về công nghệ thế hệ mới"
US_CHINA_AI = "Mỹ và Trung Quốc đàm phán AI: Cơ hội hợp tác hay nguy cơ va chạm?"
NEW_ARTICLE = """Việt Nam và Phần Lan ký thỏa thuận hợp tác về năng lượng gió ngoài khơi

12/03/2024
Ngày 12/3, Việt Nam và Phần Lan đã ký thỏa thuận hợp tác phát triển điện gió ngoài khơi tại Hà Nội.

Theo thỏa thuận, Phần Lan sẽ chuyển giao công nghệ tua-bin nổi và đào tạo 500 kỹ sư Việt Nam trong ba năm tới.

Hai bên cũng nhất trí thành lập một trung tâm nghiên cứu chung về năng lượng gió tại Đà Nẵng.
"""
XSS_ARTICLE = """Bản tin <img src=x onerror="window.kbqaXss=1"> về chim cánh cụt hoàng đế

Chim cánh cụt hoàng đế <script>window.kbqaXss=1</script> sống ở Nam Cực và có thể lặn sâu tới 500 mét.

Chim cánh cụt hoàng đế <svg onload="window.kbqaXss=1"></svg> là loài chim cánh cụt lớn nhất thế giới hiện nay.
"""
RAY_TITLE = "Ngư dân bắt được cá đuối nước ngọt khổng lồ trên sông Mê Kông"
RAY_ARTICLE = f"""{RAY_TITLE}

Ngư dân ở Stung Treng đã bắt được một con cá đuối nước ngọt khổng lồ nặng 300 kg trên sông Mê Kông.

Các nhà khoa học gắn thẻ theo dõi rồi thả con cá đuối về sông sau khi đo chiều dài gần 4 mét.
"""


def _by():
    from selenium.webdriver.common.by import By

    return By


DONE = "#kbqa-chat .kbqa-answer:not(.kbqa-streaming), #kbqa-chat .kbqa-notice"  # complete answers and notices


def _finished(driver) -> list:
    return driver.find_elements(_by().CSS_SELECTOR, DONE)


def ask(driver, question: str):
    """Type `question`, press Enter, and return the chat element that answers it once it is complete."""
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    before = len(_finished(driver))
    box = driver.find_element(_by().CSS_SELECTOR, "#kbqa-question textarea")
    box.send_keys(question)
    box.send_keys(Keys.ENTER)
    WebDriverWait(driver, WAIT).until(lambda d: len(_finished(d)) > before)
    return _finished(driver)[-1]


def message_of(driver, element):
    """The Gradio message element (data-testid "user" or "bot", labelled for screen readers) holding `element`."""
    return element.find_element(_by().XPATH, "./ancestor::*[@data-testid='bot' or @data-testid='user'][1]")


def click(driver, element) -> None:
    """Click `element` as a user would, once it is in view and nothing covers it (the chat may still be scrolling
    to a new message when the click comes)."""
    from selenium.common.exceptions import ElementClickInterceptedException
    from selenium.webdriver.support.ui import WebDriverWait

    def clicked(d) -> bool:
        d.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        element.click()
        return True

    WebDriverWait(driver, WAIT, ignored_exceptions=[ElementClickInterceptedException]).until(clicked)


def card_titles(answer) -> list[str]:
    return [t.text for t in answer.find_elements(_by().CSS_SELECTOR, ".kbqa-card .kbqa-title")]


def upload(driver, path: Path):
    """Upload `path` through the documents panel and return the chat notice that reports it."""
    from selenium.webdriver.support.ui import WebDriverWait

    before = len(_finished(driver))
    field = driver.find_element(_by().CSS_SELECTOR, "#kbqa-upload input[type=file]")
    field.send_keys(str(path))
    WebDriverWait(driver, WAIT).until(lambda d: len(_finished(d)) > before)
    return _finished(driver)[-1]


@pytest.fixture(scope="module")
def page(browser, chat_url):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(chat_url)
    WebDriverWait(browser, WAIT).until(lambda d: d.find_elements(_by().CSS_SELECTOR, "#kbqa-question textarea"))
    WebDriverWait(browser, WAIT).until(lambda d: d.find_elements(_by().CSS_SELECTOR, "#kbqa-docs li"))
    return browser


def test_english_question_cites_the_korea_us_article(page) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    answer = ask(page, "Which technologies did Korea and the US agree on?")
    assert card_titles(answer)[0] == KOREA_US
    # the answer quotes the Vietnamese article (which sentence is the answerer's business, tested in tests/qa)
    text = answer.find_element(_by().CSS_SELECTOR, ".kbqa-text").text
    assert "Hàn Quốc" in text and "[1]" in text
    assert "Vietnamese articles" in answer.find_element(_by().CSS_SELECTOR, ".kbqa-note").text
    marker = answer.find_element(_by().CSS_SELECTOR, "a.kbqa-cite")
    n = marker.get_attribute("data-n")
    click(page, marker)

    def opened(driver):  # the marker opened its card: the passage in its document (found afresh: a busy
        # machine may still be re-rendering the chat when the click comes)
        card = _finished(driver)[-1].find_element(_by().CSS_SELECTOR, f'details.kbqa-card[data-n="{n}"]')
        return card if card.get_attribute("open") is not None else None

    card = WebDriverWait(page, 10, ignored_exceptions=[StaleElementReferenceException]).until(opened)
    context = card.find_element(_by().CSS_SELECTOR, ".kbqa-context")
    assert context.find_elements(_by().CSS_SELECTOR, ".kbqa-passage mark.kbqa-hl")


def test_vietnamese_question_and_follow_up(page) -> None:
    answer = ask(page, "Khi nào Mỹ và Trung Quốc đàm phán về AI?")
    assert card_titles(answer)[0] == US_CHINA_AI
    text = answer.find_element(_by().CSS_SELECTOR, ".kbqa-text").text
    highlighted = [m.text for m in answer.find_elements(_by().CSS_SELECTOR, ".kbqa-snippet mark.kbqa-hl")]
    assert highlighted and all(h in text for h in highlighted)  # the cited sentences are marked in their passage

    follow_up = ask(page, "Còn Hàn Quốc thì sao?")
    rewrite = follow_up.find_element(_by().CSS_SELECTOR, ".kbqa-rewrite").text
    assert "Hàn Quốc" in rewrite and "đàm phán về AI" in rewrite


def test_empty_question_is_a_chat_message(page) -> None:
    notice = ask(page, " ")
    assert "empty" in notice.text and "Traceback" not in page.page_source


def test_uploaded_article_is_answerable_at_once(page, tmp_path: Path) -> None:
    path = tmp_path / "gio-ngoai-khoi.txt"
    path.write_text(NEW_ARTICLE, encoding="utf-8")
    notice = upload(page, path)
    assert "Added gio-ngoai-khoi.txt" in notice.text
    # the notice is a message of its own, not appended to the answer before it
    assert not message_of(page, notice).find_elements(_by().CSS_SELECTOR, ".kbqa-answer")
    answer = ask(page, "Phần Lan sẽ đào tạo bao nhiêu kỹ sư Việt Nam?")
    assert card_titles(answer)[0] == "Việt Nam và Phần Lan ký thỏa thuận hợp tác về năng lượng gió ngoài khơi"
    assert "Phần Lan" in answer.find_element(_by().CSS_SELECTOR, ".kbqa-text").text
    meta = answer.find_element(_by().CSS_SELECTOR, ".kbqa-meta").text
    assert meta.startswith("gio-ngoai-khoi.txt [")  # an upload by its name only
    assert answer.find_element(_by().CSS_SELECTOR, ".kbqa-card .kbqa-date").text == "12/3/2024"  # its dateline
    assert str(tmp_path.parent.parent) not in page.find_element(_by().ID, "kbqa-chat").text  # no server paths
    assert "gio-ngoai-khoi.txt" in page.find_element(_by().ID, "kbqa-docs").text
    ARTIFACTS.mkdir(exist_ok=True)
    page.save_screenshot(str(ARTIFACTS / "chat-upload.png"))


def test_bad_upload_is_a_chat_message(page, tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("   \n", encoding="utf-8")
    notice = upload(page, path)
    assert "Upload failed" in notice.text and "Traceback" not in page.page_source
    assert str(tmp_path) not in notice.text and "/tmp/" not in notice.text  # no upload or server paths


def test_xss_payload_in_a_document_runs_nothing(page, tmp_path: Path) -> None:
    path = tmp_path / "xss.txt"
    path.write_text(XSS_ARTICLE, encoding="utf-8")
    upload(page, path)
    answer = ask(page, "Chim cánh cụt hoàng đế sống ở đâu?")
    for card in answer.find_elements(_by().CSS_SELECTOR, "details.kbqa-card"):
        click(page, card.find_element(_by().TAG_NAME, "summary"))  # open every card: its context is rendered too
    assert any('<img src=x onerror="window.kbqaXss=1">' in t for t in card_titles(answer))
    assert "<script>window.kbqaXss=1</script>" in answer.text
    assert not answer.find_elements(_by().CSS_SELECTOR, "img, script, svg[onload]")
    assert page.execute_script("return window.kbqaXss === undefined")
    assert '<img src=x onerror="window.kbqaXss=1">' in page.find_element(_by().ID, "kbqa-docs").text


def test_screenshot_of_an_answer_with_sources(page) -> None:
    answer = ask(page, "Hàn Quốc và Mỹ nhất trí hợp tác về những công nghệ nào?")
    assert card_titles(answer)[0] == KOREA_US
    assert answer.find_elements(_by().CSS_SELECTOR, "strong.kbqa-mark")  # the words that answer are marked
    click(page, answer.find_element(_by().CSS_SELECTOR, "a.kbqa-cite"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.save_screenshot(str(ARTIFACTS / "chat.png"))
    assert (ARTIFACTS / "chat.png").stat().st_size > 0


def test_removing_a_document_from_the_panel_stops_its_citations(page, tmp_path: Path) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    path = tmp_path / "rai-ca.txt"
    path.write_text(RAY_ARTICLE, encoding="utf-8")
    upload(page, path)
    question = "Cá đuối khổng lồ ở sông Mê Kông nặng bao nhiêu?"
    assert card_titles(ask(page, question))[0] == RAY_TITLE
    choose = page.find_element(_by().CSS_SELECTOR, "#kbqa-remove input")
    click(page, choose)
    choose.send_keys("rai-ca")  # the dropdown filters its options as one types

    def options(driver) -> list:
        items = driver.find_elements(_by().CSS_SELECTOR, "#kbqa-remove li[role=option]")
        return [o for o in items if o.get_attribute("aria-label").endswith("rai-ca.txt")]

    def chosen(driver) -> bool:  # the list re-renders as it filters: an option found may be gone when clicked
        click(driver, options(driver)[0])
        return True

    WebDriverWait(page, WAIT, ignored_exceptions=[StaleElementReferenceException, IndexError]).until(chosen)
    before = len(_finished(page))
    click(page, page.find_element(_by().CSS_SELECTOR, "#kbqa-remove-btn"))
    WebDriverWait(page, WAIT).until(lambda d: len(_finished(d)) > before)
    assert "Removed" in _finished(page)[-1].text and "rai-ca.txt" in _finished(page)[-1].text
    WebDriverWait(page, WAIT).until(lambda d: RAY_TITLE not in d.find_element(_by().ID, "kbqa-docs").text)
    assert RAY_TITLE not in card_titles(ask(page, question))


class GatedAssistant:
    """The chat's assistant, held before its search and again before its answer until the test lets it go: the
    page can be looked at while the answer is still being worked on, on a machine of any speed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.search = threading.Event()
        self.answer = threading.Event()

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def stream(self, question: str, k: int | None = None, focus: str = "", period: Period = NOW) -> Iterator:
        self.search.wait(WAIT)
        events = self.inner.stream(question, k, focus=focus, period=period)
        yield next(events)  # the Retrieval
        self.answer.wait(WAIT)
        yield from events

    def release(self) -> None:
        self.search.set()
        self.answer.set()


def test_the_question_shows_at_once_with_progress_until_the_answer(page, chat_service, monkeypatch) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    gated = GatedAssistant(chat_service.assistant)
    monkeypatch.setattr(chat_service, "_assistant", gated)
    question = "Which technologies did Korea and the US agree on?"
    users = len(page.find_elements(_by().CSS_SELECTOR, "#kbqa-chat [data-testid=user]"))
    answers = len(_finished(page))
    try:
        box = page.find_element(_by().CSS_SELECTOR, "#kbqa-question textarea")
        box.send_keys(question)
        box.send_keys(Keys.ENTER)

        def pending(status: str):
            def seen(driver):
                shown = driver.find_elements(_by().CSS_SELECTOR, "#kbqa-chat [data-testid=user]")
                busy = driver.find_elements(_by().CSS_SELECTOR, "#kbqa-chat .kbqa-streaming[aria-busy=true]")
                ok = len(shown) > users and shown[-1].text == question and busy and status in busy[-1].text
                return busy[-1] if ok else None

            return seen

        # The question is in the chat while the assistant has not even searched: the old page showed it only
        # with the answer.
        WebDriverWait(page, 60, ignored_exceptions=[StaleElementReferenceException]).until(pending("Searching…"))
        assert len(_finished(page)) == answers
        gated.search.set()
        WebDriverWait(page, 60, ignored_exceptions=[StaleElementReferenceException]).until(
            pending("Reading 5 passages…")
        )
        assert len(_finished(page)) == answers
        gated.answer.set()
        WebDriverWait(page, WAIT).until(lambda d: len(_finished(d)) > answers)
    finally:
        gated.release()
    assert card_titles(_finished(page)[-1])[0] == KOREA_US
    assert not page.find_elements(_by().CSS_SELECTOR, "#kbqa-chat [aria-busy=true]")


def test_copy_gives_plain_text_with_markers_and_sources(page) -> None:
    answer = ask(page, "Khi nào Mỹ và Trung Quốc đàm phán về AI?")
    # Stand in for the clipboard: headless chromium has no one to paste to.
    page.execute_script(
        "window.kbqaCopied = null;"
        "navigator.clipboard.writeText = (text) => { window.kbqaCopied = text; return Promise.resolve(); };"
    )
    click(page, answer.find_element(_by().CSS_SELECTOR, "button.kbqa-copy"))
    from selenium.webdriver.support.ui import WebDriverWait

    copied = WebDriverWait(page, 10).until(lambda d: d.execute_script("return window.kbqaCopied"))
    text = answer.find_element(_by().CSS_SELECTOR, ".kbqa-text").text
    assert copied.startswith(text) and "[1]" in copied
    assert f"\n\nSources:\n[1] {US_CHINA_AI} — " in copied
    assert "<" not in copied and "kbqa-" not in copied  # text, not HTML
    # Gradio's own copy button (which copies the message's HTML) is off
    assert not page.find_elements(_by().CSS_SELECTOR, "#kbqa-chat button[aria-label='Copy message']")
    # Screen readers get the same text as the message's label, not its markup
    assert message_of(page, answer).get_attribute("aria-label") == f"Assistant: {copied}"


def test_unanswerable_question_shows_closest_passages_not_citations(page) -> None:
    answer = ask(page, "Thủ đô của Pháp là gì?")
    assert "kbqa-not-found" in answer.get_attribute("class")
    assert "Không tìm thấy" in answer.find_element(_by().CSS_SELECTOR, ".kbqa-text").text
    label = answer.find_element(_by().CSS_SELECTOR, ".kbqa-closest-label").text
    assert label == "Đoạn gần nhất (không phải câu trả lời)"
    assert answer.find_elements(_by().CSS_SELECTOR, "details.kbqa-card.kbqa-closest")
    assert not answer.find_elements(_by().CSS_SELECTOR, "a.kbqa-cite, .kbqa-n")
