"""The chat's actions without a browser: follow-ups, uploads, removal, and errors as KbqaError."""

from __future__ import annotations

from pathlib import Path

import pytest

from kbqa.config import Settings
from kbqa.errors import InputError
from kbqa.ui.service import ChatService, safe_name


def test_safe_name_keeps_the_suffix_only_safe_characters() -> None:
    assert safe_name("../../etc/bài báo (1).TXT") == "bài_báo_1.txt"
    assert safe_name("C:\\x\\..md") == "document.md"


def test_empty_question_is_an_input_error(chat_service: ChatService) -> None:
    with pytest.raises(InputError, match="empty"):
        chat_service.ask("   ", None)


def test_follow_up_is_answered_from_the_rewritten_query(chat_service: ChatService) -> None:
    first = chat_service.ask("Khi nào Mỹ đàm phán về AI?", None)
    reply = chat_service.ask("Còn Trung Quốc thì sao?", first.rewrite.query)
    assert reply.rewrite.query == "Khi nào Trung Quốc đàm phán về AI?"
    assert reply.answer.citations


def test_the_china_follow_up_is_answered_from_the_china_article(chat_service: ChatService) -> None:
    first = chat_service.ask("Hàn Quốc và Mỹ nhất trí hợp tác về những công nghệ nào?", None)
    assert first.answer.citations[0].passage.doc_id == "seeds/000_f8aa576ae32182a5.txt"
    reply = chat_service.ask("Còn Trung Quốc thì sao?", first.rewrite.query)
    assert reply.rewrite.focus == "Trung Quốc" and reply.answer.found
    assert {c.passage.doc_id for c in reply.answer.citations} == {"seeds/001_50a620779101e8ab.txt"}
    assert all("Trung Quốc" in claim.text for claim in reply.answer.claims)


def test_stream_yields_the_rewrite_then_the_assistants_events(chat_service: ChatService) -> None:
    from kbqa.qa.answer import Answer
    from kbqa.qa.contracts import Delta, Retrieval
    from kbqa.qa.followup import Rewrite

    events = list(chat_service.stream("Còn Trung Quốc thì sao?", "Khi nào Mỹ đàm phán về AI?", 3))
    assert isinstance(events[0], Rewrite) and events[0].query == "Khi nào Trung Quốc đàm phán về AI?"
    assert isinstance(events[1], Retrieval) and len(events[1].passages) == 3
    assert isinstance(events[-1], Answer) and all(isinstance(e, Delta) for e in events[2:-1])
    reply = chat_service.ask("Còn Trung Quốc thì sao?", "Khi nào Mỹ đàm phán về AI?", 3)
    assert reply.answer.answer == events[-1].answer  # ask is the same stream, consumed


def test_uploads_are_labelled_by_name(chat_service: ChatService) -> None:
    uploaded = str(chat_service.docs_dir.absolute() / "x.txt")
    assert chat_service.source_label(uploaded) == "x.txt"
    assert chat_service.source_label("seeds/a.txt") == "seeds/a.txt"


def test_unsupported_upload_is_refused(chat_service: ChatService, tmp_path: Path) -> None:
    bad = tmp_path / "x.exe"
    bad.write_bytes(b"MZ")
    with pytest.raises(InputError, match="unsupported file type"):
        chat_service.add_files([bad])


def test_upload_then_remove(tmp_path: Path, seed_settings: Settings, chat_service: ChatService) -> None:
    article = tmp_path / "kangaroo.md"
    article.write_text("# Chuột túi ở Úc\n\nChuột túi là loài thú có túi sống ở Úc và nhảy rất xa.\n", encoding="utf-8")
    assert "Added kangaroo.md" in chat_service.add_files([article])
    source = next(s for s in chat_service.sources() if s.endswith("kangaroo.md"))
    assert (chat_service.docs_dir / "kangaroo.md").is_file()
    removed = chat_service.remove(source)
    assert removed.startswith("Removed kangaroo.md") and str(chat_service.docs_dir) not in removed
    assert source not in chat_service.sources()
    assert not (chat_service.docs_dir / "kangaroo.md").exists()
    with pytest.raises(InputError):
        chat_service.remove(source)


def test_an_uploaded_news_page_is_answerable_and_a_broken_pdf_is_named(
    tmp_path: Path, chat_service: ChatService
) -> None:
    from tests.index import samples

    page = tmp_path / "metro.html"
    page.write_text(samples.vn_news_html(), encoding="utf-8")
    broken = tmp_path / "scan.pdf"
    broken.write_bytes(b"%PDF-1.4 cut off")
    added = chat_service.add_files([page, broken])
    assert "metro.html" in added and "scan.pdf" in added  # the summary names the skipped upload
    answer = chat_service.assistant.ask("Tuyến metro số 5 của Hà Nội dài bao nhiêu km?")
    assert answer.found and answer.citations[0].passage.source.endswith("metro.html")
    assert "Tin liên quan" not in answer.citations[0].passage.passage  # the page's boilerplate is not indexed
    chat_service.remove(next(s for s in chat_service.sources() if s.endswith("metro.html")))


def test_no_index_lists_nothing_and_asking_says_so(tmp_path: Path) -> None:
    from kbqa.errors import IndexMissingError

    service = ChatService(Settings(store=str(tmp_path / ".kbqa")))
    assert service.documents() == []
    with pytest.raises(IndexMissingError):
        service.ask("Hello?", None)


def test_a_period_reaches_the_assistant(chat_service: ChatService) -> None:
    from kbqa.qa.timeline import period_of

    question = "Hàn Quốc và Mỹ nhất trí hợp tác về những công nghệ nào?"
    reply = chat_service.ask(question, None, period=period_of(since="2023-12-01", until="31/12/2023"))
    assert reply.answer.when is not None
    assert reply.answer.when.to_json() == {"from": "2023-12-01", "to": "2023-12-31", "latest": False}
    assert reply.answer.found and reply.answer.lead.endswith("9/12/2023:")  # its article's day leads the answer
    later = chat_service.ask(question, None, period=period_of(since="1/1/2030"))
    assert later.answer.when.to_json()["from"] == "2030-01-01" and not later.answer.found
    assert chat_service.ask(question, None).answer.when is None  # no period, no date words: no window
