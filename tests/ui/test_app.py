"""The app's launch options: analytics off, --auth parsing, the warning when the page is exposed."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from kbqa.config import Settings
from kbqa.errors import IndexMissingError, InputError
from kbqa.qa.timeline import NOW, Period
from kbqa.ui import app as chat_app
from kbqa.ui.app import parse_auth


def test_analytics_are_off() -> None:
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"


def test_auth_is_user_colon_password() -> None:
    assert parse_auth("ann:s3:cret") == ("ann", "s3:cret")
    assert parse_auth(None) is None
    for bad in ("ann", ":pw", "ann:"):
        with pytest.raises(InputError):
            parse_auth(bad)


class _FakeApp:
    """Stands in for the Gradio app: records what launch was given."""

    def __init__(self, banner: str | None) -> None:
        self.banner = banner
        self.launched: dict = {}

    def queue(self, **kwargs) -> None:
        pass

    def launch(self, **kwargs) -> None:
        self.launched = kwargs


@pytest.mark.parametrize(
    ("host", "share", "auth", "warned"),
    [
        ("127.0.0.1", False, None, False),
        ("localhost", False, None, False),
        ("::1", False, None, False),
        ("0.0.0.0", False, None, True),
        ("192.168.1.20", False, None, True),
        ("127.0.0.1", True, None, True),
        ("0.0.0.0", True, "ann:pw", False),
    ],
)
def test_launch_warns_when_the_chat_is_reachable_beyond_this_machine_without_auth(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, host: str, share: bool, auth, warned: bool
) -> None:
    monkeypatch.setattr(chat_app, "build_app", lambda service, banner=None: _FakeApp(banner))
    with caplog.at_level(logging.WARNING, logger="kbqa"):
        app = chat_app.launch(object(), host=host, share=share, auth=auth, block=False)
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("kbqa") and r.levelno == logging.WARNING]
    assert any("Warning:" in w for w in warnings) == warned  # a notice (the CLI shows kbqa's on stderr)
    assert (app.banner is not None) == warned  # the same warning as a banner in the page
    assert app.launched["server_name"] == host and app.launched["share"] == share


def test_the_page_has_no_answer_mode_and_shows_the_banner(chat_service) -> None:
    page = chat_app.build_app(chat_service, banner="Warning: <exposed>")
    labels = [getattr(block, "label", None) for block in page.blocks.values()]
    assert "Answer mode" not in labels
    html = [block.value for block in page.blocks.values() if getattr(block, "elem_id", None) == "kbqa-banner"]
    assert html and "Warning: &lt;exposed&gt;" in html[0]


class _Service:
    """A chat service that records when it is asked and fails with a message naming server paths."""

    def __init__(self, docs_dir: Path) -> None:
        self.settings = Settings(store=str(docs_dir.parent / ".kbqa"))
        self.docs_dir = docs_dir
        self.asked, self.period = 0, NOW

    def stream(self, question: str, previous_query: str | None, k: int | None = None, period: Period = NOW):
        self.asked, self.period = self.asked + 1, period
        raise IndexMissingError(f"no index at {self.docs_dir.parent}/.kbqa: build one; upload /tmp/gradio/ab12/x.txt")
        yield  # a generator, like ChatService.stream

    def add_files(self, files):
        raise InputError(f"cannot read {self.docs_dir / 'bad.txt'}")

    def documents(self) -> list[dict]:
        return []

    def source_label(self, source: str) -> str:
        return source

    def llm_status(self) -> str:
        return "Answers quote the documents."


def _function(page, name: str):
    return next(f.fn for f in page.fns.values() if f.name == name)


def test_the_question_is_shown_before_any_work_and_errors_name_no_paths(tmp_path: Path) -> None:
    service = _Service(tmp_path / "kbqa-docs")
    respond = _function(chat_app.build_app(service), "respond")
    turns = respond("Ai <b>đó</b>?", [], [], 5)
    _, history, _ = next(turns)
    assert service.asked == 0  # shown before the service is asked anything
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert "Ai &lt;b&gt;đó&lt;/b&gt;?" in history[0]["content"] and "Searching…" in history[1]["content"]
    _, history, queries = list(turns)[-1]
    assert len(history) == 2 and "kbqa-notice" in history[1]["content"] and queries == []
    assert str(tmp_path) not in history[1]["content"] and "/tmp/" not in history[1]["content"]
    assert "no index at .kbqa" in history[1]["content"]

    upload = _function(chat_app.build_app(service), "upload")
    history, *_ = upload(["x.txt"], [{"role": "assistant", "content": "an answer"}], progress=lambda *a, **k: None)
    assert len(history) == 2 and "Upload failed: cannot read bad.txt" in history[-1]["content"]
    assert str(tmp_path) not in history[-1]["content"]


def test_the_page_s_styles_and_script_are_files_of_the_package() -> None:
    css, head = chat_app.page_css(), chat_app.page_head()
    assert ".kbqa-card" in css and "<script" not in css
    assert head.startswith("<script>") and head.rstrip().endswith("</script>") and "a.kbqa-cite" in head
    assert head.count("</script>") == 1  # the script cannot end early


class _NoisyService(_Service):
    """Adds and removes documents, and logs a notice (naming a server path) while it does."""

    def add_files(self, files):
        logging.getLogger("kbqa.index.build").info("skipped %s: no text in it", self.docs_dir / "blank.txt")
        return "Added x.txt: indexed 2 file(s) (1 unreadable, skipped: blank.txt)"

    def remove(self, source: str) -> str:
        logging.getLogger("kbqa.index.build").warning("%s was indexed twice", source)
        raise InputError(f"cannot remove {self.docs_dir / source}")


def test_notices_logged_during_an_upload_or_removal_are_shown_with_its_outcome(tmp_path: Path) -> None:
    service = _NoisyService(tmp_path / "kbqa-docs")
    page = chat_app.build_app(service)
    history, *_ = _function(page, "upload")(["x.txt"], [], progress=lambda *a, **k: None)
    notice = history[-1]["content"]
    assert "kbqa-ok" in notice and "Added x.txt: indexed 2 file(s)" in notice
    assert "<br>skipped blank.txt: no text in it" in notice and str(tmp_path) not in notice
    history, *_ = _function(page, "remove")("a.txt", history)
    notice = history[-1]["content"]
    assert len(history) == 2 and "kbqa-error" in notice and "Remove failed: cannot remove a.txt" in notice
    assert "<br>a.txt was indexed twice" in notice and str(tmp_path) not in notice
    history, *_ = _function(page, "upload")(["x.txt"], [], progress=lambda *a, **k: None)
    assert history[-1]["content"].count("<br>skipped blank.txt") == 1  # the notices of one action, not the last's


def test_a_day_that_cannot_be_read_is_one_line_and_the_question_is_not_asked(tmp_path: Path) -> None:
    service = _Service(tmp_path / "kbqa-docs")
    respond = _function(chat_app.build_app(service), "respond")
    turns = list(respond("Giá vàng?", [], [], 5, "12/13/2026", ""))
    assert service.asked == 0 and len(turns) == 1
    box, history, queries = turns[0]
    assert box == "Giá vàng?" and queries == []  # kept in its box, to be asked again with the day fixed
    assert [m["role"] for m in history] == ["user", "assistant"] and "kbqa-notice" in history[1]["content"]
    assert "From must be a day like 2026-05-12 or 12/5/2026, not &#x27;12/13/2026&#x27;" in history[1]["content"]
    assert "<br>" not in history[1]["content"] and "--since" not in history[1]["content"]
    _, history, _ = next(respond("Giá vàng?", [], [], 5, "2026-05-12", "1/5/2026"))
    assert "From 2026-05-12 is after To 1/5/2026" in history[1]["content"] and service.asked == 0
    list(respond("Giá vàng?", [], [], 5, " 12/5/2026 ", ""))
    assert service.asked == 1 and service.period.since.isoformat() == "2026-05-12"  # a good day reaches the service
